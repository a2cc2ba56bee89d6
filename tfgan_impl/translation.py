"""Image-to-image translation with paired data: Pix2Pix (Isola et al. 2017, arXiv:1611.07004)."""
import keras
import numpy as np
import tensorflow as tf

from tfgan_impl import distribute
from tfgan_impl import losses as losses_module
from tfgan_impl.adversarial import AdversarialModel


@keras.saving.register_keras_serializable(package="tfgan_impl")
class Pix2Pix(AdversarialModel):
    """A conditional GAN that translates images x to images y, trained on pairs with `fit`
    (Isola et al. 2017, eq. 4: G* = arg min_G max_D L_cGAN(G, D) + lambda L_L1(G)).

    Each step takes one discriminator update, with its loss halved (sec. 3.3), then one generator update
    against the updated discriminator, as the paper alternates them. The generator has no noise input: its
    dropout is the only randomness (sec. 3.1).

    Args:
        generator: a Keras model mapping images `[batch, H, W, C]` to images (e.g. `networks.unet_generator`).
        discriminator: a Keras model mapping `[inputs, outputs]` to logits of any shape `[batch, ...]`
            (e.g. `networks.patch_discriminator`, one logit per patch).
        l1_weight: lambda, the weight of the L1 distance to the target (100 in the paper).
        output_range: `(low, high)` of the images the networks see; `translate` maps outputs back to [0, 1].
    """

    def __init__(self, generator, discriminator, l1_weight=100.0, output_range=(-1.0, 1.0), **kwargs):
        super().__init__(**kwargs)
        self.generator = generator
        self.discriminator = discriminator
        if float(l1_weight) < 0:
            raise ValueError(f"l1_weight must be non-negative, got {l1_weight!r}")
        self.l1_weight = float(l1_weight)
        self.output_range = tuple(float(v) for v in output_range)
        self.d_loss_tracker = keras.metrics.Mean(name="d_loss")
        self.g_loss_tracker = keras.metrics.Mean(name="g_loss")
        self.g_adversarial_tracker = keras.metrics.Mean(name="g_adversarial")
        self.l1_tracker = keras.metrics.Mean(name="l1")
        self.d_real_tracker = keras.metrics.Mean(name="d_real")
        self.d_fake_tracker = keras.metrics.Mean(name="d_fake")
        self.build()

    def build(self, input_shape=None):
        image_shape = tuple(self.generator.input_shape[1:])
        output_shape = tuple(self.generator.output_shape[1:])
        if not self.discriminator.built:
            self.discriminator.build([(None, *image_shape), (None, *output_shape)])
        self.built = True

    def call(self, images, training=False):
        return self.generator(images, training=training)

    def compile(self, d_optimizer, g_optimizer, **kwargs):
        """Configures training: one optimizer per network (Adam, 2e-4, beta_1 0.5 in the paper, sec. 3.3);
        `**kwargs` go to `keras.Model.compile` (`jit_compile`, `steps_per_execution`)."""
        self._set_optimizers(d_optimizer, g_optimizer)
        super().compile(optimizer=self.g_optimizer, auto_scale_loss=False, **kwargs)
        self._compile_kwargs = dict(kwargs)

    @property
    def metrics(self):
        return [self.d_loss_tracker, self.g_loss_tracker, self.g_adversarial_tracker, self.l1_tracker,
                self.d_real_tracker, self.d_fake_tracker]

    @staticmethod
    def _pair(data):
        if not isinstance(data, (tuple, list)) or len(data) != 2:
            raise ValueError("Pix2Pix trains on (input images, target images) pairs")
        return data

    def train_step(self, data):
        """One discriminator and one generator update on a batch of pairs (Isola et al. 2017, eq. 4)."""
        sources, targets = self._pair(data)
        outputs = self.generator(sources, training=True)
        with tf.GradientTape() as tape:
            real_logits = tf.cast(self.discriminator([sources, targets], training=True), tf.float32)
            fake_logits = tf.cast(self.discriminator([sources, outputs], training=True), tf.float32)
            d_per_example = 0.5 * losses_module.minimax_discriminator_loss(real_logits, fake_logits)
            d_loss = distribute.scale_to_global_batch(d_per_example)
        variables = self.discriminator.trainable_variables
        self.d_optimizer.apply_gradients(zip(tape.gradient(self.d_optimizer.scale_loss(d_loss), variables),
                                             variables))
        with tf.GradientTape() as tape:
            outputs = self.generator(sources, training=True)
            fake_logits_for_g = tf.cast(self.discriminator([sources, outputs], training=True), tf.float32)
            adversarial = losses_module.non_saturating_generator_loss(fake_logits_for_g)
            l1 = self._l1(targets, outputs)
            g_per_example = adversarial + self.l1_weight * l1
            g_loss = distribute.scale_to_global_batch(g_per_example)
        variables = self.generator.trainable_variables
        self.g_optimizer.apply_gradients(zip(tape.gradient(self.g_optimizer.scale_loss(g_loss), variables),
                                             variables))
        self.d_loss_tracker.update_state(tf.reduce_mean(d_per_example))
        self.g_loss_tracker.update_state(tf.reduce_mean(g_per_example))
        self.g_adversarial_tracker.update_state(tf.reduce_mean(adversarial))
        self.l1_tracker.update_state(tf.reduce_mean(l1))
        self.d_real_tracker.update_state(tf.reduce_mean(tf.sigmoid(real_logits)))
        self.d_fake_tracker.update_state(tf.reduce_mean(tf.sigmoid(fake_logits)))
        return self._logs()

    @staticmethod
    def _l1(targets, outputs):
        """Per-example mean absolute error, in the networks' units."""
        difference = tf.abs(tf.cast(targets, tf.float32) - tf.cast(outputs, tf.float32))
        return tf.reduce_mean(tf.reshape(difference, [tf.shape(difference)[0], -1]), axis=1)

    def test_step(self, data):
        """Held-out L1 of the translations (and the discriminator's view of them), without updates."""
        sources, targets = self._pair(data)
        outputs = self.generator(sources, training=False)
        real_logits = tf.cast(self.discriminator([sources, targets], training=False), tf.float32)
        fake_logits = tf.cast(self.discriminator([sources, outputs], training=False), tf.float32)
        adversarial = losses_module.non_saturating_generator_loss(fake_logits)
        l1 = self._l1(targets, outputs)
        self.d_loss_tracker.update_state(tf.reduce_mean(
            0.5 * losses_module.minimax_discriminator_loss(real_logits, fake_logits)))
        self.g_loss_tracker.update_state(tf.reduce_mean(adversarial + self.l1_weight * l1))
        self.g_adversarial_tracker.update_state(tf.reduce_mean(adversarial))
        self.l1_tracker.update_state(tf.reduce_mean(l1))
        self.d_real_tracker.update_state(tf.reduce_mean(tf.sigmoid(real_logits)))
        self.d_fake_tracker.update_state(tf.reduce_mean(tf.sigmoid(fake_logits)))
        return self._logs()

    def to_unit_interval(self, images):
        """Maps images from `output_range` to [0, 1], as numpy."""
        low, high = self.output_range
        return np.clip((keras.ops.convert_to_numpy(images).astype("float32") - low) / (high - low), 0.0, 1.0)

    def translate(self, images, batch_size=64):
        """Translates images given in [0, 1] (numpy `[n, H, W, C]`); returns the outputs in [0, 1]."""
        low, high = self.output_range
        images = np.asarray(images, np.float32) * (high - low) + low
        outputs = [self.generator(images[start:start + batch_size], training=False)
                   for start in range(0, len(images), batch_size)]
        return self.to_unit_interval(np.concatenate(outputs) if outputs else np.zeros((0,), np.float32))

    def get_config(self):
        return {**super().get_config(), "l1_weight": self.l1_weight, "output_range": list(self.output_range)}

