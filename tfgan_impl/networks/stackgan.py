"""StackGAN's networks (Zhang et al. 2017, "StackGAN: Text to Photo-realistic Image Synthesis with Stacked
Generative Adversarial Networks", arXiv:1612.03242)."""
import keras
import tensorflow as tf


@keras.saving.register_keras_serializable(package="tfgan_impl")
class ConditioningAugmentation(keras.layers.Layer):
    """Conditioning augmentation (StackGAN sec. 3.1): a text embedding phi_t gives the mean mu(phi_t) and diagonal
    standard deviation sigma(phi_t) of a Gaussian, and the generator is conditioned on c = mu + sigma * epsilon,
    which smooths the conditioning manifold of the few captions a data set has.

    The noise epsilon ~ N(0, I) is an input, like z, so that the network is a function of its inputs: exports
    are deterministic and the model's seeded noise makes resumed runs draw the same values.

    Args:
        dim: N_g, the size of c (128 in the paper).

    Call arguments:
        inputs: `[embedding [batch, E], epsilon [batch, dim]]`.

    Returns:
        `(c, mu, log_sigma)`, each `[batch, dim]`; the KL term takes `mu` and `log_sigma`
        (`tfgan_impl.stackgan.conditioning_augmentation_kl`).
    """

    def __init__(self, dim=128, **kwargs):
        super().__init__(**kwargs)
        self.dim = int(dim)
        # One dense layer with a leaky ReLU to both halves, as the authors' code does.
        self.moments = keras.layers.Dense(2 * self.dim, name="moments")

    def build(self, input_shape):
        self.moments.build(input_shape[0])
        self.built = True

    def call(self, inputs):
        embedding, epsilon = inputs
        moments = tf.nn.leaky_relu(self.moments(embedding), 0.2)
        mu, log_sigma = moments[:, :self.dim], moments[:, self.dim:]
        return mu + tf.exp(log_sigma) * tf.cast(epsilon, mu.dtype), mu, log_sigma

    def compute_output_shape(self, input_shape):
        shape = (input_shape[0][0], self.dim)
        return shape, shape, shape

    def get_config(self):
        return {**super().get_config(), "dim": self.dim}
