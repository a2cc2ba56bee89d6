"""Adaptive discriminator augmentation, ADA (Karras et al. 2020, "Training Generative Adversarial Networks with
Limited Data", arXiv:2006.06676): the "bgc" pipeline of sec. 2.3 and appendix B (pixel blitting, general
geometric and color transformations), each applied to an image with one probability p, and the overfitting
heuristic r_t = E[sign(D(x_real))] that moves p toward a target (sec. 3).

Every transformation is differentiable with respect to the images, so the discriminator's augmented view of
generated images passes gradients to the generator. The geometric ones compose into one 3x3 matrix per image and
one bilinear resampling with reflected borders (`resample`: `tf.raw_ops.ImageProjectiveTransformV3`'s arithmetic,
compilable by XLA); the color ones into one 4x4 matrix on (r, g, b, 1). Unlike the official code, the resampling
is not anti-aliased (no up-sampling by 2 with a wavelet filter around it): cheaper on CPU, slightly blurrier
rotations and scalings.
"""
import math

import tensorflow as tf

# The transformations of the paper's pipelines, in the order the official AugmentPipe applies them.
BLIT = ("xflip", "rotate90", "xint")
GEOMETRIC = ("scale", "rotate", "aniso", "xfrac")
COLOR = ("brightness", "contrast", "lumaflip", "hue", "saturation")
PIPELINES = {"b": BLIT, "bg": BLIT + GEOMETRIC, "bgc": BLIT + GEOMETRIC + COLOR, "c": COLOR}
# Strengths of the official pipeline: translations in image sizes, standard deviations in log2 units.
XINT_MAX, SCALE_STD, ROTATE_MAX, ANISO_STD, XFRAC_STD = 0.125, 0.2, 1.0, 0.2, 0.125
BRIGHTNESS_STD, CONTRAST_STD, HUE_MAX, SATURATION_STD = 0.2, 0.5, 1.0, 1.0


def transformations(pipeline):
    """The transformations of `pipeline`, a name of `PIPELINES` or a sequence of transformation names, in the
    official order; `ValueError` naming what is unknown."""
    if isinstance(pipeline, str):
        if pipeline not in PIPELINES:
            raise ValueError(f"expected one of {', '.join(PIPELINES)}, got {pipeline!r}")
        return PIPELINES[pipeline]
    unknown = [name for name in pipeline if name not in PIPELINES["bgc"]]
    if unknown:
        raise ValueError(f"unknown transformations {unknown}; known: {', '.join(PIPELINES['bgc'])}")
    return tuple(name for name in PIPELINES["bgc"] if name in pipeline)


class _Draws:
    """Per-image random draws from one stateless seed, each gated by the probability p: where an image's
    uniform draw is not below p, its parameter takes the identity value."""

    def __init__(self, seed, batch, p):
        self.seed, self.batch, self.p, self.count = seed, batch, tf.cast(p, tf.float32), 0

    def _next(self):
        self.count += 1
        return tf.random.experimental.stateless_fold_in(self.seed, self.count)

    def gate(self, values, identity, p=None):
        applied = tf.random.stateless_uniform([self.batch], self._next()) < (self.p if p is None else p)
        return tf.where(applied, values, tf.cast(identity, values.dtype))

    def uniform(self, low=0.0, high=1.0):
        return tf.random.stateless_uniform([self.batch], self._next(), low, high)

    def normal(self):
        return tf.random.stateless_normal([self.batch], self._next())

    def integers(self, high):
        return tf.random.stateless_uniform([self.batch], self._next(), 0, high, dtype=tf.int32)


def _matrix(rows):
    """`[batch, n, n]` from n rows of n `[batch]` tensors."""
    return tf.stack([tf.stack(row, axis=-1) for row in rows], axis=-2)


def _translate(tx, ty):
    one, zero = tf.ones_like(tx), tf.zeros_like(tx)
    return _matrix([[one, zero, tx], [zero, one, ty], [zero, zero, one]])


def _scale(sx, sy):
    one, zero = tf.ones_like(sx), tf.zeros_like(sx)
    return _matrix([[sx, zero, zero], [zero, sy, zero], [zero, zero, one]])


def _rotate(theta):
    one, zero, cos, sin = tf.ones_like(theta), tf.zeros_like(theta), tf.cos(theta), tf.sin(theta)
    return _matrix([[cos, -sin, zero], [sin, cos, zero], [zero, zero, one]])


def geometric_matrices(draws, names, height, width):
    """The inverse geometric transformation of each image (output pixel -> input pixel, coordinates centred on
    the image), as the official pipeline composes it; `[batch, 3, 3]`."""
    inverse = tf.eye(3, batch_shape=[draws.batch])
    rotate_p = 1.0 - tf.sqrt(1.0 - tf.minimum(draws.p, 1.0))  # two rotations: P(any) = p
    for name in names:
        if name == "xflip":
            flip = tf.cast(draws.gate(draws.integers(2), 0), tf.float32)
            inverse = inverse @ _scale(1.0 - 2.0 * flip, tf.ones_like(flip))
        elif name == "rotate90":
            quarter = tf.cast(draws.gate(draws.integers(4), 0), tf.float32)
            inverse = inverse @ _rotate(-math.pi / 2 * quarter)
        elif name == "xint":
            tx = draws.gate(draws.uniform(-XINT_MAX, XINT_MAX), 0.0)
            ty = draws.gate(draws.uniform(-XINT_MAX, XINT_MAX), 0.0)
            inverse = inverse @ _translate(tf.round(tx * width), tf.round(ty * height))
        elif name == "scale":
            s = draws.gate(tf.pow(2.0, draws.normal() * SCALE_STD), 1.0)
            inverse = inverse @ _scale(1.0 / s, 1.0 / s)
        elif name == "rotate":
            theta = draws.gate(draws.uniform(-math.pi * ROTATE_MAX, math.pi * ROTATE_MAX), 0.0, rotate_p)
            inverse = inverse @ _rotate(-theta)
        elif name == "aniso":
            s = draws.gate(tf.pow(2.0, draws.normal() * ANISO_STD), 1.0)
            inverse = inverse @ _scale(1.0 / s, s)
            theta = draws.gate(draws.uniform(-math.pi * ROTATE_MAX, math.pi * ROTATE_MAX), 0.0, rotate_p)
            inverse = inverse @ _rotate(-theta)  # the official pipeline's second rotation follows aniso
        elif name == "xfrac":
            tx = draws.gate(draws.normal() * XFRAC_STD, 0.0)
            ty = draws.gate(draws.normal() * XFRAC_STD, 0.0)
            inverse = inverse @ _translate(tx * width, ty * height)
    return inverse


def color_matrices(draws, names):
    """The color transformation of each image on (r, g, b, 1), as the official pipeline composes it;
    `[batch, 4, 4]`. Values are taken to be in [-1, 1]; the luma axis is (1, 1, 1) / sqrt 3."""
    luma = tf.constant([1.0, 1.0, 1.0, 0.0]) / math.sqrt(3.0)
    outer = tf.tensordot(luma, luma, axes=0)  # v v^T
    eye = tf.eye(4, batch_shape=[draws.batch])
    matrix = eye
    for name in names:
        if name == "brightness":
            b = draws.gate(draws.normal() * BRIGHTNESS_STD, 0.0)
            matrix = (eye + tf.pad(tf.tile(b[:, None, None], [1, 3, 1]), [[0, 0], [0, 1], [3, 0]])) @ matrix
        elif name == "contrast":
            c = draws.gate(tf.pow(2.0, draws.normal() * CONTRAST_STD), 1.0)
            matrix = tf.linalg.diag(tf.stack([c, c, c, tf.ones_like(c)], axis=-1)) @ matrix
        elif name == "lumaflip":
            flip = tf.cast(draws.gate(draws.integers(2), 0), tf.float32)
            matrix = (eye - 2.0 * outer * flip[:, None, None]) @ matrix  # Householder reflection
        elif name == "hue":
            theta = draws.gate(draws.uniform(-math.pi * HUE_MAX, math.pi * HUE_MAX), 0.0)
            matrix = _rotation_about(luma, theta) @ matrix
        elif name == "saturation":
            s = draws.gate(tf.pow(2.0, draws.normal() * SATURATION_STD), 1.0)
            matrix = (outer + (eye - outer) * s[:, None, None]) @ matrix
    return matrix


def _rotation_about(axis, theta):
    """Rodrigues' rotation by `theta` `[batch]` about the unit `axis` (x, y, z, 0), as 4x4 matrices."""
    x, y, z = axis[0], axis[1], axis[2]
    cos, sin = tf.cos(theta), tf.sin(theta)
    one_minus = 1.0 - cos
    zero, one = tf.zeros_like(theta), tf.ones_like(theta)
    return _matrix([
        [cos + x * x * one_minus, x * y * one_minus - z * sin, x * z * one_minus + y * sin, zero],
        [y * x * one_minus + z * sin, cos + y * y * one_minus, y * z * one_minus - x * sin, zero],
        [z * x * one_minus - y * sin, z * y * one_minus + x * sin, cos + z * z * one_minus, zero],
        [zero, zero, zero, one]])


def _reflect(coordinates, size):
    """`ImageProjectiveTransformV3`'s REFLECT map of coordinates onto [0, size - 1]: (d c b a | a b c d | d c b a)."""
    if size <= 1:
        return tf.zeros_like(coordinates)
    period = 2.0 * size
    below = period * tf.math.floor(-coordinates / period) + coordinates  # in (-period, 0] for negative values
    below = tf.where(below < -size, below + period, -below - 1.0)
    above = coordinates - period * tf.math.floor(coordinates / period)  # in [0, period) for positive values
    above = tf.where(above >= size, period - above - 1.0, above)
    mapped = tf.where(coordinates < 0, below, tf.where(coordinates > size - 1, above, coordinates))
    return tf.clip_by_value(mapped, 0.0, size - 1.0)


def resample(images, to_input):
    """Bilinear resampling of `images` `[batch, H, W, C]` at `to_input @ (x, y, 1)` for each output pixel (x, y),
    borders reflected: `tf.raw_ops.ImageProjectiveTransformV3` with BILINEAR and REFLECT for affine matrices,
    written with gathers because that op has no XLA kernel (StyleGAN2 with ADA must compile under XLA on GPUs).

    Args:
        images: float32 images `[batch, H, W, C]`.
        to_input: `[batch, 3, 3]` affine matrices from output pixel indices to input pixel indices.

    Returns:
        The resampled images, same shape; differentiable with respect to `images`.
    """
    batch, height, width, channels = tf.shape(images)[0], images.shape[1], images.shape[2], images.shape[3]
    ys, xs = tf.meshgrid(tf.range(height, dtype=tf.float32), tf.range(width, dtype=tf.float32), indexing="ij")
    grid = tf.stack([tf.reshape(xs, [-1]), tf.reshape(ys, [-1]), tf.ones([height * width])])  # [3, H*W]
    source = to_input @ grid  # [batch, 3, H*W]
    x, y = _reflect(source[:, 0] / source[:, 2], width), _reflect(source[:, 1] / source[:, 2], height)
    x0, y0 = tf.math.floor(x), tf.math.floor(y)
    flat = tf.reshape(images, [batch, height * width, channels])

    def read(row, column):  # the op's `read_with_fill_value`: 0 beyond the image (with weight 0 there)
        inside = (row <= height - 1) & (column <= width - 1)
        index = tf.cast(tf.minimum(row, height - 1.0) * width + tf.minimum(column, width - 1.0), tf.int32)
        return tf.gather(flat, index, batch_dims=1) * tf.cast(inside, images.dtype)[..., None]

    wx, wy = (x - x0)[..., None], (y - y0)[..., None]
    top = (1.0 - wx) * read(y0, x0) + wx * read(y0, x0 + 1.0)
    bottom = (1.0 - wx) * read(y0 + 1.0, x0) + wx * read(y0 + 1.0, x0 + 1.0)
    return tf.reshape((1.0 - wy) * top + wy * bottom, tf.shape(images))


def augment(images, p, seed, pipeline="bgc"):
    """ADA's augmentation (Karras et al. 2020b, appendix B): each transformation of `pipeline` applied to each
    image with probability `p`.

    Args:
        images: `[batch, H, W, C]` in [-1, 1], C 1 or 3 (grayscale images get the color matrix averaged over
            its rows, as the official pipeline does).
        p: the augmentation probability, a scalar (0: images unchanged).
        seed: a stateless seed `[2]`.
        pipeline: a name of `PIPELINES`, or transformation names (e.g. `["xflip", "rotate90"]`).

    Returns:
        Augmented images, same shape and dtype; differentiable with respect to `images`.
    """
    names = transformations(pipeline)
    dtype = images.dtype
    images = tf.cast(images, tf.float32)
    batch, height, width, channels = tf.shape(images)[0], images.shape[1], images.shape[2], images.shape[3]
    draws = _Draws(seed, batch, p)
    geometric = [name for name in names if name in BLIT + GEOMETRIC]
    if geometric:
        inverse = geometric_matrices(draws, geometric, height, width)
        centre = _translate(tf.fill([batch], (width - 1) / 2), tf.fill([batch], (height - 1) / 2))
        to_input = centre @ inverse @ tf.linalg.inv(centre)  # pixel indices of the output -> of the input
        images = resample(images, to_input)
    colors = [name for name in names if name in COLOR]
    if colors:
        matrix = color_matrices(draws, colors)
        if channels == 3:
            pixels = tf.reshape(images, [batch, -1, 3])
            images = tf.reshape(pixels @ tf.transpose(matrix[:, :3, :3], [0, 2, 1]) + matrix[:, None, :3, 3],
                                tf.shape(images))
        else:  # the official grayscale rule: the rows' mean, applied to the value as if in every channel
            mean_row = tf.reduce_mean(matrix[:, :3, :], axis=1)  # [batch, 4]
            images = images * tf.reduce_sum(mean_row[:, :3], axis=1)[:, None, None, None] + \
                mean_row[:, 3][:, None, None, None]
    return tf.cast(images, dtype)


def adjusted_probability(p, real_sign, target=0.6, images=1, speed_images=500_000):
    """The overfitting heuristic's update of p (Karras et al. 2020b, sec. 3): p moves by sign(r_t - target)
    times `images / speed_images`, so that it can go from 0 to 1 in `speed_images` images (500k in the paper),
    and never below 0.

    Args:
        p: the current probability.
        real_sign: r_t = E[sign(D(x_real))] over the last interval's real images.
        target: the r_t it steers toward (0.6).
        images: the real images the interval saw (batch x steps).
        speed_images: images for a change of p by 1.

    Returns:
        The new p.
    """
    return tf.maximum(p + tf.sign(real_sign - target) * images / speed_images, 0.0)
