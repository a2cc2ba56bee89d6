"""Super-resolution networks: SRGAN's SRResNet generator and discriminator (Ledig et al. 2017, arXiv:1609.04802,
fig. 4) and ESRGAN's RRDB generator (Wang et al. 2018, arXiv:1809.00219, sec. 3.1, fig. 4).

The generators are fully convolutional (input `[batch, None, None, C]`), so a model trained on small patches
upscales images of any size; the discriminator judges fixed-size high-resolution patches, as in the papers.
"""
import keras
import tensorflow as tf

from tfgan_impl.networks.layers import BatchNormalization, NearestUpsampling


@keras.saving.register_keras_serializable(package="tfgan_impl")
class PixelShuffle(keras.layers.Layer):
    """Sub-pixel convolution's rearrangement (Shi et al. 2016, arXiv:1609.05158): `[b, h, w, r*r*c]` to
    `[b, r*h, r*w, c]`. Keras has no depth-to-space layer; `tf.nn.depth_to_space` is the op, and exports keep it.

    Args:
        factor: r, the upscaling factor.
    """

    def __init__(self, factor=2, **kwargs):
        super().__init__(**kwargs)
        self.factor = int(factor)

    def call(self, inputs):
        return tf.nn.depth_to_space(inputs, self.factor)

    def compute_output_shape(self, input_shape):
        batch, height, width, channels = input_shape
        scale = lambda size: None if size is None else size * self.factor  # noqa: E731
        return batch, scale(height), scale(width), channels // self.factor**2

    def get_config(self):
        return {**super().get_config(), "factor": self.factor}


def _check_scale(scale):
    scale = int(scale)
    if scale < 2 or scale & (scale - 1):
        raise ValueError(f"scale: expected a power of two of at least 2 (2, 4, 8), got {scale}")
    return scale


def _channels(image_shape):
    image_shape = [None if d is None else int(d) for d in image_shape]
    if len(image_shape) != 3 or image_shape[-1] is None:
        raise ValueError(f"a super-resolution network needs an image shape [H, W, C], got {image_shape}")
    return image_shape[-1]


def srresnet_generator(image_shape=(None, None, 1), output_channels=None, scale=4, filters=64, num_blocks=16,
                       output_activation="tanh"):
    """SRGAN's generator, SRResNet (Ledig et al. 2017, fig. 4): a 9x9 convolution and PReLU, `num_blocks`
    residual blocks (conv 3x3, batch norm, PReLU, conv 3x3, batch norm, skip), a convolution and batch norm added
    to the first features, then log2(scale) sub-pixel upsamplings by 2 (conv 3x3 to 4x the filters, pixel
    shuffle, PReLU) and a 9x9 convolution to the image.

    Args:
        image_shape: `[H, W, C]` of the low-resolution inputs; H and W may be None (any size).
        output_channels: channels of the output (default: the input's).
        scale: the upscaling factor, a power of two.
        filters: feature channels (64 in the paper).
        num_blocks: residual blocks (16 in the paper).
        output_activation: `"tanh"` for images in [-1, 1].

    Returns:
        A Keras model mapping `[batch, H, W, C]` to `[batch, scale H, scale W, output_channels]`.
    """
    channels, scale = _channels(image_shape), _check_scale(scale)
    conv = lambda n, k: keras.layers.Conv2D(n, k, padding="same")  # noqa: E731
    prelu = lambda: keras.layers.PReLU(shared_axes=[1, 2])  # noqa: E731  one slope per channel, as Keras's SRGANs
    inputs = keras.Input((None, None, channels), name="images")
    first = prelu()(conv(filters, 9)(inputs))
    x = first
    for _ in range(int(num_blocks)):
        y = prelu()(BatchNormalization()(conv(filters, 3)(x)))
        x = keras.layers.Add()([x, BatchNormalization()(conv(filters, 3)(y))])
    x = keras.layers.Add()([first, BatchNormalization()(conv(filters, 3)(x))])
    for _ in range(scale.bit_length() - 1):
        x = prelu()(PixelShuffle(2)(conv(4 * filters, 3)(x)))
    outputs = keras.layers.Conv2D(int(output_channels or channels), 9, padding="same", activation=output_activation,
                                  dtype="float32")(x)
    return keras.Model(inputs, outputs, name="srresnet_generator")


def _residual_dense_block(x, filters, growth, residual_scale, init):
    # ESRGAN fig. 4: five 3x3 convolutions, each seeing all earlier outputs; the fifth back to `filters`.
    features = [x]
    for _ in range(4):
        inputs = features[0] if len(features) == 1 else keras.layers.Concatenate()(features)
        features.append(keras.layers.LeakyReLU(0.2)(keras.layers.Conv2D(growth, 3, padding="same",
                                                                        kernel_initializer=init)(inputs)))
    y = keras.layers.Conv2D(filters, 3, padding="same", kernel_initializer=init)(keras.layers.Concatenate()(features))
    return keras.layers.Add()([x, keras.layers.Rescaling(residual_scale)(y)])


def rrdb_generator(image_shape=(None, None, 1), output_channels=None, scale=4, filters=64, num_blocks=23, growth=32,
                   residual_scale=0.2, output_activation="tanh"):
    """ESRGAN's generator (Wang et al. 2018, sec. 3.1): no batch norm; `num_blocks` residual-in-residual dense
    blocks (three dense blocks of five convolutions, each block's output scaled by beta = 0.2 before its skip),
    a convolution added to the first features, then log2(scale) nearest-neighbour upsamplings by 2 each followed
    by a 3x3 convolution and LeakyReLU, and two convolutions to the image. Weights start at a tenth of He's
    initialization, which the paper finds makes the deep network train (sec. 3.1, "smaller initialization").

    Args:
        image_shape: `[H, W, C]` of the low-resolution inputs; H and W may be None.
        output_channels: channels of the output (default: the input's).
        scale: the upscaling factor, a power of two.
        filters: feature channels (64 in the paper).
        num_blocks: RRDBs (23 in the paper).
        growth: channels each dense convolution adds (32 in the paper).
        residual_scale: beta, the scale of each residual before its skip (0.2 in the paper).
        output_activation: `"tanh"` for images in [-1, 1].

    Returns:
        A Keras model mapping `[batch, H, W, C]` to `[batch, scale H, scale W, output_channels]`.
    """
    channels, scale = _channels(image_shape), _check_scale(scale)
    init = keras.initializers.VarianceScaling(scale=0.01 * 2.0, mode="fan_in", distribution="untruncated_normal")
    inputs = keras.Input((None, None, channels), name="images")
    first = keras.layers.Conv2D(filters, 3, padding="same")(inputs)
    x = first
    for _ in range(int(num_blocks)):
        y = x
        for _ in range(3):
            y = _residual_dense_block(y, filters, growth, residual_scale, init)
        x = keras.layers.Add()([x, keras.layers.Rescaling(residual_scale)(y)])
    x = keras.layers.Add()([first, keras.layers.Conv2D(filters, 3, padding="same", kernel_initializer=init)(x)])
    for _ in range(scale.bit_length() - 1):
        x = NearestUpsampling()(x)  # Keras's UpSampling2D loses the channels in the TFLite converter
        x = keras.layers.LeakyReLU(0.2)(keras.layers.Conv2D(filters, 3, padding="same")(x))
    x = keras.layers.LeakyReLU(0.2)(keras.layers.Conv2D(filters, 3, padding="same")(x))
    outputs = keras.layers.Conv2D(int(output_channels or channels), 3, padding="same", activation=output_activation,
                                  dtype="float32")(x)
    return keras.Model(inputs, outputs, name="rrdb_generator")


def srgan_discriminator(image_shape=(96, 96, 3), filters=64, num_blocks=4, dense_units=1024):
    """SRGAN's discriminator (Ledig et al. 2017, fig. 4), which ESRGAN keeps: pairs of 3x3 convolutions (stride
    1, then stride 2; batch norm on all but the first; LeakyReLU 0.2) doubling the filters at each pair from
    `filters`, then a dense layer of `dense_units`, LeakyReLU and one logit.

    Args:
        image_shape: `[H, W, C]` of the high-resolution patches it judges (fixed: the dense layer sees them whole).
        filters: filters of the first pair (64 in the paper: 64-64, 128-128, 256-256, 512-512).
        num_blocks: pairs of convolutions (4 in the paper).
        dense_units: width of the dense layer (1024 in the paper).

    Returns:
        A Keras model mapping `[batch, H, W, C]` to logits `[batch, 1]`.
    """
    image_shape = [int(d) for d in image_shape]
    if len(image_shape) != 3 or min(image_shape[:2]) < 2 ** int(num_blocks):
        raise ValueError(f"the SRGAN discriminator needs fixed patches [H, W, C] of at least 2^num_blocks = "
                         f"{2 ** int(num_blocks)} pixels a side, got {image_shape}")
    inputs = keras.Input(tuple(image_shape), name="images")
    x = inputs
    for block in range(int(num_blocks)):
        for stride in (1, 2):
            x = keras.layers.Conv2D(filters * 2**block, 3, strides=stride, padding="same")(x)
            if block or stride == 2:
                x = BatchNormalization()(x)
            x = keras.layers.LeakyReLU(0.2)(x)
    x = keras.layers.LeakyReLU(0.2)(keras.layers.Dense(int(dense_units))(keras.layers.Flatten()(x)))
    outputs = keras.layers.Dense(1, dtype="float32", name="logits")(x)
    return keras.Model(inputs, outputs, name="srgan_discriminator")


@keras.saving.register_keras_serializable(package="tfgan_impl")
class VGGInput(keras.layers.Layer):
    """Images in [0, 1], grey or RGB, as Keras's ImageNet VGG takes them: RGB in 0-255, then
    `keras.applications.vgg19.preprocess_input` (channels reversed to BGR, ImageNet's mean pixel subtracted)."""

    def call(self, images):
        if images.shape[-1] == 1:
            images = tf.repeat(images, 3, axis=-1)
        return keras.applications.vgg19.preprocess_input(images * 255.0)

    def compute_output_shape(self, input_shape):
        return (*input_shape[:-1], 3)


def vgg19_features(weights, channels=3, layer="block5_conv4", before_activation=True):
    """The content network of SRGAN and ESRGAN: VGG19 (Simonyan & Zisserman 2015) with ImageNet weights, cut at
    `layer` (SRGAN's phi_5,4, Ledig et al. 2017 sec. 2.2.2), taking images in [0, 1].

    Args:
        weights: path of Keras's VGG19 weights without the top
            (`vgg19_weights_tf_dim_ordering_tf_kernels_notop.h5`).
        channels: 1 (grey images, repeated to RGB) or 3.
        layer: the VGG19 convolution whose features are compared.
        before_activation: the features before that convolution's ReLU, which ESRGAN finds denser and keeps the
            brightness consistent (Wang et al. 2018, sec. 3.3); False: after it, as SRGAN.

    Returns:
        A Keras model from `[batch, H, W, channels]` to the features.

    Raises:
        ValueError: the file does not hold VGG19's weights, or `layer` is not a VGG19 layer.
    """
    vgg = keras.applications.VGG19(include_top=False, weights=weights, input_shape=(None, None, 3))
    try:
        cut = vgg.get_layer(layer)
    except ValueError:
        raise ValueError(f"layer: VGG19 has no layer {layer!r}") from None
    if before_activation:
        cut.activation = keras.activations.linear
    features = keras.Model(vgg.input, cut.output, name="vgg19_features")
    inputs = keras.Input((None, None, int(channels)), name="images")
    return keras.Model(inputs, features(VGGInput()(inputs)), name="content_network")
