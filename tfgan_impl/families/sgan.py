"""The family `sgan`: the semi-supervised GAN (Odena 2016; Salimans et al. 2016, sec. 5), whose discriminator is
a K-class classifier trained on all images and a few labels."""
import dataclasses
import typing

import keras

from tfgan_impl import callbacks, data, families, ranges
from tfgan_impl.adversarial import check_non_negative
from tfgan_impl.errors import ConfigError, UserError
from tfgan_impl.families import Family, TrainingData, _noise, option
from tfgan_impl.samplers import NoiseSampler
from tfgan_impl.semi_supervised import IMAGES, SemiSupervisedGAN, labelled_subset, make_semi_supervised_dataset


@dataclasses.dataclass
class SGANOptions(_noise.NoiseOptions):
    labels_per_class: int = option(100, section="data")  # the labelled examples kept per class
    supervised_weight: float = option(1.0, section="train")  # the weight of the labelled cross-entropy
    generator_objective: str = option("adversarial", section="train")  # or feature_matching (Salimans et al.)
    # feature matching's real images: the discriminator's batch (shared) or a batch of their own (separate)
    feature_matching_batch: str = option("shared", section="train")
    classifier_average: typing.Optional[float] = option(None)  # decay of the weight average `classify` uses


FEATURE_MATCHING_BATCHES = ("shared", "separate")


def validate(config):
    _noise.validate(config)
    if config.options.labels_per_class <= 0:
        raise ConfigError(f"data.labels_per_class: expected a positive integer, got {config.options.labels_per_class}")
    families.check("train", check_non_negative, supervised_weight=config.options.supervised_weight)
    families.check("model", SemiSupervisedGAN.check_classifier_average,
                   classifier_average=config.options.classifier_average)
    families.check("train", SemiSupervisedGAN.check_generator_objective,
                   objective=config.options.generator_objective, update=config.options.update)
    if config.options.feature_matching_batch not in FEATURE_MATCHING_BATCHES:
        raise ConfigError(f"train.feature_matching_batch: expected one of {', '.join(FEATURE_MATCHING_BATCHES)}, "
                          f"got {config.options.feature_matching_batch!r}")
    if config.options.feature_matching_batch != "shared" and config.options.generator_objective != "feature_matching":
        raise ConfigError("train.feature_matching_batch: a separate batch is for train.generator_objective: "
                          f"feature_matching, got {config.options.generator_objective!r}")


def training_data(config):
    source = data.load_source(config.data.source, config.data.split, config.data.data_dir, config.data.image_size)
    dataset, _ = make_semi_supervised_dataset(
        source, config.data.batch_size, config.options.labels_per_class, output_range=config.model.output_range,
        seed=config.seed, shuffle_buffer=config.data.shuffle_buffer,
        generator_batch=config.options.feature_matching_batch == "separate")
    info = _noise.info(config, source, dataset.element_spec[IMAGES].shape[1:], uses_labels=True)
    return TrainingData(dataset, info, extras=_noise.extras(config, source))


def build(config, info, extras):
    generator, discriminator = _noise.build_networks(config, info, extras, conditioning="classes")
    return SemiSupervisedGAN(generator, discriminator, num_classes=info["num_classes"],
                             classifier_average=config.options.classifier_average, **_noise.model_options(config))


def held_out_accuracy(config):
    """The classifier's accuracy on the source's labelled `test` split, measured after every epoch."""
    test = data.load_source(config.data.source, "test", config.data.data_dir, config.data.image_size)
    if test.images is None or not test.has_labels:
        raise UserError(f"{config.data.source}: the semi-supervised GAN needs a labelled 'test' split to report "
                        "its classifier's accuracy")
    images = ranges.from_unit_interval(data.to_unit_interval(test.images), config.model.output_range)
    return callbacks.ClassifierAccuracy(images, test.labels, report=f"{config.options.labels_per_class} labels per class")


def labels_only_classifier(config):
    """The baseline the semi-supervised GAN must beat (Salimans et al. 2016, table 1): the config's discriminator
    network alone, to be trained on the run's labelled examples only.

    Same network (a fresh copy, weight norm initialized from the same images), labelled subset, optimizer and
    labelled batch as the GAN run; the caller fits it for as many updates as the run made.

    Args:
        config: a validated `Config` of `model.type: sgan`.

    Returns:
        `(classifier, batches)`: the compiled classifier (logits, sparse cross-entropy) and an endless, shuffled
        dataset of `(images, labels)` batches of the labelled examples in the model's range.
    """
    from tfgan_impl import builder, optimizers, training  # the builder imports the families

    training.seed_everything(config)
    source = data.load_source(config.data.source, config.data.split, config.data.data_dir, config.data.image_size)
    chosen = labelled_subset(source.labels, config.options.labels_per_class, config.seed)
    labelled = data.Source("labelled", len(chosen), images=source.images[chosen], labels=source.labels[chosen],
                           has_labels=True, num_classes=source.num_classes)
    batches = data.make_dataset(labelled, min(config.data.batch_size, len(chosen)),
                                output_range=config.model.output_range, with_labels=True, shuffle_buffer=len(chosen),
                                seed=config.seed).repeat()
    info = {"sample_shape": batches.element_spec[0].shape[1:].as_list(), "num_classes": source.num_classes}
    classifier = builder.build_model(config, info, _noise.extras(config, source)).discriminator
    classifier.compile(optimizer=optimizers.make_optimizer(config.train.d_optimizer, "train.d_optimizer"),
                       loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True))
    return classifier, batches


FAMILY = Family("sgan", SGANOptions, training_data=training_data, build=build, sampler=NoiseSampler,
                validate=validate, callbacks=lambda config: [held_out_accuracy(config)],
                compile_options=lambda config: {**_noise.compile_options(config),
                                                "supervised_weight": config.options.supervised_weight,
                                                "generator_objective": config.options.generator_objective})
