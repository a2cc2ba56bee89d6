"""Model families: what a config's `model.type` names, each declared in a module of its own.

A family declares its model's options (a dataclass whose fields extend the config's sections), how its training
data is made from `data:`, how its model is built and compiled, and which sampler interface it offers
(`tfgan_impl.samplers`). The config, the training loop, the CLI and the exporters look families up here and
name none of them.

`get(name)` finds a family registered with `register`, then a module `tfgan_impl.families.NAME`, then, for a
dotted name, the module of that name; a module declares its family as `FAMILY`. docs/architecture.md shows how
to add one.
"""
import dataclasses
import importlib
import pkgutil
import typing

from tfgan_impl.errors import ConfigError

SECTIONS = ("model", "data", "train")


def option(default, section="model", **field_options):
    """A family option: a dataclass field with its default and the config section its key is written in."""
    factory = {"default_factory": default} if callable(default) else {"default": default}
    return dataclasses.field(**factory, metadata={"section": section}, **field_options)


def section_of(field):
    """The config section (`model`, `data` or `train`) an options field is written in."""
    return field.metadata.get("section", "model")


def check(section, rule, **values):
    """Runs a model's value rule (e.g. `GAN.check_options`) on config values; its `ValueError("NAME: ...")`
    becomes a `ConfigError` naming the key `SECTION.NAME`. Constructors own the rules; configs only report them."""
    try:
        rule(**values)
    except ValueError as error:
        raise ConfigError(f"{section}.{error}") from None


@dataclasses.dataclass(frozen=True)
class TrainingData:
    """What a family's `training_data` returns.

    Attributes:
        dataset: the batched `tf.data.Dataset` that `fit` consumes (one pass per epoch, or of unknown length).
        info: JSON facts the run directory keeps in `run.json` and `build` reads back: shapes, classes, source.
        extras: facts only the first build of a run needs (e.g. the data's marginals for an output bias).
        preview: fixed `(inputs, targets or None)` in [0, 1] that training pictures translate, for translators.
        reference: real samples in the model's units (at least 2), the yardstick of the training-health check's
            sample diversity, for models that sample from noise; `None` turns that check off for them.
        captions: `(captions or None, embeddings, real images in [0, 1])` of a few examples, for text-to-image
            models: training pictures draw for them, and the health check compares with the images.
    """

    dataset: typing.Any
    info: dict
    extras: dict = dataclasses.field(default_factory=dict)
    preview: typing.Optional[tuple] = None
    reference: typing.Any = None
    captions: typing.Optional[tuple] = None


@dataclasses.dataclass(frozen=True)
class Family:
    """A model family.

    Attributes:
        name: the `model.type` of its configs.
        options: a dataclass of its config keys, each declared with `option(default, section)`; the config's
            `options` holds an instance.
        training_data: `(config) -> TrainingData`.
        build: `(config, info, extras) -> model`, the uncompiled model with its networks (called inside the
            strategy's scope, under the config's dtype policy).
        sampler: `samplers.NoiseSampler` or `samplers.Translator`, what its model offers.
        compile_options: `(config) -> dict`, the model's training options for `compile` (its `configure`).
        validate: `(config) -> None`, checks across keys, raising `ConfigError` naming the key.
        callbacks: `(config) -> list` of extra Keras callbacks of a run (before its loggers).
    """

    name: str
    options: type
    training_data: typing.Callable
    build: typing.Callable
    sampler: type
    compile_options: typing.Callable = lambda config: {}
    validate: typing.Callable = lambda config: None
    callbacks: typing.Callable = lambda config: []


_REGISTRY = {}


def register(family):
    """Makes `family` available under `family.name`; returns it (a module may write `FAMILY = register(...)`)."""
    if not dataclasses.is_dataclass(family.options):
        raise TypeError(f"family {family.name!r}: options must be a dataclass, got {family.options!r}")
    _REGISTRY[family.name] = family
    return family


def names():
    """The names of the built-in families and of those registered so far, sorted."""
    built_in = {module.name for module in pkgutil.iter_modules(__path__) if not module.name.startswith("_")}
    return sorted(built_in | set(_REGISTRY))


def get(name):
    """The family called `name`.

    Raises:
        ConfigError: there is no such family.
    """
    if name in _REGISTRY:
        return _REGISTRY[name]
    candidates = [f"{__name__}.{name}"] if name.isidentifier() else []
    if "." in name:
        candidates.append(name)
    for module_name in candidates:
        try:
            module = importlib.import_module(module_name)
        except ModuleNotFoundError as error:
            if not module_name.startswith(error.name or "\0"):
                raise  # the module exists but imports something missing
            continue
        family = getattr(module, "FAMILY", None)
        if isinstance(family, Family):
            _REGISTRY.setdefault(name, family if family.name == name else dataclasses.replace(family, name=name))
            return _REGISTRY[name]
    raise ConfigError(f"model.type: unknown model type {name!r}; allowed: {', '.join(names())}, or a module "
                      "that defines FAMILY")
