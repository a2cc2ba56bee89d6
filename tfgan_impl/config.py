"""Experiment configs: YAML files validated into typed dataclasses, every default visible here.

A config has five parts: `seed`, `model` (its family `type`, latent size, output range, the two networks by name
and their options), `data` (source and input pipeline), `train` (loss, schedule, optimizers, outputs) and
`evaluate` (metrics computed during training). The family named by `model.type` (`tfgan_impl.families`) adds its
own keys to these sections; they are parsed into `Config.options`. Unknown keys and bad values raise `ConfigError`
naming the key and what is allowed.
"""
import dataclasses
import inspect
import re
import typing

import yaml

from tfgan_impl import augment, distribute, families, losses, networks, optimizers, penalties
from tfgan_impl.errors import ConfigError

SECTIONS = ("seed", "model", "data", "train", "evaluate")
# Keys every config had in tfgan_impl 0.1.0, whatever its model type, with their defaults: run directories of that
# version store them all. Where the family has no such option and the value is the old default (it meant nothing
# then either), the key is dropped.
_FORMER_SHARED_KEYS = {
    "model": {"packing": 1, "ema_decay": None, "rejection_percentile": None},
    "data": {"labels_per_class": 100, "jitter": True, "direction": "a_to_b"},
    "train": {"class_loss_weight": 1.0, "supervised_weight": 1.0, "l1_weight": 100.0, "cycle_weight": 10.0,
              "identity_weight": 0.5, "pool_size": 50},
}


class _Loader(yaml.SafeLoader):
    """`yaml.SafeLoader` reading numbers and booleans as YAML 1.2 does: PyYAML follows YAML 1.1, where `2e-4` (no
    dot) is a string and `off`, `on`, `yes`, `no` are booleans, so `learning_rate: 2e-4` would be a string and
    `health: off` the boolean false."""


_Loader.yaml_implicit_resolvers = {
    first: [(tag, pattern) for tag, pattern in resolvers if tag not in ("tag:yaml.org,2002:float",
                                                                       "tag:yaml.org,2002:bool")]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()}
_Loader.add_implicit_resolver("tag:yaml.org,2002:bool", re.compile(r"^(?:true|True|TRUE|false|False|FALSE)$"),
                              list("tTfF"))
_Loader.add_implicit_resolver(
    "tag:yaml.org,2002:float",
    re.compile(r"^(?:[-+]?(?:[0-9][0-9_]*)\.[0-9_]*(?:[eE][-+]?[0-9]+)?|[-+]?(?:[0-9][0-9_]*)(?:[eE][-+]?[0-9]+)"
               r"|\.[0-9_]+(?:[eE][-+]?[0-9]+)?|[-+]?\.(?:inf|Inf|INF)|\.(?:nan|NaN|NAN))$"),
    list("-+0123456789."))


def _load_yaml(stream):
    return yaml.load(stream, Loader=_Loader)  # noqa: S506 (a SafeLoader subclass)


@dataclasses.dataclass
class ModelConfig:
    type: str = "gan"                # the family: a name of tfgan_impl.families, or a module defining FAMILY
    latent_dim: int = 100
    output_range: typing.Optional[typing.List[float]] = dataclasses.field(default_factory=lambda: [-1.0, 1.0])
    generator: dict = dataclasses.field(default_factory=lambda: {"name": "dcgan"})
    discriminator: dict = dataclasses.field(default_factory=lambda: {"name": "dcgan"})


@dataclasses.dataclass
class DataConfig:
    source: str = "fashion_mnist"
    split: str = "train"
    batch_size: int = 64
    image_size: typing.Optional[typing.List[int]] = None
    shuffle_buffer: int = 10_000
    cache: bool = True
    data_dir: typing.Optional[str] = None
    autotune: bool = False  # tf.data's autotuning in the library's pipelines (tfgan_impl.pipelines)


@dataclasses.dataclass
class TrainConfig:
    epochs: int = 5
    steps_per_epoch: typing.Optional[int] = None
    loss: str = "non_saturating"
    d_steps: int = 1
    penalties: dict = dataclasses.field(default_factory=dict)  # e.g. {gradient_penalty: 10.0} or {r1: 10.0}
    label_smoothing: float = 0.0
    augment: typing.List[str] = dataclasses.field(default_factory=list)  # DiffAugment: color, translation, cutout
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
    health: str = "warn"             # a run whose discriminator won or generator collapsed: warn, stop or off


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
    options: typing.Any = None       # the family's options (its dataclass), written in the sections above

    def to_dict(self):
        """The config as plain data, the family's options in the sections they are written in."""
        mapping = {name: dataclasses.asdict(value) if dataclasses.is_dataclass(value) else value
                   for name, value in ((name, getattr(self, name)) for name in SECTIONS)}
        if self.options is not None:
            for field in dataclasses.fields(self.options):
                mapping[families.section_of(field)][field.name] = getattr(self.options, field.name)
        return mapping


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


def _from_mapping(cls, mapping, prefix, also_allowed=()):
    if not isinstance(mapping, dict):
        raise ConfigError(f"{prefix}: expected a mapping, got {mapping!r}" if prefix else
                          f"the config must be a mapping of sections (seed, model, data, train, evaluate), got {mapping!r}")
    hints = typing.get_type_hints(cls)
    names = [field.name for field in dataclasses.fields(cls)]
    for key in mapping:
        if key not in names:
            where = f"{prefix}.{key}" if prefix else str(key)
            raise ConfigError(f"unknown key '{where}'; allowed: {', '.join([*names, *also_allowed])}")
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
    allowed = [p for p in inspect.signature(builder).parameters if p not in networks.DERIVED_ARGS]
    for key in spec:
        if key != "name" and key not in allowed:
            raise ConfigError(f"unknown key 'model.{kind}.{key}' for network {spec['name']!r}; "
                              f"allowed: {', '.join(allowed)}")
    return builder


def _check(condition, message):
    if not condition:
        raise ConfigError(message)


def validate(config):
    """Checks values beyond their types: ranges, names of losses, networks and optimizers; then the family's
    own checks (`Family.validate`)."""
    model, data, train = config.model, config.data, config.train
    _check(model.latent_dim > 0, f"model.latent_dim: expected a positive integer, got {model.latent_dim}")
    _check(model.output_range is None or (len(model.output_range) == 2 and model.output_range[0] < model.output_range[1]),
           f"model.output_range: expected [low, high] with low < high, or null, got {model.output_range}")
    _network_builder(model.generator, "generator", networks.GENERATORS)
    _network_builder(model.discriminator, "discriminator", networks.DISCRIMINATORS)
    _check(data.batch_size > 0, f"data.batch_size: expected a positive integer, got {data.batch_size}")
    _check(data.image_size is None or (len(data.image_size) == 2 and min(data.image_size) > 0),
           f"data.image_size: expected [height, width] of positive integers, or null, got {data.image_size}")
    _check(data.shuffle_buffer >= 0, f"data.shuffle_buffer: expected 0 or more, got {data.shuffle_buffer}")
    _check(train.epochs > 0, f"train.epochs: expected a positive integer, got {train.epochs}")
    _check(train.steps_per_epoch is None or train.steps_per_epoch > 0,
           f"train.steps_per_epoch: expected a positive integer or null, got {train.steps_per_epoch}")
    _check(train.loss in losses.LOSSES, f"train.loss: unknown loss {train.loss!r}; allowed: {', '.join(losses.LOSSES)}")
    _check(train.d_steps > 0, f"train.d_steps: expected a positive integer, got {train.d_steps}")
    _check(train.health in ("warn", "stop", "off"), f"train.health: expected warn, stop or off, got {train.health!r}")
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
    _check(train.jit_compile in (True, False, "auto"),
           f"train.jit_compile: expected true, false or auto, got {train.jit_compile!r}")
    _check(train.strategy in distribute.STRATEGIES,
           f"train.strategy: expected one of {', '.join(distribute.STRATEGIES)}, got {train.strategy!r}")
    _check(train.precision in distribute.PRECISIONS,
           f"train.precision: expected one of {', '.join(distribute.PRECISIONS)}, got {train.precision!r}")
    for key in ("steps_per_execution", "sample_every", "num_samples", "keep_checkpoints"):
        _check(getattr(train, key) > 0, f"train.{key}: expected a positive integer, got {getattr(train, key)}")
    for key in ("d_optimizer", "g_optimizer"):
        optimizers.make_optimizer(getattr(train, key), f"train.{key}")
    evaluate = config.evaluate
    from tfgan_impl.evaluation import METRICS

    for name in evaluate.metrics:
        _check(name in METRICS, f"evaluate.metrics: unknown metric {name!r}; allowed: {', '.join(METRICS)}")
    for key in ("every", "num"):
        _check(getattr(evaluate, key) > 0, f"evaluate.{key}: expected a positive integer, got {getattr(evaluate, key)}")
    _check(evaluate.mode in ("min", "max"), f"evaluate.mode: expected min or max, got {evaluate.mode!r}")
    _check(evaluate.monitor is None or evaluate.metrics,
           f"evaluate.monitor: {evaluate.monitor!r} needs evaluate.metrics to compute it")
    families.get(model.type).validate(config)
    return config


def from_dict(mapping):
    """Validates a plain mapping (as read from YAML) into a `Config`: the common keys into its sections, the
    keys of the family named by `model.type` into its `options`."""
    mapping = {} if mapping is None else mapping
    if not isinstance(mapping, dict):
        raise ConfigError("the config must be a mapping of sections (seed, model, data, train, evaluate), "
                          f"got {mapping!r}")
    model_section = mapping.get("model") if isinstance(mapping.get("model"), dict) else {}
    family_name = model_section.get("type", ModelConfig.type)
    _check(isinstance(family_name, str), f"model.type: expected a string, got {family_name!r}")
    family = families.get(family_name)
    option_fields = {field.name: field for field in dataclasses.fields(family.options)}
    option_hints = typing.get_type_hints(family.options)
    common, options = {}, {}
    for name, section in mapping.items():
        if isinstance(section, dict) and name in families.SECTIONS:
            former = _FORMER_SHARED_KEYS[name]
            section = {key: value for key, value in section.items()
                       if not (key in former and key not in option_fields and value == former[key])}
            mine = {key for key in section
                    if key in option_fields and families.section_of(option_fields[key]) == name}
            options.update({key: _coerce(option_hints[key], section[key], f"{name}.{key}") for key in mine})
            section = {key: value for key, value in section.items() if key not in mine}
        common[name] = section
    section_types = typing.get_type_hints(Config)
    sections = {}
    for name in families.SECTIONS:  # an unknown key's message lists the family's keys of its section too
        own = [f.name for f in dataclasses.fields(family.options) if families.section_of(f) == name]
        sections[name] = _from_mapping(section_types[name], common.pop(name, {}), name, also_allowed=own)
    config = _from_mapping(Config, common, "")  # seed, evaluate, and unknown top-level keys
    for name, section in sections.items():
        setattr(config, name, section)
    try:
        config.options = family.options(**options)
    except (ValueError, TypeError) as error:
        raise ConfigError(f"model.type {family_name!r}: {error}") from None
    return validate(config)


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
            value = _load_yaml(text)
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
    """Reads a YAML config file (as YAML 1.2: `2e-4` is a number, `off` a string) and applies overrides, without
    validating it.

    Validation builds optimizers, which starts TensorFlow; a multi-worker or TPU strategy must be created before
    that, from the raw `train.strategy` this returns.

    Returns:
        The raw mapping.

    Raises:
        ConfigError: the file is missing or unreadable; the message starts with the file's path.
    """
    try:
        with open(path, encoding="utf-8") as stream:
            mapping = _load_yaml(stream)
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
    """Reads a YAML config file (as YAML 1.2: `2e-4` is a number, `off` a string), applies overrides and validates
    it.

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
