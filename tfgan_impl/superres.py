"""Super-resolution GANs: SRGAN (Ledig et al. 2017, arXiv:1609.04802) and ESRGAN (Wang et al. 2018,
arXiv:1809.00219), trained with `fit` on `(low-resolution, high-resolution)` pairs."""
import keras
import tensorflow as tf

from tfgan_impl import distribute
from tfgan_impl import losses as losses_module
from tfgan_impl.adversarial import AdversarialModel, Phase, PhaseLoss, check_non_negative
from tfgan_impl.samplers import Translator

ADVERSARIAL_LOSSES = ("relativistic_average", "non_saturating")
PIXEL_LOSSES = ("l1", "l2")


def _per_example_mean(values):
    return tf.reduce_mean(tf.reshape(tf.cast(values, tf.float32), [tf.shape(values)[0], -1]), axis=1)


@keras.saving.register_keras_serializable(package="tfgan_impl")
class SuperResolution(AdversarialModel, Translator):
    """A generator that upscales images, trained against a discriminator of high-resolution images
    (SRGAN eq. 3: l^SR = l_X + 10^-3 l_Gen; ESRGAN eq. 3: L_G = L_percep + lambda L_G^Ra + eta L_1).

    Each step updates the discriminator on the batch's high-resolution images against the generator's upscalings,
    then the generator on `content_weight` x the content (perceptual) loss + `pixel_weight` x the pixel loss +
    `adversarial_weight` x the adversarial loss. SRGAN: content on VGG features, adversarial 1e-3, non-saturating
    loss (its SRResNet-MSE: pixel l2 alone). ESRGAN: content 1 (VGG features before activation), pixel l1 1e-2,
    relativistic average loss 5e-3.

    Args:
        generator: a Keras model from low- to high-resolution images (e.g. `networks.rrdb_generator`).
        discriminator: a Keras model from high-resolution images to logits `[batch, ...]`.
        content_network: a frozen Keras model of images in [0, 1] to features whose squared distance is the
            content loss (e.g. VGG19 to conv5_4, or the domain classifier's convolutions); None for none.
        adversarial_loss: `"relativistic_average"` (ESRGAN) or `"non_saturating"` (SRGAN).
        pixel_loss: `"l1"` or `"l2"`, the distance of the pixel loss, in [0, 1] image units.
        pixel_weight, content_weight, adversarial_weight: the weights of the generator's three terms.
        pretrain_steps: steps at the start in which the generator learns from its pixel and content losses alone
            (its adversarial weight is 0 until then), as both papers start from their PSNR-oriented network
            (SRGAN sec. 3.2: SRResNet; ESRGAN sec. 4.1: the L1-trained network).
        output_range: `(low, high)` of the images the networks see; `translate` maps outputs back to [0, 1].
    """

    METRICS = ("d_loss", "g_loss", "g_adversarial", "pixel", "content", "d_real", "d_fake")

    def __init__(self, generator, discriminator, content_network=None, adversarial_loss="relativistic_average",
                 pixel_loss="l1", pixel_weight=1e-2, content_weight=0.0, adversarial_weight=5e-3,
                 pretrain_steps=0, output_range=(-1.0, 1.0), **kwargs):
        super().__init__(**kwargs)
        if adversarial_loss not in ADVERSARIAL_LOSSES:
            raise ValueError(f"adversarial_loss: expected one of {', '.join(ADVERSARIAL_LOSSES)}, got "
                             f"{adversarial_loss!r}")
        if pixel_loss not in PIXEL_LOSSES:
            raise ValueError(f"pixel_loss: expected one of {', '.join(PIXEL_LOSSES)}, got {pixel_loss!r}")
        check_non_negative(pixel_weight=pixel_weight, content_weight=content_weight,
                           adversarial_weight=adversarial_weight, pretrain_steps=pretrain_steps)
        if content_network is None and content_weight:
            raise ValueError("content_weight: a content loss needs a content_network (or set content_weight 0)")
        self.generator, self.discriminator = generator, discriminator
        self.content_network = content_network
        if content_network is not None:
            content_network.trainable = False
        self.adversarial_loss, self.pixel_loss = adversarial_loss, pixel_loss
        self.pixel_weight, self.content_weight = float(pixel_weight), float(content_weight)
        self.adversarial_weight, self.pretrain_steps = float(adversarial_weight), int(pretrain_steps)
        self.output_range = tuple(float(v) for v in output_range)
        self.build()

    @property
    def scale(self):
        """The upscaling factor, measured on the generator."""
        return int(self.generator.compute_output_shape((1, 8, 8, self.generator.input_shape[-1]))[1]) // 8

    def build(self, input_shape=None):
        if not self.discriminator.built:
            self.discriminator.build((None, *self.discriminator.input_shape[1:]))
        self.built = True

    def call(self, images, training=False):
        return self.generator(images, training=training)

    def phases(self):
        """One discriminator update, then one generator update against it, on the same pairs."""
        return [Phase("discriminator", self.DISCRIMINATORS, "d_optimizer", self.discriminator_loss),
                Phase("generator", self.GENERATORS, "g_optimizer", self.generator_loss)]

    @staticmethod
    def _pair(data):
        if isinstance(data, (tuple, list)) and len(data) == 3 and data[2] is None:  # `train_on_batch(x, y)`
            data = data[:2]
        if not isinstance(data, (tuple, list)) or len(data) != 2:
            raise ValueError("SuperResolution trains on (low-resolution, high-resolution) image pairs")
        return data

    def _unit(self, images):
        low, high = self.output_range
        return (tf.cast(images, tf.float32) - low) / (high - low)

    def _adversarial(self, real_logits, fake_logits):
        """`(discriminator loss, generator loss)` per example."""
        if self.adversarial_loss == "relativistic_average":
            # The expectations over the global batch, as one device takes them, whatever the replicas.
            means = {"real_mean": distribute.global_batch_mean(_per_example_mean(real_logits)),
                     "fake_mean": distribute.global_batch_mean(_per_example_mean(fake_logits))}
            return (losses_module.relativistic_average_discriminator_loss(real_logits, fake_logits, **means),
                    losses_module.relativistic_average_generator_loss(real_logits, fake_logits, **means))
        return (losses_module.minimax_discriminator_loss(real_logits, fake_logits),
                losses_module.non_saturating_generator_loss(fake_logits))

    def discriminator_loss(self, data):
        """The discriminator's loss on the batch's high-resolution images against their upscalings."""
        low, high = self._pair(data)
        fake = tf.stop_gradient(self.generator(low, training=True))
        real_logits = tf.cast(self.discriminator(high, training=True), tf.float32)
        fake_logits = tf.cast(self.discriminator(fake, training=True), tf.float32)
        d_loss, _ = self._adversarial(real_logits, fake_logits)
        return PhaseLoss(d_loss, {"d_loss": tf.reduce_mean(d_loss), "d_real": tf.reduce_mean(real_logits),
                                  "d_fake": tf.reduce_mean(fake_logits)})

    def generator_terms(self, low, high, training):
        """The generator's per-example `(total, adversarial, pixel, content)` losses on a batch of pairs."""
        fake = self.generator(low, training=training)
        pixel_difference = self._unit(fake) - self._unit(high)
        pixel = _per_example_mean(tf.abs(pixel_difference) if self.pixel_loss == "l1" else tf.square(pixel_difference))
        if self.content_network is not None:
            content = _per_example_mean(tf.square(
                tf.cast(self.content_network(self._unit(fake), training=False), tf.float32) -
                tf.stop_gradient(tf.cast(self.content_network(self._unit(high), training=False), tf.float32))))
        else:
            content = tf.zeros_like(pixel)
        if self.adversarial_weight:
            # The relativistic loss of the generator needs the discriminator's view of the reals as well.
            real_logits = tf.cast(self.discriminator(high, training=training), tf.float32)
            fake_logits = tf.cast(self.discriminator(fake, training=training), tf.float32)
            adversarial = self._adversarial(real_logits, fake_logits)[1]
        else:
            adversarial = tf.zeros_like(pixel)
        adversarial_weight = self.adversarial_weight * tf.cast(self.steps >= self.pretrain_steps, tf.float32)
        total = self.content_weight * content + self.pixel_weight * pixel + adversarial_weight * adversarial
        return total, adversarial, pixel, content

    def generator_loss(self, data):
        """The generator's loss (SRGAN eq. 3, ESRGAN eq. 3) against the updated discriminator."""
        total, adversarial, pixel, content = self.generator_terms(*self._pair(data), training=True)
        return PhaseLoss(total, {"g_loss": tf.reduce_mean(total), "g_adversarial": tf.reduce_mean(adversarial),
                                 "pixel": tf.reduce_mean(pixel), "content": tf.reduce_mean(content)})

    def test_step(self, data):
        """Held-out losses of the upscalings, without updates."""
        low, high = self._pair(data)
        total, adversarial, pixel, content = self.generator_terms(low, high, training=False)
        self._track({"g_loss": tf.reduce_mean(total), "g_adversarial": tf.reduce_mean(adversarial),
                     "pixel": tf.reduce_mean(pixel), "content": tf.reduce_mean(content)})
        logs = self._logs()
        return {name: logs[name] for name in ("g_loss", "g_adversarial", "pixel", "content") if name in logs}

    def reports(self, name):
        return name != "content" or self.content_network is not None

    def get_config(self):
        content = self.content_network
        return {**super().get_config(), "adversarial_loss": self.adversarial_loss, "pixel_loss": self.pixel_loss,
                "pixel_weight": self.pixel_weight, "content_weight": self.content_weight,
                "adversarial_weight": self.adversarial_weight, "pretrain_steps": self.pretrain_steps,
                "output_range": list(self.output_range),
                "content_network": None if content is None else keras.saving.serialize_keras_object(content)}

    @classmethod
    def from_config(cls, config):
        config = dict(config)
        if config.get("content_network") is not None:
            config["content_network"] = keras.saving.deserialize_keras_object(config["content_network"])
        return super().from_config(config)
