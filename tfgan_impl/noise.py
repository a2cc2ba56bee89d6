"""Named noise streams: every random draw of training, sampling and export is keyed by a seed and a name.

Draws are stateless (`tf.random.stateless_*`), so a resumed run, another replica count or an exported model
draws exactly the numbers the original would. Training draws are keyed by `(seed, counter, stream)`, the counter
being an optimizer's iteration count; samples are keyed by `(seed, chunk)`.
"""
import zlib

import tensorflow as tf

# Training streams, in the order of their historical numbers (a stream's index is part of its key, so runs
# checkpointed before streams had names resume bit-exactly).
TRAINING_STREAMS = ("discriminator_latents", "generator_latents", "evaluation_latents", "penalty_interpolation",
                    "augment_real", "augment_fake_for_discriminator", "augment_fake_for_generator", "model_draws")
_STREAMS_PER_COUNTER = 8  # the streams above fill it: a model's own draws are `model_draw_seed`s of "model_draws"
# The chunk of the fixed latent vectors of training's sample pictures, apart from `generate`'s chunks 0, 1, ...
SAMPLE_GRID_CHUNK = 7


def training_seed(seed, counter, stream):
    """The stateless seed `[2]` int64 of a training draw.

    Args:
        seed: the model's integer seed.
        counter: an integer tensor that advances every update (an optimizer's `iterations`).
        stream: a name from `TRAINING_STREAMS`.
    """
    if stream not in TRAINING_STREAMS:
        raise ValueError(f"unknown noise stream {stream!r}; expected one of {', '.join(TRAINING_STREAMS)}")
    index = TRAINING_STREAMS.index(stream)
    return tf.stack([tf.constant(int(seed), tf.int64),
                     tf.cast(counter, tf.int64) * _STREAMS_PER_COUNTER + index])


def model_draw_seed(seed, counter, name, index=0):
    """The stateless seed `[2]` int64 of a draw of a model's own (e.g. StyleGAN2's style-mixing cut-off), keyed by
    its `name` and `index` beside `(seed, counter)`: families add draws without changing any other stream's keys."""
    key = zlib.crc32(name.encode("utf-8")) & 0x7FFFFFFF
    folded = tf.random.experimental.stateless_fold_in(training_seed(seed, counter, "model_draws"), key)
    return tf.random.experimental.stateless_fold_in(folded, index)


# Priors p_z of the latent vectors, all of zero mean and unit variance: "normal" is N(0, I); "uniform" is
# U(-sqrt 3, sqrt 3) per dimension, the `noise: uniform` of the authors' MNIST set-up (goodfeli/adversarial).
LATENT_DISTRIBUTIONS = ("normal", "uniform")


def check_distribution(distribution):
    """Raises `ValueError("latent_distribution: ...")` unless `distribution` is one of `LATENT_DISTRIBUTIONS`."""
    if distribution not in LATENT_DISTRIBUTIONS:
        raise ValueError(f"latent_distribution: expected one of {', '.join(LATENT_DISTRIBUTIONS)}, "
                         f"got {distribution!r}")


def draw_latents(shape, seed, distribution="normal"):
    """Stateless draws of the prior p_z (Goodfellow et al. 2014, sec. 3) named by `distribution`, keyed by the
    `[2]` int64 `seed`."""
    check_distribution(distribution)
    if distribution == "uniform":
        bound = 3.0 ** 0.5
        return tf.random.stateless_uniform(shape, seed=seed, minval=-bound, maxval=bound)
    return tf.random.stateless_normal(shape, seed=seed)


def latent_vectors(num, latent_dim, seed=0, chunk=0, distribution="normal"):
    """`num` latent vectors z ~ p_z, `[num, latent_dim]`, the same for the same `(seed, chunk)`: what
    `generate`, sample pictures and exported `sample` signatures draw (Goodfellow et al. 2014's prior p_z).

    Args:
        num: rows (an int or an int tensor).
        latent_dim: size of z.
        seed: integer seed (an int or an int64 tensor).
        chunk: a second key, so that chunks of one large draw are independent.
        distribution: the prior, one of `LATENT_DISTRIBUTIONS`.
    """
    return draw_latents(tf.stack([num, latent_dim]) if tf.is_tensor(num) else [int(num), latent_dim],
                        tf.stack([tf.cast(seed, tf.int64), tf.cast(chunk, tf.int64)]), distribution)


def truncate_latents(z, threshold):
    """BigGAN's truncation trick (Brock et al. 2019, sec. 3.1): every value of z ~ N(0, I) beyond `threshold` in
    magnitude is resampled until it falls inside; values inside are kept.

    A value redrawn until it lands in [-t, t] is a draw of N(0, 1) truncated to [-t, t]. That draw is made in one
    pass by the inverse CDF from the value's own tail probability (uniform on (0, 1) for a value beyond t, and
    independent of every other value), so the result has exactly the truncated normal distribution, needs no seed
    or loop, and the same z gives the same truncated z in a batch of any size, in Python and in exports.

    Args:
        z: latent vectors drawn from N(0, I), float32 `[batch, latent_dim]`.
        threshold: t > 0, a float or float scalar tensor.

    Returns:
        float32 tensor of z's shape with every value in [-t, t].
    """
    z = tf.convert_to_tensor(z, tf.float32)
    threshold = tf.cast(threshold, tf.float64)
    with tf.control_dependencies([tf.debugging.assert_positive(threshold, message="threshold must be positive")]):
        values = tf.cast(z, tf.float64)
    sqrt_half = 0.5 ** 0.5

    def upper_tail(x):  # 1 - Phi(x), accurate far out in the tail
        return 0.5 * tf.math.erfc(x * sqrt_half)

    tail = upper_tail(threshold)
    beyond = tf.abs(values) > threshold
    # The tail probability of |z| beyond t, rescaled to (0, 1): uniform for a value beyond t.
    uniform = tf.where(beyond, 1.0 - upper_tail(tf.abs(values)) / tail, 0.5)
    redrawn = tf.math.ndtri(tail + uniform * (1.0 - 2.0 * tail))
    redrawn = tf.clip_by_value(redrawn, -threshold, threshold)  # rounding at the ends of the inverse CDF
    return tf.cast(tf.where(beyond, redrawn, values), tf.float32)
