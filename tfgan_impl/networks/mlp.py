"""Fully connected networks: the MNIST networks of Goodfellow et al. 2014 and small MLPs for toy data."""
import math

import keras

from tfgan_impl.networks.layers import Maxout


def _uniform(init_range):
    # pylearn2's `irange`: weights uniform in [-irange, irange], as in the paper's mnist.yaml.
    if init_range is None:
        return "glorot_uniform"
    return keras.initializers.RandomUniform(-init_range, init_range)


def mlp_generator(latent_dim, output_shape, hidden_units=(1200, 1200), activation="relu",
                  output_activation="sigmoid", init_range=None, output_bias=None):
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

    Returns:
        A `keras.Sequential` mapping `[batch, latent_dim]` to `[batch, *output_shape]`.
    """
    output_shape = tuple(int(d) for d in output_shape)
    layers = [keras.Input((latent_dim,))]
    for units in hidden_units:
        layers.append(keras.layers.Dense(units, activation=activation, kernel_initializer=_uniform(init_range)))
    bias = "zeros" if output_bias is None else keras.initializers.Constant(output_bias)
    layers += [
        keras.layers.Dense(math.prod(output_shape), activation=output_activation,
                           kernel_initializer=_uniform(init_range), bias_initializer=bias),
        keras.layers.Reshape(output_shape),
    ]
    return keras.Sequential(layers, name="generator")


def maxout_discriminator(input_shape, hidden_units=(240, 240), num_pieces=5, input_dropout=0.2,
                         hidden_dropout=0.5, init_range=None):
    """Maxout MLP discriminator of Goodfellow et al. 2014 (MNIST: two layers of 240 units x 5 pieces, dropout).

    Dropout rates follow the paper's mnist.yaml: inputs kept with probability 0.8, hidden units with 0.5.

    Args:
        input_shape: shape of one sample.
        hidden_units: maxout units per hidden layer.
        num_pieces: pieces per maxout unit.
        input_dropout: dropout rate on the inputs.
        hidden_dropout: dropout rate on each maxout layer's outputs.
        init_range: if set, weights are uniform in [-init_range, init_range].

    Returns:
        A `keras.Sequential` mapping samples to one logit each, `[batch, 1]`.
    """
    layers = [keras.Input(tuple(input_shape)), keras.layers.Flatten(), keras.layers.Dropout(input_dropout)]
    for units in hidden_units:
        layers += [Maxout(units, num_pieces, kernel_initializer=_uniform(init_range)),
                   keras.layers.Dropout(hidden_dropout)]
    layers.append(keras.layers.Dense(1, kernel_initializer=_uniform(init_range)))
    return keras.Sequential(layers, name="discriminator")


def mlp_discriminator(input_shape, hidden_units=(128, 128), activation="leaky_relu"):
    """A plain MLP discriminator for low-dimensional data (e.g. the 2-D mixtures of the mode-collapse tests).

    Args:
        input_shape: shape of one sample.
        hidden_units: width of each hidden layer.
        activation: hidden activation.

    Returns:
        A `keras.Sequential` mapping samples to one logit each, `[batch, 1]`.
    """
    layers = [keras.Input(tuple(input_shape)), keras.layers.Flatten()]
    layers += [keras.layers.Dense(units, activation=activation) for units in hidden_units]
    layers.append(keras.layers.Dense(1))
    return keras.Sequential(layers, name="discriminator")
