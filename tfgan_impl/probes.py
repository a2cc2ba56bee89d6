"""Linear probes of a discriminator's features (Radford et al. 2015, arXiv:1511.06434, sec. 5.1): how much of a
data set's classes a trained discriminator's representation holds, read by a linear classifier on frozen features.
"""
import math

import keras
import numpy as np
import tensorflow as tf

from tfgan_impl import pipelines

ACTIVATIONS = (keras.layers.LeakyReLU, keras.layers.ReLU, keras.layers.Activation)


def pool_to_grid(maps, grid=4):
    """Max-pools `[batch, H, W, C]` maps to a `grid` x `grid` spatial grid (Radford et al. 2015, sec. 5.1: "max-pool
    each layer's representation to produce a 4 x 4 spatial grid"), windows of ceil(H / grid) rows and columns;
    maps already at most `grid` wide are kept.

    Returns:
        `[batch, min(H, grid'), min(W, grid'), C]`, where grid' = ceil(H / ceil(H / grid)) (= `grid` for the sizes
        of a halving discriminator: 14, 7; 16, 8, 4).
    """
    maps = tf.convert_to_tensor(maps)
    height, width = int(maps.shape[1]), int(maps.shape[2])
    window = [max(1, math.ceil(height / grid)), max(1, math.ceil(width / grid))]
    if window == [1, 1]:
        return maps
    # Padding at the end with the dtype's minimum keeps padded cells out of the maximum (14 -> windows of 4, 4, 4
    # and 2); SAME padding would split the padding between both ends and shift every window.
    pad_h, pad_w = -height % window[0], -width % window[1]
    maps = tf.pad(maps, [[0, 0], [0, pad_h], [0, pad_w], [0, 0]], constant_values=maps.dtype.min)
    return tf.nn.max_pool2d(maps, ksize=window, strides=window, padding="VALID")


def feature_layers(discriminator):
    """The layers whose outputs `discriminator_features` reads: every activation layer with spatial (4-D) output of
    a Sequential or functional discriminator; if none, the input of its last layer (the features below its head)."""
    chosen = [layer for layer in discriminator.layers
              if isinstance(layer, ACTIVATIONS) and len(layer.output.shape) == 4]
    return chosen or [discriminator.layers[-2]]


def discriminator_features(discriminator, images, grid=4, batch_size=256):
    """The frozen features of Radford et al. 2015, sec. 5.1: every convolutional layer's activations of the
    discriminator, each max-pooled to a `grid` x `grid` grid, flattened and concatenated.

    Args:
        discriminator: a built Keras discriminator (the library's `dcgan`, `resnet`, `mlp` networks).
        images: `[n, H, W, C]` in the discriminator's input range.
        grid: the side of the pooled grid.
        batch_size: images per forward pass.

    Returns:
        A float32 array `[n, features]`.
    """
    layers = feature_layers(discriminator)
    extractor = keras.Model(discriminator.inputs, [layer.output for layer in layers])

    @tf.function
    def extract(batch):
        outputs = extractor(batch, training=False)
        outputs = outputs if isinstance(outputs, (list, tuple)) else [outputs]
        flat = [tf.reshape(pool_to_grid(o, grid) if len(o.shape) == 4 else o, [tf.shape(batch)[0], -1])
                for o in outputs]
        return tf.cast(tf.concat(flat, axis=-1), tf.float32)

    return np.concatenate([extract(batch).numpy() for (batch,) in pipelines.prediction_batches(images, batch_size)])


def linear_probe(train_features, train_labels, test_features, test_labels, l2=1e-3, steps=2000, batch_size=256,
                 learning_rate=1e-2, seed=0):
    """Accuracy of an L2-regularized linear (softmax) classifier trained on frozen features: the reading of
    Radford et al. 2015, sec. 5.1 (they fit an L2-SVM; a multinomial logistic regression is the same kind of
    probe). Features are standardized with the training set's mean and standard deviation.

    Args:
        train_features, train_labels: `[n, d]` features and integer labels to fit on.
        test_features, test_labels: the held-out set scored.
        l2: weight of the squared-norm penalty on the classifier's weights.
        steps, batch_size, learning_rate: of the Adam fit (shuffled minibatches, repeated).
        seed: seed of the initialization and of the shuffling.

    Returns:
        `{"train_accuracy", "test_accuracy"}`.
    """
    train_features, test_features = np.asarray(train_features, np.float32), np.asarray(test_features, np.float32)
    mean, std = train_features.mean(axis=0), train_features.std(axis=0) + 1e-6
    classes = int(max(np.max(train_labels), np.max(test_labels))) + 1
    keras.utils.set_random_seed(seed)
    classifier = keras.Sequential([keras.Input((train_features.shape[1],)),
                                   keras.layers.Dense(classes, kernel_regularizer=keras.regularizers.L2(l2))])
    classifier.compile(optimizer=keras.optimizers.Adam(learning_rate),
                       loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True))
    batches = tf.data.Dataset.from_tensor_slices(((train_features - mean) / std, np.asarray(train_labels, np.int32)))
    batches = batches.shuffle(len(train_features), seed=seed).repeat().batch(min(batch_size, len(train_features)))
    classifier.fit(pipelines.with_pipeline_options(batches), epochs=1, steps_per_epoch=int(steps), shuffle=False,
                   verbose=0)  # the dataset shuffles itself

    def accuracy(features, labels):
        logits = classifier.predict(pipelines.prediction_batches((features - mean) / std, 1024), verbose=0)
        return float(np.mean(np.argmax(logits, axis=-1) == np.asarray(labels)))

    return {"train_accuracy": accuracy(train_features, train_labels),
            "test_accuracy": accuracy(test_features, test_labels)}
