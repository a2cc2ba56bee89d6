"""Discriminator regularizers: functions of a discriminator and its inputs returning a per-example penalty.

`GAN.compile(penalties={"gradient_penalty": 10.0})` adds `weight * penalty` to the discriminator's per-example loss,
the "discriminator regularization" phase of StyleGAN2's loss, so no variant needs its own training loop.
"""
import tensorflow as tf


def _input_gradients(discriminator_fn, inputs):
    """Gradients of the summed discriminator outputs with respect to their inputs, one row per example."""
    with tf.GradientTape() as tape:
        tape.watch(inputs)
        total = tf.reduce_sum(tf.cast(discriminator_fn(inputs), tf.float32))
    gradients = tape.gradient(total, inputs)
    return tf.reshape(tf.cast(gradients, tf.float32), [tf.shape(inputs)[0], -1])


def gradient_penalty(discriminator_fn, real, fake, alpha, target=1.0, epsilon=1e-10):
    """Gradient penalty of WGAN-GP, Gulrajani et al. 2017 (arXiv:1704.00028), eq. 3: `(||grad D(x_hat)||_2 - 1)^2`
    at `x_hat = alpha * real + (1 - alpha) * fake`.

    Sums the outputs of patch discriminators before differentiating (TF-GAN's convention); `epsilon` inside the
    square root keeps the norm differentiable at zero, as TF-GAN's `wasserstein_gradient_penalty` does.

    Args:
        discriminator_fn: maps a batch of inputs to outputs `[batch, ...]`.
        real: real inputs `[batch, ...]`.
        fake: generated inputs, same shape.
        alpha: interpolation weights `[batch]`, uniform in [0, 1] in the paper (Algorithm 1, line 4).
        target: the gradient norm the penalty pulls toward.
        epsilon: added to the squared norm before the square root.

    Returns:
        Per-example penalty, shape `[batch]`.
    """
    real, fake = tf.convert_to_tensor(real), tf.convert_to_tensor(fake)
    alpha = tf.reshape(tf.cast(alpha, real.dtype), [-1] + [1] * (real.shape.rank - 1))
    interpolates = fake + alpha * (real - fake)
    gradients = _input_gradients(discriminator_fn, interpolates)
    norms = tf.sqrt(tf.reduce_sum(tf.square(gradients), axis=1) + epsilon)
    return tf.square(norms / target - 1.0)


def r1_penalty(discriminator_fn, real):
    """R1 regularizer of Mescheder et al. 2018 (arXiv:1801.04406), eq. 9: `||grad D(x)||^2 / 2` on real data.

    The config's weight is the paper's gamma (eq. 9 multiplies by gamma / 2; the 1/2 is here).

    Args:
        discriminator_fn: maps a batch of inputs to outputs `[batch, ...]`.
        real: real inputs `[batch, ...]`.

    Returns:
        Per-example penalty, shape `[batch]`.
    """
    gradients = _input_gradients(discriminator_fn, tf.convert_to_tensor(real))
    return 0.5 * tf.reduce_sum(tf.square(gradients), axis=1)


def drift_penalty(discriminator_fn, real, real_outputs=None):
    """The drift term of progressive growing (Karras et al. 2018, arXiv:1710.10196, sec. A.1): `D(x)^2` on real
    data, which keeps a Wasserstein critic's outputs from drifting far from zero (the paper's weight
    epsilon_drift is 0.001).

    Args:
        discriminator_fn: maps a batch of inputs to outputs `[batch, ...]` (patch outputs are summed).
        real: real inputs `[batch, ...]`.
        real_outputs: the discriminator's outputs on `real` when the caller has them (a model's own forward pass,
            whose scores the paper's code takes the drift of); otherwise one more forward pass computes them.

    Returns:
        Per-example penalty, shape `[batch]`.
    """
    outputs = discriminator_fn(tf.convert_to_tensor(real)) if real_outputs is None else real_outputs
    outputs = tf.cast(outputs, tf.float32)
    return tf.square(tf.reduce_sum(tf.reshape(outputs, [tf.shape(outputs)[0], -1]), axis=1))


# name -> function(discriminator_fn, real, fake, alpha, real_outputs=None) of the penalties `GAN.compile(penalties=...)`
# accepts; `real_outputs` are the discriminator's outputs on `real` from the model's own pass, for penalties of them.
PENALTIES = {
    "gradient_penalty": lambda discriminator_fn, real, fake, alpha, real_outputs=None: gradient_penalty(
        discriminator_fn, real, fake, alpha),
    "r1": lambda discriminator_fn, real, fake, alpha, real_outputs=None: r1_penalty(discriminator_fn, real),
    "drift": lambda discriminator_fn, real, fake, alpha, real_outputs=None: drift_penalty(discriminator_fn, real,
                                                                                          real_outputs),
}
