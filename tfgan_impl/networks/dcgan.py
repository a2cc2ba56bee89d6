"""DCGAN generator and discriminator (Radford et al. 2015, arXiv:1511.06434, sec. 3 "Approach and model architecture")."""
import keras

from tfgan_impl.networks.conditioning import assemble_discriminator, conditional_generator, layer_factory
from tfgan_impl.networks.layers import BatchNormalization, MinibatchStdDev


def _num_upsamplings(size):
    """Times `size` halves evenly while staying at least 4 (28 -> 2 from 7x7, 32 -> 3 from 4x4, 64 -> 4)."""
    count = 0
    while size % 2 == 0 and size // 2 >= 4:
        size //= 2
        count += 1
    return count


def _check_image_shape(image_shape):
    image_shape = tuple(int(d) for d in image_shape)
    if len(image_shape) != 3 or image_shape[0] != image_shape[1]:
        raise ValueError(f"DCGAN networks need a square image shape [H, W, C], got {list(image_shape)}")
    if _num_upsamplings(image_shape[0]) == 0:
        raise ValueError(f"DCGAN networks need an even image size of at least 8, got {image_shape[0]}")
    return image_shape


def dcgan_generator(latent_dim, image_shape=(28, 28, 1), base_filters=64, output_activation="tanh", num_classes=None,
                    label_encoding="embedding", embedding_dim=16, batch_norm=True):
    """DCGAN generator: project z, then stride-2 transposed convolutions with batch norm and ReLU, tanh output.

    Sizes that are not powers of two start from the odd size they halve to (28x28 starts at 7x7).

    Args:
        latent_dim: size of z.
        image_shape: `[H, W, C]` of the images, square, e.g. `[28, 28, 1]` or `[32, 32, 3]`.
        base_filters: filters of the last hidden layer; each earlier layer doubles them.
        output_activation: `"tanh"` for data in [-1, 1] (the paper), `"sigmoid"` for [0, 1].
        num_classes: if set, a conditional generator of `[z, labels]` (Mirza & Osindero 2014).
        label_encoding, embedding_dim: how labels are encoded (`"embedding"` or `"one_hot"`).
        batch_norm: `False` drops the batch normalizations (layers get biases instead): the harder set-up of
            the LSGAN paper's stability experiment (Mao et al. 2017, sec. 4.2) and of WGAN's (Arjovsky et al.
            2017, fig. 5).

    Returns:
        A Keras model mapping `[batch, latent_dim]` (and labels) to `[batch, H, W, C]`.
    """
    height, _, channels = _check_image_shape(image_shape)
    upsamplings = _num_upsamplings(height)
    start = height // 2**upsamplings

    def normalization():
        return [BatchNormalization()] if batch_norm else []

    def build(input_width):
        filters = base_filters * 2 ** (upsamplings - 1)
        layers = [
            keras.Input((input_width,)),
            keras.layers.Dense(start * start * filters, use_bias=not batch_norm),
            *normalization(),
            keras.layers.ReLU(),
            keras.layers.Reshape((start, start, filters)),
        ]
        for _ in range(upsamplings - 1):
            filters //= 2
            layers += [
                keras.layers.Conv2DTranspose(filters, 4, strides=2, padding="same", use_bias=not batch_norm),
                *normalization(),
                keras.layers.ReLU(),
            ]
        layers.append(keras.layers.Conv2DTranspose(channels, 4, strides=2, padding="same",
                                                   activation=output_activation))
        return keras.Sequential(layers, name="generator" if num_classes is None else "trunk")

    if num_classes is None:
        return build(latent_dim)
    return conditional_generator(build, latent_dim, int(num_classes), label_encoding, embedding_dim)


def dcgan_discriminator(image_shape=(28, 28, 1), base_filters=64, batch_norm=True, spectral_norm=False,
                        weight_clip=None, minibatch_std=False, dropout=0.0, num_classes=None, conditioning=None,
                        label_encoding="embedding", embedding_dim=16):
    """DCGAN discriminator: stride-2 convolutions with LeakyReLU(0.2), batch norm after the first, one logit.

    Args:
        image_shape: `[H, W, C]` of the images (with PacGAN packing, `C` holds m images' channels).
        base_filters: filters of the first convolution; each later one doubles them.
        batch_norm: batch norm on all but the first convolution, as in the paper (WGAN-GP and SNGAN turn it off:
            the gradient penalty is per example and batch norm couples the examples of a batch).
        spectral_norm: spectrally normalize every convolution and dense layer (Miyato et al. 2018).
        weight_clip: clip weights to [-c, c] after each update (WGAN).
        minibatch_std: append the minibatch standard deviation map before the output (Karras et al. 2018).
        dropout: dropout rate after each convolution block (the semi-supervised GAN's regularizer).
        num_classes: number of classes of a conditional model.
        conditioning: `None`, `"input"` (cGAN: labels as an extra channel), `"auxiliary"` (ACGAN: a class head)
            or `"classes"` (semi-supervised GAN: K class logits).
        label_encoding, embedding_dim: how `"input"` conditioning encodes labels.

    Returns:
        A Keras model mapping `[batch, H, W, C]` to logits `[batch, 1]` (see `assemble_discriminator`).
    """
    height, _, _ = _check_image_shape(image_shape)
    make = layer_factory(spectral_norm, weight_clip)

    def feature_layers(shape):
        layers = []
        filters = base_filters
        for index in range(_num_upsamplings(height)):
            layers.append(make(keras.layers.Conv2D, filters, 4, strides=2, padding="same",
                               use_bias=index == 0 or not batch_norm))
            if index > 0 and batch_norm:
                layers.append(BatchNormalization())
            layers.append(keras.layers.LeakyReLU(0.2))
            if dropout:
                layers.append(keras.layers.Dropout(dropout))
            filters *= 2
        return layers + ([MinibatchStdDev()] if minibatch_std else []) + [keras.layers.Flatten()]

    return assemble_discriminator(feature_layers, image_shape, make, num_classes, conditioning, label_encoding,
                                  embedding_dim)
