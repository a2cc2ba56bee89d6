"""Optimizers the papers use and Keras lacks."""
import keras
from keras import ops


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
