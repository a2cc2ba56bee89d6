"""Learning-rate schedules the papers use and Keras lacks."""
import keras
import tensorflow as tf


@keras.saving.register_keras_serializable(package="tfgan_impl")
class ConstantThenLinearDecay(keras.optimizers.schedules.LearningRateSchedule):
    """CycleGAN's learning rate (Zhu et al. 2017, sec. 4, appendix 7.1): `learning_rate` for `constant_steps`,
    then a linear decay to zero over `decay_steps` (100 + 100 epochs in the paper)."""

    def __init__(self, learning_rate, constant_steps, decay_steps):
        self.learning_rate = float(learning_rate)
        self.constant_steps = int(constant_steps)
        self.decay_steps = max(int(decay_steps), 1)

    def __call__(self, step):
        progress = (tf.cast(step, tf.float32) - self.constant_steps) / self.decay_steps
        return self.learning_rate * (1.0 - tf.clip_by_value(progress, 0.0, 1.0))

    def get_config(self):
        return {"learning_rate": self.learning_rate, "constant_steps": self.constant_steps,
                "decay_steps": self.decay_steps}


@keras.saving.register_keras_serializable(package="tfgan_impl")
class LinearRampByEpoch(keras.optimizers.schedules.LearningRateSchedule):
    """A value that goes linearly from `initial` to `final` between epochs `start` and `saturate` (1-based) and
    holds outside them: pylearn2's `MomentumAdjustor`, the momentum schedule (0.5 to 0.7 over epochs 1..250) of
    Goodfellow et al. 2014's MNIST set-up (goodfeli/adversarial, mnist.yaml). During epoch e the value is
    `initial + (final - initial) * clip((e - start) / (saturate - start), 0, 1)`; epochs are counted in steps,
    `steps_per_epoch` each (the optimizer's step is all it knows)."""

    def __init__(self, initial, final, start, saturate, steps_per_epoch):
        if int(saturate) < int(start):
            raise ValueError(f"saturate: the ramp must end ({saturate}) at or after its start ({start})")
        if int(steps_per_epoch) < 1:
            raise ValueError(f"steps_per_epoch: expected a positive integer, got {steps_per_epoch!r}")
        self.initial, self.final = float(initial), float(final)
        self.start, self.saturate, self.steps_per_epoch = int(start), int(saturate), int(steps_per_epoch)

    def __call__(self, step):
        epoch = tf.cast(tf.math.floordiv(tf.cast(step, tf.int64), self.steps_per_epoch) + 1, tf.float32)
        if self.saturate == self.start:
            progress = tf.cast(epoch >= self.start, tf.float32)
        else:
            progress = tf.clip_by_value((epoch - self.start) / (self.saturate - self.start), 0.0, 1.0)
        return self.initial + (self.final - self.initial) * progress

    def get_config(self):
        return {"initial": self.initial, "final": self.final, "start": self.start, "saturate": self.saturate,
                "steps_per_epoch": self.steps_per_epoch}
