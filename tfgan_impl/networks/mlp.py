"""Fully connected networks: the MNIST networks of Goodfellow et al. 2014 and small MLPs for toy data."""
import math

import keras

from tfgan_impl.networks.conditioning import assemble_discriminator, conditional_generator, layer_factory
from tfgan_impl.networks.layers import BatchNormalization, Maxout, MinibatchStdDev, WeightClip
from tfgan_impl.networks.weightnorm import WeightNormDense


def _uniform(init_range):
    # pylearn2's `irange`: weights uniform in [-irange, irange], as in the paper's mnist.yaml.
    if init_range is None:
        return "glorot_uniform"
    return keras.initializers.RandomUniform(-init_range, init_range)


def mlp_generator(latent_dim, output_shape, hidden_units=(1200, 1200), activation="relu",
                  output_activation="sigmoid", init_range=None, output_bias=None, num_classes=None,
                  label_encoding="embedding", embedding_dim=16, batch_norm=False, batch_norm_scale=True,
                  output_weight_norm=False):
    """MLP generator of Goodfellow et al. 2014 (MNIST: two ReLU layers of 1200 units, sigmoid output).

    Args:
        latent_dim: size of z.
        output_shape: shape of one sample, e.g. `[28, 28, 1]` or `[2]`.
        hidden_units: width of each hidden layer.
        activation: hidden activation.
        output_activation: `"sigmoid"` for [0, 1] images, `"tanh"` for [-1, 1], `"linear"` for points.
        init_range: if set, weights are uniform in [-init_range, init_range] (pylearn2's `irange`).
        output_bias: optional initial output bias, one value per output unit (the paper initializes the
            sigmoid's bias from the data's marginals, see `tfgan_impl.networks.marginal_logits`).
        num_classes: if set, a conditional generator of `[z, labels]` (Mirza & Osindero 2014).
        label_encoding, embedding_dim: how labels are encoded (`"embedding"` or `"one_hot"`).
        batch_norm: batch-normalize each hidden layer before its activation (Ioffe & Szegedy 2015), as the
            2-D mixture generators of VEEGAN and PacGAN (Lin et al. 2018, appendix) do.
        batch_norm_scale: with `batch_norm`, whether the normalization learns a scale; Salimans et al. 2016's
            MNIST generator (openai/improved-gan, `nn.batch_norm(..., g=None)`) learns only the offset.
        output_weight_norm: weight-normalize the output layer (w = g v / ||v||, g trained from 1, no
            data-dependent initialization: their `nn.l2normalize`), as Salimans et al. 2016's MNIST generator does.

    Returns:
        A Keras model mapping `[batch, latent_dim]` (and labels) to `[batch, *output_shape]`.
    """
    output_shape = tuple(int(d) for d in output_shape)

    def build(input_width):
        layers = [keras.Input((input_width,))]
        for units in hidden_units:
            if batch_norm:  # the normalization's offset replaces the dense bias
                layers += [keras.layers.Dense(units, use_bias=False, kernel_initializer=_uniform(init_range)),
                           BatchNormalization(scale=batch_norm_scale), keras.layers.Activation(activation)]
            else:
                layers.append(keras.layers.Dense(units, activation=activation,
                                                 kernel_initializer=_uniform(init_range)))
        bias = "zeros" if output_bias is None else keras.initializers.Constant(output_bias)
        if output_weight_norm:
            if output_bias is not None:
                raise ValueError("output_bias: not available with output_weight_norm (its bias starts at 0)")
            output = WeightNormDense(math.prod(output_shape), activation=output_activation)
        else:
            output = keras.layers.Dense(math.prod(output_shape), activation=output_activation,
                                        kernel_initializer=_uniform(init_range), bias_initializer=bias)
        layers += [output, keras.layers.Reshape(output_shape)]
        return keras.Sequential(layers, name="generator" if num_classes is None else "trunk")

    if num_classes is None:
        return build(latent_dim)
    return conditional_generator(build, latent_dim, int(num_classes), label_encoding, embedding_dim)


def maxout_discriminator(input_shape, hidden_units=(240, 240), num_pieces=5, input_dropout=0.2,
                         hidden_dropout=0.5, init_range=None, weight_clip=None, minibatch_std=False, num_classes=None,
                         conditioning=None, label_encoding="embedding", embedding_dim=16):
    """Maxout MLP discriminator of Goodfellow et al. 2014 (MNIST: two layers of 240 units x 5 pieces, dropout).

    Dropout rates follow the paper's mnist.yaml: inputs kept with probability 0.8, hidden units with 0.5.

    Args:
        input_shape: shape of one sample.
        hidden_units: maxout units per hidden layer.
        num_pieces: pieces per maxout unit.
        input_dropout: dropout rate on the inputs.
        hidden_dropout: dropout rate on each maxout layer's outputs.
        init_range: if set, weights are uniform in [-init_range, init_range].
        weight_clip, minibatch_std, num_classes, conditioning, label_encoding, embedding_dim: as for
            `mlp_discriminator` (weight clipping applies to the output layer's weights and the maxout pieces').

    Returns:
        A Keras model mapping samples to logits `[batch, 1]` (see `assemble_discriminator`).
    """
    make = layer_factory(weight_clip=weight_clip)
    clip = {} if weight_clip is None else {"kernel_constraint": WeightClip(weight_clip)}

    def feature_layers(shape):
        layers = [keras.layers.Flatten(), keras.layers.Dropout(input_dropout)]
        for units in hidden_units:
            layers += [Maxout(units, num_pieces, kernel_initializer=_uniform(init_range), **clip),
                       keras.layers.Dropout(hidden_dropout)]
        return layers + ([MinibatchStdDev()] if minibatch_std else [])

    return assemble_discriminator(feature_layers, input_shape, make, num_classes, conditioning, label_encoding,
                                  embedding_dim, kernel_initializer=_uniform(init_range))


def mlp_discriminator(input_shape, hidden_units=(128, 128), activation="leaky_relu", spectral_norm=False,
                      weight_clip=None, minibatch_std=False, num_classes=None, conditioning=None,
                      label_encoding="embedding", embedding_dim=16, input_noise=0.0, hidden_noise=0.0,
                      weight_norm=False, weight_norm_stddev=0.05, train_hidden_scales=True):
    """A plain MLP discriminator for low-dimensional data (e.g. the 2-D mixtures of the mode-collapse benchmark).

    Args:
        input_shape: shape of one sample (with PacGAN packing, of m samples side by side).
        hidden_units: width of each hidden layer.
        activation: hidden activation.
        spectral_norm: spectrally normalize every dense layer (Miyato et al. 2018).
        weight_clip: clip weights to [-c, c] after each update (WGAN).
        minibatch_std: append the minibatch standard deviation before the output (Karras et al. 2018).
        num_classes: number of classes of a conditional model.
        conditioning: `None`, `"input"` (cGAN: labels are an input), `"auxiliary"` (ACGAN: a class head) or
            `"classes"` (semi-supervised GAN: K class logits).
        label_encoding, embedding_dim: how `"input"` conditioning encodes labels.
        input_noise, hidden_noise: standard deviations of Gaussian noise added, in training only, to the inputs and
            to each hidden layer's outputs (Salimans et al. 2016's MNIST discriminator: 0.3 and 0.5); 0 for none.
        weight_norm: weight-normalize every dense layer, head included (`WeightNormDense`, Salimans & Kingma 2016;
            initialize it from data with `networks.initialize_from_data`).
        weight_norm_stddev: with `weight_norm`, the normal initialization's standard deviation of the directions v
            (Salimans et al.'s MNIST code: 0.1).
        train_hidden_scales: with `weight_norm`, whether the hidden layers' scales g train (their MNIST code keeps
            them at their data-dependent initialization and trains only the class head's).

    Returns:
        A Keras model mapping samples to logits `[batch, 1]` (see `assemble_discriminator`).
    """
    make = layer_factory(spectral_norm, weight_clip)
    if weight_norm:
        if spectral_norm or weight_clip is not None:
            raise ValueError("weight_norm: not with spectral_norm or weight_clip (each reparameterizes the weights)")

        def make(layer_class, *args, **kwargs):
            return WeightNormDense(*args, kernel_stddev=weight_norm_stddev, **kwargs)

        def make_hidden(layer_class, *args, **kwargs):
            return WeightNormDense(*args, kernel_stddev=weight_norm_stddev, train_scale=train_hidden_scales, **kwargs)
    else:
        make_hidden = make

    def noise(stddev):
        return [keras.layers.GaussianNoise(float(stddev))] if stddev else []

    def feature_layers(shape):
        layers = [keras.layers.Flatten(), *noise(input_noise)]
        for units in hidden_units:
            layers += [make_hidden(keras.layers.Dense, units, activation=activation), *noise(hidden_noise)]
        return layers + ([MinibatchStdDev()] if minibatch_std else [])

    return assemble_discriminator(feature_layers, input_shape, make, num_classes, conditioning, label_encoding,
                                  embedding_dim)
