"""Discriminator rejection sampling (DRS, Azadi et al. 2019, arXiv:1810.06758): keep a generated sample with a
probability that grows with the discriminator's estimate of `p_data(x) / p_g(x)`, so samples the generator puts
where the data has no mass (the trails between modes) are mostly dropped.

The optimal discriminator's logit is `log p_data(x) / p_g(x)` (Goodfellow et al. 2014, prop. 1), so rejection
sampling with acceptance `exp(logit(x) - max_logit)` would sample `p_data` where `p_g` covers it; DRS softens
that with eq. 8 and a shift `gamma` that sets the acceptance rate.
"""
import numpy as np


def acceptance_probabilities(logits, max_logit, percentile=80.0, epsilon=1e-6):
    """Acceptance probabilities of DRS, Azadi et al. 2019, eq. 8: `sigmoid(F(x) - gamma)` with
    `F(x) = D(x) - D_M - log(1 - exp(D(x) - D_M - epsilon))`.

    Args:
        logits: discriminator logits `D(x)` of generated samples, shape `[n]`.
        max_logit: `D_M`, the largest logit seen so far (raised to this batch's maximum when smaller).
        percentile: `gamma` is this percentile of the batch's `F(x)` (the paper's dynamic choice, sec. 3.2);
            higher keeps fewer, better samples.
        epsilon: keeps the logarithm finite at the maximum.

    Returns:
        `(probabilities [n], max_logit)`, the latter updated.
    """
    logits = np.asarray(logits, np.float64).reshape(-1)
    max_logit = max(float(max_logit), float(logits.max()))
    delta = logits - max_logit
    scores = delta - np.log1p(-np.exp(delta - epsilon))
    gamma = np.percentile(scores, percentile)
    return 1.0 / (1.0 + np.exp(-(scores - gamma))), max_logit


def rejection_sample(gan, num, seed=0, stream=0, percentile=80.0, batch_size=512, burn_in_batches=10,
                     max_batches=1000):
    """Draws `num` samples of an unconditional GAN through DRS (Azadi et al. 2019, Algorithm 1).

    The discriminator scores whole batches of generated samples (as in training, so batch-level layers such as
    the minibatch standard deviation see batch statistics); `burn_in_batches` batches estimate `D_M` first.
    Deterministic for a given `(seed, stream)`.

    Args:
        gan: a trained `GAN` (packing 1).
        num: samples to return.
        seed, stream: integer keys of the latent and acceptance draws.
        percentile: see `acceptance_probabilities`.
        batch_size: samples generated and scored at once.
        burn_in_batches: batches scored only to estimate `D_M`.
        max_batches: gives up (ValueError) after this many batches without `num` accepted samples.

    Returns:
        A float32 numpy array `[num, ...]` in data units, as `GAN.generate` returns.
    """
    if gan.packing != 1:
        raise ValueError(f"rejection sampling scores single samples; this GAN packs {gan.packing}")
    if batch_size < 2:
        raise ValueError(f"rejection sampling needs batches of at least 2 samples, got {batch_size}")
    rng = np.random.default_rng([int(seed), int(stream), 0x4452])  # acceptance draws, apart from the latents
    max_logit = -np.inf
    for index in range(burn_in_batches):
        _, logits = _scored_batch(gan, batch_size, seed, (stream, 1, index))
        max_logit = max(max_logit, float(logits.max()))
    kept, total = [], 0
    for index in range(max_batches):
        samples, logits = _scored_batch(gan, batch_size, seed, (stream, 2, index))
        probabilities, max_logit = acceptance_probabilities(logits, max_logit, percentile)
        accepted = samples[rng.uniform(size=len(probabilities)) < probabilities]
        kept.append(accepted)
        total += len(accepted)
        if total >= num:
            return np.concatenate(kept)[:num]
    raise ValueError(f"rejection sampling accepted {total} of {max_batches * batch_size} samples, fewer than {num}")


def _scored_batch(gan, batch_size, seed, key):
    stream = int(np.random.default_rng([int(seed), *key]).integers(2**31 - 1))
    z = gan.latents(batch_size, seed, stream)
    outputs = gan.sampling_generator(z, training=False)
    logits = gan.discriminator(outputs, training=False)
    return gan.to_data_units(outputs), np.asarray(logits, np.float64).reshape(batch_size, -1).mean(axis=1)
