"""ResNet generator and discriminator of SNGAN (Miyato et al. 2018, arXiv:1802.05957, appendix B.4, tables 4-5),
the CIFAR-10 networks of WGAN-GP's ResNet (Gulrajani et al. 2017, appendix F) that SNGAN and later work reuse.

Built with the functional API (no custom layers), so they save and load like any Keras model.
"""
import keras

from tfgan_impl.networks.conditioning import assemble_discriminator, conditional_generator, layer_factory
from tfgan_impl.networks.dcgan import _check_image_shape, _num_upsamplings
from tfgan_impl.networks.layers import BatchNormalization


def _generator_block(x, filters):
    """BN-ReLU-upsample-conv3x3-BN-ReLU-conv3x3, plus an upsampled 1x1-conv shortcut."""
    shortcut = keras.layers.Conv2D(filters, 1)(keras.layers.UpSampling2D()(x))
    x = keras.layers.ReLU()(BatchNormalization()(x))
    x = keras.layers.Conv2D(filters, 3, padding="same")(keras.layers.UpSampling2D()(x))
    x = keras.layers.ReLU()(BatchNormalization()(x))
    x = keras.layers.Conv2D(filters, 3, padding="same")(x)
    return keras.layers.Add()([x, shortcut])


def resnet_generator(latent_dim, image_shape=(32, 32, 3), filters=128, output_activation="tanh", num_classes=None,
                     label_encoding="embedding", embedding_dim=16):
    """SNGAN's ResNet generator: z -> dense to 4x4 (7x7 for 28x28), up-sampling residual blocks, BN-ReLU-conv-tanh.

    Args:
        latent_dim: size of z.
        image_shape: `[H, W, C]`, square; 32x32 has three blocks from 4x4 (the paper's CIFAR-10 network).
        filters: channels of every block (256 in the paper).
        output_activation: `"tanh"` for data in [-1, 1].
        num_classes: if set, a conditional generator of `[z, labels]`.
        label_encoding, embedding_dim: how labels are encoded.

    Returns:
        A Keras model mapping `[batch, latent_dim]` (and labels) to `[batch, H, W, C]`.
    """
    height, _, channels = _check_image_shape(image_shape)
    blocks = _num_upsamplings(height)
    start = height // 2**blocks

    def build(input_width):
        z = keras.Input((input_width,))
        x = keras.layers.Reshape((start, start, filters))(keras.layers.Dense(start * start * filters)(z))
        for _ in range(blocks):
            x = _generator_block(x, filters)
        x = keras.layers.ReLU()(BatchNormalization()(x))
        outputs = keras.layers.Conv2D(channels, 3, padding="same", activation=output_activation)(x)
        return keras.Model(z, outputs, name="generator" if num_classes is None else "trunk")

    if num_classes is None:
        return build(latent_dim)
    return conditional_generator(build, latent_dim, int(num_classes), label_encoding, embedding_dim)


def _discriminator_block(x, filters, make, downsample, first):
    """(ReLU)-conv3x3-ReLU-conv3x3(-avgpool), plus a (1x1-conv, avgpool) shortcut when the shape changes.

    The first block skips the leading ReLU so the raw image is not rectified (SNGAN's "optimized" block)."""
    shortcut = x
    if downsample or first or x.shape[-1] != filters:
        shortcut = make(keras.layers.Conv2D, filters, 1)(shortcut)
        if downsample:
            shortcut = keras.layers.AveragePooling2D(2)(shortcut)
    if not first:
        x = keras.layers.ReLU()(x)
    x = make(keras.layers.Conv2D, filters, 3, padding="same")(x)
    x = make(keras.layers.Conv2D, filters, 3, padding="same")(keras.layers.ReLU()(x))
    if downsample:
        x = keras.layers.AveragePooling2D(2)(x)
    return keras.layers.Add()([x, shortcut])


def resnet_discriminator(image_shape=(32, 32, 3), filters=128, spectral_norm=True, weight_clip=None,
                         num_classes=None, conditioning=None, label_encoding="embedding", embedding_dim=16):
    """SNGAN's ResNet discriminator: down-sampling residual blocks, then two more at the lowest resolution, ReLU,
    global pooling and a dense logit. Spectral normalization is on by default, as in the paper.

    Global average pooling replaces the paper's global sum pooling (a constant factor, absorbed by the last layer).

    Args:
        image_shape: `[H, W, C]`, square.
        filters: channels of every block (128 in the paper).
        spectral_norm: spectrally normalize every convolution and dense layer.
        weight_clip: clip weights to [-c, c] after each update (WGAN).
        num_classes, conditioning, label_encoding, embedding_dim: as for `dcgan_discriminator`.

    Returns:
        A Keras model mapping `[batch, H, W, C]` to logits `[batch, 1]` (see `assemble_discriminator`).
    """
    height, _, _ = _check_image_shape(image_shape)
    make = layer_factory(spectral_norm, weight_clip)

    def feature_layers(shape):
        images = keras.Input(tuple(shape))
        x = images
        for index in range(_num_upsamplings(height)):
            x = _discriminator_block(x, filters, make, downsample=True, first=index == 0)
        for _ in range(2):
            x = _discriminator_block(x, filters, make, downsample=False, first=False)
        features = keras.layers.GlobalAveragePooling2D()(keras.layers.ReLU()(x))
        return [keras.Model(images, features, name="resnet_features")]

    return assemble_discriminator(feature_layers, image_shape, make, num_classes, conditioning, label_encoding,
                                  embedding_dim)
