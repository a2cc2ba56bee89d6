"""Linear probes of discriminator features (Radford et al. 2015, sec. 5.1): pooling against numpy, the features'
layout, and the probe's reading on data whose answer is known."""
import keras
import numpy as np
import pytest

from tfgan_impl import networks, probes


def numpy_grid_max(maps, grid):
    """Max over ceil(H / grid)-wide windows, the last ones cut short: the pooling written out."""
    n, height, width, channels = maps.shape
    window_h, window_w = -(-height // grid), -(-width // grid)
    rows, cols = -(-height // window_h), -(-width // window_w)
    out = np.empty((n, rows, cols, channels), maps.dtype)
    for i in range(rows):
        for j in range(cols):
            out[:, i, j] = maps[:, i * window_h:(i + 1) * window_h, j * window_w:(j + 1) * window_w].max(axis=(1, 2))
    return out


@pytest.mark.parametrize("size", [14, 7, 16, 8, 4, 28])
def test_pool_to_grid_is_the_windowed_maximum(size):
    maps = np.random.default_rng(size).normal(size=(3, size, size, 2)).astype("float32")
    pooled = probes.pool_to_grid(maps, 4).numpy()
    assert pooled.shape == (3, 4, 4, 2)
    np.testing.assert_array_equal(pooled, numpy_grid_max(maps, 4))


def test_dcgan_features_are_every_block_pooled_to_4x4():
    keras.utils.set_random_seed(0)
    discriminator = networks.dcgan_discriminator([28, 28, 1], base_filters=8)
    images = np.random.default_rng(0).uniform(-1, 1, size=(5, 28, 28, 1)).astype("float32")
    features = probes.discriminator_features(discriminator, images, batch_size=2)
    # Blocks of 14x14x8 and 7x7x16 (LeakyReLU outputs), each pooled to 4x4: 128 + 256 features.
    assert features.shape == (5, 4 * 4 * 8 + 4 * 4 * 16)
    activations = probes.feature_layers(discriminator)
    assert [type(layer).__name__ for layer in activations] == ["LeakyReLU", "LeakyReLU"]
    first = keras.Model(discriminator.inputs, activations[0].output)(images).numpy()
    np.testing.assert_allclose(features[:, :128], numpy_grid_max(first, 4).reshape(5, -1), rtol=1e-6)
    # An MLP discriminator has no spatial activations: the features below its head.
    mlp = networks.mlp_discriminator([28, 28, 1], hidden_units=(16, 8), activation="relu")
    assert probes.discriminator_features(mlp, images).shape == (5, 8)


def test_linear_probe_reads_separable_classes_and_not_noise():
    rng = np.random.default_rng(0)
    labels = rng.integers(0, 3, 600)
    centres = rng.normal(scale=3.0, size=(3, 20))
    features = centres[labels] + rng.normal(size=(600, 20))
    separable = probes.linear_probe(features[:400], labels[:400], features[400:], labels[400:], steps=300)
    assert separable["test_accuracy"] > 0.97, separable
    noise = rng.normal(size=(600, 20))
    chance = probes.linear_probe(noise[:400], labels[:400], noise[400:], labels[400:], steps=300)
    assert chance["test_accuracy"] < 0.5, chance  # 3 classes: chance is 1/3
