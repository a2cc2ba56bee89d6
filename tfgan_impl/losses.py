"""Adversarial losses as pure functions of discriminator logits.

Every function returns a per-example loss of shape `[batch]` (logits of any rank are averaged over their
non-batch axes, e.g. a PatchGAN map), so the caller decides how to reduce it: `GAN.train_step` divides the
sum by the global batch size, which keeps the step the same under any number of replicas.

Signs follow the minimization convention: each returned value is minimized by the network it trains.
"""
import tensorflow as tf


def _per_example(values):
    """Mean over every axis but the first, so patch or multi-logit outputs give one loss per example."""
    values = tf.convert_to_tensor(values)
    if values.shape.rank is not None and values.shape.rank <= 1:
        return values
    return tf.reduce_mean(tf.reshape(values, [tf.shape(values)[0], -1]), axis=1)


def _float(logits):
    # Losses are computed in float32 even when the networks run in float16/bfloat16.
    return tf.cast(logits, tf.float32)


def minimax_discriminator_loss(real_logits, fake_logits, label_smoothing=0.0):
    """Discriminator loss of the minimax game, Goodfellow et al. 2014, eq. 1 (arXiv:1406.2661).

    The discriminator maximizes log D(x) + log(1 - D(G(z))); we return the negative,
    `-log sigmoid(real) - log(1 - sigmoid(fake))`, to be minimized. It is also the discriminator loss of the
    non-saturating game, which changes only the generator's objective.

    Args:
        real_logits: discriminator logits on real data, shape `[batch, ...]`.
        fake_logits: discriminator logits on generated data, shape `[batch, ...]`.
        label_smoothing: one-sided label smoothing of the real targets (Salimans et al. 2016, sec. 3.4),
            with Keras's and TF-GAN's convention: the real target becomes `1 - label_smoothing / 2`.

    Returns:
        Per-example loss, shape `[batch]`.
    """
    real_logits, fake_logits = _float(real_logits), _float(fake_logits)
    real_targets = tf.fill(tf.shape(real_logits), 1.0 - 0.5 * label_smoothing)
    loss_on_real = tf.nn.sigmoid_cross_entropy_with_logits(labels=real_targets, logits=real_logits)
    loss_on_fake = tf.nn.softplus(fake_logits)  # -log(1 - sigmoid(x)) == softplus(x), stable for large x
    return _per_example(loss_on_real) + _per_example(loss_on_fake)


def minimax_generator_loss(fake_logits):
    """Saturating generator loss of the minimax game, Goodfellow et al. 2014, eq. 1: minimize log(1 - D(G(z))).

    Its gradient vanishes when the discriminator rejects samples confidently, which is why the paper trains
    with `non_saturating_generator_loss` in practice.

    Args:
        fake_logits: discriminator logits on generated data, shape `[batch, ...]`.

    Returns:
        Per-example loss, shape `[batch]`.
    """
    return _per_example(-tf.nn.softplus(_float(fake_logits)))


def non_saturating_generator_loss(fake_logits):
    """Non-saturating generator loss, Goodfellow et al. 2014, sec. 3: maximize log D(G(z)).

    Returns `-log sigmoid(fake_logits)`, which has strong gradients early in training when D rejects samples.

    Args:
        fake_logits: discriminator logits on generated data, shape `[batch, ...]`.

    Returns:
        Per-example loss, shape `[batch]`.
    """
    return _per_example(tf.nn.softplus(-_float(fake_logits)))


# name -> (discriminator loss, generator loss); configs and `GAN.compile(loss=...)` choose by name.
LOSSES = {
    "minimax": (minimax_discriminator_loss, minimax_generator_loss),
    "non_saturating": (minimax_discriminator_loss, non_saturating_generator_loss),
}


def get(name):
    """Returns the `(discriminator_loss, generator_loss)` pair registered under `name`.

    Args:
        name: one of `LOSSES`.

    Returns:
        A pair of functions of logits returning per-example losses.
    """
    if name not in LOSSES:
        raise ValueError(f"unknown GAN loss {name!r}; expected one of {sorted(LOSSES)}")
    return LOSSES[name]
