"""Low-resolution inputs made from high-resolution images, the training pairs of super-resolution (SRGAN: bicubic
downscaling by 4, Ledig et al. 2017, sec. 3.1; blur and noise are the "classical degradation model" of later work,
e.g. Wang et al. 2021, arXiv:2107.10833, eq. 1), and the bicubic baseline they are judged against.

Training and evaluation use the same function, so a model is scored on the degradation it learned to invert.
"""
import dataclasses

import numpy as np
import tensorflow as tf

RESIZE_METHODS = ("bicubic", "area", "bilinear")


@dataclasses.dataclass(frozen=True)
class Degradation:
    """How a high-resolution image becomes its low-resolution input.

    Attributes:
        scale: the downscaling factor (the model's upscaling factor).
        resize: `tf.image.resize` method of the downscaling: bicubic (SRGAN's), area or bilinear.
        blur: standard deviation in high-resolution pixels of a Gaussian blur before downscaling; 0 for none.
        noise: standard deviation of Gaussian noise added to the low-resolution image (images in [0, 1]); 0 for
            none. Drawn from a seed per image index, so a held-out set is degraded the same way every time.
    """

    scale: int = 4
    resize: str = "bicubic"
    blur: float = 0.0
    noise: float = 0.0

    def __post_init__(self):
        if int(self.scale) < 2:
            raise ValueError(f"scale: expected 2 or more, got {self.scale}")
        if self.resize not in RESIZE_METHODS:
            raise ValueError(f"resize: expected one of {', '.join(RESIZE_METHODS)}, got {self.resize!r}")
        if float(self.blur) < 0 or float(self.noise) < 0:
            raise ValueError(f"blur and noise: expected 0 or more, got {self.blur} and {self.noise}")


def _gaussian_kernel(sigma, channels):
    radius = max(1, int(np.ceil(3 * sigma)))
    taps = np.exp(-0.5 * (np.arange(-radius, radius + 1) / sigma) ** 2)
    taps /= taps.sum()
    kernel = np.outer(taps, taps).astype(np.float32)[:, :, None, None]
    return tf.constant(np.tile(kernel, [1, 1, channels, 1])), radius


def degrade(images, degradation, seed=0, offset=0):
    """The low-resolution inputs of high-resolution images.

    Args:
        images: `[n, H, W, C]` in [0, 1], H and W multiples of `degradation.scale`.
        degradation: a `Degradation`.
        seed: seed of the noise.
        offset: index of the first image in its set (the noise of image i depends on `seed` and `offset + i`).

    Returns:
        float32 numpy `[n, H / scale, W / scale, C]` in [0, 1].
    """
    images = tf.convert_to_tensor(np.asarray(images, np.float32))
    height, width, channels = images.shape[1:]
    scale = int(degradation.scale)
    if height % scale or width % scale:
        raise ValueError(f"images of {height}x{width} do not divide by the scale {scale}; crop or resize them to "
                         "a multiple")
    if degradation.blur:
        kernel, radius = _gaussian_kernel(float(degradation.blur), channels)
        padded = tf.pad(images, [[0, 0], [radius, radius], [radius, radius], [0, 0]], mode="REFLECT")
        images = tf.nn.depthwise_conv2d(padded, kernel, [1, 1, 1, 1], "VALID")
    low = tf.image.resize(images, [height // scale, width // scale], method=degradation.resize, antialias=True)
    if degradation.noise:
        indices = tf.range(offset, offset + tf.shape(low)[0], dtype=tf.int64)
        seed = tf.cast(seed, tf.int64)
        noise = tf.map_fn(lambda i: tf.random.stateless_normal(low.shape[1:], seed=tf.stack([seed, i])), indices,
                          fn_output_signature=tf.float32)
        low = low + float(degradation.noise) * noise
    return tf.clip_by_value(low, 0.0, 1.0).numpy()


def bicubic_upscale(images, scale):
    """The baseline every super-resolution paper reports: bicubic interpolation of `[n, h, w, C]` in [0, 1] to
    `scale` times the size, clipped to [0, 1]."""
    images = tf.convert_to_tensor(np.asarray(images, np.float32))
    height, width = images.shape[1:3]
    upscaled = tf.image.resize(images, [height * int(scale), width * int(scale)], method="bicubic")
    return tf.clip_by_value(upscaled, 0.0, 1.0).numpy()


def psnr(images, references):
    """Mean peak signal-to-noise ratio in dB of images in [0, 1] against references (`tf.image.psnr`, max 1)."""
    return float(tf.reduce_mean(tf.image.psnr(np.asarray(images, np.float32), np.asarray(references, np.float32),
                                              max_val=1.0)))
