"""Translation networks: Pix2Pix's U-Net generator and PatchGAN discriminator (Isola et al. 2017,
arXiv:1611.07004, sec. 3.2 and appendix 6.1), and CycleGAN's ResNet generator (Zhu et al. 2017, arXiv:1703.10593,
appendix 7.2, after Johnson et al. 2016)."""
import keras

from tfgan_impl.networks.layers import BatchNormalization

_INIT = keras.initializers.RandomNormal(stddev=0.02)  # appendix 6.2: weights from N(0, 0.02)


def _check_translation_shape(image_shape, name):
    image_shape = tuple(int(d) for d in image_shape)
    size = image_shape[0] if len(image_shape) == 3 else 0
    if len(image_shape) != 3 or image_shape[1] != size or size < 8 or size & (size - 1):
        raise ValueError(f"{name} needs a square image shape [H, W, C] with H a power of two of at least 8, "
                         f"got {list(image_shape)}")
    return image_shape


def unet_generator(image_shape=(32, 32, 1), output_channels=None, base_filters=64, max_filters=512, dropout=0.5,
                   output_activation="tanh"):
    """Pix2Pix's U-Net (Isola et al. 2017, sec. 3.2.1, appendix 6.1.1): an encoder of stride-2 4x4 convolutions
    down to 1x1 (C64-C128-C256-C512-C512..., LeakyReLU 0.2, batch norm on all but the first and the innermost),
    a mirrored decoder of transposed convolutions (batch norm, ReLU, dropout 0.5 in the three innermost blocks),
    and skip connections concatenating encoder layer i to decoder layer n - i.

    Dropout stays on at test time in the paper (the generator's only noise); here it follows `training`, so
    exported translators are deterministic.

    Args:
        image_shape: `[H, W, C]` of the input images, square, H a power of two (8 or more).
        output_channels: channels of the output images (default: the input's).
        base_filters: filters of the outermost layer; each inner layer doubles them up to `max_filters`.
        max_filters: cap on the filters (512 in the paper).
        dropout: rate of the three innermost decoder blocks (0 turns it off).
        output_activation: `"tanh"` for images in [-1, 1].

    Returns:
        A Keras model mapping `[batch, H, W, C]` to `[batch, H, W, output_channels]`.
    """
    height, _, channels = _check_translation_shape(image_shape, "the U-Net generator")
    output_channels = int(output_channels or channels)
    depth = height.bit_length() - 1  # stride-2 layers down to 1x1
    inputs = keras.Input(image_shape, name="images")
    x, skips = inputs, []
    for index in range(depth):
        filters = min(base_filters * 2**index, max_filters)
        innermost = index == depth - 1
        x = keras.layers.Conv2D(filters, 4, strides=2, padding="same", kernel_initializer=_INIT,
                                use_bias=index == 0 or innermost)(x)
        if 0 < index < depth - 1:
            x = BatchNormalization()(x)
        x = keras.layers.LeakyReLU(0.2)(x)
        skips.append(x)
    for index in reversed(range(depth - 1)):  # decoder block n - i meets encoder layer i
        filters = min(base_filters * 2**index, max_filters)
        x = keras.layers.Conv2DTranspose(filters, 4, strides=2, padding="same", kernel_initializer=_INIT,
                                         use_bias=False)(x)
        x = BatchNormalization()(x)
        if dropout and index >= depth - 4:
            x = keras.layers.Dropout(dropout)(x)
        x = keras.layers.ReLU()(x)
        x = keras.layers.Concatenate()([x, skips[index]])
    outputs = keras.layers.Conv2DTranspose(output_channels, 4, strides=2, padding="same", kernel_initializer=_INIT,
                                           activation=output_activation)(x)
    return keras.Model(inputs, outputs, name="generator")


def _normalization(kind):
    if kind == "batch":
        return BatchNormalization()
    if kind == "instance":  # Ulyanov et al. 2016; CycleGAN's choice
        return keras.layers.GroupNormalization(groups=-1, epsilon=1e-5)
    raise ValueError(f"normalization must be batch or instance, got {kind!r}")


def resnet_translator(image_shape=(32, 32, 1), output_channels=None, base_filters=64, num_blocks=6,
                      output_activation="tanh"):
    """CycleGAN's generator (Zhu et al. 2017, appendix 7.2; Johnson et al. 2016): c7s1-64, d128, d256, then
    `num_blocks` residual blocks R256 (6 for 128x128 images, 9 for 256x256), u128, u64, c7s1-C with tanh;
    instance normalization and ReLU throughout. Convolutions pad with zeros where the paper reflects: Keras has
    no reflection-padding layer, and a `Lambda` would not load in safe mode.

    Args:
        image_shape: `[H, W, C]` of the input images, H and W divisible by 4.
        output_channels: channels of the output images (default: the input's).
        base_filters: filters of the first layer (64 in the paper); the two down-samplings double them twice.
        num_blocks: residual blocks at the lowest resolution.
        output_activation: `"tanh"` for images in [-1, 1].

    Returns:
        A Keras model mapping `[batch, H, W, C]` to `[batch, H, W, output_channels]`.
    """
    image_shape = tuple(int(d) for d in image_shape)
    if len(image_shape) != 3 or image_shape[0] % 4 or image_shape[1] % 4:
        raise ValueError(f"the ResNet translator needs [H, W, C] with H and W divisible by 4, got {list(image_shape)}")
    inputs = keras.Input(image_shape, name="images")

    def conv_block(x, filters, kernel, strides=1, transpose=False):
        layer = keras.layers.Conv2DTranspose if transpose else keras.layers.Conv2D
        x = layer(filters, kernel, strides=strides, padding="same", kernel_initializer=_INIT, use_bias=False)(x)
        return keras.layers.ReLU()(_normalization("instance")(x))

    x = conv_block(inputs, base_filters, 7)
    x = conv_block(x, base_filters * 2, 3, strides=2)
    x = conv_block(x, base_filters * 4, 3, strides=2)
    for _ in range(int(num_blocks)):
        shortcut = x
        x = conv_block(x, base_filters * 4, 3)
        x = keras.layers.Conv2D(base_filters * 4, 3, padding="same", kernel_initializer=_INIT, use_bias=False)(x)
        x = keras.layers.Add()([shortcut, _normalization("instance")(x)])
    x = conv_block(x, base_filters * 2, 3, strides=2, transpose=True)
    x = conv_block(x, base_filters, 3, strides=2, transpose=True)
    outputs = keras.layers.Conv2D(int(output_channels or image_shape[-1]), 7, padding="same",
                                  kernel_initializer=_INIT, activation=output_activation)(x)
    return keras.Model(inputs, outputs, name="generator")


def patch_discriminator(image_shape=(32, 32, 1), target_channels=None, base_filters=64, num_layers=3,
                        conditional=True, normalization="batch"):
    """Pix2Pix's PatchGAN discriminator (Isola et al. 2017, sec. 3.2.2, appendix 6.1.2), conditioned on the
    input image: the input and a (real or generated) output image are concatenated on channels, then
    C64 (no normalization) - C128 - C256 with stride 2, C512 with stride 1, and a 4x4 convolution to one logit
    per patch. `num_layers=3` is the paper's 70x70 PatchGAN; fewer layers see smaller patches (for small
    images). CycleGAN uses it unconditioned, on one domain's images, with instance normalization (Zhu et al.
    2017, appendix 7.2).

    Args:
        image_shape: `[H, W, C]` of the input images.
        target_channels: channels of the output images (default: the input's).
        base_filters: filters of the first layer, doubled per layer up to 8x.
        num_layers: stride-2 layers (3 in the paper).
        conditional: judge `[inputs, outputs]` pairs (Pix2Pix); `False` judges images alone (CycleGAN).
        normalization: `"batch"` (Pix2Pix) or `"instance"` (CycleGAN).

    Returns:
        A Keras model mapping `[inputs, outputs]` (or images) to patch logits `[batch, h, w, 1]`.
    """
    height, width, channels = _check_translation_shape(image_shape, "the PatchGAN discriminator")
    if not 1 <= int(num_layers) or 2 ** int(num_layers) > height // 2:
        raise ValueError(f"num_layers must be at least 1 and leave patches of 2x2 or more on {height}x{width} "
                         f"images, got {num_layers}")
    target = keras.Input((height, width, int(target_channels or channels)), name="targets")
    if conditional:
        source = keras.Input(image_shape, name="images")
        inputs, x = [source, target], keras.layers.Concatenate()([source, target])
    else:
        inputs, x = target, target
    for index in range(int(num_layers) + 1):
        filters = base_filters * min(2**index, 8)
        last = index == int(num_layers)
        x = keras.layers.Conv2D(filters, 4, strides=1 if last else 2, padding="same", kernel_initializer=_INIT,
                                use_bias=index == 0)(x)
        if index > 0:
            x = _normalization(normalization)(x)
        x = keras.layers.LeakyReLU(0.2)(x)
    logits = keras.layers.Conv2D(1, 4, padding="same", kernel_initializer=_INIT, dtype="float32")(x)
    return keras.Model(inputs, logits, name="discriminator")
