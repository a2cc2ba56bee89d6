"""Metrics against TF-GAN's `classifier_metrics` (float64, relative 1e-5), closed forms and streaming."""
import numpy as np
import pytest
import tensorflow as tf

from tests.reference import tfgan_classifier_metrics
from tfgan_impl import metrics


@pytest.fixture
def activations():
    rng = np.random.default_rng(0)
    mixing = rng.normal(size=(16, 16))
    real = rng.normal(size=(600, 16)) @ mixing
    fake = rng.normal(size=(500, 16)) @ (mixing * 0.8) + 0.5
    return real, fake


def test_frechet_distance_matches_tfgan(activations):
    real, fake = activations
    reference = tfgan_classifier_metrics().frechet_classifier_distance_from_activations(
        tf.constant(real), tf.constant(fake)).numpy()
    np.testing.assert_allclose(metrics.frechet_distance_from_activations(real, fake), reference, rtol=1e-5)


def test_frechet_distance_closed_form_and_zero_for_identical_sets(activations):
    real, _ = activations
    assert abs(metrics.frechet_distance_from_activations(real, real)) < 1e-6
    # Two Gaussians with covariances a^2 I and b^2 I in d dims: |m1 - m2|^2 + d (a - b)^2.
    assert metrics.frechet_distance(np.zeros(3), 4 * np.eye(3), np.ones(3), np.eye(3)) == pytest.approx(3 + 3 * 1.0)


def test_running_moments_equal_batch_moments(activations):
    real, _ = activations
    running = metrics.RunningMoments()
    for start in range(0, len(real), 97):
        running.update(real[start:start + 97])
    np.testing.assert_allclose(running.mean, real.mean(0), rtol=1e-10)
    np.testing.assert_allclose(running.covariance, np.cov(real, rowvar=False), rtol=1e-9, atol=1e-9)


@pytest.mark.parametrize("block_size", [1024, 100, 128])
def test_kernel_distance_matches_tfgan(activations, block_size):
    real, fake = activations
    reference_mean, reference_std = tfgan_classifier_metrics().kernel_classifier_distance_and_std_from_activations(
        tf.constant(real), tf.constant(fake), max_block_size=block_size)
    mean, standard_error = metrics.kernel_distance_from_activations(real, fake, max_block_size=block_size)
    np.testing.assert_allclose(mean, reference_mean.numpy(), rtol=1e-5)
    if block_size < len(real):
        np.testing.assert_allclose(standard_error, reference_std.numpy(), rtol=1e-5)
    else:
        assert np.isnan(standard_error) and np.isnan(reference_std.numpy())


def test_running_kernel_distance_equals_blocked_estimate(activations):
    real, fake = activations
    running = metrics.RunningKernelDistance(block_size=100)
    for start in range(0, 500, 64):
        running.update(real=real[start:start + 64], fake=fake[start:start + 64])
    assert len(running.estimates) == 5
    expected = metrics.kernel_distance_from_activations(real[:500], fake, max_block_size=100)
    np.testing.assert_allclose(running.result(), expected, rtol=1e-12)


def test_classifier_score_matches_tfgan_and_streams():
    logits = np.random.default_rng(1).normal(scale=3.0, size=(700, 10))
    reference = tfgan_classifier_metrics().classifier_score_from_logits(tf.constant(logits)).numpy()
    np.testing.assert_allclose(metrics.classifier_score_from_logits(logits), reference, rtol=1e-5)
    running = metrics.RunningClassifierScore()
    for start in range(0, 700, 123):
        running.update(logits[start:start + 123])
    np.testing.assert_allclose(running.result(), reference, rtol=1e-10)


def test_classifier_score_bounds():
    confident_uniform = np.eye(10)[np.arange(1000) % 10] * 50.0
    assert metrics.classifier_score_from_logits(confident_uniform) == pytest.approx(10.0, rel=1e-6)
    assert metrics.classifier_score_from_logits(np.tile(confident_uniform[:1], (100, 1))) == pytest.approx(1.0)


def test_parzen_matches_a_direct_gaussian_mixture():
    rng = np.random.default_rng(2)
    samples, data = rng.uniform(size=(50, 3)), rng.uniform(size=(7, 3))
    sigma = 0.3
    densities = np.exp(-((data[:, None] - samples[None]) ** 2).sum(-1) / (2 * sigma ** 2)).mean(1)
    expected = np.log(densities / (2 * np.pi * sigma ** 2) ** 1.5)
    np.testing.assert_allclose(metrics.parzen_log_likelihoods(data, samples, [sigma], batch_size=3)[0], expected,
                               rtol=1e-10)


def test_parzen_protocol_picks_the_best_sigma_and_reports_standard_error():
    rng = np.random.default_rng(3)
    centres = rng.uniform(size=(5, 4))
    draw = lambda n: centres[rng.integers(0, 5, n)] + rng.normal(scale=0.15, size=(n, 4))  # noqa: E731
    samples, validation, test = draw(2000), draw(300), draw(400)
    result = metrics.parzen_evaluation(samples, validation, test)
    grid = metrics.parzen.DEFAULT_SIGMAS
    validation_scores = metrics.parzen_log_likelihoods(validation, samples, grid).mean(1)
    assert result["sigma"] == pytest.approx(grid[np.argmax(validation_scores)])
    test_values = metrics.parzen_log_likelihoods(test, samples, [result["sigma"]])[0]
    assert result["log_likelihood"] == pytest.approx(test_values.mean())
    assert result["standard_error"] == pytest.approx(test_values.std() / np.sqrt(400))
    # Samples from the data's own distribution score far better than uniform noise does.
    noise = metrics.parzen_evaluation(rng.uniform(size=(2000, 4)), validation, test)
    assert result["log_likelihood"] > noise["log_likelihood"] + 1.0


def test_parzen_is_finite_far_from_every_sample():
    values = metrics.parzen_log_likelihoods(np.full((2, 784), 1.0), np.zeros((10, 784)), [0.1])
    assert np.all(np.isfinite(values)) and np.all(values < -1e4)


def test_precision_recall():
    rng = np.random.default_rng(4)
    real = rng.normal(size=(500, 5))
    same = metrics.precision_recall(real, rng.normal(size=(500, 5)))
    assert same["precision"] > 0.9 and same["recall"] > 0.9
    collapsed = metrics.precision_recall(real, rng.normal(scale=0.05, size=(500, 5)))
    assert collapsed["precision"] > 0.9 and collapsed["recall"] < 0.2  # good samples, little diversity
    far = metrics.precision_recall(real, rng.normal(size=(500, 5)) + 50.0)
    assert far == {"precision": 0.0, "recall": 0.0}


def test_memorization_flags_copied_training_examples():
    rng = np.random.default_rng(5)
    train, test = rng.uniform(size=(400, 20)), rng.uniform(size=(100, 20))
    copies = metrics.memorization(train[:100], train, test)
    assert copies["median_ratio"] < 0.01 and copies["fraction_closer_than_test_p1"] == 1.0
    fresh = metrics.memorization(rng.uniform(size=(100, 20)), train, test)
    assert 0.7 < fresh["median_ratio"] < 1.3


def test_mode_coverage_of_the_data_itself_collapse_and_noise():
    from tfgan_impl import data

    ring = data.load_source("ring8", split="test").images[:2500]
    full = metrics.mode_coverage(ring, "ring8")
    assert full["modes_covered"] == 8 and full["num_modes"] == 8
    assert full["high_quality_fraction"] > 0.98  # a 2-D Gaussian keeps 98.9% of its mass within 3 std
    assert full["mode_kl"] < 0.01
    centres, std = data.mixture_centres("ring8")
    collapsed = centres[[0, 3]][np.arange(2500) % 2] + np.random.default_rng(0).normal(scale=std, size=(2500, 2))
    two = metrics.mode_coverage(collapsed, "ring8")
    assert two["modes_covered"] == 2 and two["mode_kl"] == pytest.approx(np.log(4.0), abs=0.01)
    noise = metrics.mode_coverage(np.full((2500, 2), 10.0), "grid25")
    assert noise == {"high_quality_fraction": 0.0, "modes_covered": 0, "num_modes": 25, "mode_kl": float("inf")}
    grid = data.load_source("grid25").images[:2500]
    assert metrics.mode_coverage(grid, "grid25")["modes_covered"] == 25
