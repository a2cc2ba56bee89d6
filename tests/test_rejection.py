"""Discriminator rejection sampling (Azadi et al. 2019): eq. 8's acceptance, and that it keeps samples where the
discriminator says the data is, through `GAN.generate` and the config."""
import keras
import numpy as np
import pytest

from tfgan_impl import GAN, config as config_module, networks, rejection
from tfgan_impl.errors import ConfigError


def test_acceptance_follows_equation_8_and_its_percentile():
    logits = np.linspace(-8.0, 2.0, 1001)
    probabilities, max_logit = rejection.acceptance_probabilities(logits, max_logit=1.0, percentile=80.0)
    assert max_logit == 2.0  # raised to the batch's maximum
    assert np.all(np.diff(probabilities) > 0)  # a higher logit (higher p_data / p_g) is kept more often
    delta = logits - 2.0
    scores = delta - np.log(1.0 - np.exp(delta - 1e-6))
    expected = 1.0 / (1.0 + np.exp(-(scores - np.percentile(scores, 80.0))))
    np.testing.assert_allclose(probabilities, expected, rtol=1e-10)
    assert abs(np.mean(probabilities > 0.5) - 0.2) < 0.01  # gamma at the 80th percentile: the top 20% above 1/2
    lenient, _ = rejection.acceptance_probabilities(logits, 1.0, percentile=20.0)
    assert lenient.mean() > probabilities.mean()


class NegativeSquaredNorm(keras.layers.Layer):
    def call(self, inputs):
        return -4.0 * keras.ops.sum(keras.ops.square(inputs), axis=-1, keepdims=True)


def gan_with_known_discriminator(**options):
    """A generator of z itself (N(0, I) in 2-D) and a discriminator that says the data lies near the origin."""
    generator = networks.mlp_generator(2, [2], hidden_units=(), output_activation="linear")
    generator.set_weights([np.eye(2, dtype="float32"), np.zeros(2, "float32")])
    inputs = keras.Input((2,))
    discriminator = keras.Model(inputs, NegativeSquaredNorm()(inputs))
    return GAN(generator, discriminator, latent_dim=2, seed=0, output_range=None, **options)


def test_rejection_sampling_keeps_samples_the_discriminator_prefers():
    gan = gan_with_known_discriminator(rejection_percentile=80.0)
    samples = gan.generate(2000, seed=3)
    assert samples.shape == (2000, 2)
    np.testing.assert_array_equal(samples, gan.generate(2000, seed=3))  # seeded
    assert not np.array_equal(samples, gan.generate(2000, seed=4))
    plain = gan.generate_from(gan.latents(2000, seed=3))
    inside = lambda points: np.mean(np.linalg.norm(points, axis=1) < 0.5)  # noqa: E731
    assert inside(plain) < 0.15  # N(0, I): 1 - exp(-1/8) = 12% within 0.5
    assert inside(samples) > 2 * inside(plain)
    assert np.linalg.norm(samples, axis=1).max() < np.linalg.norm(plain, axis=1).max()


def test_rejection_percentile_survives_get_config_and_is_refused_where_undefined():
    gan = gan_with_known_discriminator(rejection_percentile=50.0)
    assert gan.get_config()["rejection_percentile"] == 50.0
    with pytest.raises(ValueError, match="rejection_percentile"):
        gan_with_known_discriminator(rejection_percentile=100.0)
    base = {"model": {"generator": {"name": "mlp"}, "discriminator": {"name": "mlp"}, "output_range": None},
            "data": {"source": "grid25"}}
    assert config_module.from_dict({**base, "model": {**base["model"], "rejection_percentile": 80}}) \
        .options.rejection_percentile == 80.0
    with pytest.raises(ConfigError, match="model.rejection_percentile"):
        config_module.from_dict({**base, "model": {**base["model"], "rejection_percentile": 80, "packing": 2}})
    with pytest.raises(ConfigError, match="model.rejection_percentile"):
        config_module.from_dict({**base, "model": {**base["model"], "rejection_percentile": 80, "type": "cgan"}})
