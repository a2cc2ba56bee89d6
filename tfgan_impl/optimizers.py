"""Optimizers the papers use and Keras lacks."""
import inspect

import keras
from keras import ops

from tfgan_impl import schedules  # noqa: F401  (registers tfgan_impl>LinearRampByEpoch for configs)
from tfgan_impl.errors import ConfigError


@keras.saving.register_keras_serializable(package="tfgan_impl")
class SGD(keras.optimizers.SGD):
    """Keras's SGD whose momentum may follow a schedule of the step, as the learning rate may.

    Keras's SGD takes a constant momentum; Goodfellow et al. 2014's MNIST set-up raises it from 0.5 to 0.7 over
    250 epochs (pylearn2's `MomentumAdjustor`, see `tfgan_impl.schedules.LinearRampByEpoch`). The update is
    Keras's (and pylearn2's `Momentum` rule): `v = momentum(t) * v - learning_rate(t) * g; w = w + v`.

    Args:
        learning_rate: a float or a `LearningRateSchedule`.
        momentum: a float in [0, 1] or a schedule (a `LearningRateSchedule`, called with the step).
        nesterov: Nesterov momentum.
        **kwargs: Keras optimizer options (`weight_decay`, `clipnorm`, ...).
    """

    def __init__(self, learning_rate=0.01, momentum=0.0, nesterov=False, **kwargs):
        schedule = None
        if isinstance(momentum, dict):
            momentum = keras.optimizers.schedules.deserialize(momentum)
        if callable(momentum):
            schedule, momentum = momentum, 1.0  # a nonzero constant makes Keras create the velocities
        super().__init__(learning_rate=learning_rate, momentum=float(momentum), nesterov=nesterov, **kwargs)
        self.momentum_schedule = schedule

    def update_step(self, gradient, variable, learning_rate):
        if self.momentum_schedule is None:
            return super().update_step(gradient, variable, learning_rate)
        momentum = ops.cast(self.momentum_schedule(self.iterations), variable.dtype)
        learning_rate = ops.cast(learning_rate, variable.dtype)
        gradient = ops.cast(gradient, variable.dtype)
        velocity = self.momentums[self._get_variable_index(variable)]
        self.assign(velocity, ops.subtract(ops.multiply(velocity, momentum), ops.multiply(gradient, learning_rate)))
        if self.nesterov:
            self.assign_add(variable, ops.subtract(ops.multiply(velocity, momentum),
                                                   ops.multiply(gradient, learning_rate)))
        else:
            self.assign_add(variable, velocity)

    def get_config(self):
        config = super().get_config()
        if self.momentum_schedule is not None:
            config["momentum"] = keras.optimizers.schedules.serialize(self.momentum_schedule)
        return config


def _optimizer_class(spec, key):
    if not isinstance(spec, dict) or not isinstance(spec.get("name"), str):
        raise ConfigError(f"{key}: expected a mapping with an optimizer 'name' (e.g. adam, sgd), got {spec!r}")
    try:
        optimizer_class = type(keras.optimizers.get(spec["name"]))
    except ValueError:
        raise ConfigError(f"{key}.name: unknown optimizer {spec['name']!r}") from None
    if optimizer_class is keras.optimizers.SGD and isinstance(spec.get("momentum"), dict):
        optimizer_class = SGD  # a momentum schedule, which Keras's SGD does not take
    allowed = list(inspect.signature(optimizer_class.__init__).parameters)[1:]
    for option in spec:
        if option != "name" and option not in allowed:
            raise ConfigError(f"unknown key '{key}.{option}' for optimizer {spec['name']!r}; "
                              f"allowed: {', '.join(a for a in allowed if a != 'kwargs')}")
    return optimizer_class


def make_optimizer(spec, key="optimizer"):
    """Builds a Keras optimizer from `{name: ..., **options}`; `learning_rate` (and SGD's `momentum`) may be a
    schedule's config.

    Args:
        spec: mapping with the optimizer's name and constructor options.
        key: the config key, for error messages.

    Returns:
        A `keras.optimizers.Optimizer`.
    """
    optimizer_class = _optimizer_class(spec, key)
    options = {k: v for k, v in spec.items() if k != "name"}
    for name in ("learning_rate", "momentum"):
        if isinstance(options.get(name), dict):
            try:
                options[name] = keras.optimizers.schedules.deserialize(options[name])
            except (ValueError, TypeError) as error:
                raise ConfigError(f"{key}.{name}: not a schedule ({error})") from None
            if not callable(options[name]):
                raise ConfigError(f"{key}.{name}: unknown schedule {spec[name].get('class_name')!r} (schedules of "
                                  f"tfgan_impl are named 'tfgan_impl>NAME')")
    try:
        return optimizer_class(**options)
    except (ValueError, TypeError) as error:
        raise ConfigError(f"{key}: {error}") from None
