"""StyleGAN2's networks (Karras et al. 2020, "Analyzing and Improving the Image Quality of StyleGAN",
arXiv:1912.04958): a mapping network z -> w, a synthesis network of modulated and demodulated convolutions
(sec. 2.2, eq. 1-3) from a learned constant, with per-layer noise and skip connections to RGB (fig. 7), and a
residual discriminator with minibatch standard deviation. Every weight uses the equalized learning rate of
Karras et al. 2018 (arXiv:1710.10196, sec. 4.1); up- and down-sampling use the [1, 3, 3, 1] FIR filter.

Keras has no modulated convolution, hence this module (`equalized.py` holds the layers ProGAN shares). Images
are channels-last. Differences from the official code, none in the arithmetic a paper equation states:
up-sampling inside a modulated convolution inserts zeros, filters, then convolves (the official code transposes
the convolution, then filters: the same operations in another order, which agree away from the borders up to the
alignment of the up-sampled grid), and there is no float16 clamping.
"""
import math

import keras
import tensorflow as tf

from tfgan_impl.networks.equalized import (FIR_TAPS, EqualizedConv2D, EqualizedDense, PixelNormalization, Upsample2D,
                                           bias_act, check_activation, upsample_2d)
from tfgan_impl.networks.layers import LatentToImageShapes, MinibatchStdDev


@keras.saving.register_keras_serializable(package="tfgan_impl")
class ModulatedConv2D(keras.layers.Layer):
    """StyleGAN2's modulated convolution (Karras et al. 2020, sec. 2.2, eq. 1-3), called on `[x, w]`.

    An affine map of w gives one scale s_i per input channel (bias initialized to 1). Eq. 1 scales the weights,
    w'_ijk = s_i w_ijk; eq. 3 demodulates them, w''_ijk = w'_ijk / sqrt(sum_ik w'_ijk^2 + 1e-8). Computed as the
    official code's unfused path: scale the input channels by s, convolve with the shared weights, scale each
    output channel by its demodulation coefficient (the same numbers, without a convolution per example). Then
    per-pixel Gaussian noise times a learned strength (starts at 0), the bias and a leaky ReLU.

    The RGB layers are this layer with `demodulate=False`, kernel 1, no noise and a linear output; their
    styles are scaled by 1 / sqrt(fan_in) instead.

    Args:
        filters: output channels.
        kernel_size: square kernel size.
        demodulate: apply eq. 3.
        up: double the resolution first (FIR-filtered).
        noise: add per-pixel noise: random in training, a fixed map learned with the layer otherwise
            (the official `noise_mode="const"` of generation).
        activation: `"lrelu"` or `"linear"`.
        taps: the FIR filter's taps.
    """

    def __init__(self, filters, kernel_size=3, demodulate=True, up=False, noise=True, activation="lrelu",
                 taps=FIR_TAPS, **kwargs):
        super().__init__(**kwargs)
        self.filters = int(filters)
        self.kernel_size = int(kernel_size)
        self.demodulate = bool(demodulate)
        self.up = bool(up)
        self.noise = bool(noise)
        self.activation = check_activation(activation)
        self.taps = tuple(taps)
        self.affine = None
        # seeded from Python's generator, which keras.utils.set_random_seed (a run's seed) fixes
        self.seed_generator = keras.random.SeedGenerator() if self.noise else None

    def build(self, input_shape):
        x_shape, w_shape = input_shape
        channels = x_shape[-1]
        self.affine = EqualizedDense(channels, bias_init=1.0, name="affine")
        self.affine.build(w_shape)
        self.kernel = self.add_weight(name="kernel", shape=(self.kernel_size, self.kernel_size, channels, self.filters),
                                      initializer=keras.initializers.RandomNormal(stddev=1.0))
        self.bias = self.add_weight(name="bias", shape=(self.filters,), initializer="zeros")
        self.style_gain = 1.0 if self.demodulate else 1.0 / math.sqrt(channels * self.kernel_size**2)
        if self.noise:
            scale = 2 if self.up else 1
            self.noise_map = self.add_weight(name="noise_map", shape=(x_shape[1] * scale, x_shape[2] * scale, 1),
                                             trainable=False,
                                             initializer=keras.initializers.RandomNormal(stddev=1.0))
            self.noise_strength = self.add_weight(name="noise_strength", shape=(), initializer="zeros")

    def styles(self, w):
        """The per-example input-channel scales s of eq. 1, `[batch, in_channels]`."""
        return self.affine(w) * self.style_gain

    def call(self, inputs, training=False):
        x, w = inputs
        styles = self.styles(w)
        x = x * styles[:, None, None, :]
        if self.up:
            x = upsample_2d(x, self.taps)
        x = tf.nn.conv2d(x, self.kernel, 1, "SAME")
        if self.demodulate:  # sum over kernel positions and inputs of (s_i w_ijk)^2, for each output j
            energy = tf.matmul(tf.square(styles), tf.reduce_sum(tf.square(self.kernel), axis=[0, 1]))
            x = x * tf.math.rsqrt(energy + 1e-8)[:, None, None, :]
        if self.noise:
            if training:
                shape = tf.concat([tf.shape(x)[:3], [1]], axis=0)
                noise = keras.random.normal(shape, seed=self.seed_generator, dtype=x.dtype)
            else:
                noise = tf.cast(self.noise_map, x.dtype)[None]
            x = x + noise * tf.cast(self.noise_strength, x.dtype)
        return bias_act(x, self.bias, self.activation)

    def compute_output_shape(self, input_shape):
        batch, height, width, _ = input_shape[0]
        if self.up:
            height, width = height * 2, width * 2
        return (batch, height, width, self.filters)

    def get_config(self):
        return {**super().get_config(), "filters": self.filters, "kernel_size": self.kernel_size,
                "demodulate": self.demodulate, "up": self.up, "noise": self.noise, "activation": self.activation,
                "taps": list(self.taps)}


@keras.saving.register_keras_serializable(package="tfgan_impl")
class ConstantInput(keras.layers.Layer):
    """The synthesis network's learned 4x4 input (StyleGAN, Karras et al. 2019, sec. 2), repeated for each
    example of the batch of its input."""

    def __init__(self, channels, size=4, **kwargs):
        super().__init__(**kwargs)
        self.channels = int(channels)
        self.size = int(size)
        self.constant = self.add_weight(name="constant", shape=(self.size, self.size, self.channels),
                                        initializer=keras.initializers.RandomNormal(stddev=1.0))

    def call(self, inputs):
        return tf.tile(self.constant[None], [tf.shape(inputs)[0], 1, 1, 1])

    def compute_output_shape(self, input_shape):
        return (input_shape[0], self.size, self.size, self.channels)

    def get_config(self):
        return {**super().get_config(), "channels": self.channels, "size": self.size}


@keras.saving.register_keras_serializable(package="tfgan_impl")
class SelectW(keras.layers.Layer):
    """The `index`-th of the per-layer latents `[batch, num_ws, w_dim]`, the w that one layer's style reads."""

    def __init__(self, index, **kwargs):
        super().__init__(**kwargs)
        self.index = int(index)

    def call(self, inputs):
        return inputs[:, self.index]

    def compute_output_shape(self, input_shape):
        return (input_shape[0], input_shape[2])

    def get_config(self):
        return {**super().get_config(), "index": self.index}


def _resolution_log2(image_shape):
    height, width, _ = (int(d) for d in image_shape)
    log2 = int(round(math.log2(height))) if height > 0 else 0
    if height != width or height < 4 or 2**log2 != height:
        raise ValueError(f"StyleGAN2 networks need a square power-of-two image size of at least 4, got "
                         f"{[int(d) for d in image_shape][:2]} (data.image_size resizes the data)")
    return log2


def _widths(channel_base, channel_max):
    return lambda resolution: max(1, min(int(channel_base) // resolution, int(channel_max)))


def num_ws(image_shape):
    """How many per-layer latents the synthesis network of `image_shape` reads: two per resolution from 8x8
    (its two convolutions, the RGB layer sharing the next block's first w), two at 4x4 (18 at 1024x1024)."""
    return 2 * _resolution_log2(image_shape) - 2


def mapping_network(latent_dim, w_dim=512, num_layers=8, lr_multiplier=0.01, name="mapping"):
    """StyleGAN's mapping network f: z -> w (Karras et al. 2019, sec. 2): z normalized to unit second moment,
    then `num_layers` equalized dense layers with leaky ReLUs at a learning rate `lr_multiplier` times the rest."""
    z = keras.Input((int(latent_dim),), name="z")
    x = PixelNormalization(name="normalize_z")(z)
    for index in range(int(num_layers)):
        x = EqualizedDense(w_dim, lr_multiplier=lr_multiplier, activation="lrelu", name=f"fc{index}")(x)
    return keras.Model(z, x, name=name)


def synthesis_network(image_shape, w_dim=512, channel_base=32768, channel_max=512, taps=FIR_TAPS,
                      name="synthesis"):
    """StyleGAN2's synthesis network g, skip architecture (Karras et al. 2020, fig. 7b): from the learned 4x4
    constant, each resolution doubles it with two modulated convolutions (the first up-sampling) and adds its RGB
    output to the up-sampled RGB of the resolutions below. Channels: min(channel_base / resolution, channel_max).

    Returns:
        A Keras model mapping the per-layer latents `[batch, num_ws(image_shape), w_dim]` to images
        `[batch, H, W, C]` (linear output, data in [-1, 1]).
    """
    log2 = _resolution_log2(image_shape)
    width = _widths(channel_base, channel_max)
    image_channels = int(image_shape[2])
    ws = keras.Input((num_ws(image_shape), int(w_dim)), name="ws")

    def to_rgb(x, index, resolution):
        return ModulatedConv2D(image_channels, 1, demodulate=False, noise=False, activation="linear", taps=taps,
                               name=f"b{resolution}_torgb")([x, SelectW(index)(ws)])

    x = ConstantInput(width(4), name="b4_const")(ws)
    x = ModulatedConv2D(width(4), taps=taps, name="b4_conv1")([x, SelectW(0)(ws)])
    image = to_rgb(x, 1, 4)
    for level in range(3, log2 + 1):
        resolution, index = 2**level, 2 * level - 5
        x = ModulatedConv2D(width(resolution), up=True, taps=taps, name=f"b{resolution}_conv0")([x, SelectW(index)(ws)])
        x = ModulatedConv2D(width(resolution), taps=taps, name=f"b{resolution}_conv1")([x, SelectW(index + 1)(ws)])
        image = keras.layers.Add()([Upsample2D(taps)(image), to_rgb(x, index + 2, resolution)])
    return keras.Model(ws, image, name=name)


@keras.saving.register_keras_serializable(package="tfgan_impl")
class StyleGAN2Generator(LatentToImageShapes, keras.Model):
    """StyleGAN2's generator: the mapping network, w broadcast to every layer, the synthesis network
    (Karras et al. 2020), and the running mean of w that the truncation trick pulls toward (StyleGAN, sec. 3.3).

    Calling it on z `[batch, latent_dim]` gives images; `mapping`, `broadcast`, `truncate` and `synthesis` give
    the steps (style mixing and truncation feed the synthesis network their own per-layer latents).

    Args:
        latent_dim: size of z.
        image_shape: `[H, W, C]`, H = W a power of two from 4 (the paper: 1024).
        w_dim: size of w (512).
        mapping_layers: depth of the mapping network (8).
        mapping_lr_multiplier: its learning-rate multiplier (0.01).
        channel_base, channel_max: a resolution r has min(channel_base / r, channel_max) channels (32768, 512).
        taps: the FIR resampling filter.
    """

    def __init__(self, latent_dim, image_shape, w_dim=512, mapping_layers=8, mapping_lr_multiplier=0.01,
                 channel_base=32768, channel_max=512, taps=FIR_TAPS, **kwargs):
        super().__init__(**kwargs)
        self.latent_dim = int(latent_dim)
        self.image_shape = tuple(int(d) for d in image_shape)
        self.w_dim = int(w_dim)
        self.mapping_layers = int(mapping_layers)
        self.mapping_lr_multiplier = float(mapping_lr_multiplier)
        self.channel_base, self.channel_max = int(channel_base), int(channel_max)
        self.taps = tuple(taps)
        self.num_ws = num_ws(self.image_shape)
        self.mapping = mapping_network(self.latent_dim, self.w_dim, self.mapping_layers, self.mapping_lr_multiplier)
        self.synthesis = synthesis_network(self.image_shape, self.w_dim, self.channel_base, self.channel_max, self.taps)
        self.w_average = self.add_weight(name="w_average", shape=(self.w_dim,), initializer="zeros", trainable=False)

    def broadcast(self, w):
        """w `[batch, w_dim]` repeated for each layer: `[batch, num_ws, w_dim]`."""
        return tf.tile(w[:, None, :], [1, self.num_ws, 1])

    def truncate(self, ws, psi):
        """The truncation trick (StyleGAN, sec. 3.3, eq. 3): w' = w_avg + psi (w - w_avg)."""
        average = tf.cast(self.w_average, ws.dtype)
        return average + tf.cast(psi, ws.dtype) * (ws - average)

    def call(self, z, training=False):
        return self.synthesis(self.broadcast(self.mapping(z, training=training)), training=training)

    def compute_output_shape(self, input_shape):
        return (input_shape[0], *self.image_shape)

    def get_config(self):
        return {**super().get_config(), "latent_dim": self.latent_dim, "image_shape": list(self.image_shape),
                "w_dim": self.w_dim, "mapping_layers": self.mapping_layers,
                "mapping_lr_multiplier": self.mapping_lr_multiplier, "channel_base": self.channel_base,
                "channel_max": self.channel_max, "taps": list(self.taps)}


def stylegan2_generator(latent_dim, image_shape=(32, 32, 1), w_dim=512, mapping_layers=8, mapping_lr_multiplier=0.01,
                        channel_base=32768, channel_max=512):
    """StyleGAN2's generator (Karras et al. 2020, config F at 1024x1024 with the defaults); see
    `StyleGAN2Generator`."""
    return StyleGAN2Generator(latent_dim, image_shape, w_dim, mapping_layers, mapping_lr_multiplier, channel_base,
                              channel_max, name="generator")


def stylegan2_discriminator(image_shape=(32, 32, 1), channel_base=32768, channel_max=512, mbstd_group_size=4,
                            taps=FIR_TAPS):
    """StyleGAN2's residual discriminator (Karras et al. 2020, fig. 7c): a 1x1 RGB input layer, then per
    resolution two 3x3 convolutions (the second halving it) beside a 1x1 shortcut, both branches times sqrt(1/2);
    at 4x4 minibatch standard deviation (Karras et al. 2018, sec. 3), a 3x3 convolution and two dense layers.

    Returns:
        A Keras model mapping images `[batch, H, W, C]` to logits `[batch, 1]`.
    """
    log2 = _resolution_log2(image_shape)
    width = _widths(channel_base, channel_max)
    images = keras.Input(tuple(int(d) for d in image_shape), name="images")
    resolution = 2**log2
    x = EqualizedConv2D(width(resolution), 1, activation="lrelu", name=f"b{resolution}_fromrgb")(images)
    half = math.sqrt(0.5)
    for level in range(log2, 2, -1):
        resolution = 2**level
        shortcut = EqualizedConv2D(width(resolution // 2), 1, use_bias=False, down=True, gain=half, taps=taps,
                                   name=f"b{resolution}_skip")(x)
        x = EqualizedConv2D(width(resolution), 3, activation="lrelu", name=f"b{resolution}_conv0")(x)
        x = EqualizedConv2D(width(resolution // 2), 3, activation="lrelu", down=True, gain=half, taps=taps,
                            name=f"b{resolution}_conv1")(x)
        x = keras.layers.Add()([shortcut, x])
    x = MinibatchStdDev(mbstd_group_size, name="b4_mbstd")(x)
    x = EqualizedConv2D(width(4), 3, activation="lrelu", name="b4_conv")(x)
    x = EqualizedDense(width(4), activation="lrelu", name="b4_fc")(keras.layers.Flatten()(x))
    return keras.Model(images, EqualizedDense(1, name="b4_out")(x), name="discriminator")
