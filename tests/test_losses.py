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
    with pytest.raises(ValueError, match="unknown GAN loss 'wasserstain'"):
        losses.get("wasserstain")


def test_least_squares_losses_match_tfgan():
    reference = tfgan_losses()
    np.testing.assert_allclose(
        tf.reduce_mean(losses.least_squares_discriminator_loss(LOGITS_REAL, LOGITS_FAKE)).numpy(),
        reference.least_squares_discriminator_loss(LOGITS_REAL, LOGITS_FAKE).numpy(), rtol=1e-6, atol=1e-6)
    np.testing.assert_allclose(tf.reduce_mean(losses.least_squares_generator_loss(LOGITS_FAKE)).numpy(),
                               reference.least_squares_generator_loss(LOGITS_FAKE).numpy(), rtol=1e-6, atol=1e-6)


def test_wasserstein_losses_match_tfgan():
    reference = tfgan_losses()
    np.testing.assert_allclose(tf.reduce_mean(losses.wasserstein_discriminator_loss(LOGITS_REAL, LOGITS_FAKE)).numpy(),
                               reference.wasserstein_discriminator_loss(LOGITS_REAL, LOGITS_FAKE).numpy(),
                               rtol=1e-6, atol=1e-6)
    np.testing.assert_allclose(tf.reduce_mean(losses.wasserstein_generator_loss(LOGITS_FAKE)).numpy(),
                               reference.wasserstein_generator_loss(LOGITS_FAKE).numpy(), rtol=1e-6, atol=1e-6)


def test_hinge_loss_matches_tfgan_and_its_closed_form():
    reference = tfgan_losses().wasserstein_hinge_discriminator_loss(LOGITS_REAL, LOGITS_FAKE)
    ours = losses.hinge_discriminator_loss(LOGITS_REAL, LOGITS_FAKE)
    np.testing.assert_allclose(tf.reduce_mean(ours).numpy(), reference.numpy(), rtol=1e-6, atol=1e-6)
    expected = np.maximum(0, 1 - LOGITS_REAL) + np.maximum(0, 1 + LOGITS_FAKE)
    np.testing.assert_allclose(ours.numpy(), expected[:, 0], rtol=1e-6)
    assert losses.get("hinge").generator is losses.wasserstein_generator_loss


@pytest.mark.parametrize("label_smoothing", [0.0, 0.2])
def test_auxiliary_classifier_loss_matches_tfgan(label_smoothing):
    rng = np.random.default_rng(3)
    real_class_logits = rng.normal(size=(6, 4)).astype("float32") * 3
    fake_class_logits = rng.normal(size=(6, 4)).astype("float32") * 3
    labels = np.array([0, 1, 2, 3, 1, 0])
    one_hot = np.eye(4, dtype="float32")[labels]
    reference = tfgan_losses()
    expected = reference.acgan_discriminator_loss(real_class_logits, fake_class_logits, one_hot,
                                                  label_smoothing=label_smoothing)
    ours = (losses.auxiliary_classifier_loss(real_class_logits, labels, label_smoothing)
            + losses.auxiliary_classifier_loss(fake_class_logits, labels))
    np.testing.assert_allclose(tf.reduce_mean(ours).numpy(), expected.numpy(), rtol=1e-6, atol=1e-6)
    np.testing.assert_allclose(tf.reduce_mean(losses.auxiliary_classifier_loss(fake_class_logits, labels)).numpy(),
                               reference.acgan_generator_loss(fake_class_logits, one_hot).numpy(), rtol=1e-6,
                               atol=1e-6)


def test_every_registered_loss_is_finite_and_pushes_the_right_way():
    # Inside every loss's margins (LSGAN's targets 0 and 1, the hinge's -1 and 1), each discriminator loss falls
    # when real outputs rise and fake outputs fall, and each generator loss falls when fake outputs rise.
    for name, pair in losses.LOSSES.items():
        real = tf.Variable([[-0.8], [-0.3], [0.0], [0.5], [0.9]])
        fake = tf.Variable([[0.05], [0.2], [0.5], [0.8], [0.6]])
        with tf.GradientTape(persistent=True) as tape:
            d_loss = tf.reduce_mean(pair.discriminator(real, fake))
            g_loss = tf.reduce_mean(pair.generator(fake))
        assert np.isfinite(d_loss.numpy()) and np.isfinite(g_loss.numpy()), name
        assert np.all(tape.gradient(d_loss, real).numpy() <= 0), name
        assert np.all(tape.gradient(d_loss, fake).numpy() >= 0), name
        assert np.all(tape.gradient(g_loss, fake).numpy() <= 0), name
        assert np.any(tape.gradient(g_loss, fake).numpy() < 0), name


def test_relativistic_average_losses_match_their_closed_forms():
    real, fake = LOGITS_REAL[:, 0].astype(np.float64), LOGITS_FAKE[:, 0].astype(np.float64)

    def log_sigmoid(x):
        return -np.logaddexp(0.0, -x)

    # ESRGAN eq. 1 and 2 with D_Ra(a, b) = sigmoid(C(a) - E[C(b)]); 1 - sigmoid(t) = sigmoid(-t).
    d_expected = -np.mean(log_sigmoid(real - fake.mean())) - np.mean(log_sigmoid(-(fake - real.mean())))
    g_expected = -np.mean(log_sigmoid(-(real - fake.mean()))) - np.mean(log_sigmoid(fake - real.mean()))
    d_loss = losses.relativistic_average_discriminator_loss(LOGITS_REAL, LOGITS_FAKE)
    g_loss = losses.relativistic_average_generator_loss(LOGITS_REAL, LOGITS_FAKE)
    assert d_loss.shape == g_loss.shape == [6] and np.all(np.isfinite(d_loss)) and np.all(np.isfinite(g_loss))
    # Given expectations (the global batch's, under tf.distribute) take the place of the batch's means.
    given = {"real_mean": 0.3, "fake_mean": -0.2}
    np.testing.assert_allclose(
        tf.reduce_mean(losses.relativistic_average_discriminator_loss(LOGITS_REAL, LOGITS_FAKE, **given)).numpy(),
        -np.mean(log_sigmoid(real + 0.2)) - np.mean(log_sigmoid(-(fake - 0.3))), rtol=1e-6)
    np.testing.assert_allclose(
        tf.reduce_mean(losses.relativistic_average_generator_loss(LOGITS_REAL, LOGITS_FAKE, **given)).numpy(),
        -np.mean(log_sigmoid(-(real + 0.2))) - np.mean(log_sigmoid(fake - 0.3)), rtol=1e-6)
    np.testing.assert_allclose(tf.reduce_mean(d_loss).numpy(), d_expected, rtol=1e-6)
    np.testing.assert_allclose(tf.reduce_mean(g_loss).numpy(), g_expected, rtol=1e-6)
    # Only differences of outputs count: shifting every output leaves both losses, unlike the standard GAN's.
    shifted = losses.relativistic_average_discriminator_loss(LOGITS_REAL + 7.0, LOGITS_FAKE + 7.0)
    np.testing.assert_allclose(shifted.numpy(), d_loss.numpy(), rtol=1e-5)
    assert abs(float(tf.reduce_mean(losses.minimax_discriminator_loss(LOGITS_REAL + 7.0, LOGITS_FAKE + 7.0))) -
               float(tf.reduce_mean(losses.minimax_discriminator_loss(LOGITS_REAL, LOGITS_FAKE)))) > 1.0
    # The discriminator pushes reals up and fakes down; the generator both the other way.
    real_v, fake_v = tf.Variable([[-0.8], [0.0], [0.9]]), tf.Variable([[0.05], [0.5], [0.6]])
    with tf.GradientTape(persistent=True) as tape:
        d = tf.reduce_mean(losses.relativistic_average_discriminator_loss(real_v, fake_v))
        g = tf.reduce_mean(losses.relativistic_average_generator_loss(real_v, fake_v))
    assert np.all(tape.gradient(d, real_v).numpy() < 0) and np.all(tape.gradient(d, fake_v).numpy() > 0)
    assert np.all(tape.gradient(g, real_v).numpy() > 0) and np.all(tape.gradient(g, fake_v).numpy() < 0)
