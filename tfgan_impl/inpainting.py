"""Image inpainting GANs: a completion network against context discriminators (Iizuka et al. 2017, "Globally
and Locally Consistent Image Completion") or a PatchGAN (Yu et al. 2019, SN-PatchGAN), trained with `fit` on
`(images, masks)` batches."""
import keras
import numpy as np
import tensorflow as tf

from tfgan_impl import losses as losses_module
from tfgan_impl import masks as masks_module
from tfgan_impl.adversarial import AdversarialModel, Phase, PhaseLoss, check_non_negative
from tfgan_impl.samplers import Translator

ADVERSARIAL_LOSSES = ("non_saturating", "hinge")


def masked_l1(targets, outputs, weights):
    """Per-example mean absolute error over the pixels where `weights` is 1 (the hole, or the known area),
    `[batch]`; 0 for an example without such pixels."""
    difference = tf.abs(tf.cast(targets, tf.float32) - tf.cast(outputs, tf.float32))
    weights = tf.broadcast_to(tf.cast(weights, tf.float32), tf.shape(difference))
    flat = lambda values: tf.reshape(values, [tf.shape(values)[0], -1])  # noqa: E731
    return tf.reduce_sum(flat(difference * weights), axis=1) / tf.maximum(tf.reduce_sum(flat(weights), axis=1), 1.0)


@keras.saving.register_keras_serializable(package="tfgan_impl")
class Inpainting(AdversarialModel, Translator):
    """A generator that completes the holes of images, trained against a discriminator of `[masks, images]`
    (Iizuka et al. 2017, eq. 3: min_C max_D E[L(x, M_c) + alpha log D(x, M_d) + alpha log(1 - D(C(x, M_c), M_c))]).

    The completion is the generator's output in the hole and the input elsewhere (Iizuka et al. eq. 1's
    C(x, M_c) pasted into x): known pixels come back unchanged. Each step updates the discriminator on real
    images against completed ones (with the same masks), then the generator on `hole_weight` x the L1 distance in
    the hole + `valid_weight` x the L1 distance of its raw output on the known pixels (Yu et al. 2018 weigh both)
    + `adversarial_weight` x the adversarial loss. `adversarial_weight` 0 trains the L1-only network.

    Args:
        generator: a Keras model of `[images, masks]` to images (e.g. `networks.inpainting_generator`).
        discriminator: a Keras model of `[masks, images]` to logits (`networks.global_local_discriminator`,
            `networks.patch_discriminator` with a one-channel condition).
        adversarial_loss: `"non_saturating"` (Iizuka et al.) or `"hinge"` (SN-PatchGAN).
        hole_weight, valid_weight, adversarial_weight: the weights of the generator's three terms.
        hole: the side of the centred hole `translate` makes when it is given no masks, as a fraction of the
            image's.
        output_range: `(low, high)` of the images the networks see; `translate` maps outputs back to [0, 1].
    """

    METRICS = ("d_loss", "g_loss", "g_adversarial", "l1_hole", "l1_valid", "d_real", "d_fake")
    TRANSLATION_INPUTS = ("images", "masks")

    def __init__(self, generator, discriminator, adversarial_loss="non_saturating", hole_weight=1.0,
                 valid_weight=1.0, adversarial_weight=1e-2, hole=0.5, output_range=(-1.0, 1.0), **kwargs):
        super().__init__(**kwargs)
        if adversarial_loss not in ADVERSARIAL_LOSSES:
            raise ValueError(f"adversarial_loss: expected one of {', '.join(ADVERSARIAL_LOSSES)}, got "
                             f"{adversarial_loss!r}")
        check_non_negative(hole_weight=hole_weight, valid_weight=valid_weight, adversarial_weight=adversarial_weight)
        if not 0.0 < float(hole) <= 1.0:
            raise ValueError(f"hole: expected a fraction of the image's side in (0, 1], got {hole}")
        self.generator, self.discriminator = generator, discriminator
        self.adversarial_loss = adversarial_loss
        self.hole_weight, self.valid_weight = float(hole_weight), float(valid_weight)
        self.adversarial_weight, self.hole = float(adversarial_weight), float(hole)
        self.output_range = tuple(float(v) for v in output_range)
        self.build()

    def build(self, input_shape=None):
        if not self.discriminator.built:
            self.discriminator.build([(None, *shape[1:]) for shape in self.discriminator.input_shape])
        self.built = True

    def complete(self, images, masks, training=False):
        """The completed images: the generator's output in the hole (`masks` 1), `images` elsewhere."""
        masks = tf.cast(masks, images.dtype)
        outputs = tf.cast(self.generator([images, masks], training=training), images.dtype)
        return masks * outputs + (1.0 - masks) * images

    def call(self, inputs, training=False):
        images, masks = inputs
        return self.complete(images, masks, training=training)

    def translation_generator(self, inverse=False):
        """A Keras model of `[images, masks]` to completed images (sharing the generator's weights), what
        `translate` and the exports run."""
        if inverse:
            return super().translation_generator(inverse)
        if "_completion" not in self.__dict__:
            images = keras.Input(self.generator.input_shape[0][1:], name="images")
            masks = keras.Input(self.generator.input_shape[1][1:], name="masks")
            outputs = self.generator([images, masks])
            known = keras.layers.Multiply()([keras.layers.Rescaling(-1.0, offset=1.0)(masks), images])
            completed = keras.layers.Add()([keras.layers.Multiply()([masks, outputs]), known])
            # Kept out of Keras's tracking: its weights are the generator's, saved once under `generator`.
            object.__setattr__(self, "_completion", keras.Model([images, masks], completed, name="completion"))
        return self.__dict__["_completion"]

    def translation_maps(self, images, masks=None):
        """`[masks]` for `translate`: the given ones (`[n, H, W, 1]` in [0, 1]), or centred holes of side `hole`."""
        height, width = images.shape[1:3]
        if masks is None:
            masks = np.broadcast_to(np.asarray(masks_module.center_mask(height, width, self.hole)),
                                    (len(images), height, width, 1))
        masks = np.asarray(masks, np.float32)
        if masks.shape != (len(images), height, width, 1):
            raise ValueError(f"masks: expected shape {[len(images), height, width, 1]} (one mask per image, 1 in "
                             f"the hole), got {list(masks.shape)}")
        return [masks]

    def phases(self):
        """One discriminator update, then one generator update against it, on the same images and masks; the
        generator's alone when `adversarial_weight` is 0 (the L1-only network needs no discriminator)."""
        generator = Phase("generator", self.GENERATORS, "g_optimizer", self.generator_loss)
        if not self.adversarial_weight:
            return [generator]
        return [Phase("discriminator", self.DISCRIMINATORS, "d_optimizer", self.discriminator_loss), generator]

    def reports(self, name):
        return bool(self.adversarial_weight) or name not in ("d_loss", "d_real", "d_fake", "g_adversarial")

    @staticmethod
    def _batch(data):
        if isinstance(data, (tuple, list)) and len(data) == 3 and data[2] is None:  # `train_on_batch(x, y)`
            data = data[:2]
        if not isinstance(data, (tuple, list)) or len(data) != 2:
            raise ValueError("Inpainting trains on (images, masks) batches, masks 1 in the hole")
        images, masks = data
        return images, tf.cast(masks, images.dtype)

    def _adversarial(self, real_logits, fake_logits):
        """`(discriminator loss, generator loss)` per example."""
        if self.adversarial_loss == "hinge":
            return (losses_module.hinge_discriminator_loss(real_logits, fake_logits),
                    losses_module.wasserstein_generator_loss(fake_logits))
        return (losses_module.minimax_discriminator_loss(real_logits, fake_logits),
                losses_module.non_saturating_generator_loss(fake_logits))

    def discriminator_loss(self, data):
        """The discriminator's loss on real images against completed ones, under the same masks."""
        images, masks = self._batch(data)
        completed = tf.stop_gradient(self.complete(images, masks, training=True))
        real_logits = tf.cast(self.discriminator([masks, images], training=True), tf.float32)
        fake_logits = tf.cast(self.discriminator([masks, completed], training=True), tf.float32)
        d_loss, _ = self._adversarial(real_logits, fake_logits)
        return PhaseLoss(d_loss, {"d_loss": tf.reduce_mean(d_loss), "d_real": tf.reduce_mean(real_logits),
                                  "d_fake": tf.reduce_mean(fake_logits)})

    def generator_terms(self, images, masks, training):
        """The generator's per-example `(total, adversarial, l1_hole, l1_valid)` losses; L1 in [0, 1] units."""
        outputs = tf.cast(self.generator([images, masks], training=training), images.dtype)
        completed = masks * outputs + (1.0 - masks) * images
        low, high = self.output_range
        l1_hole = masked_l1(images, outputs, masks) / (high - low)
        l1_valid = masked_l1(images, outputs, 1.0 - masks) / (high - low)
        if self.adversarial_weight:
            fake_logits = tf.cast(self.discriminator([masks, completed], training=training), tf.float32)
            real_logits = tf.zeros_like(fake_logits)  # neither generator loss reads the real logits
            adversarial = self._adversarial(real_logits, fake_logits)[1]
        else:
            adversarial = tf.zeros_like(l1_hole)
        total = self.hole_weight * l1_hole + self.valid_weight * l1_valid + self.adversarial_weight * adversarial
        return total, adversarial, l1_hole, l1_valid

    def generator_loss(self, data):
        """The generator's loss against the updated discriminator (Iizuka et al. eq. 3, L1 for their MSE)."""
        total, adversarial, l1_hole, l1_valid = self.generator_terms(*self._batch(data), training=True)
        return PhaseLoss(total, {"g_loss": tf.reduce_mean(total), "g_adversarial": tf.reduce_mean(adversarial),
                                 "l1_hole": tf.reduce_mean(l1_hole), "l1_valid": tf.reduce_mean(l1_valid)})

    def test_step(self, data):
        """Held-out losses of the completions, without updates (`l1_hole`: the mean error in the holes)."""
        total, adversarial, l1_hole, l1_valid = self.generator_terms(*self._batch(data), training=False)
        self._track({"g_loss": tf.reduce_mean(total), "g_adversarial": tf.reduce_mean(adversarial),
                     "l1_hole": tf.reduce_mean(l1_hole), "l1_valid": tf.reduce_mean(l1_valid)})
        logs = self._logs()
        return {name: logs[name] for name in ("g_loss", "g_adversarial", "l1_hole", "l1_valid") if name in logs}

    def get_config(self):
        return {**super().get_config(), "adversarial_loss": self.adversarial_loss, "hole_weight": self.hole_weight,
                "valid_weight": self.valid_weight, "adversarial_weight": self.adversarial_weight, "hole": self.hole,
                "output_range": list(self.output_range)}
