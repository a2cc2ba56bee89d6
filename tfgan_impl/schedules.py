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
