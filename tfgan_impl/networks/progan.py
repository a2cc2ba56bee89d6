"""The networks of progressive growing (Karras et al. 2018, "Progressive Growing of GANs for Improved Quality,
Stability, and Variation", arXiv:1710.10196): a generator and a discriminator holding every resolution from 4x4
up, and their level of detail `lod`, which says how far the growth has come.

As the official code's "linear" structure (`networks.py`, `G_paper`/`D_paper`, `structure='linear'`), both
networks always have their full depth: at `lod` = 0 they work at the full resolution; at `lod` = k (an integer)
only the layers up to resolution H / 2^k act, the generator's image upscaled to H by repetition and the
discriminator's input seen through its 2^k x 2^k box averages; between two integers the new block fades in
(sec. 3, fig. 2: the block's output blended with the upscaled image of the previous resolution by 1 - frac(lod)).
Growing therefore changes no shape: optimizers, checkpoints, exports and `tf.distribute` see the same variables
from the first step to the last. The layers of resolutions not yet grown are not computed (one branch per
integer level, as the official "recursive" structure saves the time): they get no gradients.

Keras has no way to grow a model's graph during `fit`, hence these subclassed models. Channels-last.
"""
import math

import keras
import tensorflow as tf

from tfgan_impl.networks.equalized import EqualizedConv2D, EqualizedDense, PixelNormalization
from tfgan_impl.networks.layers import LatentToImageShapes, MinibatchStdDev

HE_GAIN = math.sqrt(2.0)  # ProGAN's weight gain before a leaky ReLU (He et al. 2015)


def resolution_log2(image_shape):
    """log2 of the square image side, a power of two from 4; a ValueError naming the shape otherwise."""
    height, width = int(image_shape[0]), int(image_shape[1])
    log2 = int(round(math.log2(height))) if height > 0 else 0
    if height != width or height < 4 or 2**log2 != height:
        raise ValueError(f"image_shape: progressive networks need square images of a power-of-two side from 4, "
                         f"got {height}x{width} (set data.image_size)")
    return log2


def channels_at(resolution, channel_base, channel_max):
    """Feature maps at a resolution: min(channel_base / resolution, channel_max). ProGAN's widths (Table 2:
    512 up to 64x64, then 256, 128, 64, 32, 16 at 1024x1024) are channel_base 16384, channel_max 512."""
    return max(1, min(int(channel_base) // int(resolution), int(channel_max)))


def fade(new, old, amount):
    """`new + (old - new) * clip(amount, 0, 1)`: the official `lerp_clip`, a block fading in as `amount` falls
    from 1 to 0."""
    return new + (old - new) * tf.clip_by_value(tf.cast(amount, new.dtype), 0.0, 1.0)


def upscale(images, factor=2):
    """Each pixel repeated `factor` x `factor` times (the official `upscale2d`, nearest neighbour)."""
    return tf.repeat(tf.repeat(images, factor, axis=1), factor, axis=2)


def downscale(images):
    """The mean of each 2 x 2 block (the official `downscale2d`, a box filter)."""
    return tf.nn.avg_pool2d(images, 2, 2, "VALID")


def _switch_by_level(lod, max_lod, function):
    """`function(floor(lod))`, one branch per integer level (`tf.switch_case`), so each step computes only the
    layers its level of detail uses."""
    if max_lod == 0:
        return function(0)
    level = tf.clip_by_value(tf.cast(tf.floor(tf.cast(lod, tf.float32)), tf.int32), 0, max_lod)
    return tf.switch_case(level, [lambda level=level_: function(level) for level_ in range(max_lod + 1)])


def _conv(filters, kernel_size, name, gain=HE_GAIN):
    return EqualizedConv2D(filters, kernel_size, kernel_gain=gain, name=name)


def _sequence(input_shape, layers, name):
    """Layers as one built `keras.Sequential` (so the subclassed networks are built when constructed)."""
    return keras.Sequential([keras.Input(input_shape), *layers], name=name)


def _lrelu():
    return keras.layers.LeakyReLU(0.2)


class _Progressive(keras.Model):
    """What both networks share: the image shape, the widths and the level of detail."""

    def __init__(self, image_shape, channel_base, channel_max, **kwargs):
        super().__init__(**kwargs)
        self.image_shape = tuple(int(d) for d in image_shape)
        self.resolution_log2 = resolution_log2(self.image_shape)
        self.channel_base, self.channel_max = int(channel_base), int(channel_max)
        # Set by the training model each step (`ProgressiveGAN`); 0, the full resolution, for a network on its own.
        self.lod = self.add_weight(name="lod", shape=(), initializer="zeros", trainable=False,
                                   aggregation="only_first_replica")
        self.fixed_lod = None  # set in `portable` copies
        # XLA on CPU aborts compiling these branches (TensorFlow 2.21): compiled steps take the linear structure.
        self.branch_by_level = True

    @property
    def max_lod(self):
        """The level of detail of 4x4: log2(resolution) - 2."""
        return self.resolution_log2 - 2

    def portable(self):
        """A copy of the network fixed at its current level of detail, with the same weights and no control flow:
        for converters that need a static graph (TFLite, ONNX: tf2onnx cannot convert `switch_case`)."""
        copy = type(self).from_config(self.get_config())
        copy.set_weights(self.get_weights())
        copy.fixed_lod = float(self.lod.numpy())
        return copy

    def _by_level(self, function):
        """`function(floor(lod))`: one branch per integer level (`tf.switch_case`), so each step computes only the
        layers its level of detail uses; without branches in a `portable` copy."""
        if self.fixed_lod is not None:
            return function(min(int(math.floor(self.fixed_lod)), self.max_lod))
        if not self.branch_by_level:  # level 0's function, with its fades clipped, is the whole linear structure
            return function(0)
        return _switch_by_level(self.lod, self.max_lod, function)

    def _lod(self):
        if self.fixed_lod is not None:
            return tf.constant(self.fixed_lod, self.compute_dtype)
        return tf.cast(self.lod, self.compute_dtype)

    def width(self, resolution):
        return channels_at(resolution, self.channel_base, self.channel_max)

    def get_config(self):
        return {**super().get_config(), "image_shape": list(self.image_shape), "channel_base": self.channel_base,
                "channel_max": self.channel_max}


@keras.saving.register_keras_serializable(package="tfgan_impl")
class ProgressiveGenerator(LatentToImageShapes, _Progressive):
    """ProGAN's generator (Karras et al. 2018, Table 2): z pixel-normalized, a dense layer to 4x4 and a 3x3
    convolution; then per resolution a nearest-neighbour doubling and two 3x3 convolutions; leaky ReLU (0.2) and
    pixel-wise feature normalization (sec. 4.2) after each; a linear 1x1 "toRGB" layer per resolution. Every
    weight has the equalized learning rate (sec. 4.1). The output is always `[batch, H, W, C]`: the images of
    resolution H / 2^floor(lod), upscaled, blended with the next finer ones by 1 - frac(lod).

    Args:
        latent_dim: size of z (512 in the paper).
        image_shape: `[H, W, C]`, H = W a power of two from 4.
        channel_base, channel_max: widths, see `channels_at` (16384, 512: the paper's).
        normalize_latents: pixel-normalize z first (the paper's).
    """

    def __init__(self, latent_dim, image_shape, channel_base=16384, channel_max=512, normalize_latents=True,
                 **kwargs):
        super().__init__(image_shape, channel_base, channel_max, **kwargs)
        self.latent_dim = int(latent_dim)
        self.normalize_latents = bool(normalize_latents)
        channels = self.image_shape[2]
        width = self.width(4)
        # The 4x4 block: the official dense layer has gain sqrt(2) / 4 "to match the original Theano code" and
        # its bias per feature map, after the reshape.
        head = [PixelNormalization(name="normalize_z")] if self.normalize_latents else []
        self.blocks = [_sequence((self.latent_dim,), [
            *head, EqualizedDense(16 * width, use_bias=False, kernel_gain=HE_GAIN / 4, name="b4_dense"),
            keras.layers.Reshape((4, 4, width)), _Bias(name="b4_dense_bias"), _lrelu(), PixelNormalization(),
            _conv(width, 3, "b4_conv"), _lrelu(), PixelNormalization()], name="b4")]
        self.to_rgb = [_sequence((4, 4, width), [_conv(channels, 1, "b4_torgb", gain=1.0)], name="b4_torgb")]
        for level in range(3, self.resolution_log2 + 1):
            resolution, previous = 2**level, width
            width = self.width(resolution)
            self.blocks.append(_sequence((resolution // 2, resolution // 2, previous), [
                keras.layers.UpSampling2D(2, interpolation="nearest"),
                _conv(width, 3, f"b{resolution}_conv0"), _lrelu(), PixelNormalization(),
                _conv(width, 3, f"b{resolution}_conv1"), _lrelu(), PixelNormalization()], name=f"b{resolution}"))
            self.to_rgb.append(_sequence((resolution, resolution, width),
                                         [_conv(channels, 1, f"b{resolution}_torgb", gain=1.0)],
                                         name=f"b{resolution}_torgb"))
        self.built = True

    def call(self, z, training=False):
        lod = self._lod()

        def at_level(level):
            # The official "linear" structure's output when floor(lod) = level: the blocks finer than the level's
            # contribute nothing (their fades are complete), so they are not computed.
            finest = self.max_lod - level  # the index of the block whose images are the output at `level`
            x = self.blocks[0](z, training=training)
            images = self.to_rgb[0](x, training=training)
            for index in range(1, finest + 1):
                x = self.blocks[index](x, training=training)
                images = fade(self.to_rgb[index](x, training=training), upscale(images), lod - (self.max_lod - index))
            return upscale(images, 2**level) if level else images

        return self._by_level(at_level)

    def compute_output_shape(self, input_shape):
        return (input_shape[0], *self.image_shape)

    def get_config(self):
        return {**super().get_config(), "latent_dim": self.latent_dim, "normalize_latents": self.normalize_latents}


@keras.saving.register_keras_serializable(package="tfgan_impl")
class ProgressiveDiscriminator(_Progressive):
    """ProGAN's discriminator (Karras et al. 2018, Table 2): a 1x1 "fromRGB" layer with leaky ReLU per
    resolution; per resolution two 3x3 convolutions and a 2x2 average pooling; at 4x4 minibatch standard
    deviation (sec. 3), a 3x3 convolution, a dense layer and a linear output. Equalized learning rate
    throughout, no normalization. At level of detail `lod` it reads the input at resolution H / 2^floor(lod)
    (box averages), the next finer block fading in by 1 - frac(lod).

    Args:
        image_shape: `[H, W, C]`.
        channel_base, channel_max: widths, see `channels_at`.
        mbstd_group_size: examples per minibatch-standard-deviation group (4).
    """

    def __init__(self, image_shape, channel_base=16384, channel_max=512, mbstd_group_size=4, **kwargs):
        super().__init__(image_shape, channel_base, channel_max, **kwargs)
        self.mbstd_group_size = int(mbstd_group_size)
        channels = self.image_shape[2]
        self.from_rgb, self.blocks = [], []  # from the full resolution down
        for level in range(self.resolution_log2, 2, -1):
            resolution = 2**level
            width, coarser = self.width(resolution), self.width(resolution // 2)
            self.from_rgb.append(_sequence((resolution, resolution, channels),
                                           [_conv(width, 1, f"b{resolution}_fromrgb"), _lrelu()],
                                           name=f"b{resolution}_fromrgb"))
            self.blocks.append(_sequence((resolution, resolution, width), [
                _conv(width, 3, f"b{resolution}_conv0"), _lrelu(),
                _conv(coarser, 3, f"b{resolution}_conv1"), _lrelu(),
                keras.layers.AveragePooling2D(2)], name=f"b{resolution}"))
        width = self.width(4)
        self.from_rgb.append(_sequence((4, 4, channels), [_conv(width, 1, "b4_fromrgb"), _lrelu()], name="b4_fromrgb"))
        self.blocks.append(_sequence((4, 4, width), [
            MinibatchStdDev(self.mbstd_group_size, name="b4_mbstd"), _conv(width, 3, "b4_conv"), _lrelu(),
            keras.layers.Flatten(), EqualizedDense(self.width(2), kernel_gain=HE_GAIN, name="b4_dense"), _lrelu(),
            EqualizedDense(1, name="b4_out")], name="b4"))
        self.built = True

    @property
    def input_shape(self):
        return (None, *self.image_shape)

    @property
    def output_shape(self):
        return (None, 1)

    def call(self, images, training=False):
        lod = self._lod()
        images = tf.cast(images, self.compute_dtype)
        levels = [images]  # the input's box averages at each level of detail
        for _ in range(self.max_lod):
            levels.append(downscale(levels[-1]))

        def at_level(level):
            # The official "linear" structure when floor(lod) = level: the blocks finer than the level would be
            # faded out completely, so they are not computed.
            x = self.from_rgb[level](levels[level], training=training)
            for index in range(level, len(self.blocks) - 1):
                x = self.blocks[index](x, training=training)
                x = fade(x, self.from_rgb[index + 1](levels[index + 1], training=training), lod - index)
            return self.blocks[-1](x, training=training)

        return self._by_level(at_level)

    def compute_output_shape(self, input_shape):
        return (input_shape[0], 1)

    def get_config(self):
        return {**super().get_config(), "mbstd_group_size": self.mbstd_group_size}


@keras.saving.register_keras_serializable(package="tfgan_impl")
class _Bias(keras.layers.Layer):
    """A learned bias per channel (the official `apply_bias` after the 4x4 dense layer's reshape)."""

    def build(self, input_shape):
        self.bias = self.add_weight(name="bias", shape=(input_shape[-1],), initializer="zeros")

    def call(self, inputs):
        return inputs + tf.cast(self.bias, inputs.dtype)


def progan_generator(latent_dim, image_shape=(32, 32, 1), channel_base=16384, channel_max=512,
                     normalize_latents=True):
    """ProGAN's generator (Karras et al. 2018, Table 2 with the defaults at 1024x1024); see
    `ProgressiveGenerator`."""
    return ProgressiveGenerator(latent_dim, image_shape, channel_base, channel_max, normalize_latents,
                                name="generator")


def progan_discriminator(image_shape=(32, 32, 1), channel_base=16384, channel_max=512, mbstd_group_size=4):
    """ProGAN's discriminator (Karras et al. 2018, Table 2); see `ProgressiveDiscriminator`."""
    return ProgressiveDiscriminator(image_shape, channel_base, channel_max, mbstd_group_size, name="discriminator")
