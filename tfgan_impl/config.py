"""Experiment configs: YAML files validated into typed dataclasses, every default visible here.

A config has five parts: `seed`, `model` (latent size, output range, the two networks by name and their
options), `data` (source and input pipeline), `train` (loss, schedule, optimizers, outputs) and `evaluate`
(metrics computed during training). Unknown keys
and bad values raise `ConfigError` naming the key and what is allowed.
"""
import dataclasses
import inspect
import typing

import keras
import yaml

from tfgan_impl import augment, distribute, losses, networks, penalties, schedules  # noqa: F401 (registers)
from tfgan_impl.errors import ConfigError

# Builder arguments filled from the data and the model section, never from a network's options.
DERIVED_NETWORK_ARGS = ("latent_dim", "output_shape", "image_shape", "input_shape", "num_classes", "conditioning",
                        "output_channels", "target_channels", "conditional")

# model.type -> how labels reach the networks: unconditional, labels into both (cGAN), a class head (ACGAN),
# a K-class discriminator trained on a few labels (semi-supervised GAN); or image-to-image translation on
# pairs (Pix2Pix) or between two unpaired domains (CycleGAN).
MODEL_TYPES = ("gan", "cgan", "acgan", "sgan", "pix2pix", "cyclegan")
TRANSLATORS = ("pix2pix", "cyclegan")


@dataclasses.dataclass
class ModelConfig:
    type: str = "gan"
    latent_dim: int = 100
    output_range: typing.Optional[typing.List[float]] = dataclasses.field(default_factory=lambda: [-1.0, 1.0])
    generator: dict = dataclasses.field(default_factory=lambda: {"name": "dcgan"})
    discriminator: dict = dataclasses.field(default_factory=lambda: {"name": "dcgan"})
    packing: int = 1                 # PacGAN: samples the discriminator judges together
    ema_decay: typing.Optional[float] = None  # moving average of the generator's weights, used for samples
    rejection_percentile: typing.Optional[float] = None  # samples through discriminator rejection sampling


@dataclasses.dataclass
class DataConfig:
    source: str = "fashion_mnist"
    split: str = "train"
    batch_size: int = 64
    image_size: typing.Optional[typing.List[int]] = None
    shuffle_buffer: int = 10_000
    cache: bool = True
    data_dir: typing.Optional[str] = None
    labels_per_class: int = 100      # the semi-supervised GAN's labelled examples per class
    jitter: bool = True              # translators: Pix2Pix's random resize-crop and mirroring of pairs
    direction: str = "a_to_b"        # translators: a_to_b translates a pair's first image into its second


@dataclasses.dataclass
class TrainConfig:
    epochs: int = 5
    steps_per_epoch: typing.Optional[int] = None
    loss: str = "non_saturating"
    d_steps: int = 1
    penalties: dict = dataclasses.field(default_factory=dict)  # e.g. {gradient_penalty: 10.0} or {r1: 10.0}
    label_smoothing: float = 0.0
    augment: typing.List[str] = dataclasses.field(default_factory=list)  # DiffAugment: color, translation, cutout
    class_loss_weight: float = 1.0   # ACGAN's auxiliary class loss weight
    supervised_weight: float = 1.0   # the semi-supervised GAN's labelled cross-entropy weight
    l1_weight: float = 100.0         # Pix2Pix's lambda, the weight of the L1 distance to the target
    cycle_weight: float = 10.0       # CycleGAN's lambda, the weight of cycle consistency
    identity_weight: float = 0.5     # CycleGAN's identity loss, relative to lambda
    pool_size: int = 50              # CycleGAN's history of generated images per domain
    d_optimizer: dict = dataclasses.field(default_factory=lambda: {"name": "adam", "learning_rate": 2e-4,
                                                                   "beta_1": 0.5})
    g_optimizer: dict = dataclasses.field(default_factory=lambda: {"name": "adam", "learning_rate": 2e-4,
                                                                   "beta_1": 0.5})
    jit_compile: typing.Union[bool, str] = "auto"
    steps_per_execution: int = 1
    strategy: str = "auto"           # auto, default, mirrored, multi_worker or tpu (tfgan_impl.distribute)
    tpu: typing.Optional[str] = None  # TPUClusterResolver's name or address for strategy tpu
    precision: str = "float32"       # float32, mixed_float16 or mixed_bfloat16
    synchronized_batch_norm: bool = False  # batch statistics over the global batch instead of each replica's
    sample_every: int = 1
    num_samples: int = 64
    keep_checkpoints: int = 2
    deterministic: bool = False


@dataclasses.dataclass
class EvaluateConfig:
    metrics: typing.List[str] = dataclasses.field(default_factory=list)  # empty: no evaluation during training
    every: int = 1
    num: int = 2000
    classifier: typing.Optional[str] = None
    inception_weights: typing.Optional[str] = None
    monitor: typing.Optional[str] = None
    mode: str = "min"


@dataclasses.dataclass
class Config:
    seed: int = 0
    model: ModelConfig = dataclasses.field(default_factory=ModelConfig)
    data: DataConfig = dataclasses.field(default_factory=DataConfig)
    train: TrainConfig = dataclasses.field(default_factory=TrainConfig)
    evaluate: EvaluateConfig = dataclasses.field(default_factory=EvaluateConfig)

    def to_dict(self):
        return dataclasses.asdict(self)


def _describe(annotation):
    origin = typing.get_origin(annotation)
    if origin is typing.Union:
        return " or ".join(_describe(a) for a in typing.get_args(annotation))
    if origin in (list, typing.List):
        return f"a list of {_describe(typing.get_args(annotation)[0])}"
    return {int: "an integer", float: "a number", str: "a string", bool: "true/false", dict: "a mapping",
            type(None): "null"}.get(annotation, getattr(annotation, "__name__", str(annotation)))


def _coerce(annotation, value, key):
    """Checks `value` against a field's type annotation (ints are accepted where floats are)."""
    if dataclasses.is_dataclass(annotation):
        return _from_mapping(annotation, value, key)
    origin = typing.get_origin(annotation)
    if origin is typing.Union:
        for option in typing.get_args(annotation):
            try:
                return _coerce(option, value, key)
            except ConfigError:
                continue
    elif origin in (list, typing.List):
        if isinstance(value, (list, tuple)):
            return [_coerce(typing.get_args(annotation)[0], item, key) for item in value]
    elif annotation is type(None):
        if value is None:
            return None
    elif annotation is float:
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            return float(value)
    elif annotation is int:
        if isinstance(value, int) and not isinstance(value, bool):
            return value
    elif isinstance(value, annotation):
        return value
    raise ConfigError(f"{key}: expected {_describe(annotation)}, got {value!r}")


def _from_mapping(cls, mapping, prefix):
    if not isinstance(mapping, dict):
        raise ConfigError(f"{prefix}: expected a mapping, got {mapping!r}" if prefix else
                          f"the config must be a mapping of sections (seed, model, data, train, evaluate), got {mapping!r}")
    hints = typing.get_type_hints(cls)
    names = [field.name for field in dataclasses.fields(cls)]
    for key in mapping:
        if key not in names:
            where = f"{prefix}.{key}" if prefix else str(key)
            raise ConfigError(f"unknown key '{where}'; allowed: {', '.join(names)}")
    values = {key: _coerce(hints[key], value, f"{prefix}.{key}" if prefix else key) for key, value in mapping.items()}
    for field in dataclasses.fields(cls):
        # A network or optimizer section without a name refines the default one (e.g. `--set
        # model.generator.base_filters=8`); with a name it stands alone.
        value = values.get(field.name)
        if hints[field.name] is dict and isinstance(value, dict) and "name" not in value:
            values[field.name] = {**field.default_factory(), **value}
    return cls(**values)


def _network_builder(section, kind, registry):
    spec = section
    if not isinstance(spec, dict) or not isinstance(spec.get("name"), str):
        raise ConfigError(f"model.{kind}: expected a mapping with a 'name' (one of {sorted(registry)}), got {spec!r}")
    if spec["name"] not in registry:
        raise ConfigError(f"model.{kind}.name: unknown network {spec['name']!r}; allowed: {', '.join(sorted(registry))}")
    builder = registry[spec["name"]]
    allowed = [p for p in inspect.signature(builder).parameters if p not in DERIVED_NETWORK_ARGS]
    for key in spec:
        if key != "name" and key not in allowed:
            raise ConfigError(f"unknown key 'model.{kind}.{key}' for network {spec['name']!r}; "
                              f"allowed: {', '.join(allowed)}")
    return builder


def _optimizer_class(spec, key):
    if not isinstance(spec, dict) or not isinstance(spec.get("name"), str):
        raise ConfigError(f"{key}: expected a mapping with an optimizer 'name' (e.g. adam, sgd), got {spec!r}")
    try:
        optimizer_class = type(keras.optimizers.get(spec["name"]))
    except ValueError:
        raise ConfigError(f"{key}.name: unknown optimizer {spec['name']!r}") from None
    allowed = list(inspect.signature(optimizer_class.__init__).parameters)[1:]
    for option in spec:
        if option != "name" and option not in allowed:
            raise ConfigError(f"unknown key '{key}.{option}' for optimizer {spec['name']!r}; "
                              f"allowed: {', '.join(a for a in allowed if a != 'kwargs')}")
    return optimizer_class


def make_optimizer(spec, key="optimizer"):
    """Builds a Keras optimizer from `{name: ..., **options}`; `learning_rate` may be a schedule's config.

    Args:
        spec: mapping with the optimizer's name and constructor options.
        key: the config key, for error messages.

    Returns:
        A `keras.optimizers.Optimizer`.
    """
    optimizer_class = _optimizer_class(spec, key)
    options = {k: v for k, v in spec.items() if k != "name"}
    if isinstance(options.get("learning_rate"), dict):
        try:
            options["learning_rate"] = keras.optimizers.schedules.deserialize(options["learning_rate"])
        except (ValueError, TypeError) as error:
            raise ConfigError(f"{key}.learning_rate: not a learning-rate schedule ({error})") from None
    try:
        return optimizer_class(**options)
    except (ValueError, TypeError) as error:
        raise ConfigError(f"{key}: {error}") from None


def _check(condition, message):
    if not condition:
        raise ConfigError(message)


def validate(config):
    """Checks values beyond their types: ranges, names of losses, networks and optimizers."""
    model, data, train = config.model, config.data, config.train
    _check(model.type in MODEL_TYPES, f"model.type: unknown model type {model.type!r}; allowed: {', '.join(MODEL_TYPES)}")
    _check(model.latent_dim > 0, f"model.latent_dim: expected a positive integer, got {model.latent_dim}")
    _check(model.packing > 0, f"model.packing: expected a positive integer, got {model.packing}")
    _check(model.packing == 1 or model.type == "gan",
           f"model.packing: packing is for unconditional GANs (model.type gan), not {model.type!r}")
    _check(model.rejection_percentile is None or (model.type == "gan" and model.packing == 1
                                                   and 0.0 <= model.rejection_percentile < 100.0),
           "model.rejection_percentile: expected null, or a percentile in [0, 100) for model.type gan without "
           f"packing, got {model.rejection_percentile} (type {model.type!r}, packing {model.packing})")
    _check(model.ema_decay is None or 0.0 < model.ema_decay < 1.0,
           f"model.ema_decay: expected a number strictly between 0 and 1, or null, got {model.ema_decay}")
    _check(model.output_range is None or (len(model.output_range) == 2 and model.output_range[0] < model.output_range[1]),
           f"model.output_range: expected [low, high] with low < high, or null, got {model.output_range}")
    _network_builder(model.generator, "generator", networks.GENERATORS)
    _network_builder(model.discriminator, "discriminator", networks.DISCRIMINATORS)
    translator = model.type in TRANSLATORS
    for kind, names in (("generator", networks.TRANSLATION_GENERATORS),
                        ("discriminator", networks.TRANSLATION_DISCRIMINATORS)):
        name = getattr(model, kind)["name"]
        _check((name in names) == translator,
               f"model.{kind}.name: {name!r} " + (f"cannot translate images (model.type {model.type!r} needs one of "
                                                    f"{', '.join(names)})" if translator else
                                                    f"is for translators (model.type pix2pix or cyclegan), not {model.type!r}"))
    _check(not translator or model.output_range is not None,
           "model.output_range: a translator needs an image range, e.g. [-1, 1], not null")
    _check(not translator or model.ema_decay is None, "model.ema_decay: translators keep no moving average")
    _check(not translator or not config.evaluate.metrics,
           "evaluate.metrics: the sample metrics are for generators of noise; a translator reports held-out l1")
    _check(data.direction in ("a_to_b", "b_to_a"), f"data.direction: expected a_to_b or b_to_a, got {data.direction!r}")
    for key in ("l1_weight", "cycle_weight", "identity_weight", "pool_size"):
        _check(getattr(train, key) >= 0, f"train.{key}: expected 0 or more, got {getattr(train, key)}")
    _check(data.batch_size > 0, f"data.batch_size: expected a positive integer, got {data.batch_size}")
    _check(data.image_size is None or (len(data.image_size) == 2 and min(data.image_size) > 0),
           f"data.image_size: expected [height, width] of positive integers, or null, got {data.image_size}")
    _check(data.shuffle_buffer >= 0, f"data.shuffle_buffer: expected 0 or more, got {data.shuffle_buffer}")
    _check(train.epochs > 0, f"train.epochs: expected a positive integer, got {train.epochs}")
    _check(train.steps_per_epoch is None or train.steps_per_epoch > 0,
           f"train.steps_per_epoch: expected a positive integer or null, got {train.steps_per_epoch}")
    _check(train.loss in losses.LOSSES, f"train.loss: unknown loss {train.loss!r}; allowed: {', '.join(losses.LOSSES)}")
    _check(train.d_steps > 0, f"train.d_steps: expected a positive integer, got {train.d_steps}")
    _check(data.batch_size % model.packing == 0,
           f"data.batch_size: {data.batch_size} is not divisible by model.packing ({model.packing})")
    for name, weight in train.penalties.items():
        _check(name in penalties.PENALTIES,
               f"train.penalties: unknown penalty {name!r}; allowed: {', '.join(penalties.PENALTIES)}")
        _check(isinstance(weight, (int, float)) and not isinstance(weight, bool) and weight >= 0,
               f"train.penalties.{name}: expected a non-negative weight, got {weight!r}")
    _check(0.0 <= train.label_smoothing < 1.0,
           f"train.label_smoothing: expected a number in [0, 1), got {train.label_smoothing}")
    _check(not train.label_smoothing or losses.LOSSES[train.loss].outputs_are_logits,
           f"train.label_smoothing: applies to the minimax and non_saturating losses, not {train.loss!r}")
    for name in train.augment:
        _check(name in augment.POLICIES, f"train.augment: unknown augmentation {name!r}; allowed: "
                                         f"{', '.join(augment.POLICIES)}")
    _check(train.class_loss_weight >= 0, f"train.class_loss_weight: expected 0 or more, got {train.class_loss_weight}")
    _check(train.supervised_weight >= 0, f"train.supervised_weight: expected 0 or more, got {train.supervised_weight}")
    _check(data.labels_per_class > 0, f"data.labels_per_class: expected a positive integer, got {data.labels_per_class}")
    _check(train.jit_compile in (True, False, "auto"),
           f"train.jit_compile: expected true, false or auto, got {train.jit_compile!r}")
    _check(train.strategy in distribute.STRATEGIES,
           f"train.strategy: expected one of {', '.join(distribute.STRATEGIES)}, got {train.strategy!r}")
    _check(train.precision in distribute.PRECISIONS,
           f"train.precision: expected one of {', '.join(distribute.PRECISIONS)}, got {train.precision!r}")
    for key in ("steps_per_execution", "sample_every", "num_samples", "keep_checkpoints"):
        _check(getattr(train, key) > 0, f"train.{key}: expected a positive integer, got {getattr(train, key)}")
    for key in ("d_optimizer", "g_optimizer"):
        make_optimizer(getattr(train, key), f"train.{key}")
    evaluate = config.evaluate
    from tfgan_impl.evaluation import METRICS

    for name in evaluate.metrics:
        _check(name in METRICS, f"evaluate.metrics: unknown metric {name!r}; allowed: {', '.join(METRICS)}")
    for key in ("every", "num"):
        _check(getattr(evaluate, key) > 0, f"evaluate.{key}: expected a positive integer, got {getattr(evaluate, key)}")
    _check(evaluate.mode in ("min", "max"), f"evaluate.mode: expected min or max, got {evaluate.mode!r}")
    _check(evaluate.monitor is None or evaluate.metrics,
           f"evaluate.monitor: {evaluate.monitor!r} needs evaluate.metrics to compute it")
    return config


def from_dict(mapping):
    """Validates a plain mapping (as read from YAML) into a `Config`."""
    return validate(_from_mapping(Config, mapping if mapping is not None else {}, ""))


def apply_overrides(mapping, overrides):
    """Applies `section.key=value` strings to a raw config mapping; values are parsed as YAML.

    Args:
        mapping: the config as read from YAML (changed in place and returned).
        overrides: strings such as `train.d_steps=2` or `model.generator.base_filters=32`.

    Returns:
        The updated mapping.
    """
    for override in overrides:
        key, separator, text = override.partition("=")
        if not separator or not key:
            raise ConfigError(f"--set {override!r}: expected section.key=value")
        try:
            value = yaml.safe_load(text)
        except yaml.YAMLError:
            raise ConfigError(f"--set {override!r}: the value is not valid YAML") from None
        if not isinstance(mapping, dict):
            raise ConfigError("the config must be a mapping of sections (seed, model, data, train, evaluate)")
        node = mapping
        parts = key.split(".")
        for part in parts[:-1]:
            child = node.setdefault(part, {})
            if not isinstance(child, dict):
                raise ConfigError(f"--set {override!r}: '{part}' is not a section")
            node = child
        node[parts[-1]] = value
    return mapping


def read(path, overrides=()):
    """Reads a YAML config file (with `yaml.safe_load`) and applies overrides, without validating it.

    Validation builds optimizers, which starts TensorFlow; a multi-worker or TPU strategy must be created before
    that, from the raw `train.strategy` this returns.

    Returns:
        The raw mapping.

    Raises:
        ConfigError: the file is missing or unreadable; the message starts with the file's path.
    """
    try:
        with open(path, encoding="utf-8") as stream:
            mapping = yaml.safe_load(stream)
    except FileNotFoundError:
        raise ConfigError(f"{path}: no such config file") from None
    except (OSError, UnicodeDecodeError) as error:
        raise ConfigError(f"{path}: cannot read the config ({error})") from None
    except yaml.YAMLError as error:
        mark = getattr(error, "problem_mark", None)
        where = f" at line {mark.line + 1}" if mark else ""
        raise ConfigError(f"{path}: invalid YAML{where}") from None
    try:
        return apply_overrides(mapping if mapping is not None else {}, overrides)
    except ConfigError as error:
        raise ConfigError(f"{path}: {error}") from None


def load(path, overrides=()):
    """Reads a YAML config file (with `yaml.safe_load`), applies overrides and validates it.

    Args:
        path: the YAML file.
        overrides: `section.key=value` strings.

    Returns:
        A validated `Config`.

    Raises:
        ConfigError: the file is missing or invalid; the message starts with the file's path.
    """
    mapping = read(path, overrides)
    try:
        return from_dict(mapping)
    except ConfigError as error:
        raise ConfigError(f"{path}: {error}") from None


def dump(config, path):
    """Writes a config as YAML."""
    with open(path, "w", encoding="utf-8") as stream:
        yaml.safe_dump(config.to_dict(), stream, sort_keys=False)
