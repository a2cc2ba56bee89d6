"""StackGAN (Zhang et al. 2017, arXiv:1612.03242): text-to-image synthesis in two stages, with conditioning
augmentation and the matching-aware discriminator of GAN-CLS (`losses.matching_aware_discriminator_loss`)."""
import tensorflow as tf


def conditioning_augmentation_kl(mu, log_sigma):
    """KL(N(mu, diag(sigma^2)) || N(0, I)) per example, StackGAN's regularizer of conditioning augmentation
    (Zhang et al. 2017, eq. 2, added to the generator's loss with weight lambda in eq. 6):
    `sum_i (mu_i^2 + sigma_i^2 - 1) / 2 - log sigma_i`. (The authors' code averages over the dimensions
    instead of summing, which is this divided by N_g.)

    Args:
        mu, log_sigma: `[batch, N_g]` from `networks.ConditioningAugmentation`.

    Returns:
        `[batch]`.
    """
    mu, log_sigma = tf.cast(mu, tf.float32), tf.cast(log_sigma, tf.float32)
    return tf.reduce_sum(0.5 * (tf.square(mu) + tf.exp(2.0 * log_sigma) - 1.0) - log_sigma, axis=-1)
