"""Adversarial losses as pure functions of discriminator logits.

Every function returns a per-example loss of shape `[batch]` (logits of any rank are averaged over their
non-batch axes, e.g. a PatchGAN map), so the caller decides how to reduce it: `GAN.train_step` divides the
sum by the global batch size, which keeps the step the same under any number of replicas.

Signs follow the minimization convention: each returned value is minimized by the network it trains.
"""
import typing

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


def least_squares_discriminator_loss(real_logits, fake_logits):
    """Discriminator loss of LSGAN, Mao et al. 2016 (arXiv:1611.04076), eq. 9 with a = 0, b = 1:
    `((D(x) - 1)^2 + D(G(z))^2) / 2`, on raw (unsquashed) outputs.

    Args:
        real_logits: discriminator outputs on real data, `[batch, ...]`.
        fake_logits: discriminator outputs on generated data, `[batch, ...]`.

    Returns:
        Per-example loss, shape `[batch]`.
    """
    real_logits, fake_logits = _float(real_logits), _float(fake_logits)
    return _per_example(tf.square(real_logits - 1.0) / 2.0) + _per_example(tf.square(fake_logits) / 2.0)


def least_squares_generator_loss(fake_logits):
    """Generator loss of LSGAN, Mao et al. 2016, eq. 9 with c = 1: `(D(G(z)) - 1)^2 / 2`.

    Args:
        fake_logits: discriminator outputs on generated data, `[batch, ...]`.

    Returns:
        Per-example loss, shape `[batch]`.
    """
    return _per_example(tf.square(_float(fake_logits) - 1.0) / 2.0)


def wasserstein_discriminator_loss(real_logits, fake_logits):
    """Critic loss of WGAN, Arjovsky et al. 2017 (arXiv:1701.07875), eq. 3 and Algorithm 1: `f(G(z)) - f(x)`.

    The critic must be kept Lipschitz: by weight clipping (`tfgan_impl.networks.WeightClip`, the paper) or by the
    gradient penalty of WGAN-GP (`tfgan_impl.penalties.gradient_penalty`).

    Args:
        real_logits: critic outputs on real data, `[batch, ...]`.
        fake_logits: critic outputs on generated data, `[batch, ...]`.

    Returns:
        Per-example loss, shape `[batch]`.
    """
    return _per_example(_float(fake_logits)) - _per_example(_float(real_logits))


def wasserstein_generator_loss(fake_logits):
    """Generator loss of WGAN (Arjovsky et al. 2017, Algorithm 1) and of the hinge GAN: `-f(G(z))`.

    Args:
        fake_logits: critic outputs on generated data, `[batch, ...]`.

    Returns:
        Per-example loss, shape `[batch]`.
    """
    return -_per_example(_float(fake_logits))


def hinge_discriminator_loss(real_logits, fake_logits):
    """Hinge discriminator loss of SNGAN, Miyato et al. 2018 (arXiv:1802.05957), eq. 16:
    `max(0, 1 - D(x)) + max(0, 1 + D(G(z)))`; its generator loss is `wasserstein_generator_loss`.

    Args:
        real_logits: discriminator outputs on real data, `[batch, ...]`.
        fake_logits: discriminator outputs on generated data, `[batch, ...]`.

    Returns:
        Per-example loss, shape `[batch]`.
    """
    real_logits, fake_logits = _float(real_logits), _float(fake_logits)
    return _per_example(tf.nn.relu(1.0 - real_logits)) + _per_example(tf.nn.relu(1.0 + fake_logits))


def auxiliary_classifier_loss(class_logits, labels, label_smoothing=0.0):
    """Class log-likelihood term of ACGAN, Odena et al. 2017 (arXiv:1610.09585), eq. 2: `-log P(C = c | X)`.

    Both networks minimize it: the discriminator on real and generated images, the generator on its own.

    Args:
        class_logits: the auxiliary head's logits, `[batch, num_classes]`.
        labels: integer class ids, `[batch]`.
        label_smoothing: spreads this much of each target's mass evenly over all classes (TF-GAN's convention).

    Returns:
        Per-example loss, shape `[batch]`.
    """
    class_logits = _float(class_logits)
    targets = tf.one_hot(tf.cast(labels, tf.int32), tf.shape(class_logits)[-1])
    if label_smoothing:
        targets = targets * (1.0 - label_smoothing) + label_smoothing / tf.cast(tf.shape(class_logits)[-1], tf.float32)
    return tf.nn.softmax_cross_entropy_with_logits(labels=targets, logits=class_logits)


def matching_aware_discriminator_loss(real_logits, mismatched_logits, fake_logits):
    """The matching-aware discriminator loss of GAN-CLS (Reed et al. 2016, arXiv:1605.05396, Algorithm 1), which
    StackGAN trains with (Zhang et al. 2017, sec. 3.3): the discriminator maximizes
    `log D(x, h) + (log(1 - D(x, h')) + log(1 - D(G(z, h), h))) / 2`, so a real image with the wrong text
    (`h'`, another example's) counts as fake, and the discriminator must judge whether image and text match.

    Args:
        real_logits: logits of real images with their own text, shape `[batch, ...]`.
        mismatched_logits: logits of real images with mismatched text, shape `[batch, ...]`.
        fake_logits: logits of generated images with the text they were made from, shape `[batch, ...]`.

    Returns:
        Per-example loss (the negative of the objective), shape `[batch]`.
    """
    return (_per_example(tf.nn.softplus(-_float(real_logits))) +
            0.5 * (_per_example(tf.nn.softplus(_float(mismatched_logits))) +
                   _per_example(tf.nn.softplus(_float(fake_logits)))))


def relativistic_average_discriminator_loss(real_logits, fake_logits, real_mean=None, fake_mean=None):
    """Discriminator loss of the relativistic average GAN, Jolicoeur-Martineau 2018 (arXiv:1807.00734), eq. 13,
    as ESRGAN trains it (Wang et al. 2018, arXiv:1809.00219, eq. 1): with D_Ra(a, b) = sigmoid(C(a) - E[C(b)]),
    `-log D_Ra(x_r, x_f) - log(1 - D_Ra(x_f, x_r))`.

    The expectations are the batch's means unless given: a model under tf.distribute passes the global batch's
    (`distribute.global_batch_mean`), so that the loss does not depend on the number of replicas.

    Args:
        real_logits: critic outputs C on real data, `[batch, ...]`.
        fake_logits: critic outputs C on generated data, `[batch, ...]`.
        real_mean, fake_mean: E[C(x_r)] and E[C(x_f)], if not this batch's means.

    Returns:
        Per-example loss, shape `[batch]` (example i pairs real i with fake i).
    """
    real, fake = _per_example(_float(real_logits)), _per_example(_float(fake_logits))
    real_mean = tf.reduce_mean(real) if real_mean is None else real_mean
    fake_mean = tf.reduce_mean(fake) if fake_mean is None else fake_mean
    return tf.nn.softplus(-(real - fake_mean)) + tf.nn.softplus(fake - real_mean)


def relativistic_average_generator_loss(real_logits, fake_logits, real_mean=None, fake_mean=None):
    """Generator loss of the relativistic average GAN (Jolicoeur-Martineau 2018, eq. 14; ESRGAN eq. 2): the
    discriminator's with the roles swapped, `-log(1 - D_Ra(x_r, x_f)) - log D_Ra(x_f, x_r)`; unlike the other
    generator losses it needs the real outputs too, as the generator gains from lowering reals' relative realness.

    Args:
        real_logits: critic outputs C on real data, `[batch, ...]`.
        fake_logits: critic outputs C on generated data, `[batch, ...]`.
        real_mean, fake_mean: E[C(x_r)] and E[C(x_f)], if not this batch's means.

    Returns:
        Per-example loss, shape `[batch]`.
    """
    return relativistic_average_discriminator_loss(fake_logits, real_logits, real_mean=fake_mean,
                                                   fake_mean=real_mean)


def feature_matching_loss(real_features, fake_features, real_mean=None, fake_mean=None):
    """Feature matching, Salimans et al. 2016 (arXiv:1606.03498), sec. 3.1: the generator's objective
    ||E_x f(x) - E_z f(G(z))||^2 on features f of an intermediate layer of the discriminator, averaged over the
    features as the authors' code does (`T.mean(T.square(mom_gen - mom_real))`; the paper writes the sum).

    The expectations are the batch's means unless given (a model under tf.distribute passes the global batch's,
    `distribute.global_batch_mean(..., axis=0)`, so that the loss does not depend on the number of replicas).

    Args:
        real_features: f(x) of real data, `[batch, ...]`.
        fake_features: f(G(z)), `[batch, ...]`.
        real_mean, fake_mean: E f(x) and E f(G(z)) per feature, if not this batch's means.

    Returns:
        The batch's loss on every example, shape `[batch]` (it is a function of the batch, not of each example;
        its mean is the loss).
    """
    real, fake = _float(real_features), _float(fake_features)
    real_mean = tf.reduce_mean(real, axis=0) if real_mean is None else real_mean
    fake_mean = tf.reduce_mean(fake, axis=0) if fake_mean is None else fake_mean
    loss = tf.reduce_mean(tf.square(fake_mean - real_mean))
    return tf.fill(tf.shape(fake)[:1], loss)


class LossPair(typing.NamedTuple):
    """A registered GAN objective: its two losses and whether the discriminator's outputs are probability logits
    (then `sigmoid` of them is reported as D(x); critics of WGAN, LSGAN and hinge report raw outputs)."""
    discriminator: typing.Callable
    generator: typing.Callable
    outputs_are_logits: bool


# Configs and `GAN.compile(loss=...)` choose by name.
LOSSES = {
    "minimax": LossPair(minimax_discriminator_loss, minimax_generator_loss, True),
    "non_saturating": LossPair(minimax_discriminator_loss, non_saturating_generator_loss, True),
    "least_squares": LossPair(least_squares_discriminator_loss, least_squares_generator_loss, False),
    "wasserstein": LossPair(wasserstein_discriminator_loss, wasserstein_generator_loss, False),
    "hinge": LossPair(hinge_discriminator_loss, wasserstein_generator_loss, False),
}


def get(name):
    """Returns the `LossPair` registered under `name`.

    Args:
        name: one of `LOSSES`.

    Returns:
        A `LossPair(discriminator, generator, outputs_are_logits)` of functions returning per-example losses.
    """
    if name not in LOSSES:
        raise ValueError(f"unknown GAN loss {name!r}; expected one of {sorted(LOSSES)}")
    return LOSSES[name]
