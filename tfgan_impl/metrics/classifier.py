"""Feature extractors for distribution metrics: a domain classifier for small images, and InceptionV3.

TF-GAN scores MNIST models with an MNIST classifier instead of InceptionV3 ("FCD", "KCD", classifier score);
`train_classifier` builds that classifier for any labelled source. InceptionV3 gives the standard FID, KID and
Inception Score, from ImageNet weights that must be supplied offline.
"""
import os

import keras
import numpy as np
import tensorflow as tf

from tfgan_impl import data as data_module
from tfgan_impl.errors import UserError

FEATURES_LAYER, LOGITS_LAYER = "features", "logits"
INCEPTION_WEIGHTS_FILE = "inception_v3_weights_tf_dim_ordering_tf_kernels.h5"


def build_classifier(input_shape, num_classes, feature_units=128):
    """A small CNN classifier of images in [0, 1] whose penultimate layer `features` gives the metric features.

    Args:
        input_shape: `[H, W, C]`.
        num_classes: number of classes.
        feature_units: width of the feature layer.

    Returns:
        A `keras.Sequential` with layers named `features` and `logits` (no softmax).
    """
    return keras.Sequential([
        keras.Input(tuple(input_shape)),
        keras.layers.Conv2D(32, 3, padding="same", activation="relu"),
        keras.layers.Conv2D(32, 3, padding="same", activation="relu"),
        keras.layers.MaxPooling2D(),
        keras.layers.Conv2D(64, 3, padding="same", activation="relu"),
        keras.layers.Conv2D(64, 3, padding="same", activation="relu"),
        keras.layers.MaxPooling2D(),
        keras.layers.Flatten(),
        keras.layers.Dropout(0.3),
        keras.layers.Dense(feature_units, activation="relu", name=FEATURES_LAYER),
        keras.layers.Dropout(0.3),
        keras.layers.Dense(num_classes, name=LOGITS_LAYER),
    ], name="domain_classifier")


def train_classifier(source, epochs=3, batch_size=128, seed=0, data_dir=None, verbose=0):
    """Trains a domain classifier on the `train` split of a labelled source and measures it on `test`.

    Args:
        source: a labelled data source string, e.g. `fashion_mnist`.
        epochs: training epochs.
        batch_size: batch size.
        seed: seed of the weights and the shuffling.
        data_dir: TFDS data directory.
        verbose: `fit` verbosity.

    Returns:
        `(model, test_accuracy)`.
    """
    keras.utils.set_random_seed(seed)
    train_source = data_module.load_source(source, "train", data_dir)
    if not train_source.has_labels:
        raise UserError(f"{train_source.name}: a domain classifier needs labels, and this source has none")
    train = data_module.make_dataset(train_source, batch_size, output_range=None, with_labels=True, seed=seed)
    test = data_module.make_dataset(source, batch_size, split="test", output_range=None, with_labels=True,
                                    shuffle_buffer=0, data_dir=data_dir)
    model = build_classifier(train.element_spec[0].shape[1:], train_source.num_classes)
    model.compile(optimizer=keras.optimizers.Adam(1e-3),
                  loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True), metrics=["accuracy"])
    model.fit(train, epochs=epochs, verbose=verbose, shuffle=False)  # the dataset shuffles itself
    accuracy = model.evaluate(test, verbose=0, return_dict=True)["accuracy"]
    return model, float(accuracy)


class FeatureExtractor:
    """Runs a feature model on images in [0, 1], a batch at a time, returning `(features, logits)` as numpy.

    Args:
        model: a Keras model mapping preprocessed images to `[features, logits]`.
        preprocess: a function of an image batch in [0, 1] to the model's input.
        batch_size: images per forward pass.
    """

    def __init__(self, model, preprocess=None, batch_size=256):
        self.model = model
        self.preprocess = preprocess or (lambda images: images)
        self.batch_size = int(batch_size)
        self._forward = tf.function(lambda images: self.model(self.preprocess(images), training=False))

    def __call__(self, images):
        features, logits = [], []
        for start in range(0, len(images), self.batch_size):
            batch = tf.convert_to_tensor(np.asarray(images[start:start + self.batch_size], np.float32))
            batch_features, batch_logits = self._forward(batch)
            features.append(batch_features.numpy())
            logits.append(batch_logits.numpy())
        return np.concatenate(features), np.concatenate(logits)


def classifier_extractor(path_or_model, batch_size=256):
    """A `FeatureExtractor` from a domain classifier (a `.keras` path or a model) made by `build_classifier`."""
    model = path_or_model
    if isinstance(path_or_model, (str, os.PathLike)):
        if not os.path.isfile(path_or_model):
            raise UserError(f"{path_or_model}: no such classifier file (make one with "
                            "'tfgan-impl train-classifier SOURCE --out PATH')")
        try:
            model = keras.models.load_model(path_or_model, safe_mode=True)
        except (ValueError, OSError) as error:
            raise UserError(f"{path_or_model}: not a loadable .keras classifier ({error})") from None
    try:
        outputs = [model.get_layer(FEATURES_LAYER).output, model.get_layer(LOGITS_LAYER).output]
    except ValueError:
        raise UserError(f"the classifier has no '{FEATURES_LAYER}' and '{LOGITS_LAYER}' layers") from None
    input_size = tuple(model.inputs[0].shape[1:3])

    def preprocess(images):
        # Runs at another size (e.g. Fashion-MNIST at 32x32 by `data.image_size`) are judged at the classifier's.
        if tuple(images.shape[1:3]) != input_size:
            return tf.image.resize(images, input_size, method="bilinear", antialias=True)
        return images

    return FeatureExtractor(keras.Model(model.inputs, outputs), preprocess, batch_size=batch_size)


def _inception_preprocess(images):
    images = tf.image.resize(images, (299, 299), method="bilinear")
    if images.shape[-1] == 1:
        images = tf.image.grayscale_to_rgb(images)
    return images * 2.0 - 1.0  # InceptionV3's input range


def inception_extractor(weights_path, batch_size=64):
    """InceptionV3 pool3 features (2048) and ImageNet logits (1000 classes), for FID, KID and IS.

    Images in [0, 1] are resized to 299x299 bilinearly and scaled to [-1, 1].

    Args:
        weights_path: the ImageNet weights file of `keras.applications.InceptionV3` with its top; `None`
            downloads them (into `~/.keras/models`) when the network allows.

    Returns:
        A `FeatureExtractor`.

    Raises:
        UserError: no weights to be had; a random network would give meaningless figures, so none is used.
    """
    if weights_path is None and data_module.can_reach():
        weights_path = "imagenet"
    elif not weights_path or not os.path.isfile(weights_path):
        raise UserError(f"FID, KID and IS need InceptionV3 ImageNet weights: download {INCEPTION_WEIGHTS_FILE} "
                        "(keras.applications.InceptionV3(weights='imagenet') fetches it online, into "
                        f"~/.keras/models) and pass --inception-weights PATH; got {weights_path!r} offline")
    base = keras.applications.InceptionV3(include_top=True, weights=weights_path)
    pool = base.get_layer("avg_pool").output
    top = base.get_layer("predictions")
    logits = keras.layers.Dense(top.units, name="logits")
    model = keras.Model(base.inputs, [pool, logits(pool)])
    logits.set_weights(top.get_weights())  # the softmax layer's affine part, without the softmax
    return FeatureExtractor(model, preprocess=_inception_preprocess, batch_size=batch_size)
