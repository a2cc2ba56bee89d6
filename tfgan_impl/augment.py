"""Differentiable augmentation (DiffAugment, Zhao et al. 2020, arXiv:2006.10738) for GANs on small data sets.

The same random transformations are applied to real and generated images before the discriminator sees them,
in both networks' updates, so the generator is not pushed to produce augmented-looking images (sec. 3.2). Every
transformation is differentiable with respect to the images. Keras's preprocessing layers are not usable here:
their random draws are stateful and several (translation by fill) are not differentiable w.r.t. the inputs.
"""
import tensorflow as tf

POLICIES = ("color", "translation", "cutout")


def _uniform(seed, shape, low=0.0, high=1.0):
    return tf.random.stateless_uniform(shape, seed=seed, minval=low, maxval=high)


def color(images, seed):
    """Random brightness (+U[-0.5, 0.5]), saturation (x U[0, 2]) and contrast (x U[0.5, 1.5]) per image.

    Args:
        images: `[batch, H, W, C]` in [-1, 1].
        seed: a stateless seed, shape `[2]`.

    Returns:
        Images of the same shape.
    """
    brightness_seed, saturation_seed, contrast_seed = tf.unstack(tf.random.experimental.stateless_split(seed, 3))
    shape = [tf.shape(images)[0], 1, 1, 1]
    images = images + (_uniform(brightness_seed, shape) - 0.5)
    channel_mean = tf.reduce_mean(images, axis=3, keepdims=True)
    images = (images - channel_mean) * _uniform(saturation_seed, shape, 0.0, 2.0) + channel_mean
    image_mean = tf.reduce_mean(images, axis=[1, 2, 3], keepdims=True)
    return (images - image_mean) * _uniform(contrast_seed, shape, 0.5, 1.5) + image_mean


def translation(images, seed, ratio=0.125):
    """Random translation by up to `ratio` of the image size in each direction, padding with zeros.

    Args:
        images: `[batch, H, W, C]`.
        seed: a stateless seed, shape `[2]`.
        ratio: the largest shift as a fraction of the height and width.

    Returns:
        Images of the same shape.
    """
    batch, height, width = tf.shape(images)[0], tf.shape(images)[1], tf.shape(images)[2]
    rows_seed, columns_seed = tf.unstack(tf.random.experimental.stateless_split(seed, 2))

    def shifted_indices(size, index_seed):
        limit = tf.cast(tf.round(tf.cast(size, tf.float32) * ratio), tf.int32)
        shift = tf.random.stateless_uniform([batch, 1], seed=index_seed, minval=-limit, maxval=limit + 1,
                                            dtype=tf.int32)
        source = tf.range(size)[None, :] + shift
        valid = tf.cast((source >= 0) & (source < size), images.dtype)
        return tf.clip_by_value(source, 0, size - 1), valid

    rows, valid_rows = shifted_indices(height, rows_seed)
    columns, valid_columns = shifted_indices(width, columns_seed)
    moved = tf.gather(images, rows, axis=1, batch_dims=1)
    moved = tf.gather(moved, columns, axis=2, batch_dims=1)
    return moved * valid_rows[:, :, None, None] * valid_columns[:, None, :, None]


def cutout(images, seed, ratio=0.5):
    """Zeroes a random square of `ratio` times the image size in each image (DeVries & Taylor 2017).

    Args:
        images: `[batch, H, W, C]`.
        seed: a stateless seed, shape `[2]`.
        ratio: the square's side as a fraction of the height and width.

    Returns:
        Images of the same shape.
    """
    batch, height, width = tf.shape(images)[0], tf.shape(images)[1], tf.shape(images)[2]
    rows_seed, columns_seed = tf.unstack(tf.random.experimental.stateless_split(seed, 2))

    def kept(size, index_seed):
        side = tf.cast(tf.cast(size, tf.float32) * ratio + 0.5, tf.int32)
        centre = tf.random.stateless_uniform([batch, 1], seed=index_seed, maxval=size, dtype=tf.int32)
        start = centre - side // 2
        positions = tf.range(size)[None, :]
        return (positions < start) | (positions >= start + side)

    keep = kept(height, rows_seed)[:, :, None] | kept(width, columns_seed)[:, None, :]
    return images * tf.cast(keep, images.dtype)[..., None]


_TRANSFORMS = {"color": color, "translation": translation, "cutout": cutout}


def check_policy(policy):
    """Validates a DiffAugment policy (a list of names from `POLICIES`) and returns it as a tuple."""
    policy = tuple(policy or ())
    unknown = [name for name in policy if name not in _TRANSFORMS]
    if unknown:
        raise ValueError(f"unknown augmentation {unknown[0]!r}; expected some of {list(POLICIES)}")
    return policy


def diff_augment(images, policy, seed):
    """Applies the transformations of `policy`, in order, with randomness keyed by `seed` (Zhao et al. 2020, eq. 4).

    Args:
        images: `[batch, H, W, C]` in [-1, 1].
        policy: names from `POLICIES`, e.g. `("color", "translation", "cutout")`, the paper's choice for 100-shot
            and small-data training.
        seed: a stateless seed, shape `[2]`; the same seed gives the same transformation.

    Returns:
        Augmented images of the same shape and dtype.
    """
    policy = check_policy(policy)
    if not policy:
        return images
    if images.shape.rank != 4:
        raise ValueError(f"DiffAugment needs images [batch, H, W, C], got shape {images.shape}")
    seeds = tf.unstack(tf.random.experimental.stateless_split(seed, len(policy)))
    for name, transform_seed in zip(policy, seeds):
        images = _TRANSFORMS[name](images, transform_seed)
    return images
