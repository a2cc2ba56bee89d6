"""Network builders: output shapes, the paper's layer sizes, and the Maxout layer."""
import keras
import numpy as np
import pytest

from tfgan_impl import networks


@pytest.mark.parametrize("image_shape", [[28, 28, 1], [32, 32, 3], [64, 64, 3]])
def test_dcgan_shapes(image_shape):
    generator = networks.dcgan_generator(16, image_shape, base_filters=8)
    discriminator = networks.dcgan_discriminator(image_shape, base_filters=8)
    assert generator.output_shape == (None, *image_shape)
    assert discriminator.output_shape == (None, 1)
    images = generator(np.random.default_rng(0).normal(size=(2, 16)).astype("float32"))
    assert np.all(np.abs(images) <= 1.0)  # tanh output
    assert discriminator(images).shape == (2, 1)


def test_dcgan_rejects_odd_shapes():
    with pytest.raises(ValueError, match="square image shape"):
        networks.dcgan_generator(8, [28, 32, 1])
    with pytest.raises(ValueError, match="even image size of at least 8"):
        networks.dcgan_discriminator([7, 7, 1])


def test_maxout_takes_the_max_of_its_pieces():
    layer = networks.Maxout(2, 3)
    layer.build((None, 1))
    layer.dense.kernel.assign(np.array([[1.0, -1.0, 0.5, 2.0, 0.0, -3.0]], np.float32))
    layer.dense.bias.assign(np.zeros(6, np.float32))
    out = keras.ops.convert_to_numpy(layer(np.array([[2.0], [-1.0]], np.float32)))
    # Unit 0 pieces: x, -x, 0.5x; unit 1 pieces: 2x, 0, -3x.
    np.testing.assert_allclose(out, [[2.0, 4.0], [1.0, 3.0]])
    restored = networks.Maxout.from_config(layer.get_config())
    assert (restored.units, restored.num_pieces) == (2, 3)


def test_marginal_logits_start_the_sigmoid_at_the_data_means():
    images = np.array([[0.0, 0.25, 1.0], [0.0, 0.75, 1.0]])
    logits = networks.marginal_logits(images)
    np.testing.assert_allclose(1 / (1 + np.exp(-logits)), [1e-3, 0.5, 1 - 1e-3], rtol=1e-4)
    generator = networks.mlp_generator(4, [3], hidden_units=(5,), output_bias=logits.tolist())
    np.testing.assert_allclose(generator.layers[-2].bias.numpy(), logits)
