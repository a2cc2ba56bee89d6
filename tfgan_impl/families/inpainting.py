"""The family `inpainting`: image completion GANs (Iizuka et al. 2017; Yu et al. 2019) trained on any image
source with hole masks made on the fly (`tfgan_impl.masks`) or read from files."""
import dataclasses

import numpy as np
import tensorflow as tf

from tfgan_impl import data as data_module
from tfgan_impl import families, networks, paired, pipelines, ranges
from tfgan_impl import masks as masks_module
from tfgan_impl.adversarial import check_non_negative
from tfgan_impl.errors import ConfigError, UserError
from tfgan_impl.families import Family, TrainingData, option
from tfgan_impl.families import _translation
from tfgan_impl.families._translation import check_image_networks
from tfgan_impl.inpainting import ADVERSARIAL_LOSSES, Inpainting
from tfgan_impl.samplers import Translator

INPAINTING_GENERATORS, INPAINTING_DISCRIMINATORS = ("inpainting",), ("global_local", "patch")


@dataclasses.dataclass
class InpaintingOptions:
    """Keys of `inpainting` configs."""

    mask: str = option("rectangles", section="data")  # center, rectangles, strokes or files:DIR (white = hole)
    hole: float = option(0.5, section="data")  # the centred (or largest random) hole's side / the image's
    adversarial_loss: str = option("non_saturating")  # or hinge (SN-PatchGAN)
    hole_weight: float = option(1.0, section="train")  # L1 in the hole
    valid_weight: float = option(1.0, section="train")  # L1 of the raw output on the known pixels
    adversarial_weight: float = option(0.01, section="train")  # 0: the L1-only network


def validate(config):
    options = config.options
    check_image_networks(config, INPAINTING_GENERATORS, INPAINTING_DISCRIMINATORS, "an inpainting",
                         "held-out L1 in the holes")
    if options.adversarial_loss not in ADVERSARIAL_LOSSES:
        raise ConfigError(f"model.adversarial_loss: expected one of {', '.join(ADVERSARIAL_LOSSES)}, got "
                          f"{options.adversarial_loss!r}")
    if options.mask not in masks_module.KINDS and not options.mask.startswith("files:"):
        raise ConfigError(f"data.mask: expected one of {', '.join(masks_module.KINDS)} or files:DIR, got "
                          f"{options.mask!r}")
    if not 0.0 < options.hole <= 1.0:
        raise ConfigError(f"data.hole: expected a fraction of the image's side in (0, 1], got {options.hole}")
    families.check("train", check_non_negative, hole_weight=options.hole_weight, valid_weight=options.valid_weight,
                   adversarial_weight=options.adversarial_weight)


def source_images(config, split):
    """The source's images in [0, 1], `[n, H, W, C]`."""
    return _translation.source_images(config, split, "inpainting")


def mask_bank(config, height, width):
    """The masks of `data.mask: files:DIR`, `[n, height, width, 1]`, or None for generated masks."""
    kind = config.options.mask
    return masks_module.load_masks(kind.partition(":")[2], height, width) if kind.startswith("files:") else None


def make_dataset(images, batch_size, output_range, mask="rectangles", hole=0.5, bank=None, seed=0,
                 shuffle_buffer=10_000, flip=True):
    """Batches of `(images, masks)`: images in `output_range`, randomly mirrored, each with a mask of `mask`
    kind (or drawn from `bank`, `[m, H, W, 1]`), 1 in the hole.

    Args:
        images: `[n, H, W, C]` in [0, 1].
        batch_size: the global batch size.
        output_range: the interval the networks see.
        mask: one of `masks.KINDS` (ignored with a `bank`).
        hole: the centred or largest hole's side as a fraction of the image's.
        bank: masks to draw from at random, or None.
        seed: seed of the shuffle, the masks and the mirroring.
        shuffle_buffer: 0 turns shuffling off.
        flip: mirror images at random (training).
    """
    if batch_size > len(images):
        raise UserError(f"data.batch_size: {batch_size} is larger than the data ({len(images)} images)")
    height, width = images.shape[1:3]
    bank = None if bank is None else tf.constant(np.asarray(bank, np.float32))

    def with_mask(image, element_seed):
        if bank is not None:
            index = tf.random.stateless_uniform([], element_seed, maxval=tf.shape(bank)[0], dtype=tf.int32)
            hole_mask = bank[index]
        else:
            hole_mask = masks_module.random_mask(mask, element_seed, height, width, hole)
        if flip:
            image = tf.cond(tf.random.stateless_uniform([], element_seed + 1) < 0.5,
                            lambda: tf.reverse(image, [1]), lambda: image)
        return ranges.from_unit_interval(image, output_range), hole_mask

    dataset = tf.data.Dataset.from_tensor_slices(images.astype(np.float32))
    if shuffle_buffer:
        dataset = dataset.shuffle(shuffle_buffer, seed=seed, reshuffle_each_iteration=True)
    dataset = tf.data.Dataset.zip(dataset, paired.element_seeds(seed)).map(with_mask,
                                                                           num_parallel_calls=pipelines.PARALLEL_CALLS)
    dataset = dataset.batch(batch_size, drop_remainder=True).prefetch(pipelines.PREFETCH_BATCHES)
    return pipelines.with_pipeline_options(dataset)


def holed(images, hole):
    """`images` in [0, 1] with a centred hole of side `hole` filled grey: what a picture shows as the input."""
    mask = np.asarray(masks_module.center_mask(images.shape[1], images.shape[2], hole))
    return images * (1.0 - mask) + 0.5 * mask


def training_data(config):
    images = source_images(config, config.data.split)
    options = config.options
    dataset = make_dataset(images, config.data.batch_size, config.model.output_range, options.mask, options.hole,
                           bank=mask_bank(config, *images.shape[1:3]), seed=config.seed,
                           shuffle_buffer=config.data.shuffle_buffer)
    info = {"input_shape": list(images.shape[1:]), "sample_shape": list(images.shape[1:]),
            "source": config.data.source, "num_classes": None}
    shown = images[:min(config.train.num_samples, len(images))]
    return TrainingData(dataset, info, preview=(holed(shown, options.hole), shown))


def build(config, info, extras):
    height, width, channels = info["input_shape"]
    # Fully convolutional: the generator completes images of any size (multiples of 4) once trained.
    generator = networks.build("generator", config.model.generator,
                               {"image_shape": [None, None, channels], "output_channels": channels})
    spec = config.model.discriminator
    derived = {"image_shape": [height, width, channels]}
    if spec["name"] == "patch":  # Pix2Pix's PatchGAN, conditioned on the one-channel mask
        derived = {"image_shape": [height, width, 1], "target_channels": channels, "conditional": True}
    discriminator = networks.build("discriminator", spec, derived)
    options = config.options
    return Inpainting(generator, discriminator, adversarial_loss=options.adversarial_loss,
                      hole_weight=options.hole_weight, valid_weight=options.valid_weight,
                      adversarial_weight=options.adversarial_weight, hole=options.hole,
                      output_range=config.model.output_range)


FAMILY = Family("inpainting", InpaintingOptions, training_data=training_data, build=build, sampler=Translator,
                validate=validate)
