"""What the families of noise models (GAN, cGAN, ACGAN, SGAN) share: options, data, networks and training options."""
import dataclasses
import typing

import numpy as np
import tensorflow as tf

from tfgan_impl import data, families, networks, noise, ranges
from tfgan_impl.batches import packed_shape, real_images_of
from tfgan_impl.errors import ConfigError, UserError
from tfgan_impl.families import TrainingData, option
from tfgan_impl.gan import GAN


@dataclasses.dataclass
class NoiseOptions:
    """Options of every noise model."""

    ema_decay: typing.Optional[float] = option(None)  # moving average of the generator's weights, used for samples
    latent_distribution: str = option("normal")  # the prior p_z: normal, or uniform (the 2014 MNIST set-up)
    update: str = option("alternating", section="train")  # or simultaneous: both networks from one forward pass


def validate(config):
    """Checks the options every noise model shares."""
    families.check("model", GAN.check_options, ema_decay=config.options.ema_decay)
    families.check("model", noise.check_distribution, distribution=config.options.latent_distribution)
    families.check("train", GAN.check_update, update=config.options.update, d_steps=config.train.d_steps)
    for kind in ("generator", "discriminator"):
        name = getattr(config.model, kind)["name"]
        if name in networks.TRANSLATION_GENERATORS + networks.TRANSLATION_DISCRIMINATORS:
            raise ConfigError(f"model.{kind}.name: {name!r} is for translators (model.type pix2pix or cyclegan), "
                              f"not {config.model.type!r}")


HEALTH_REFERENCE_SIZE = 64  # real samples whose diversity the training-health check compares samples' with


def training_data(config, with_labels=False):
    """Batches of the config's source scaled to the generator's range (with int32 labels for conditional
    models), and what the run records: the sample shape, the source and its classes."""
    source = data.load_source(config.data.source, config.data.split, config.data.data_dir, config.data.image_size)
    dataset = data.make_dataset(
        source, config.data.batch_size, output_range=config.model.output_range, image_size=config.data.image_size,
        with_labels=with_labels, shuffle_buffer=config.data.shuffle_buffer, seed=config.seed, cache=config.data.cache)
    if with_labels:
        dataset = dataset.map(lambda images, labels: (images, tf.cast(labels, tf.int32)))
    # A pipeline of its own: drawing from the training one would change the order in which training sees the data.
    reference = None
    if source.num_examples >= 2:
        reference = data.make_dataset(source, min(HEALTH_REFERENCE_SIZE, source.num_examples),
                                      output_range=config.model.output_range, image_size=config.data.image_size,
                                      shuffle_buffer=config.data.shuffle_buffer, seed=config.seed, cache=False)
        reference = next(iter(reference.take(1))).numpy()
    return TrainingData(dataset, info(config, source, real_images_of(dataset.element_spec).shape[1:], with_labels),
                        extras=extras(config, source), reference=reference)


def info(config, source, sample_shape, uses_labels):
    """The facts of `run.json` for a noise model's data."""
    num_classes = source.num_classes if uses_labels else None
    return {"sample_shape": [int(d) for d in sample_shape], "source": source.name, "num_classes": num_classes,
            "class_names": source.class_names if num_classes else None}


WEIGHT_NORM_INIT_IMAGES = 500  # the batch Salimans et al. 2016 initialize their weight-normalized networks from


def extras(config, source):
    """The data's per-output means, for a generator option `output_bias: marginals`; a random batch of images in
    the model's range, for a discriminator option `weight_norm` (its data-dependent initialization)."""
    found = {}
    if config.model.generator.get("output_bias") == "marginals" and source.images is not None:
        found["marginals"] = data.to_unit_interval(source.images).mean(axis=0)
    if config.model.discriminator.get("weight_norm") and source.images is not None:
        chosen = np.random.default_rng(config.seed).permutation(len(source.images))[:WEIGHT_NORM_INIT_IMAGES]
        found["init_images"] = ranges.from_unit_interval(data.to_unit_interval(source.images[np.sort(chosen)]),
                                                         config.model.output_range)
    return found


def build_networks(config, info, extras, packing=1, conditioning=None, conditional_generator=False):
    """The generator and discriminator of a config for samples of `info["sample_shape"]`.

    Args:
        config: a validated config.
        info: the run's facts (`sample_shape`, `num_classes`).
        extras: `marginals` for an output bias, when the run has them.
        packing: PacGAN's m; the discriminator judges m samples at once.
        conditioning: how labels reach the discriminator (`networks.conditioning`), `None` for no labels.
        conditional_generator: the generator takes labels too.
    """
    sample_shape = [int(d) for d in info["sample_shape"]]
    num_classes = info.get("num_classes")
    if conditioning is not None and (num_classes is None or num_classes < 2):
        raise UserError(f"model.type {config.model.type!r} needs labelled data of at least 2 classes; "
                        f"{config.data.source} has {num_classes or 'no'} classes")
    labels = {"num_classes": num_classes} if conditioning is not None else {}
    derived = {
        "generator": {"latent_dim": config.model.latent_dim, "output_shape": sample_shape, "image_shape": sample_shape,
                      **(labels if conditional_generator else {})},
        "discriminator": {"input_shape": packed_shape(sample_shape, packing),
                          "image_shape": packed_shape(sample_shape, packing), **labels,
                          **({"conditioning": conditioning} if conditioning else {})},
    }
    built = []
    for kind in ("generator", "discriminator"):
        spec = dict(getattr(config.model, kind))
        if spec.get("output_bias") == "marginals":
            marginals = extras.get("marginals")
            spec["output_bias"] = (networks.marginal_logits(marginals[None]) if marginals is not None
                                   else np.zeros(int(np.prod(sample_shape)), "float32")).tolist()
        if "num_classes" in derived[kind] and not networks.accepts(kind, spec, "num_classes"):
            raise UserError(f"model.{kind}: network {spec['name']!r} cannot be conditioned on labels")
        built.append(networks.build(kind, spec, derived[kind]))
    if extras.get("init_images") is not None:  # a new run's weight-normalized discriminator (a resumed run's loads)
        problem = "model.packing > 1 gives it packed images" if packing != 1 else None
        if problem is None:
            try:
                networks.initialize_from_data(built[1], extras["init_images"])
            except ValueError as error:
                problem = str(error)
        if problem:
            raise UserError(f"model.discriminator.weight_norm: the initialization from data takes a discriminator "
                            f"of images alone, as the mlp of model.type gan or sgan; {problem}")
    return built


def model_options(config):
    """The `GAN` constructor's arguments every noise model takes from a config."""
    return dict(latent_dim=config.model.latent_dim, seed=config.seed, output_range=config.model.output_range,
                ema_decay=config.options.ema_decay, latent_distribution=config.options.latent_distribution)


def compile_options(config):
    """The adversarial training options of `GAN.configure` from `config.train`."""
    train = config.train
    return dict(loss=train.loss, d_steps=train.d_steps, penalties=train.penalties,
                label_smoothing=train.label_smoothing, augment=train.augment, update=config.options.update)
