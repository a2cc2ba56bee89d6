"""What the image-to-image families share: options and the making of data (Pix2Pix, CycleGAN), and checks (with
super-resolution and inpainting)."""
import dataclasses

from tfgan_impl import data as data_module
from tfgan_impl import families, networks
from tfgan_impl.adversarial import check_non_negative
from tfgan_impl.errors import ConfigError, UserError
from tfgan_impl.families import TrainingData, option


@dataclasses.dataclass
class TranslationOptions:
    """Options of every translator."""

    jitter: bool = option(True, section="data")  # Pix2Pix's random resize-crop and mirroring of training images
    direction: str = option("a_to_b", section="data")  # a_to_b translates a pair's first image into its second


def check_image_networks(config, generators, discriminators, task, reports):
    """What every image-to-image family checks: networks among `generators` and `discriminators`, an image range,
    and no sample metrics (those score generators of noise; the family reports `reports` instead).

    Args:
        config: the config.
        generators, discriminators: the network names the family takes.
        task: what its networks do, for messages (`"an inpainting"`).
        reports: what the family reports held out, for messages.
    """
    model = config.model
    for kind, names in (("generator", generators), ("discriminator", discriminators)):
        name = getattr(model, kind)["name"]
        if name not in names:
            raise ConfigError(f"model.{kind}.name: {name!r} is not {task} network (model.type {model.type!r} "
                              f"needs one of {', '.join(names)})")
    if model.output_range is None:
        raise ConfigError(f"model.output_range: model.type {model.type!r} needs an image range, e.g. [-1, 1], "
                          "not null")
    if config.evaluate.metrics:
        raise ConfigError(f"evaluate.metrics: the sample metrics are for generators of noise; model.type "
                          f"{model.type!r} reports {reports}")


def source_images(config, split, task):
    """The config's source's images in [0, 1], `[n, H, W, C]`, for a family that makes its own pairs from
    images (super-resolution, inpainting); `task` names it in the error for a source of points."""
    data = config.data
    images = data_module.to_unit_interval(data_module.load_source(data.source, split, data.data_dir,
                                                                  data.image_size).images)
    if images.ndim != 4:
        raise UserError(f"data.source {data.source}: {task} needs images [n, H, W, C], got {list(images.shape[1:])}")
    return images


def validate(config):
    """Translators' networks take and give images, in a range, and are scored by held-out L1, not sample metrics."""
    check_image_networks(config, networks.TRANSLATION_GENERATORS, networks.TRANSLATION_DISCRIMINATORS,
                         "an image-to-image translation", "held-out l1")
    if config.options.direction not in ("a_to_b", "b_to_a"):
        raise ConfigError(f"data.direction: expected a_to_b or b_to_a, got {config.options.direction!r}")
    weights = {field.name: getattr(config.options, field.name) for field in dataclasses.fields(config.options)
               if field.type in (int, float, "int", "float")}
    families.check("train", check_non_negative, **weights)  # the loss weights and sizes (all under train)


def load_images(config, split, loader):
    """The two image arrays in [0, 1] of the config's source, in its `data.direction`.

    Args:
        config: a validated config.
        split: the split to read.
        loader: `paired.load_pairs` or `paired.load_unpaired`.
    """
    data = config.data
    first, second = loader(data.source, split, data.data_dir, data.image_size)
    return (first, second) if config.options.direction == "a_to_b" else (second, first)


def training_data(config, loader, make_dataset, paired):
    """`TrainingData` of translators from `(inputs, targets)` (or two domains) in [0, 1].

    Args:
        config: a validated config.
        loader: `paired.load_pairs` or `paired.load_unpaired`.
        make_dataset: `paired.make_paired_dataset` or `paired.make_unpaired_dataset`.
        paired: whether the arrays correspond (the picture then shows targets, else reconstructions).
    """
    inputs, targets = load_images(config, config.data.split, loader)
    dataset = make_dataset(inputs, targets, config.data.batch_size, output_range=config.model.output_range,
                           jitter=config.options.jitter, seed=config.seed, shuffle_buffer=config.data.shuffle_buffer)
    info = {"input_shape": list(inputs.shape[1:]), "sample_shape": list(targets.shape[1:]),
            "source": config.data.source, "num_classes": None}
    shown = min(config.train.num_samples, len(inputs))
    return TrainingData(dataset, info, preview=(inputs[:shown], targets[:shown] if paired else None))


def build_network(config, kind, derived):
    """One network of a translator (`networks.build` on the config's spec)."""
    return networks.build(kind, getattr(config.model, kind), derived)
