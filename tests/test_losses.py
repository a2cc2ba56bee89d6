"""Losses against closed forms and against TF-GAN's `losses_impl`."""
import numpy as np
import pytest
import tensorflow as tf

from tests.reference import tfgan_losses
from tfgan_impl import losses

LOGITS_REAL = np.array([[-3.0], [-0.5], [0.0], [0.7], [4.0], [30.0]], np.float32)
LOGITS_FAKE = np.array([[2.0], [-1.5], [0.0], [-30.0], [5.0], [0.3]], np.float32)


def _sigmoid(x):
    return 1.0 / (1.0 + np.exp(-x.astype(np.float64)))


def test_minimax_discriminator_loss_is_negative_value_function():
    expected = -np.log(_sigmoid(LOGITS_REAL)) - np.log(1.0 - _sigmoid(LOGITS_FAKE))
    actual = losses.minimax_discriminator_loss(LOGITS_REAL, LOGITS_FAKE).numpy()
    np.testing.assert_allclose(actual, expected[:, 0], rtol=1e-5, atol=1e-5)


def test_generator_losses_closed_forms():
    np.testing.assert_allclose(losses.minimax_generator_loss(LOGITS_FAKE).numpy(),
                               np.log(1.0 - _sigmoid(LOGITS_FAKE))[:, 0], rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(losses.non_saturating_generator_loss(LOGITS_FAKE).numpy(),
                               -np.log(_sigmoid(LOGITS_FAKE))[:, 0], rtol=1e-5, atol=1e-5)


def test_losses_are_finite_for_extreme_logits():
    extreme = tf.constant([[-1e4], [1e4]])
    for value in (losses.minimax_discriminator_loss(extreme, extreme), losses.minimax_generator_loss(extreme),
                  losses.non_saturating_generator_loss(extreme)):
        assert np.all(np.isfinite(value.numpy()))


def test_patch_logits_average_to_one_loss_per_example():
    patches = tf.random.stateless_normal([3, 4, 4, 1], seed=[1, 2])
    per_example = losses.non_saturating_generator_loss(patches)
    assert per_example.shape == (3,)
    np.testing.assert_allclose(per_example.numpy(),
                               tf.reduce_mean(tf.nn.softplus(-patches), axis=[1, 2, 3]).numpy(), rtol=1e-6)


@pytest.mark.parametrize("label_smoothing", [0.0, 0.25])
def test_discriminator_loss_matches_tfgan(label_smoothing):
    reference = tfgan_losses().minimax_discriminator_loss(LOGITS_REAL, LOGITS_FAKE, label_smoothing=label_smoothing)
    ours = tf.reduce_mean(losses.minimax_discriminator_loss(LOGITS_REAL, LOGITS_FAKE, label_smoothing))
    np.testing.assert_allclose(ours.numpy(), reference.numpy(), rtol=1e-6, atol=1e-6)
    modified = tfgan_losses().modified_discriminator_loss(LOGITS_REAL, LOGITS_FAKE, label_smoothing=label_smoothing)
    np.testing.assert_allclose(ours.numpy(), modified.numpy(), rtol=1e-6, atol=1e-6)


def test_non_saturating_generator_loss_matches_tfgan():
    reference = tfgan_losses().modified_generator_loss(LOGITS_FAKE)
    ours = tf.reduce_mean(losses.non_saturating_generator_loss(LOGITS_FAKE))
    np.testing.assert_allclose(ours.numpy(), reference.numpy(), rtol=1e-6, atol=1e-6)


def test_minimax_generator_loss_matches_tfgan_up_to_its_constant():
    # TF-GAN's version carries a constant dummy real term, -log(sigmoid(1)) = softplus(-1); gradients agree.
    reference = tfgan_losses().minimax_generator_loss(LOGITS_FAKE)
    ours = tf.reduce_mean(losses.minimax_generator_loss(LOGITS_FAKE))
    np.testing.assert_allclose(ours.numpy() - np.log1p(np.exp(-1.0)), reference.numpy(), rtol=1e-6, atol=1e-6)
    logits = tf.Variable(LOGITS_FAKE)
    with tf.GradientTape(persistent=True) as tape:
        ours = tf.reduce_mean(losses.minimax_generator_loss(logits))
        reference = tfgan_losses().minimax_generator_loss(logits)
    np.testing.assert_allclose(tape.gradient(ours, logits).numpy(), tape.gradient(reference, logits).numpy(),
                               rtol=1e-6, atol=1e-7)


def test_unknown_loss_name_is_a_clear_error():
    with pytest.raises(ValueError, match="unknown GAN loss 'wasserstein'"):
        losses.get("wasserstein")
