"""The GAN model: Algorithm 1's schedule, metrics, saving, seeds, replica invariance and learning."""
import os
import subprocess
import sys

import keras
import numpy as np
import pytest
import tensorflow as tf

from tests.conftest import FASHION_MNIST_DIR
from tfgan_impl import GAN, networks
from tfgan_impl.gan import REAL_BATCHES_KEY, group_real_batches


def toy_gan(seed=0, d_steps=1, loss="non_saturating", optimizer=lambda: keras.optimizers.Adam(1e-3, beta_1=0.5),
            hidden=(32, 32)):
    keras.utils.set_random_seed(seed)
    generator = networks.mlp_generator(4, [2], hidden_units=hidden, output_activation="linear")
    discriminator = networks.mlp_discriminator([2], hidden_units=hidden)
    gan = GAN(generator, discriminator, latent_dim=4, seed=seed, output_range=None)
    gan.compile(d_optimizer=optimizer(), g_optimizer=optimizer(), loss=loss, d_steps=d_steps)
    return gan


def points_dataset(points, batch_size=128):
    return tf.data.Dataset.from_tensor_slices(points).batch(batch_size, drop_remainder=True)


def test_d_steps_schedule_counts_optimizer_iterations(gaussian_points):
    gan = toy_gan(d_steps=3)
    gan.fit(points_dataset(gaussian_points[:128 * 12]), epochs=2, verbose=0)
    # 12 batches per epoch grouped by 3: 4 generator updates per epoch, each after 3 discriminator updates.
    assert int(gan.d_optimizer.iterations) == 24
    assert int(gan.g_optimizer.iterations) == 8


def test_each_discriminator_update_gets_its_own_real_batch():
    batches = tf.data.Dataset.range(6).map(lambda i: tf.fill([4, 2], tf.cast(i, tf.float32)))
    grouped = list(group_real_batches(batches, 3).as_numpy_iterator())
    assert len(grouped) == 2
    stacked = grouped[0][REAL_BATCHES_KEY]
    assert stacked.shape == (4, 3, 2)  # batch axis first, so tf.distribute still splits the batch
    gan = toy_gan(d_steps=3)
    split = gan._real_batches({REAL_BATCHES_KEY: tf.constant(stacked)})
    assert [float(batch[0, 0]) for batch in split] == [0.0, 1.0, 2.0]


def test_labelled_batches_are_grouped_with_their_labels():
    batches = tf.data.Dataset.range(4).map(lambda i: (tf.fill([4, 2], tf.cast(i, tf.float32)), tf.fill([4], i)))
    stacked_images, stacked_labels = next(iter(group_real_batches(batches, 2)))[REAL_BATCHES_KEY]
    assert stacked_images.shape == (4, 2, 2) and stacked_labels.shape == (4, 2)
    assert stacked_labels.numpy()[0].tolist() == [0, 1]


def test_fit_reports_metrics_and_updates_both_networks(gaussian_points):
    gan = toy_gan()
    before_g = [w.numpy().copy() for w in gan.generator.trainable_weights]
    before_d = [w.numpy().copy() for w in gan.discriminator.trainable_weights]
    history = gan.fit(points_dataset(gaussian_points), epochs=1, verbose=0)
    assert set(history.history) == {"d_loss", "g_loss", "d_real", "d_fake"}
    for name in ("d_loss", "g_loss"):
        assert np.isfinite(history.history[name][0])
    assert 0.0 < history.history["d_real"][0] < 1.0 and 0.0 < history.history["d_fake"][0] < 1.0
    assert any(not np.allclose(a, b.numpy()) for a, b in zip(before_g, gan.generator.trainable_weights))
    assert any(not np.allclose(a, b.numpy()) for a, b in zip(before_d, gan.discriminator.trainable_weights))


def test_minimax_loss_trains(gaussian_points):
    gan = toy_gan(loss="minimax")
    history = gan.fit(points_dataset(gaussian_points), epochs=1, verbose=0)
    assert history.history["g_loss"][0] < 0  # log(1 - D(G(z))) is negative
    assert int(gan.g_optimizer.iterations) == 32


def test_evaluate_reports_metrics_without_updates(gaussian_points):
    gan = toy_gan()
    gan.fit(points_dataset(gaussian_points), epochs=1, verbose=0)
    weights = [w.numpy().copy() for w in gan.weights]
    results = gan.evaluate(points_dataset(gaussian_points[:512]), verbose=0, return_dict=True)
    assert set(results) == {"d_loss", "g_loss", "d_real", "d_fake"}
    assert all(np.array_equal(a, b.numpy()) for a, b in zip(weights, gan.weights))


def test_same_seed_gives_same_weights(gaussian_points):
    def train(seed):
        gan = toy_gan(seed=seed)
        gan.fit(points_dataset(gaussian_points[:2048]), epochs=2, verbose=0)
        return [w.numpy() for w in gan.weights]

    first, second, other = train(7), train(7), train(8)
    assert all(np.array_equal(a, b) for a, b in zip(first, second))
    assert not all(np.array_equal(a, b) for a, b in zip(first, other))


def test_keras_file_round_trip_of_compiled_paper_gan(tmp_path):
    keras.utils.set_random_seed(0)
    generator = networks.mlp_generator(16, [4, 4, 1], hidden_units=(32,), output_activation="sigmoid")
    discriminator = networks.maxout_discriminator([4, 4, 1], hidden_units=(8,), num_pieces=3)
    gan = GAN(generator, discriminator, latent_dim=16, seed=3, output_range=(0.0, 1.0))
    gan.compile(d_optimizer=keras.optimizers.SGD(0.1, momentum=0.5), g_optimizer=keras.optimizers.Adam(1e-3),
                loss="minimax", d_steps=2)
    images = tf.random.stateless_uniform([256, 4, 4, 1], seed=[0, 1])
    gan.fit(tf.data.Dataset.from_tensor_slices(images).batch(32), epochs=1, verbose=0)
    path = str(tmp_path / "gan.keras")
    gan.save(path)
    loaded = keras.models.load_model(path, safe_mode=True)
    assert isinstance(loaded, GAN)
    assert (loaded.latent_dim, loaded.seed, loaded.output_range) == (16, 3, (0.0, 1.0))
    assert (loaded.loss_name, loaded.d_steps) == ("minimax", 2)
    assert isinstance(loaded.d_optimizer, keras.optimizers.SGD) and isinstance(loaded.g_optimizer, keras.optimizers.Adam)
    assert int(loaded.d_optimizer.iterations) == int(gan.d_optimizer.iterations) == 8
    np.testing.assert_allclose(loaded.generate(8, seed=1), gan.generate(8, seed=1), atol=1e-6)
    z = tf.random.stateless_normal([8, 16], seed=[2, 2])
    np.testing.assert_allclose(loaded.discriminator(gan.generator(z)), gan.discriminator(gan.generator(z)), atol=1e-6)


def test_generate_maps_to_unit_interval_and_is_seeded():
    keras.utils.set_random_seed(0)
    generator = networks.dcgan_generator(8, [8, 8, 1], base_filters=4)
    gan = GAN(generator, networks.dcgan_discriminator([8, 8, 1], base_filters=4), latent_dim=8)
    samples = gan.generate(5, seed=4)
    assert samples.shape == (5, 8, 8, 1) and samples.dtype == np.float32
    assert samples.min() >= 0.0 and samples.max() <= 1.0
    np.testing.assert_array_equal(samples, gan.generate(5, seed=4))
    assert not np.array_equal(samples, gan.generate(5, seed=5))


def test_truncation_scales_z_toward_the_prior_mean_for_sampling_and_scoring(tmp_path):
    """`truncated(z, psi)` is the sampling generator of psi z (1: the plain samples, 0: one image); `sample
    --truncation` and `evaluate --truncation` draw from it with the same latent vectors as without."""
    from tfgan_impl import evaluation, sampling
    from tfgan_impl.errors import UserError

    keras.utils.set_random_seed(0)
    generator = networks.mlp_generator(8, [6, 6, 1], hidden_units=(16,), output_activation="sigmoid")
    gan = GAN(generator, networks.mlp_discriminator([6, 6, 1], hidden_units=(16,)), latent_dim=8,
              output_range=(0.0, 1.0), latent_distribution="uniform")
    z = gan.latents(5, seed=3)
    np.testing.assert_allclose(gan.truncated(z, 1.0).numpy(), gan.generate_from(z), atol=1e-6)
    np.testing.assert_allclose(gan.truncated(z, 0.5).numpy(), generator(0.5 * z).numpy(), atol=1e-6)
    at_zero = gan.truncated(z, 0.0).numpy()
    np.testing.assert_allclose(at_zero, np.repeat(generator(np.zeros((1, 8), "float32")).numpy(), 5, 0), atol=1e-6)
    assert np.abs(gan.truncated(z, 0.5).numpy() - gan.generate_from(z)).max() > 1e-3
    plain = np.concatenate(list(evaluation.generator_chunks(gan, 2500, seed=1)))
    same = np.concatenate(list(evaluation.generator_chunks(gan, 2500, seed=1, truncation=1.0)))
    np.testing.assert_allclose(same, plain, atol=1e-6)
    shrunk = np.concatenate(list(evaluation.generator_chunks(gan, 2500, seed=1, truncation=0.5)))
    assert shrunk.shape == plain.shape and shrunk.std(axis=0).mean() < 0.8 * plain.std(axis=0).mean()
    assert sampling.write_samples(gan, 4, 3, str(tmp_path / "half.npy"), truncation=0.5) == 4
    np.testing.assert_allclose(np.load(tmp_path / "half.npy"), generator(0.5 * gan.latents(4, seed=3)).numpy(),
                               atol=1e-6)
    with pytest.raises(UserError, match=r"--truncation -0.5: truncation: expected psi >= 0"):
        sampling.write_samples(gan, 4, 3, str(tmp_path / "bad.npy"), truncation=-0.5)
    assert not os.path.exists(tmp_path / "bad.npy")


def test_replica_count_invariance_with_mirrored_strategy(gaussian_points):
    """One and two replicas take the same SGD steps on the same global batch (no batch norm or dropout, whose
    per-replica statistics and masks legitimately differ)."""
    def train(strategy):
        with strategy.scope():
            gan = toy_gan(seed=5, optimizer=lambda: keras.optimizers.SGD(0.05), hidden=(16,))
        gan.fit(points_dataset(gaussian_points[:1024], batch_size=64), epochs=1, verbose=0)
        return [w.numpy() for w in gan.weights]

    single = train(tf.distribute.get_strategy())
    mirrored = train(tf.distribute.MirroredStrategy(["/cpu:0", "/cpu:1"]))
    for a, b in zip(single, mirrored):
        np.testing.assert_allclose(a, b, rtol=1e-4, atol=1e-5)


def test_replicas_draw_different_noise():
    gan = toy_gan()
    strategy = tf.distribute.MirroredStrategy(["/cpu:0", "/cpu:1"])
    per_replica = strategy.run(tf.function(lambda: gan.sample_latent(4, tf.constant(0, tf.int64), "discriminator_latents")))
    first, second = [t.numpy() for t in strategy.experimental_local_results(per_replica)]
    assert not np.allclose(first, second)
    # One replica drawing the whole global batch gets exactly the two replicas' slices, in order.
    whole = gan.sample_latent(8, tf.constant(0, tf.int64), "discriminator_latents").numpy()
    np.testing.assert_array_equal(whole, np.concatenate([first, second]))


@pytest.mark.slow
def test_generator_learns_a_2d_gaussian():
    points = np.random.default_rng(0).normal([3.0, -1.0], 0.5, size=(4096, 2)).astype("float32")
    data_mean, data_std = points.mean(0), points.std(0)
    # Adam without momentum and a learning rate decaying to ~0 damp the oscillation of GAN dynamics.
    gan = toy_gan(seed=1, optimizer=lambda: keras.optimizers.Adam(
        keras.optimizers.schedules.PolynomialDecay(2e-3, 2000, 2e-5), beta_1=0.0))

    def errors(samples):
        return (np.max(np.abs(samples.mean(0) - data_mean) / data_std),
                np.max(np.abs(np.log(samples.std(0) / data_std))))

    untrained_mean_error, _ = errors(gan.generate(2000))
    gan.fit(points_dataset(points, 256).repeat(), steps_per_epoch=2000, epochs=1, verbose=0)
    mean_error, log_std_ratio = errors(gan.generate(2000))
    # Untrained samples sit near the origin, several data standard deviations from the data's mean.
    assert untrained_mean_error > 3.0, untrained_mean_error
    # Trained: the mean within a quarter of a data standard deviation, the spread within a factor of 1.4.
    assert mean_error < 0.25, mean_error
    assert log_std_ratio < np.log(1.4), np.exp(log_std_ratio)


@pytest.mark.slow
@pytest.mark.skipif(not os.path.isdir(FASHION_MNIST_DIR), reason="apt-get install dataset-fashion-mnist")
def test_dcgan_samples_move_toward_fashion_mnist():
    from tfgan_impl import data

    dataset = data.make_dataset("fashion_mnist", batch_size=64, seed=0)
    real = data.to_unit_interval(data.load_source("fashion_mnist", split="test").images[:2000])
    keras.utils.set_random_seed(0)
    gan = GAN(networks.dcgan_generator(32, [28, 28, 1], base_filters=16),
              networks.dcgan_discriminator([28, 28, 1], base_filters=16), latent_dim=32, seed=0)
    gan.compile(d_optimizer=keras.optimizers.Adam(2e-4, 0.5), g_optimizer=keras.optimizers.Adam(2e-4, 0.5))

    def distance(samples):
        # Distance of the mean image and of the per-pixel spread from the data's (RMS over pixels).
        mean_gap = np.sqrt(np.mean((samples.mean(0) - real.mean(0)) ** 2))
        spread_gap = np.sqrt(np.mean((samples.std(0) - real.std(0)) ** 2))
        return mean_gap, spread_gap

    untrained = distance(gan.generate(1000, seed=1))
    gan.fit(dataset, steps_per_epoch=500, epochs=1, verbose=0)
    trained = distance(gan.generate(1000, seed=1))
    # Untrained outputs are a flat grey (both gaps ~0.29); after 500 steps they have the data's silhouette
    # and contrast (both gaps ~0.04 when this test was written).
    assert trained[0] < 0.25 * untrained[0], (trained, untrained)
    assert trained[1] < 0.25 * untrained[1], (trained, untrained)
    assert trained[0] < 0.08 and trained[1] < 0.08, trained


def test_train_step_traces_once_per_input_shape(gaussian_points):
    traces = []

    class CountingGAN(GAN):
        def train_step(self, data):
            traces.append(1)  # Python runs only while tracing
            return super().train_step(data)

    keras.utils.set_random_seed(0)
    gan = CountingGAN(networks.mlp_generator(4, [2], hidden_units=(8,), output_activation="linear"),
                      networks.mlp_discriminator([2], hidden_units=(8,)), latent_dim=4, output_range=None)
    gan.compile(d_optimizer=keras.optimizers.Adam(1e-3), g_optimizer=keras.optimizers.Adam(1e-3))
    gan.fit(points_dataset(gaussian_points), epochs=3, verbose=0)
    assert len(traces) == 1


XLA_CHILD = """
import sys
import keras, numpy as np, tensorflow as tf
from tests.test_variants import conditional_gan
from tfgan_impl.conditional import ConditionalGAN
gan = conditional_gan(ConditionalGAN)
gan.compile(d_optimizer=keras.optimizers.Adam(1e-3), g_optimizer=keras.optimizers.Adam(1e-3), jit_compile=True)
rng = np.random.default_rng(0)
points, labels = rng.normal(size=(128, 2)).astype("float32"), rng.integers(0, 4, 128).astype("int32")
gan.fit(tf.data.Dataset.from_tensor_slices((points, labels)).batch(32), epochs=2, verbose=0)
assert int(gan.g_optimizer.iterations.numpy()) == 8
"""


def test_whole_step_xla_compiles_the_step_once_for_all_steps(tmp_path):
    """The adversarial step under `jit_compile=True` is one XLA program, compiled once: the batch and the weights are
    its arguments, not compile-time constants (a conditional GAN with Adam recompiled at every step, 3 s each, while
    its phases were nested functions). Counted from XLA's dumps, in a fresh process (XLA_FLAGS is read at start)."""
    env = dict(os.environ, XLA_FLAGS=f"--xla_dump_to={tmp_path}", TF_CPP_MIN_LOG_LEVEL="2")
    root = os.path.join(os.path.dirname(__file__), "..")
    result = subprocess.run([sys.executable, "-c", XLA_CHILD], cwd=root, env=env, capture_output=True, text=True,
                            timeout=300)
    assert result.returncode == 0, result.stderr[-2000:]
    steps = {name.split(".")[0] for name in os.listdir(tmp_path) if "one_step_on_data" in name}
    assert len(steps) == 1, sorted(steps)
