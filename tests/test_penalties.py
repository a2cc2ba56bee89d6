"""Gradient penalty and R1 against closed forms and against TF-GAN's `wasserstein_gradient_penalty`."""
import numpy as np
import pytest
import tensorflow as tf

from tests.reference import tfgan_losses
from tfgan_impl import penalties

RNG = np.random.default_rng(0)
REAL = RNG.normal(size=(8, 5)).astype("float32")
FAKE = RNG.normal(size=(8, 5)).astype("float32")
ALPHA = RNG.uniform(size=8).astype("float32")


def linear_critic(weights):
    weights = tf.constant(weights, tf.float32)
    return lambda inputs: tf.reduce_sum(inputs * weights, axis=1, keepdims=True)


def test_gradient_penalty_vanishes_on_a_1_lipschitz_critic():
    unit = np.ones(5, np.float32) / np.sqrt(5.0)  # gradient norm exactly 1 everywhere
    penalty = penalties.gradient_penalty(linear_critic(unit), REAL, FAKE, ALPHA)
    assert penalty.shape == (8,)
    np.testing.assert_allclose(penalty.numpy(), 0.0, atol=1e-6)


@pytest.mark.parametrize("scale", [0.0, 0.5, 3.0])
def test_gradient_penalty_of_a_scaled_critic_matches_closed_form(scale):
    weights = scale * np.ones(5, np.float32) / np.sqrt(5.0)  # gradient norm `scale`
    penalty = penalties.gradient_penalty(linear_critic(weights), REAL, FAKE, ALPHA)
    np.testing.assert_allclose(penalty.numpy(), (scale - 1.0) ** 2, rtol=1e-5, atol=1e-4)  # epsilon under the root


def test_gradient_penalty_is_taken_at_the_interpolates():
    # D(x) = ||x||^2 / 2 has gradient x: the penalty is (||alpha real + (1 - alpha) fake|| - 1)^2.
    penalty = penalties.gradient_penalty(lambda x: 0.5 * tf.reduce_sum(x * x, axis=1), REAL, FAKE, ALPHA)
    interpolates = ALPHA[:, None] * REAL + (1 - ALPHA[:, None]) * FAKE
    np.testing.assert_allclose(penalty.numpy(), (np.linalg.norm(interpolates, axis=1) - 1) ** 2, rtol=1e-5, atol=1e-7)


def test_gradient_penalty_matches_tfgan():
    # TF-GAN draws its own alpha; with real == fake every interpolate is that point, so the two must agree.
    def critic(inputs, _conditioning=None):
        return tf.reduce_sum(tf.tanh(inputs) * tf.constant([1.0, -2.0, 0.5, 3.0, 0.1]), axis=1, keepdims=True)

    graph = tf.Graph()
    with graph.as_default():
        reference = tfgan_losses().wasserstein_gradient_penalty(REAL, REAL, None, critic, "critic")
        with tf.compat.v1.Session() as session:
            expected = session.run(reference)
    ours = tf.reduce_mean(penalties.gradient_penalty(critic, REAL, REAL, ALPHA))
    np.testing.assert_allclose(ours.numpy(), expected, rtol=1e-6, atol=1e-6)


def test_r1_penalty_is_half_the_squared_gradient_norm_on_real_data():
    weights = np.array([1.0, 2.0, 0.0, -1.0, 0.5], np.float32)
    np.testing.assert_allclose(penalties.r1_penalty(linear_critic(weights), REAL).numpy(),
                               0.5 * np.sum(weights ** 2), rtol=1e-6)
    quadratic = penalties.r1_penalty(lambda x: 0.5 * tf.reduce_sum(x * x, axis=1), REAL)
    np.testing.assert_allclose(quadratic.numpy(), 0.5 * np.sum(REAL ** 2, axis=1), rtol=1e-5)


def test_penalties_of_image_critics_are_per_example_and_differentiable():
    images = tf.constant(RNG.normal(size=(4, 6, 6, 2)).astype("float32"))
    kernel = tf.Variable(tf.ones([3, 3, 2, 1]) * 0.3)

    def critic(inputs):
        return tf.nn.conv2d(inputs, kernel, 1, "SAME")  # a patch critic: outputs [batch, 6, 6, 1]

    with tf.GradientTape() as tape:
        penalty = penalties.gradient_penalty(critic, images, images * 0.5, tf.fill([4], 0.3))
        r1 = penalties.r1_penalty(critic, images)
        total = tf.reduce_mean(penalty + r1)
    assert penalty.shape == (4,) and r1.shape == (4,)
    gradient = tape.gradient(total, kernel)
    assert gradient is not None and np.all(np.isfinite(gradient.numpy())) and np.any(gradient.numpy() != 0)
