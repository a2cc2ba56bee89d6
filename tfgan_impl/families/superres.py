"""The family `superres`: single-image super-resolution GANs (SRGAN, Ledig et al. 2017; ESRGAN, Wang et al. 2018)
trained on pairs made from any image source by a degradation (`tfgan_impl.degradation`)."""
import dataclasses
import os
import typing

import keras
import numpy as np
import tensorflow as tf

from tfgan_impl import data as data_module
from tfgan_impl import degradation as degradation_module
from tfgan_impl import families, networks, paired, pipelines, ranges
from tfgan_impl.adversarial import check_non_negative
from tfgan_impl.errors import ConfigError, UserError
from tfgan_impl.families import Family, TrainingData, option
from tfgan_impl.families._translation import check_image_networks, source_images
from tfgan_impl.samplers import Translator
from tfgan_impl.superres import ADVERSARIAL_LOSSES, PIXEL_LOSSES, SuperResolution

SUPERRES_GENERATORS, SUPERRES_DISCRIMINATORS = ("srresnet", "rrdb"), ("srgan",)


@dataclasses.dataclass
class SuperResolutionOptions:
    """Keys of `superres` configs (ESRGAN's defaults)."""

    scale: int = option(4, section="data")  # the upscaling factor; inputs are the images downscaled by it
    resize: str = option("bicubic", section="data")  # the downscaling of the degradation: bicubic, area, bilinear
    blur: float = option(0.0, section="data")  # Gaussian blur (high-resolution pixels) before downscaling
    noise: float = option(0.0, section="data")  # Gaussian noise on the low-resolution inputs ([0, 1] units)
    patch_size: typing.Optional[int] = option(None, section="data")  # random high-resolution crops; null: whole
    adversarial_loss: str = option("relativistic_average")  # or non_saturating (SRGAN)
    # none, classifier:PATH (a domain classifier's last convolutions) or vgg19:PATH (ImageNet weights, .h5)
    content_network: str = option("none")
    pixel_loss: str = option("l1", section="train")  # l1 (ESRGAN) or l2 (SRResNet-MSE)
    pixel_weight: float = option(1e-2, section="train")
    content_weight: float = option(0.0, section="train")  # 1.0 in ESRGAN, on VGG19 features
    adversarial_weight: float = option(5e-3, section="train")
    pretrain_steps: int = option(0, section="train")  # pixel/content-only steps before the adversarial term


def degradation(config):
    """The config's `Degradation`."""
    options = config.options
    return degradation_module.Degradation(options.scale, options.resize, options.blur, options.noise)


def validate(config):
    options = config.options
    check_image_networks(config, SUPERRES_GENERATORS, SUPERRES_DISCRIMINATORS, "a super-resolution",
                         "held-out pixel and content losses")
    if options.adversarial_loss not in ADVERSARIAL_LOSSES:
        raise ConfigError(f"model.adversarial_loss: expected one of {', '.join(ADVERSARIAL_LOSSES)}, got "
                          f"{options.adversarial_loss!r}")
    if options.pixel_loss not in PIXEL_LOSSES:
        raise ConfigError(f"train.pixel_loss: expected one of {', '.join(PIXEL_LOSSES)}, got {options.pixel_loss!r}")
    kind = options.content_network.partition(":")[0]
    if kind not in ("none", "classifier", "vgg19") or (kind != "none" and ":" not in options.content_network):
        raise ConfigError(f"model.content_network: expected none, classifier:PATH or vgg19:PATH, got "
                          f"{options.content_network!r}")
    if kind == "none" and options.content_weight:
        raise ConfigError("train.content_weight: no model.content_network to take the content loss on; set it "
                          "(classifier:PATH or vgg19:PATH) or set train.content_weight: 0")
    try:
        degradation(config)
    except ValueError as error:
        raise ConfigError(f"data.{error}") from None
    if options.patch_size is not None and (options.patch_size < 1 or options.patch_size % options.scale):
        raise ConfigError(f"data.patch_size: expected a multiple of data.scale ({options.scale}), got "
                          f"{options.patch_size}")
    families.check("train", check_non_negative, pixel_weight=options.pixel_weight,
                   content_weight=options.content_weight, adversarial_weight=options.adversarial_weight,
                   pretrain_steps=options.pretrain_steps)


def high_resolution_images(config, split):
    """The source's images in [0, 1], cropped to a multiple of the scale."""
    images, source = source_images(config, split, "super-resolution"), config.data.source
    scale = config.options.scale
    height, width = images.shape[1] // scale * scale, images.shape[2] // scale * scale
    if not height or not width:
        raise UserError(f"data.source {source}: images of {list(images.shape[1:3])} are smaller than the "
                        f"scale {scale}")
    return images[:, :height, :width]


def pairs(config, split):
    """`(low, high)` arrays in [0, 1]: the source's images and their degraded inputs (the same every time), or
    for `data.source: pairs:LOW_DIR,HIGH_DIR` the given pairs (files of the same names, `data.scale` times
    larger in the second folder)."""
    data, scale = config.data, config.options.scale
    if data.source.startswith("pairs:"):
        low, high = paired.load_pairs(data.source, split, data.data_dir)
        if list(high.shape[1:3]) != [scale * size for size in low.shape[1:3]]:
            raise UserError(f"data.source {data.source}: high-resolution images of {list(high.shape[1:3])} are not "
                            f"data.scale ({scale}) times the low-resolution {list(low.shape[1:3])}")
        return low, high
    high = high_resolution_images(config, split)
    return degradation_module.degrade(high, degradation(config), seed=config.seed), high


def _pair_cropper(scale, patch_size, augment):
    """`crop((low, high), element_seed)`: the same random region of both images of a pair (low-resolution
    corner offsets times the scale; `patch_size` None keeps them whole), mirrored alike when `augment`."""
    low_size = None if patch_size is None else patch_size // scale

    def crop(pair, element_seed):
        small, large = pair
        if low_size is not None:
            limits = tf.shape(small)[:2] - low_size + 1
            if augment:
                offsets = tf.random.stateless_uniform([2], element_seed, maxval=tf.int32.max, dtype=tf.int32) % limits
            else:
                offsets = tf.zeros([2], tf.int32)
            small = tf.slice(small, [offsets[0], offsets[1], 0], [low_size, low_size, -1])
            large = tf.slice(large, [offsets[0] * scale, offsets[1] * scale, 0],
                             [low_size * scale, low_size * scale, -1])
        if augment:
            flip = tf.random.stateless_uniform([], element_seed + 1) < 0.5
            small, large = (tf.cond(flip, lambda image=image: tf.reverse(image, [1]), lambda image=image: image)
                            for image in (small, large))
        return small, large

    return crop


def make_dataset(low, high, batch_size, scale, patch_size, output_range, seed=0, shuffle_buffer=10_000,
                 augment=True):
    """Batches of `(low, high)` pairs in `output_range`: aligned random crops of `patch_size` high-resolution
    pixels (None: whole images) and random mirroring, the same for both images of a pair.

    Args:
        low, high: `[n, h, w, C]` and `[n, scale h, scale w, C]` arrays in [0, 1].
        batch_size: the global batch size.
        scale: the upscaling factor.
        patch_size: side of the high-resolution crops, a multiple of `scale`; None for whole images.
        output_range: the interval the networks see.
        seed: seed of the shuffle, crops and flips.
        shuffle_buffer: 0 turns shuffling off.
        augment: crop and mirror at random (training); `False` crops the top-left corner (evaluation).
    """
    if batch_size > len(high):
        raise UserError(f"data.batch_size: {batch_size} is larger than the data ({len(high)} images)")
    if patch_size is not None and patch_size // scale > min(low.shape[1:3]):
        raise UserError(f"data.patch_size: {patch_size} is larger than the images ({list(high.shape[1:3])})")
    crop = _pair_cropper(scale, patch_size, augment)
    dataset = tf.data.Dataset.from_tensor_slices((low.astype(np.float32), high.astype(np.float32)))
    if shuffle_buffer:
        dataset = dataset.shuffle(shuffle_buffer, seed=seed, reshuffle_each_iteration=True)
    dataset = tf.data.Dataset.zip(dataset, paired.element_seeds(seed)).map(
        lambda pair, element_seed: tuple(ranges.from_unit_interval(image, output_range)
                                         for image in crop(pair, element_seed)),
        num_parallel_calls=pipelines.PARALLEL_CALLS)
    dataset = dataset.batch(batch_size, drop_remainder=True).prefetch(pipelines.PREFETCH_BATCHES)
    return pipelines.with_pipeline_options(dataset)


def make_streamed_dataset(pairs_of_any_size, batch_size, scale, patch_size, output_range, seed=0,
                          shuffle_buffer=10_000):
    """Batches of `(low, high)` crops in `output_range` from a dataset of uint8 pairs of any size (TFDS
    `div2k`): one aligned random crop of `patch_size` high-resolution pixels per pair and epoch, mirrored at
    random, cropped before the shuffle so that no 2K image waits in its buffer."""
    crop = _pair_cropper(scale, patch_size, augment=True)
    dataset = tf.data.Dataset.zip(pairs_of_any_size, paired.element_seeds(seed)).map(
        crop, num_parallel_calls=pipelines.PARALLEL_CALLS)
    if shuffle_buffer:
        dataset = dataset.shuffle(shuffle_buffer, seed=seed, reshuffle_each_iteration=True)
    dataset = dataset.map(lambda small, large: tuple(
        ranges.from_unit_interval(tf.cast(image, tf.float32) / 255.0, output_range) for image in (small, large)),
        num_parallel_calls=pipelines.PARALLEL_CALLS)
    dataset = dataset.batch(batch_size, drop_remainder=True).prefetch(pipelines.PREFETCH_BATCHES)
    return pipelines.with_pipeline_options(dataset, shard_by_data=False)


TFDS_PAIR_FEATURES = ("lr", "hr")  # the low- and high-resolution images of TFDS's div2k


def tfds_pair_builder(source, data_dir=None):
    """The TFDS builder of a `tfds:NAME[:SPLIT]` source whose examples are pairs (features `lr` and `hr`, as
    `div2k/bicubic_x4`), else None."""
    kind, _, rest = source.partition(":")
    if kind != "tfds":
        return None
    import tensorflow_datasets as tfds

    try:
        builder = tfds.builder(rest.partition(":")[0], data_dir=data_dir)
    except Exception:  # an unknown name: the image sources' opener says so
        return None
    return builder if all(feature in builder.info.features for feature in TFDS_PAIR_FEATURES) else None


def streamed_pairs(config, split):
    """`(dataset of uint8 (low, high) pairs, first pairs in [0, 1] for the training picture)` of a TFDS pair
    source, checked on its first pair: sizes `data.scale` apart and at least `data.patch_size`."""
    data, options = config.data, config.options
    name, _, named_split = data.source[len("tfds:"):].partition(":")
    split = named_split or split
    if options.patch_size is None:
        raise UserError(f"data.patch_size: tfds:{name} holds images of many sizes; set a crop size, e.g. 96")
    _, examples = data_module.open_tfds(name, split, data.data_dir, shuffle_seed=config.seed)
    dataset = examples.map(lambda example: tuple(example[feature] for feature in TFDS_PAIR_FEATURES),
                           num_parallel_calls=pipelines.PARALLEL_CALLS)
    first = [(low.numpy(), high.numpy()) for low, high in dataset.take(max(1, config.train.num_samples))]
    if not first:
        raise UserError(f"data.source {data.source}: split {split!r} is empty")
    for low, high in first:
        if list(high.shape[:2]) != [options.scale * size for size in low.shape[:2]]:
            raise UserError(f"data.source {data.source}: high-resolution images of {list(high.shape[:2])} are "
                            f"not data.scale ({options.scale}) times the low-resolution {list(low.shape[:2])}")
        if options.patch_size > min(high.shape[:2]):
            raise UserError(f"data.patch_size: {options.patch_size} is larger than the images of "
                            f"{data.source} ({list(high.shape[:2])})")
    crop = _pair_cropper(options.scale, options.patch_size, augment=False)
    corners = [crop(pair, None) for pair in first]
    return dataset, tuple(np.stack([corner[i].numpy() for corner in corners]).astype(np.float32) / 255.0
                          for i in range(2))


def training_data(config):
    options, data = config.options, config.data
    if tfds_pair_builder(data.source, data.data_dir) is not None:
        pairs_of_any_size, (low, high) = streamed_pairs(config, data.split)
        dataset = make_streamed_dataset(pairs_of_any_size, data.batch_size, options.scale, options.patch_size,
                                        config.model.output_range, seed=config.seed,
                                        shuffle_buffer=data.shuffle_buffer)
    else:
        low, high = pairs(config, data.split)
        dataset = make_dataset(low, high, data.batch_size, options.scale, options.patch_size,
                               config.model.output_range, seed=config.seed, shuffle_buffer=data.shuffle_buffer)
    patch = options.patch_size or high.shape[1]
    info = {"input_shape": [None, None, int(low.shape[-1])], "sample_shape": [patch, patch, int(high.shape[-1])],
            "source": data.source, "num_classes": None}
    shown = min(config.train.num_samples, len(low))
    return TrainingData(dataset, info, preview=(low[:shown], high[:shown]))


def content_network(spec, channels):
    """The frozen feature network of `model.content_network`, taking images in [0, 1] of `channels`; None for
    `none`."""
    kind, _, path = spec.partition(":")
    if kind == "none":
        return None
    if not os.path.isfile(path):
        raise UserError(f"model.content_network: {path}: no such file")
    if kind == "classifier":
        classifier = keras.saving.load_model(path, compile=False)
        convolutions = [layer for layer in classifier.layers if isinstance(layer, keras.layers.Conv2D)]
        if not convolutions:
            raise UserError(f"model.content_network: {path} has no convolutions to take content features from")
        # The last convolution's features (before pooling), as SRGAN takes VGG's last (phi_5,4, sec. 2.2.2).
        return keras.Model(classifier.inputs, convolutions[-1].output, name="content_network")
    try:
        return networks.vgg19_features(path, channels)
    except (ValueError, OSError) as error:
        reason = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
        raise UserError(f"model.content_network: {path} does not hold Keras's VGG19 weights without the top "
                        f"(vgg19_weights_tf_dim_ordering_tf_kernels_notop.h5): {reason}") from None


def build(config, info, extras):
    channels = info["input_shape"][-1]
    scale = config.options.scale
    generator = networks.build("generator", config.model.generator, {
        "image_shape": [None, None, channels], "output_channels": info["sample_shape"][-1], "scale": scale})
    discriminator = networks.build("discriminator", config.model.discriminator,
                                   {"image_shape": info["sample_shape"]})
    options = config.options
    content = content_network(options.content_network, info["sample_shape"][-1])
    return SuperResolution(generator, discriminator, content_network=content,
                           adversarial_loss=options.adversarial_loss, pixel_loss=options.pixel_loss,
                           pixel_weight=options.pixel_weight, content_weight=options.content_weight,
                           adversarial_weight=options.adversarial_weight, pretrain_steps=options.pretrain_steps,
                           output_range=config.model.output_range)


FAMILY = Family("superres", SuperResolutionOptions, training_data=training_data, build=build, sampler=Translator,
                validate=validate)
