"""Inpainting networks: the completion network of Iizuka et al. 2017 ("Globally and Locally Consistent Image
Completion", Table 1: an encoder-decoder with dilated convolutions), optionally with the gated convolutions of
Yu et al. 2019 (arXiv:1806.03589, eq. 1), and its global and local context discriminators (Table 2).

Generators take `[images, masks]` (masks 1 in the hole) and give a full image; the model pastes its hole into
the known pixels. Discriminators take `[masks, images]`, the condition first, like Pix2Pix's PatchGAN, which
also judges inpaintings (`patch`, as SN-PatchGAN judges image and mask, Yu et al. 2019 sec. 3.2).
"""
import keras
import tensorflow as tf

from tfgan_impl.networks.layers import NearestUpsampling, static_channels


@keras.saving.register_keras_serializable(package="tfgan_impl")
class GatedConv2D(keras.layers.Layer):
    """A gated convolution (Yu et al. 2019, eq. 1): O = phi(W_f * I) . sigmoid(W_g * I), a learned soft mask per
    feature and pixel. Keras has no gated convolution; it is one convolution with twice the filters, split.

    Args:
        filters, kernel_size, strides, dilation_rate: as `keras.layers.Conv2D`.
        activation: phi, the features' activation.
    """

    def __init__(self, filters, kernel_size=3, strides=1, dilation_rate=1, activation="elu", **kwargs):
        super().__init__(**kwargs)
        self.filters, self.kernel_size, self.strides = int(filters), int(kernel_size), int(strides)
        self.dilation_rate, self.activation = int(dilation_rate), keras.activations.get(activation)
        self.convolution = keras.layers.Conv2D(2 * self.filters, self.kernel_size, strides=self.strides,
                                               dilation_rate=self.dilation_rate, padding="same", dtype=self.dtype_policy)

    def build(self, input_shape):
        self.convolution.build(input_shape)
        self.built = True

    def call(self, inputs):
        features, gates = tf.split(self.convolution(inputs), 2, axis=-1)
        return self.activation(features) * tf.sigmoid(gates)

    def compute_output_shape(self, input_shape):
        return (*self.convolution.compute_output_shape(input_shape)[:-1], self.filters)

    def get_config(self):
        return {**super().get_config(), "filters": self.filters, "kernel_size": self.kernel_size,
                "strides": self.strides, "dilation_rate": self.dilation_rate,
                "activation": keras.activations.serialize(self.activation)}


@keras.saving.register_keras_serializable(package="tfgan_impl")
class PadToMultiple(keras.layers.Layer):
    """Pads images at the bottom and right, by reflection, to sizes that are multiples of `multiple`, so that a
    network that halves them and doubles them back gives the size it was given (`CropLike` cuts the padding off).

    Args:
        multiple: the sizes' divisor.
    """

    def __init__(self, multiple, **kwargs):
        super().__init__(**kwargs)
        self.multiple = int(multiple)

    def call(self, inputs):
        height, width = tf.shape(inputs)[1], tf.shape(inputs)[2]
        padding = [[0, 0], [0, -height % self.multiple], [0, -width % self.multiple], [0, 0]]
        padded = tf.pad(inputs, padding, mode="REFLECT")
        # Computed paddings lose the static channels in the TFLite converter, which then has no builtin
        # convolution for the next layer: a reshape restates them.
        shape = tf.shape(padded)
        return tf.reshape(padded, tf.stack([shape[0], shape[1], shape[2], static_channels(inputs)]))

    def compute_output_shape(self, input_shape):
        padded = lambda size: None if size is None else -(-size // self.multiple) * self.multiple  # noqa: E731
        return (input_shape[0], padded(input_shape[1]), padded(input_shape[2]), input_shape[3])

    def get_config(self):
        return {**super().get_config(), "multiple": self.multiple}


@keras.saving.register_keras_serializable(package="tfgan_impl")
class CropLike(keras.layers.Layer):
    """`[images, reference]` to the top-left part of `images` of the reference's height and width."""

    def call(self, inputs):
        images, reference = inputs
        return images[:, :tf.shape(reference)[1], :tf.shape(reference)[2]]

    def compute_output_shape(self, input_shape):
        return (*input_shape[1][:3], input_shape[0][3])


def _image_shape(image_shape, name):
    image_shape = [None if d is None else int(d) for d in image_shape]
    if len(image_shape) != 3 or image_shape[-1] is None:
        raise ValueError(f"{name} needs an image shape [H, W, C], got {image_shape}")
    return image_shape


def inpainting_generator(image_shape=(None, None, 1), output_channels=None, filters=64, dilations=(2, 4, 8, 16),
                         gated=False, output_activation="tanh"):
    """The completion network of Iizuka et al. 2017 (Table 1), with `filters` in place of its 64: 5x5 conv,
    stride-2 down to 1/4 of the size (2x then 4x the filters), dilated 3x3 convolutions at `dilations` (the
    context of the hole), then nearest upsampling and convolutions back to the image (as DeepFill does, Yu et al.
    2018, instead of the paper's transposed convolutions). ELU activations, no normalization (Yu et al. 2018,
    sec. 3.1). With `gated`, every convolution is a `GatedConv2D` (Yu et al. 2019), for free-form masks.

    Args:
        image_shape: `[H, W, C]`; H and W may be None: the network is fully convolutional, and pads images to
            multiples of 4 by reflection and crops its output back.
        output_channels: channels of the output (default: the input's).
        filters: the first layer's filters.
        dilations: the dilation rates of the middle layers (Table 1: 2, 4, 8, 16).
        gated: gated convolutions (Yu et al. 2019) instead of plain ones.
        output_activation: of the last layer; `tanh` for images in [-1, 1].

    Returns:
        A Keras model of `[images, masks]` (`[batch, H, W, C]`, `[batch, H, W, 1]`, 1 in the hole) to images;
        the hole's input pixels are ignored.
    """
    height, width, channels = _image_shape(image_shape, "the inpainting generator")
    output_channels = int(output_channels or channels)

    def convolution(x, scale, kernel=3, strides=1, dilation=1):
        if gated:
            return GatedConv2D(filters * scale, kernel, strides=strides, dilation_rate=dilation)(x)
        return keras.layers.Conv2D(filters * scale, kernel, strides=strides, dilation_rate=dilation, padding="same",
                                   activation="elu")(x)

    images = keras.Input((height, width, channels), name="images")
    masks = keras.Input((height, width, 1), name="masks")
    # The hole's pixels are zeroed here, so that no caller can leak them; the mask is an input channel.
    known = keras.layers.Multiply()([images, keras.layers.Rescaling(-1.0, offset=1.0)(masks)])
    x = PadToMultiple(4)(keras.layers.Concatenate()([known, masks]))  # any size: it halves twice
    x = convolution(x, 1, kernel=5)
    x = convolution(x, 2, strides=2)
    x = convolution(x, 2)
    x = convolution(x, 4, strides=2)
    x = convolution(x, 4)
    x = convolution(x, 4)
    for rate in dilations:
        x = convolution(x, 4, dilation=int(rate))
    x = convolution(x, 4)
    x = convolution(x, 4)
    x = NearestUpsampling()(x)
    x = convolution(x, 2)
    x = convolution(x, 2)
    x = NearestUpsampling()(x)
    x = convolution(x, 1)
    x = keras.layers.Conv2D(max(filters // 2, 1), 3, padding="same", activation="elu")(x)
    outputs = keras.layers.Conv2D(output_channels, 3, padding="same", activation=output_activation,
                                  dtype="float32")(x)
    return keras.Model([images, masks], CropLike(dtype="float32")([outputs, images]), name="generator")


@keras.saving.register_keras_serializable(package="tfgan_impl")
class HoleCrop(keras.layers.Layer):
    """The `size` x `size` window of each image centred on its hole's bounding box, moved inside the image
    (Iizuka et al. 2017, sec. 3.2: the local discriminator sees the area around the completed region). Gradients
    flow to the images; the window's place comes from the masks.

    Args:
        size: the window's side in pixels.
    """

    def __init__(self, size, **kwargs):
        super().__init__(**kwargs)
        self.size = int(size)

    def call(self, inputs):
        masks, images = inputs
        height, width = tf.shape(images)[1], tf.shape(images)[2]
        hole = tf.cast(masks[..., 0] > 0.5, tf.float32)

        def start(profile, length):  # the window's first pixel along one axis
            indices = tf.cast(tf.range(length), tf.float32)
            present = tf.reduce_max(profile, axis=1) > 0
            first = tf.reduce_min(tf.where(profile > 0, indices, 1e9), axis=1)
            last = tf.reduce_max(tf.where(profile > 0, indices, -1.0), axis=1)
            centre = tf.where(present, (first + last) / 2.0, (tf.cast(length, tf.float32) - 1.0) / 2.0)
            limit = tf.cast(length - self.size, tf.float32)
            return tf.clip_by_value(tf.round(centre - (self.size - 1) / 2.0), 0.0, limit)

        top = tf.cast(start(tf.reduce_max(hole, axis=2), height), tf.int32)
        left = tf.cast(start(tf.reduce_max(hole, axis=1), width), tf.int32)
        # Gathers of whole rows and columns, which XLA compiles (it has no CropAndResize).
        window = tf.range(self.size)
        rows = tf.gather(images, top[:, None] + window, axis=1, batch_dims=1)
        return tf.gather(rows, left[:, None] + window, axis=2, batch_dims=1)

    def compute_output_shape(self, input_shape):
        return (input_shape[1][0], self.size, self.size, input_shape[1][-1])

    def get_config(self):
        return {**super().get_config(), "size": self.size}


def _context_network(x, filters, num_layers, name):
    for index in range(num_layers):
        x = keras.layers.Conv2D(filters * min(2**index, 8), 5, strides=2, padding="same",
                                name=f"{name}_conv{index}")(x)
        x = keras.layers.LeakyReLU(0.2)(x)
    return keras.layers.Dense(16 * filters, name=f"{name}_dense")(keras.layers.Flatten()(x))


def global_local_discriminator(image_shape=(32, 32, 1), filters=64, num_layers=6, local_size=None):
    """The context discriminators of Iizuka et al. 2017 (Table 2): a global network of 5x5 stride-2
    convolutions (64, 128, 256, 512, 512, 512 filters) on the whole image and a local one, one layer shorter, on
    the window around the hole (`HoleCrop`), each ending in a 1024-unit layer (16 x `filters`); both outputs are
    concatenated into one logit. LeakyReLU 0.2 and no batch norm, as the completion network has none.

    Args:
        image_shape: `[H, W, C]` of the images (a fixed size: the global network ends in a dense layer).
        filters: the first layer's filters (64 in the paper).
        num_layers: the global network's stride-2 layers (6 for 256x256 images); the local network has one less.
        local_size: the local window's side (default: half the image's, the paper's 128 of 256).

    Returns:
        A Keras model of `[masks, images]` to logits `[batch, 1]`.
    """
    height, width, channels = [int(d) for d in image_shape]
    local_size = int(local_size or min(height, width) // 2)
    if not 1 <= local_size <= min(height, width):
        raise ValueError(f"local_size must lie in [1, {min(height, width)}], got {local_size}")
    if num_layers < 2 or 2 ** (num_layers - 1) > local_size:
        raise ValueError(f"num_layers must be at least 2 and leave the local network's {local_size}x{local_size} "
                         f"window at least 1 pixel after {num_layers - 1} halvings, got {num_layers}")
    masks = keras.Input((height, width, 1), name="masks")
    images = keras.Input((height, width, channels), name="images")
    global_features = _context_network(images, filters, num_layers, "global")
    local_features = _context_network(HoleCrop(local_size)([masks, images]), filters, num_layers - 1, "local")
    logits = keras.layers.Dense(1, dtype="float32")(keras.layers.Concatenate()([global_features, local_features]))
    return keras.Model([masks, images], logits, name="discriminator")
