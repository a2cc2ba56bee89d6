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


@keras.saving.register_keras_serializable(package="tfgan_impl")
class Annealed(keras.optimizers.schedules.LearningRateSchedule):
    """Another schedule, multiplied by `factor ** clip((step - start_step) / steps, 0, 1)`: unchanged until
    `start_step`, then falling exponentially to `factor` times its value over `steps` and held there.

    Goodfellow et al. 2014's MNIST learning rate decays by 1/1.000004 an update (goodfeli/adversarial, mnist.yaml)
    and reaches its floor only after ~5,800 epochs; this compresses the end of such a run into a few epochs
    (docs/paper_table.md measures what it buys). Keras's schedules do not compose, hence this wrapper.

    Args:
        schedule: the schedule to anneal, a `LearningRateSchedule` or its serialized config (or a float).
        start_step: the optimizer step at which the annealing starts.
        steps: the steps over which the multiplier falls from 1 to `factor`.
        factor: the final multiplier, in (0, 1].
    """

    def __init__(self, schedule, start_step, steps, factor):
        if isinstance(schedule, dict):
            schedule = keras.optimizers.schedules.deserialize(schedule)
        if not 0.0 < float(factor) <= 1.0:
            raise ValueError(f"factor: expected a number in (0, 1], got {factor!r}")
        if int(steps) < 1 or int(start_step) < 0:
            raise ValueError(f"start_step, steps: expected a step >= 0 and a positive count, got {start_step!r}, "
                             f"{steps!r}")
        self.schedule = schedule
        self.start_step, self.steps, self.factor = int(start_step), int(steps), float(factor)

    def __call__(self, step):
        progress = tf.clip_by_value((tf.cast(step, tf.float32) - self.start_step) / self.steps, 0.0, 1.0)
        value = self.schedule(step) if callable(self.schedule) else self.schedule
        return tf.cast(value, tf.float32) * tf.pow(self.factor, progress)

    def get_config(self):
        schedule = self.schedule
        if isinstance(schedule, keras.optimizers.schedules.LearningRateSchedule):
            schedule = keras.optimizers.schedules.serialize(schedule)
        return {"schedule": schedule, "start_step": self.start_step, "steps": self.steps, "factor": self.factor}
