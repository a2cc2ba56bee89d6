"""Class-conditional GANs: the conditional GAN of Mirza & Osindero 2014 and ACGAN (Odena et al. 2017).

Both reuse `GAN`'s update; they change only how labels reach the networks (the hooks `_split`, `_generate`,
`_discriminate`, `_class_losses`). Generated samples take the labels of the real batch they are judged against,
so the generator sees the data's class frequencies.
"""
import keras
import tensorflow as tf

from tfgan_impl import losses as losses_module
from tfgan_impl.adversarial import check_non_negative
from tfgan_impl.gan import GAN


@keras.saving.register_keras_serializable(package="tfgan_impl")
class ConditionalGAN(GAN):
    """Conditional GAN (Mirza & Osindero 2014, arXiv:1411.1784, eq. 2): both networks take the class label.

    `fit` takes `(images, labels)` batches. Calling the model takes `[z, labels]`.

    Args:
        generator: a Keras model of `[z, labels]` (e.g. `dcgan_generator(..., num_classes=K)`).
        discriminator: a Keras model of `[samples, labels]` (`conditioning="input"`).
        latent_dim: size of z.
        num_classes: K, the number of classes; labels are integers in [0, K).
        **kwargs: `seed`, `output_range`, `ema_decay` and Keras options, as for `GAN` (packing is unconditional only).
    """

    def __init__(self, generator, discriminator, latent_dim, num_classes, **kwargs):
        if int(kwargs.get("packing", 1)) != 1:
            raise ValueError("packing (PacGAN) is for unconditional GANs; conditional models judge one sample at a time")
        if int(num_classes) < 2:
            raise ValueError(f"num_classes must be at least 2, got {num_classes!r}")
        self.num_classes = int(num_classes)
        super().__init__(generator, discriminator, latent_dim, **kwargs)

    def call(self, inputs, training=False):
        z, labels = inputs
        return self.sampling_generator([z, labels], training=training)

    def _split(self, data):
        images, labels, _ = keras.utils.unpack_x_y_sample_weight(data)
        if labels is None:
            raise ValueError(f"{type(self).__name__} trains on (images, labels) batches; the data has no labels")
        return images, tf.cast(labels, tf.int32)

    def _generate(self, z, labels, training):
        return self.generator([z, labels], training=training)

    def _discriminate(self, inputs, labels, training):
        return self.discriminator([inputs, labels], training=training), None

    def get_config(self):
        return {**super().get_config(), "num_classes": self.num_classes}


@keras.saving.register_keras_serializable(package="tfgan_impl")
class ACGAN(ConditionalGAN):
    """Auxiliary classifier GAN (Odena et al. 2017, arXiv:1610.09585, sec. 3): the generator takes the label, the
    discriminator does not but also predicts it. The discriminator maximizes L_S + L_C, the generator L_C - L_S
    (eqs. 1-2); here each minimizes its adversarial loss plus `class_loss_weight` times the class loss.

    Args:
        generator: a Keras model of `[z, labels]`.
        discriminator: a Keras model of samples giving `[logits, class_logits]` (`conditioning="auxiliary"`).
        latent_dim, num_classes, **kwargs: as for `ConditionalGAN`.
    """

    def __init__(self, generator, discriminator, latent_dim, num_classes, **kwargs):
        self.class_loss_weight = 1.0
        super().__init__(generator, discriminator, latent_dim, num_classes, **kwargs)

    METRICS = GAN.METRICS + ("d_class_accuracy",)

    def configure(self, class_loss_weight=1.0, **options):
        """As `GAN.configure`, with `class_loss_weight`, the weight of the auxiliary class loss L_C in both updates."""
        check_non_negative(class_loss_weight=class_loss_weight)
        self.class_loss_weight = float(class_loss_weight)
        return {**super().configure(**options), "class_loss_weight": self.class_loss_weight}

    def _discriminate(self, inputs, labels, training):
        logits, class_logits = self.discriminator(inputs, training=training)
        return logits, class_logits

    def _class_losses(self, real_class_logits, fake_class_logits, labels):
        generator_loss = self.class_loss_weight * losses_module.auxiliary_classifier_loss(fake_class_logits, labels)
        if real_class_logits is None:
            return None, generator_loss, {}
        real_loss = losses_module.auxiliary_classifier_loss(real_class_logits, labels, self.label_smoothing)
        accuracy = tf.reduce_mean(tf.cast(tf.equal(tf.argmax(real_class_logits, axis=-1, output_type=tf.int32),
                                                   labels), tf.float32))
        return self.class_loss_weight * real_loss + generator_loss, generator_loss, {"d_class_accuracy": accuracy}
