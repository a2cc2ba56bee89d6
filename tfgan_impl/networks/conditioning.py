"""Building blocks shared by the network builders: weight constraints, and wrappers that feed class labels into a
network (conditional GAN) or add a class head (ACGAN, semi-supervised GAN) around an unconditional trunk."""
import math

import keras

from tfgan_impl.networks.layers import WeightClip

CONDITIONINGS = ("input", "auxiliary", "classes")


def layer_factory(spectral_norm=False, weight_clip=None):
    """Returns `make(layer_class, *args, **kwargs)` creating Dense/Conv layers under the requested Lipschitz control.

    Args:
        spectral_norm: wrap each layer in `keras.layers.SpectralNormalization` (Miyato et al. 2018).
        weight_clip: clip each weight to [-c, c] after every update (WGAN, Arjovsky et al. 2017).
    """
    constraint = None if weight_clip is None else WeightClip(weight_clip)

    def make(layer_class, *args, **kwargs):
        if constraint is not None:
            kwargs.update(kernel_constraint=constraint, bias_constraint=constraint)
        layer = layer_class(*args, **kwargs)
        return keras.layers.SpectralNormalization(layer) if spectral_norm else layer

    return make


def label_features(labels, num_classes, label_encoding="embedding", embedding_dim=16):
    """Encodes integer labels `[batch]` as one-hot vectors or learned embeddings (Mirza & Osindero 2014, sec. 4.1)."""
    if label_encoding == "one_hot":
        return keras.layers.CategoryEncoding(num_classes, output_mode="one_hot", name="label_one_hot")(labels)
    if label_encoding == "embedding":
        return keras.layers.Embedding(num_classes, embedding_dim, name="label_embedding")(labels)
    raise ValueError(f"label_encoding must be 'embedding' or 'one_hot', got {label_encoding!r}")


def label_width(num_classes, label_encoding, embedding_dim):
    """Width of the features `label_features` makes."""
    return num_classes if label_encoding == "one_hot" else embedding_dim


def conditional_generator(build_trunk, latent_dim, num_classes, label_encoding="embedding", embedding_dim=16):
    """A generator of `[z, labels]`: the label features are concatenated to z (Mirza & Osindero 2014, sec. 4.1).

    Args:
        build_trunk: builds the unconditional generator for a given input width.
        latent_dim: size of z.
        num_classes: number of classes.
        label_encoding: `"embedding"` or `"one_hot"`.
        embedding_dim: embedding width.

    Returns:
        A `keras.Model` with inputs `[z, labels]`.
    """
    z = keras.Input((latent_dim,), name="z")
    labels = keras.Input((), dtype="int32", name="labels")
    features = label_features(labels, num_classes, label_encoding, embedding_dim)
    trunk = build_trunk(latent_dim + label_width(num_classes, label_encoding, embedding_dim))
    outputs = trunk(keras.layers.Concatenate()([z, features]))
    return keras.Model([z, labels], outputs, name="generator")


def input_conditioned_discriminator(build_trunk, input_shape, num_classes, label_encoding="embedding",
                                    embedding_dim=16):
    """A discriminator of `[samples, labels]` (conditional GAN, Mirza & Osindero 2014): vectors get the label
    features concatenated; images get them as one more channel, through a dense map to the image's size.

    Args:
        build_trunk: builds the unconditional discriminator for a given sample shape.
        input_shape: shape of one sample.
        num_classes: number of classes.
        label_encoding: `"embedding"` or `"one_hot"`.
        embedding_dim: embedding width.

    Returns:
        A `keras.Model` with inputs `[samples, labels]` and one logit per example.
    """
    input_shape = tuple(int(d) for d in input_shape)
    samples = keras.Input(input_shape, name="samples")
    labels = keras.Input((), dtype="int32", name="labels")
    features = label_features(labels, num_classes, label_encoding, embedding_dim)
    if len(input_shape) == 1:
        joined = keras.layers.Concatenate()([samples, features])
        trunk = build_trunk([input_shape[0] + label_width(num_classes, label_encoding, embedding_dim)])
    else:
        label_map = keras.layers.Dense(math.prod(input_shape[:-1]), name="label_map")(features)
        label_map = keras.layers.Reshape((*input_shape[:-1], 1))(label_map)
        joined = keras.layers.Concatenate()([samples, label_map])
        trunk = build_trunk([*input_shape[:-1], input_shape[-1] + 1])
    return keras.Model([samples, labels], trunk(joined), name="discriminator")


def with_class_head(features_model, num_classes, make=keras.layers.Dense):
    """Adds an auxiliary classifier beside the adversarial logit (ACGAN, Odena et al. 2017, sec. 3).

    Args:
        features_model: maps samples to a feature vector.
        num_classes: number of classes.
        make: the layer factory (spectral norm, clipping) of the rest of the discriminator.

    Returns:
        A `keras.Model` mapping samples to `[logits [batch, 1], class_logits [batch, num_classes]]`.
    """
    samples = keras.Input(features_model.input_shape[1:], name="samples")
    features = features_model(samples)
    logits = make(keras.layers.Dense, 1, name="adversarial")(features)
    class_logits = make(keras.layers.Dense, num_classes, name="classes")(features)
    return keras.Model(samples, [logits, class_logits], name="discriminator")


def assemble_discriminator(feature_layers, input_shape, make=keras.layers.Dense, num_classes=None,
                           conditioning=None, label_encoding="embedding", embedding_dim=16, **head_kwargs):
    """Puts a discriminator together from its feature layers: one logit, or labels in (cGAN), or a class head (ACGAN).

    Args:
        feature_layers: `feature_layers(input_shape)` returns the layers mapping samples to a feature vector.
        input_shape: shape of one sample.
        make: layer factory from `layer_factory`.
        num_classes: number of classes of a conditional model.
        conditioning: `None`, `"input"` (labels are an input), `"auxiliary"` (a class head beside the logit) or
            `"classes"` (K class logits instead of one, for the semi-supervised GAN).
        label_encoding, embedding_dim: how `"input"` conditioning encodes labels.
        **head_kwargs: passed to the final logit layer (e.g. its initializer).

    Returns:
        A Keras model.
    """
    def plain(shape, name="discriminator"):
        return keras.Sequential([keras.Input(tuple(shape)), *feature_layers(shape),
                                 make(keras.layers.Dense, 1, **head_kwargs)], name=name)

    if conditioning is None:
        return plain(input_shape)
    if conditioning not in CONDITIONINGS:
        raise ValueError(f"conditioning must be one of {list(CONDITIONINGS)}, got {conditioning!r}")
    if not num_classes or int(num_classes) < 2:
        raise ValueError(f"conditioning {conditioning!r} needs num_classes of at least 2, got {num_classes!r}")
    if conditioning == "classes":
        return keras.Sequential([keras.Input(tuple(input_shape)), *feature_layers(input_shape),
                                 make(keras.layers.Dense, int(num_classes), name="classes")], name="discriminator")
    if conditioning == "input":
        return input_conditioned_discriminator(lambda shape: plain(shape, name="trunk"), input_shape,
                                               int(num_classes), label_encoding, embedding_dim)
    features = keras.Sequential([keras.Input(tuple(input_shape)), *feature_layers(input_shape)], name="features")
    return with_class_head(features, int(num_classes), make)
