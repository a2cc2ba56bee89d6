"""Layers of the Karras et al. networks (ProGAN, StyleGAN, StyleGAN2): the equalized learning rate (Karras et
al. 2018, arXiv:1710.10196, sec. 4.1), pixel-wise feature normalization (sec. 4.2) and resampling with the
[1, 3, 3, 1] FIR filter (StyleGAN2, Karras et al. 2020, arXiv:1912.04958). Keras has none of them. Channels-last.
"""
import math

import keras
import numpy as np
import tensorflow as tf

LRELU_GAIN = math.sqrt(2.0)  # keeps the activations' second moment through a leaky ReLU (He et al. 2015)
FIR_TAPS = (1, 3, 3, 1)


def fir_kernel(taps=FIR_TAPS, gain=1.0):
    """The separable 2-D low-pass kernel of `taps`, normalized to sum to `gain`."""
    taps = np.asarray(taps, np.float64)
    kernel = np.outer(taps, taps)
    return (kernel / kernel.sum() * gain).astype("float32")


def _filter(x, kernel, pad):
    """Pads every side of the two spatial axes by `pad` (before, after) and filters each channel with `kernel`."""
    channels = x.shape[-1]
    x = tf.pad(x, [[0, 0], pad, pad, [0, 0]])
    depthwise = np.tile(kernel[::-1, ::-1, None, None], [1, 1, channels, 1])  # convolution, not correlation
    return tf.nn.depthwise_conv2d(x, tf.constant(depthwise, x.dtype), [1, 1, 1, 1], "VALID")


def upsample_2d(x, taps=FIR_TAPS):
    """Doubles height and width: zeros between the pixels, then the FIR filter with gain 4 (StyleGAN2's
    `upsample2d`). With [1, 3, 3, 1] this is bilinear interpolation at half-pixel centres, zero outside."""
    height, width, channels = x.shape[1:]
    x = tf.reshape(x, [-1, height, 1, width, 1, channels])
    x = tf.pad(x, [[0, 0], [0, 0], [0, 1], [0, 0], [0, 1], [0, 0]])
    x = tf.reshape(x, [-1, 2 * height, 2 * width, channels])
    size = len(taps)
    return _filter(x, fir_kernel(taps, 4.0), [(size + 1) // 2, (size - 2) // 2])


def downsample_2d(x, taps=FIR_TAPS):
    """Halves height and width: the FIR filter, then every second pixel (StyleGAN2's `downsample2d`)."""
    size = len(taps)
    return _filter(x, fir_kernel(taps), [(size - 1) // 2, (size - 2) // 2])[:, ::2, ::2, :]


def bias_act(x, bias, activation, gain=1.0):
    """Adds `bias`, applies `activation` (`"lrelu"`: leaky ReLU, slope 0.2, times sqrt 2; `"linear"`), times
    `gain`: StyleGAN2's `bias_act`."""
    if bias is not None:
        x = x + bias
    if activation == "lrelu":
        return tf.nn.leaky_relu(x, 0.2) * (LRELU_GAIN * gain)
    return x * gain if gain != 1.0 else x


def check_activation(activation):
    """`activation` if these layers know it, else a ValueError naming it."""
    if activation not in ("lrelu", "linear"):
        raise ValueError(f"activation must be 'lrelu' or 'linear', got {activation!r}")
    return activation


@keras.saving.register_keras_serializable(package="tfgan_impl")
class EqualizedDense(keras.layers.Layer):
    """A dense layer with the equalized learning rate (Karras et al. 2018, sec. 4.1): weights drawn from
    N(0, 1 / lr_multiplier^2) and scaled at run time by lr_multiplier / sqrt(fan_in), so every layer's updates
    have the same scale under Adam; `lr_multiplier` 0.01 slows the mapping network (StyleGAN, sec. 2).

    Args:
        units: output features.
        lr_multiplier: learning-rate multiplier of the weights and the bias.
        bias_init: the bias parameter's initial value (the effective bias is it times `lr_multiplier`).
        use_bias: add a bias.
        activation: `"linear"` or `"lrelu"` (leaky ReLU, slope 0.2, times sqrt 2).
        kernel_gain: multiplies the run-time weight scale (ProGAN's `gain`: sqrt 2 before a leaky ReLU there).
    """

    def __init__(self, units, lr_multiplier=1.0, bias_init=0.0, use_bias=True, activation="linear", kernel_gain=1.0,
                 **kwargs):
        super().__init__(**kwargs)
        self.kernel_gain = float(kernel_gain)
        self.units = int(units)
        self.lr_multiplier = float(lr_multiplier)
        self.bias_init = float(bias_init)
        self.use_bias = bool(use_bias)
        self.activation = check_activation(activation)

    def build(self, input_shape):
        fan_in = input_shape[-1]
        self.kernel = self.add_weight(name="kernel", shape=(fan_in, self.units),
                                      initializer=keras.initializers.RandomNormal(stddev=1.0 / self.lr_multiplier))
        self.bias = self.add_weight(name="bias", shape=(self.units,),
                                    initializer=keras.initializers.Constant(self.bias_init)) if self.use_bias else None
        self.weight_gain = self.kernel_gain * self.lr_multiplier / math.sqrt(fan_in)

    def call(self, inputs):
        outputs = tf.matmul(inputs, self.kernel * self.weight_gain)
        return bias_act(outputs, None if self.bias is None else self.bias * self.lr_multiplier, self.activation)

    def compute_output_shape(self, input_shape):
        return (*input_shape[:-1], self.units)

    def get_config(self):
        return {**super().get_config(), "units": self.units, "lr_multiplier": self.lr_multiplier,
                "bias_init": self.bias_init, "use_bias": self.use_bias, "activation": self.activation,
                "kernel_gain": self.kernel_gain}


@keras.saving.register_keras_serializable(package="tfgan_impl")
class EqualizedConv2D(keras.layers.Layer):
    """A convolution with the equalized learning rate (weights N(0, 1) times 1 / sqrt(fan_in) at run time),
    optionally halving the resolution with the FIR filter before a stride-2 convolution, as StyleGAN2's
    discriminator does (Karras et al. 2020, fig. 7c).

    Args:
        filters: output channels.
        kernel_size: square kernel size (odd).
        use_bias: add a bias.
        activation: `"linear"` or `"lrelu"` (times sqrt 2).
        down: halve height and width.
        gain: multiplies the output (sqrt 0.5 on both branches of a residual block keeps its variance).
        taps: the FIR filter's taps.
        kernel_gain: multiplies the run-time weight scale (ProGAN's `gain`: sqrt 2 before a leaky ReLU there).
    """

    def __init__(self, filters, kernel_size, use_bias=True, activation="linear", down=False, gain=1.0,
                 taps=FIR_TAPS, kernel_gain=1.0, **kwargs):
        super().__init__(**kwargs)
        self.kernel_gain = float(kernel_gain)
        self.filters = int(filters)
        self.kernel_size = int(kernel_size)
        self.use_bias = bool(use_bias)
        self.activation = check_activation(activation)
        self.down = bool(down)
        self.gain = float(gain)
        self.taps = tuple(taps)

    def build(self, input_shape):
        channels = input_shape[-1]
        self.kernel = self.add_weight(name="kernel", shape=(self.kernel_size, self.kernel_size, channels, self.filters),
                                      initializer=keras.initializers.RandomNormal(stddev=1.0))
        self.bias = self.add_weight(name="bias", shape=(self.filters,), initializer="zeros") if self.use_bias else None
        self.weight_gain = self.kernel_gain / math.sqrt(channels * self.kernel_size**2)

    def call(self, inputs):
        kernel = self.kernel * self.weight_gain
        if not self.down:
            x = tf.nn.conv2d(inputs, kernel, 1, "SAME")
        elif self.kernel_size == 1:
            x = tf.nn.conv2d(downsample_2d(inputs, self.taps), kernel, 1, "VALID")
        else:  # filter, then a valid stride-2 convolution: padded so that the output is exactly half the input
            pad = len(self.taps) - 2 + self.kernel_size - 1
            x = _filter(inputs, fir_kernel(self.taps), [pad // 2, pad - pad // 2])
            x = tf.nn.conv2d(x, kernel, 2, "VALID")
        return bias_act(x, self.bias, self.activation, self.gain)

    def compute_output_shape(self, input_shape):
        batch, height, width, _ = input_shape
        if self.down:
            height, width = (None if height is None else height // 2), (None if width is None else width // 2)
        return (batch, height, width, self.filters)

    def get_config(self):
        return {**super().get_config(), "filters": self.filters, "kernel_size": self.kernel_size,
                "use_bias": self.use_bias, "activation": self.activation, "down": self.down, "gain": self.gain,
                "taps": list(self.taps), "kernel_gain": self.kernel_gain}


@keras.saving.register_keras_serializable(package="tfgan_impl")
class PixelNormalization(keras.layers.Layer):
    """Divides each feature vector by its root mean square, x / sqrt(mean(x^2) + eps): ProGAN's pixel-wise
    feature normalization (Karras et al. 2018, sec. 4.2) on the channels axis, and StyleGAN's normalization of z."""

    def __init__(self, epsilon=1e-8, **kwargs):
        super().__init__(**kwargs)
        self.epsilon = float(epsilon)

    def call(self, inputs):
        return inputs * tf.math.rsqrt(tf.reduce_mean(tf.square(inputs), axis=-1, keepdims=True) + self.epsilon)

    def get_config(self):
        return {**super().get_config(), "epsilon": self.epsilon}


@keras.saving.register_keras_serializable(package="tfgan_impl")
class Upsample2D(keras.layers.Layer):
    """`upsample_2d` as a layer: twice the resolution through the FIR filter."""

    def __init__(self, taps=FIR_TAPS, **kwargs):
        super().__init__(**kwargs)
        self.taps = tuple(taps)

    def call(self, inputs):
        return upsample_2d(inputs, self.taps)

    def compute_output_shape(self, input_shape):
        batch, height, width, channels = input_shape
        return (batch, height * 2, width * 2, channels)

    def get_config(self):
        return {**super().get_config(), "taps": list(self.taps)}
