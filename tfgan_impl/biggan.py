"""BigGAN (Brock et al. 2019, arXiv:1809.11096): a class-conditional GAN whose generator is regularized toward
orthogonal weights, sampled from its moving average with re-estimated batch-norm statistics and from a truncated
latent distribution.

The update is `ConditionalGAN`'s (labels into both networks; the projection discriminator of
`tfgan_impl.networks.biggan` takes them as an input), with the hinge loss, two learning rates and `d_steps` from
`compile`; this model adds the generator's orthogonal regularization, standing statistics and the truncation trick.
"""
import keras
import tensorflow as tf

from tfgan_impl import noise
from tfgan_impl.adversarial import PhaseLoss, check_non_negative
from tfgan_impl.conditional import ConditionalGAN
from tfgan_impl.gan import GAN
from tfgan_impl.networks import biggan as biggan_networks

STANDING_BATCH_SIZE = 64
_STANDING_CHUNK = 2**30  # chunks of the model's seed for standing statistics, apart from `generate`'s 0, 1, ...


def orthogonal_regularization(kernels, beta):
    """BigGAN's orthogonal regularization (Brock et al. 2019, sec. 3.1, eq. 3): R_beta(W) = beta ||W^T W (.) (1 - I)||_F^2,
    summed over the kernels, each taken as a matrix whose columns are its output units (a convolution's
    `[kh, kw, in, out]` as `[kh kw in, out]`), so that only the filters' mutual cosines, not their norms, are pushed
    toward 0.

    The authors' code adds the gradient 2 beta (W W^T (.) (1 - I)) W, half that of eq. 3; beta 1e-4 here is eq. 3's.

    Args:
        kernels: weight tensors of rank >= 2.
        beta: the regularization strength.

    Returns:
        A float32 scalar.
    """
    total = tf.constant(0.0)
    for kernel in kernels:
        matrix = tf.reshape(tf.cast(kernel, tf.float32), [-1, int(kernel.shape[-1])])
        gram = tf.matmul(matrix, matrix, transpose_a=True)
        total += tf.reduce_sum(tf.square(gram * (1.0 - tf.eye(int(kernel.shape[-1])))))
    return float(beta) * total


@keras.saving.register_keras_serializable(package="tfgan_impl")
class BigGAN(ConditionalGAN):
    """BigGAN (Brock et al. 2019): `ConditionalGAN`'s update with the generator's orthogonal regularization (eq. 3),
    samples and exports from the generator (its moving average when `ema_decay` is set) after re-estimating its
    batch-norm statistics ("standing statistics", appendix C.1), and the truncation trick (sec. 3.1) as `truncated`
    and as an export signature.

    Args:
        generator: a Keras model of `[z, labels]` (`networks.biggan.biggan_generator`).
        discriminator: a Keras model of `[images, labels]` (`networks.biggan.biggan_discriminator`).
        latent_dim, num_classes: as for `ConditionalGAN`.
        standing_statistics: batches of `STANDING_BATCH_SIZE` samples over which the sampling generator's batch-norm
            statistics are re-estimated before samples are drawn or exported, once per training step count
            (0: use the statistics training kept).
        **kwargs: `seed`, `output_range`, `ema_decay` and Keras options, as for `GAN`.
    """

    METRICS = GAN.METRICS + ("g_orthogonal",)

    def __init__(self, generator, discriminator, latent_dim, num_classes, standing_statistics=16, **kwargs):
        check_non_negative(standing_statistics=standing_statistics)
        self.standing_statistics = int(standing_statistics)
        self.orthogonal_regularization = 0.0
        self._standing_step = None
        super().__init__(generator, discriminator, latent_dim, num_classes, **kwargs)

    def configure(self, orthogonal_regularization=1e-4, **options):
        """As `GAN.configure`, with `orthogonal_regularization`, beta of eq. 3 on the generator's weights (1e-4 in
        the paper; 0 for none). BigGAN's own choices are `loss="hinge"` and `d_steps=2`."""
        check_non_negative(orthogonal_regularization=orthogonal_regularization)
        options = super().configure(**options)
        if self.update != "alternating":
            raise ValueError("update: BigGAN alternates its discriminator and generator updates")
        self.orthogonal_regularization = float(orthogonal_regularization)
        return {**options, "orthogonal_regularization": self.orthogonal_regularization}

    def reports(self, name):
        return super().reports(name) if name != "g_orthogonal" else self.orthogonal_regularization > 0

    def regularized_kernels(self):
        """The generator's weights the orthogonal regularization reaches: every one of rank >= 2 but the shared
        class embedding (the authors' blacklist)."""
        return [v for v in self.generator.trainable_variables if len(v.shape) >= 2 and v.name != "embeddings"]

    def generator_loss(self, real):
        result = super().generator_loss(real)
        if not self.orthogonal_regularization:
            return result
        penalty = orthogonal_regularization(self.regularized_kernels(), self.orthogonal_regularization)
        # On every example: scaled to the global batch and summed over replicas, it counts once.
        return PhaseLoss(result.losses + penalty, {**result.metrics, "g_orthogonal": penalty})

    # -- sampling ----------------------------------------------------------------------------------------------

    @property
    def sampling_generator(self):
        """The generator samples and exports come from, its batch-norm statistics re-estimated when the model has
        trained since they last were (standing statistics)."""
        generator = super().sampling_generator
        if self.standing_statistics and tf.executing_eagerly() and not tf.inside_function():
            if int(self.steps.numpy()) != self._standing_step:
                self.accumulate_standing_statistics()
        return generator

    def accumulate_standing_statistics(self, num_batches=None, batch_size=STANDING_BATCH_SIZE):
        """Re-estimates the sampling generator's batch-norm statistics as their mean over `num_batches` batches
        (default `standing_statistics`) of z ~ p_z and uniformly drawn classes, keyed by the model's seed
        (BigGAN appendix C.1; `networks.biggan.accumulate_standing_statistics`).

        Returns:
            The number of batch-norm layers re-estimated.
        """
        generator = super().sampling_generator
        num_batches = self.standing_statistics if num_batches is None else int(num_batches)

        def batches():
            for index in range(num_batches):
                chunk = _STANDING_CHUNK + index
                z = noise.latent_vectors(batch_size, self.latent_dim, self.seed, chunk, self.latent_distribution)
                labels = tf.random.stateless_uniform([batch_size], seed=[self.seed, chunk], minval=0,
                                                     maxval=self.num_classes, dtype=tf.int32)
                yield [z, labels]

        count = biggan_networks.accumulate_standing_statistics(generator, batches())
        self._standing_step = int(self.steps.numpy())
        return count

    def truncated(self, z, threshold, labels=None):
        """Images of z truncated at `threshold` (BigGAN sec. 3.1: values beyond it resampled,
        `noise.truncate_latents`) for class ids `labels`, in the generator's output range."""
        if labels is None:
            raise ValueError("BigGAN.truncated needs labels: one class id per latent vector")
        labels = tf.broadcast_to(tf.cast(labels, tf.int32), tf.shape(z)[:1])
        return self.sampling_generator([noise.truncate_latents(z, threshold), labels], training=False)

    def serving_functions(self):
        """The signature exports add (`tfgan_impl.export`): `truncated` (z, labels, threshold -> images)."""
        def truncated(z, labels, threshold):
            with tf.control_dependencies([
                    tf.debugging.assert_non_negative(labels, message="input labels must be class ids of at least 0"),
                    tf.debugging.assert_less(labels, self.num_classes,
                                             message=f"input labels must be class ids below {self.num_classes}"),
                    tf.debugging.assert_equal(tf.shape(labels)[0], tf.shape(z)[0],
                                              message="inputs z and labels must have the same batch size"),
                    tf.debugging.assert_positive(threshold, message="input threshold must be positive")]):
                return self.truncated(tf.identity(z), threshold, labels)

        return {"truncated": (truncated, [tf.TensorSpec([None, self.latent_dim], tf.float32, name="z"),
                                          tf.TensorSpec([None], tf.int32, name="labels"),
                                          tf.TensorSpec([], tf.float32, name="threshold")])}

    def get_config(self):
        return {**super().get_config(), "standing_statistics": self.standing_statistics}
