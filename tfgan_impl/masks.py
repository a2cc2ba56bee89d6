"""Hole masks for inpainting, `[H, W, 1]` float32 with 1 in the hole and 0 on known pixels: a centred rectangle,
random rectangles (Iizuka et al. 2017, sec. 3.3), random free-form strokes (Yu et al. 2019, "Free-Form Image
Inpainting with Gated Convolution", Algorithm 1) and masks read from image files. Random masks are stateless: the
same seed gives the same mask, so a resumed run and an evaluation see the masks they saw before."""
import math
import os

import numpy as np
import tensorflow as tf

from tfgan_impl import images as images_module

KINDS = ("center", "rectangles", "strokes")


def _side(fraction, size):
    return max(1, min(size, int(round(fraction * size))))


def center_mask(height, width, hole=0.5):
    """A centred rectangular hole whose sides are `hole` times the image's (Pathak et al. 2016's central region).

    Returns:
        A float32 tensor `[height, width, 1]`.
    """
    hole_height, hole_width = _side(hole, height), _side(hole, width)
    top, left = (height - hole_height) // 2, (width - hole_width) // 2
    rows = tf.logical_and(tf.range(height) >= top, tf.range(height) < top + hole_height)
    columns = tf.logical_and(tf.range(width) >= left, tf.range(width) < left + hole_width)
    return tf.cast(tf.logical_and(rows[:, None], columns[None, :]), tf.float32)[:, :, None]


def rectangle_mask(seed, height, width, hole=0.5, min_hole=0.25):
    """One rectangular hole of random sides in [`min_hole`, `hole`] times the image's at a random place
    (Iizuka et al. 2017, sec. 3.3: holes of random sides in [96, 128] pixels on 256x256 patches).

    Args:
        seed: a stateless seed, `[2]` int.
        height, width: the image size.
        hole, min_hole: the largest and smallest side, as fractions of the image's.

    Returns:
        A float32 tensor `[height, width, 1]`.
    """
    draws = tf.random.stateless_uniform([4], seed)
    sizes = tf.constant([height, width], tf.float32)
    sides = tf.maximum(1.0, tf.round((min_hole + (hole - min_hole) * draws[:2]) * sizes))
    starts = tf.floor(draws[2:] * (sizes - sides + 1.0))
    rows = tf.cast(tf.range(height), tf.float32)
    columns = tf.cast(tf.range(width), tf.float32)
    inside_rows = tf.logical_and(rows >= starts[0], rows < starts[0] + sides[0])
    inside_columns = tf.logical_and(columns >= starts[1], columns < starts[1] + sides[1])
    return tf.cast(tf.logical_and(inside_rows[:, None], inside_columns[None, :]), tf.float32)[:, :, None]


def stroke_mask(seed, height, width, max_strokes=4, max_vertices=8, max_width=0.15, max_length=0.25):
    """Random free-form strokes (Yu et al. 2019, Algorithm 1): each stroke starts at a random point and moves
    `num_vertices` times by a random angle and length, drawn with a brush of random width.

    Args:
        seed: a stateless seed, `[2]` int.
        height, width: the image size.
        max_strokes: strokes are 1 to `max_strokes`.
        max_vertices: segments per stroke are 1 to `max_vertices`.
        max_width, max_length: the brush width and segment length at most, as fractions of the smaller side.

    Returns:
        A float32 tensor `[height, width, 1]`.
    """
    side = float(min(height, width))
    seeds = tf.random.experimental.stateless_split(tf.cast(seed, tf.int64), 6)
    num_strokes = tf.random.stateless_uniform([], seeds[0], 1, max_strokes + 1, tf.int32)
    num_vertices = tf.random.stateless_uniform([max_strokes], seeds[1], 1, max_vertices + 1, tf.int32)
    starts = tf.random.stateless_uniform([max_strokes, 2], seeds[2]) * [height - 1.0, width - 1.0]
    angles = tf.random.stateless_uniform([max_strokes, max_vertices], seeds[3], 0.0, 2.0 * math.pi)
    lengths = tf.random.stateless_uniform([max_strokes, max_vertices], seeds[4], 0.0, max_length * side)
    widths = tf.random.stateless_uniform([max_strokes], seeds[5], 0.2, 1.0) * max_width * side + 1.0
    steps = tf.stack([tf.sin(angles), tf.cos(angles)], axis=-1) * lengths[..., None]
    # The walk's points, clipped to the image: [strokes, vertices + 1, 2] (row, column).
    points = tf.concat([starts[:, None], starts[:, None] + tf.cumsum(steps, axis=1)], axis=1)
    points = tf.clip_by_value(points, 0.0, [height - 1.0, width - 1.0])
    begins, ends = points[:, :-1], points[:, 1:]
    used = tf.logical_and(tf.range(max_strokes)[:, None] < num_strokes,
                          tf.range(max_vertices)[None, :] < num_vertices[:, None])
    grid = tf.cast(tf.stack(tf.meshgrid(tf.range(height), tf.range(width), indexing="ij"), -1), tf.float32)
    pixels = tf.reshape(grid, [1, 1, -1, 2])
    # A pixel is painted when its distance to a used segment is within the stroke's half width.
    direction = (ends - begins)[:, :, None]
    along = tf.reduce_sum((pixels - begins[:, :, None]) * direction, -1) / tf.maximum(
        tf.reduce_sum(tf.square(direction), -1), 1e-6)
    nearest = begins[:, :, None] + tf.clip_by_value(along, 0.0, 1.0)[..., None] * direction
    distance = tf.norm(pixels - nearest, axis=-1)
    painted = tf.logical_and(distance <= widths[:, None, None] / 2.0, used[..., None])
    return tf.reshape(tf.cast(tf.reduce_any(painted, axis=[0, 1]), tf.float32), [height, width, 1])


def random_mask(kind, seed, height, width, hole=0.5):
    """A mask of `kind` (one of `KINDS`) for one image; `hole` is the centred or largest rectangle's side as a
    fraction of the image's (strokes ignore it)."""
    if kind == "center":
        return center_mask(height, width, hole)
    if kind == "rectangles":
        return rectangle_mask(seed, height, width, hole=hole, min_hole=hole / 2.0)
    if kind == "strokes":
        return stroke_mask(seed, height, width)
    raise ValueError(f"mask: expected one of {', '.join(KINDS)} or files:DIR, got {kind!r}")


def load_masks(directory, height, width):
    """The masks of the PNG/JPEG files in `directory` (sorted by name), white (> 0.5) the hole, each resized to
    `height` x `width` by nearest neighbours: `[n, height, width, 1]` float32 numpy.

    Raises:
        DataError: the directory is missing or holds no images (the message names it).
    """
    names = images_module.image_files(directory)
    return np.stack([read_mask(os.path.join(directory, name), height, width) for name in names])


def read_mask(path, height=None, width=None):
    """One mask file as `[H, W, 1]` float32 numpy in {0, 1} (grey > 0.5 is the hole), resized by nearest
    neighbours when a size is given."""
    mask = images_module.decode_grey(path)
    if height is not None:
        mask = tf.image.resize(mask, [height, width], method="nearest")
    return np.asarray(mask > 0.5, np.float32)
