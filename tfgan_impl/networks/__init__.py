"""Generator and discriminator builders, looked up by name from configs."""
import inspect

import keras
import numpy as np

from tfgan_impl.errors import UserError

from tfgan_impl.networks.biggan import biggan_discriminator, biggan_generator
from tfgan_impl.networks.dcgan import dcgan_discriminator, dcgan_generator
from tfgan_impl.networks.inpainting import GatedConv2D, HoleCrop, global_local_discriminator, inpainting_generator
from tfgan_impl.networks.layers import BatchNormalization, Maxout, MinibatchStdDev, WeightClip
from tfgan_impl.networks.mlp import maxout_discriminator, mlp_discriminator, mlp_generator
from tfgan_impl.networks.progan import progan_discriminator, progan_generator
from tfgan_impl.networks.pix2pix import patch_discriminator, resnet_translator, unet_generator
from tfgan_impl.networks.resnet import resnet_discriminator, resnet_generator
from tfgan_impl.networks.stylegan2 import stylegan2_discriminator, stylegan2_generator
from tfgan_impl.networks.weightnorm import WeightNormDense, initialize_from_data
from tfgan_impl.networks.stackgan import (ConditioningAugmentation, SpatialReplicate, stackgan_discriminator,
                                         stackgan_discriminators, stackgan_generator, stage1_generator,
                                         stage2_generator)
from tfgan_impl.networks.superres import (PixelShuffle, VGGInput, rrdb_generator, srgan_discriminator,
                                         srresnet_generator, vgg19_features)

GENERATORS = {"mlp": mlp_generator, "dcgan": dcgan_generator, "resnet": resnet_generator, "unet": unet_generator,
              "resnet_translator": resnet_translator, "stylegan2": stylegan2_generator, "progan": progan_generator,
              "biggan": biggan_generator, "srresnet": srresnet_generator, "rrdb": rrdb_generator,
              "inpainting": inpainting_generator, "stackgan": stackgan_generator}
DISCRIMINATORS = {"maxout": maxout_discriminator, "mlp": mlp_discriminator, "dcgan": dcgan_discriminator,
                  "resnet": resnet_discriminator, "patch": patch_discriminator, "stylegan2": stylegan2_discriminator,
                  "progan": progan_discriminator, "biggan": biggan_discriminator, "srgan": srgan_discriminator,
                  "global_local": global_local_discriminator, "stackgan": stackgan_discriminators}
# Builder arguments a family fills from the data and the model section, never from a network's options.
DERIVED_ARGS = ("latent_dim", "output_shape", "image_shape", "input_shape", "num_classes", "conditioning",
                "output_channels", "target_channels", "conditional", "scale", "sentence_dim", "image_shapes")
# Networks of image-to-image translators: an image in, an image out (and a discriminator of image pairs).
TRANSLATION_GENERATORS = ("unet", "resnet_translator")
TRANSLATION_DISCRIMINATORS = ("patch",)


def build(kind, spec, derived):
    """Builds the network a config describes.

    Args:
        kind: `"generator"` or `"discriminator"` (the registry and the config key).
        spec: the config's `{name: ..., **options}`.
        derived: arguments from the data and the model (shapes, classes); those the builder takes are passed.

    Returns:
        The Keras model.

    Raises:
        UserError: the builder refuses its arguments; the message names `model.KIND`.
    """
    spec = dict(spec)
    builder = (GENERATORS if kind == "generator" else DISCRIMINATORS)[spec.pop("name")]
    accepted = inspect.signature(builder).parameters
    try:
        return builder(**{name: value for name, value in derived.items() if name in accepted}, **spec)
    except (ValueError, TypeError) as error:
        raise UserError(f"model.{kind}: {error}") from None


def accepts(kind, spec, argument):
    """Whether the network of `spec` takes the derived `argument` (e.g. `num_classes`)."""
    builder = (GENERATORS if kind == "generator" else DISCRIMINATORS)[spec["name"]]
    return argument in inspect.signature(builder).parameters


def marginal_logits(images, epsilon=1e-3):
    """Logits of each output's mean value over the data, the sigmoid bias init of the paper's code.

    pylearn2's `init_sigmoid_bias_from_marginals`, used by Goodfellow et al.'s mnist.yaml: a sigmoid output
    whose bias is logit(mean pixel) starts at the data's marginal means.

    Args:
        images: array `[N, ...]` with values in [0, 1].
        epsilon: clip of the means away from 0 and 1.

    Returns:
        A flat float32 array of logits, one per output unit.
    """
    means = np.clip(np.asarray(images, np.float64).reshape(len(images), -1).mean(axis=0), epsilon, 1 - epsilon)
    return np.log(means / (1 - means)).astype("float32")


__all__ = ["GENERATORS", "DISCRIMINATORS", "Maxout", "MinibatchStdDev", "WeightClip", "marginal_logits", "dcgan_generator", "dcgan_discriminator",
           "mlp_generator", "maxout_discriminator", "mlp_discriminator", "resnet_generator", "resnet_discriminator",
           "WeightNormDense", "initialize_from_data"]


def synchronize_batch_norm(model):
    """Makes every batch normalization layer of `model` normalize with the statistics of the global batch,
    all-reduced across replicas, instead of each replica's share (the cross-GPU batch norm of Peng et al. 2018,
    MegDet; Keras's `BatchNormalization(synchronized=True)`).

    Returns:
        The number of layers changed.
    """
    changed = 0
    for layer in model._flatten_layers():
        if isinstance(layer, keras.layers.BatchNormalization):
            layer.synchronized = True  # read at call time, so it applies to built layers as well
            changed += 1
    return changed
