"""Progressive growing of GANs (Karras et al. 2018, "Progressive Growing of GANs for Improved Quality, Stability,
and Variation", arXiv:1710.10196): a `GAN` whose networks (`tfgan_impl.networks.progan`) grow from 4x4 to their
full resolution while `fit` runs, following the paper's schedule of images shown.

The level of detail lod is a function of the real images shown so far (`level_of_detail`, the official
`TrainingSchedule`); the model counts them in a checkpointed variable, so a run resumed in the middle of a fade-in
continues it where it stopped. Each step sets both networks' lod and shows the discriminator real images at the
same level of detail (`faded_reals`, the official `process_reals`).
"""
import keras
import tensorflow as tf

from tfgan_impl import distribute
from tfgan_impl.batches import real_images_of
from tfgan_impl.gan import GAN
from tfgan_impl.networks import progan as networks


def level_of_detail(images, max_lod, stage_images, transition_images):
    """The level of detail after `images` real images (Karras et al. 2018, sec. 3 and A.1; the official
    `TrainingSchedule`): `stage_images` at the initial resolution (lod = `max_lod`), then for each finer
    resolution a fade-in over `transition_images` (lod falls linearly by 1) and `stage_images` at it, down to 0.

    Args:
        images: real images shown so far (a scalar, any number type).
        max_lod: log2(resolution / initial resolution).
        stage_images: images per stabilization phase (the paper: 800,000; the official code 600,000).
        transition_images: images per fade-in (the same).

    Returns:
        lod, a float32 scalar in [0, max_lod].
    """
    images = tf.cast(images, tf.float64)
    phase_images = float(stage_images + transition_images)
    phase = tf.floor(images / phase_images)
    into_phase = images - phase * phase_images
    fading = tf.maximum(into_phase - float(stage_images), 0.0) / float(max(transition_images, 1))
    if transition_images == 0:
        fading = tf.zeros_like(fading)
    return tf.cast(tf.clip_by_value(float(max_lod) - phase - fading, 0.0, float(max_lod)), tf.float32)


def faded_reals(images, lod, max_lod):
    """Real images as the networks see them at level of detail `lod` (the official `process_reals`): at an
    integer k, the means of the 2^k x 2^k blocks, repeated over each block; between k and k + 1, the blend of
    the two by frac(lod).

    Args:
        images: `[batch, H, W, C]`, H divisible by 2^max_lod.
        lod: a scalar in [0, max_lod].
        max_lod: the coarsest level.

    Returns:
        Images of the same shape.
    """
    lod = tf.cast(lod, images.dtype)
    coarse, result = images, 0.0
    for level in range(int(max_lod) + 1):
        if level:
            coarse = networks.downscale(coarse)
        # the hat function of lod - level picks level floor(lod) and floor(lod) + 1 with the blend's weights
        weight = tf.maximum(1.0 - tf.abs(lod - float(level)), 0.0)
        result += weight * networks.upscale(coarse, 2**level)
    return result


@keras.saving.register_keras_serializable(package="tfgan_impl")
class ProgressiveGAN(GAN):
    """A GAN whose `ProgressiveGenerator` and `ProgressiveDiscriminator` grow during training (Karras et al. 2018).

    The loss, penalties and optimizers are `GAN`'s (the paper's: `loss="wasserstein"`,
    `penalties={"gradient_penalty": 10, "drift": 0.001}`, Adam with lr 0.001, beta_1 0, beta_2 0.99); the
    moving average of the generator is `GAN`'s `ema_decay` (the paper's 0.999). Sampling and export use the
    generator at its current level of detail (the full resolution once training has grown it).

    Args:
        generator: a `ProgressiveGenerator`.
        discriminator: a `ProgressiveDiscriminator` of the same resolution.
        latent_dim: size of z.
        **kwargs: `GAN`'s options (`seed`, `output_range`, `ema_decay`, ...).
    """

    METRICS = GAN.METRICS + ("lod",)

    def __init__(self, generator, discriminator, latent_dim, **kwargs):
        for name, network in (("generator", generator), ("discriminator", discriminator)):
            if not isinstance(network, networks._Progressive):
                raise ValueError(f"{name}: progressive growing needs the progan networks, got {type(network).__name__}")
        if generator.image_shape != discriminator.image_shape:
            raise ValueError(f"discriminator: its image shape {list(discriminator.image_shape)} is not the "
                             f"generator's {list(generator.image_shape)}")
        super().__init__(generator, discriminator, latent_dim, **kwargs)
        self.stage_images, self.transition_images, self.initial_resolution = 600_000, 600_000, 4

    def build(self, input_shape=None):
        if not hasattr(self, "images_seen"):  # the schedule's clock, checkpointed with the weights
            self.images_seen = self.add_weight(name="images_seen", shape=(), dtype="int64", initializer="zeros",
                                               trainable=False, aggregation="only_first_replica")
        super().build(input_shape)

    @staticmethod
    def check_schedule(stage_images=600_000, transition_images=600_000, initial_resolution=4, resolution=None):
        """The value rules of `configure`'s schedule; raises `ValueError("OPTION: ...")`."""
        for name, value in (("stage_images", stage_images), ("transition_images", transition_images)):
            if int(value) < 0:
                raise ValueError(f"{name}: expected 0 or more images, got {value!r}")
        if int(stage_images) + int(transition_images) < 1:
            raise ValueError("stage_images: stage_images and transition_images cannot both be 0")
        initial = int(initial_resolution)
        if initial < 4 or initial & (initial - 1) or (resolution is not None and initial > resolution):
            raise ValueError(f"initial_resolution: expected a power of two from 4 up to the image size "
                             f"{resolution}, got {initial_resolution!r}")

    def configure(self, stage_images=600_000, transition_images=600_000, initial_resolution=4, **gan_options):
        """The training options of `compile(d_optimizer, g_optimizer, **options)`.

        Args:
            stage_images: real images per stabilization phase (the paper: 800,000; the official code: 600,000).
            transition_images: real images per fade-in of a new resolution.
            initial_resolution: the resolution training starts at (4).
            **gan_options: `GAN.configure`'s (`loss`, `penalties`, ...).

        Returns:
            The options as a dict.
        """
        self.check_schedule(stage_images, transition_images, initial_resolution, self.generator.image_shape[0])
        options = super().configure(**gan_options)
        self.stage_images, self.transition_images = int(stage_images), int(transition_images)
        self.initial_resolution = int(initial_resolution)
        return {**options, "stage_images": self.stage_images, "transition_images": self.transition_images,
                "initial_resolution": self.initial_resolution}

    def compile(self, d_optimizer, g_optimizer, **kwargs):
        """`GAN.compile`; with XLA the networks compute every level (no branches, which XLA on CPU cannot
        compile), without it only the levels in use."""
        super().compile(d_optimizer, g_optimizer, **kwargs)
        for network in (self.generator, self.discriminator):
            network.branch_by_level = not self.jit_compile

    @property
    def max_lod(self):
        """The level of detail training starts at: log2(resolution / initial resolution)."""
        return self.generator.resolution_log2 - (self.initial_resolution.bit_length() - 1)

    def current_lod(self):
        """The level of detail of the schedule after the images shown so far."""
        return level_of_detail(self.images_seen, self.max_lod, self.stage_images, self.transition_images)

    def train_step(self, data):
        lod = self.current_lod()
        for network in (self.generator, self.discriminator):
            network.lod.assign(lod)
        self._track({"lod": lod})
        logs = super().train_step(data)
        _, num_replicas = distribute.replica_position()
        batch = tf.shape(real_images_of(self._real_batches(data)[0]))[0] * num_replicas
        self.images_seen.assign_add(tf.cast(batch * self.d_steps, tf.int64))
        return logs

    def _split(self, data):
        images, labels = super()._split(data)
        return faded_reals(images, tf.cast(self.discriminator.lod, images.dtype), self.max_lod), labels
