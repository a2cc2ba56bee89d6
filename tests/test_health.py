"""Training health: a run whose discriminator wins outright or whose generator collapses says so the epoch it
happens (log line, metrics.csv), and stops with a clear message and exit code when the config asks."""
import csv

import keras
import numpy as np
import pytest
import tensorflow as tf

from tfgan_impl import GAN, callbacks, cli, networks


def points_gan(generator_scale=1.0, d_learning_rate=1e-3, seed=0):
    """A GAN on 2-D points whose generator never moves (learning rate 0): a linear map of z, `generator_scale`
    times an identity-like kernel (0: every z gives the same point)."""
    keras.utils.set_random_seed(seed)
    generator = keras.Sequential([keras.Input((2,)), keras.layers.Dense(
        2, kernel_initializer=keras.initializers.Identity(generator_scale), bias_initializer="zeros")])
    discriminator = networks.mlp_discriminator([2], hidden_units=(32, 32))
    gan = GAN(generator, discriminator, latent_dim=2, seed=seed, output_range=None)
    gan.compile(d_optimizer=keras.optimizers.Adam(d_learning_rate), g_optimizer=keras.optimizers.SGD(0.0))
    return gan


def real_points(centre=0.0, num=2048):
    return (np.random.default_rng(1).normal(size=(num, 2)) + centre).astype("float32")


def fit(gan, points, health, epochs=4):
    dataset = tf.data.Dataset.from_tensor_slices(points).batch(64, drop_remainder=True)
    return gan.fit(dataset, epochs=epochs, verbose=0, callbacks=[health])


def test_a_healthy_run_is_called_healthy_every_epoch(capsys):
    # Generator and data are the same distribution: D cannot win, samples are as diverse as the data.
    health = callbacks.TrainingHealth(real_points()[:64], action="stop")
    history = fit(points_gan(generator_scale=1.0), real_points(), health)
    assert history.history["healthy"] == [1.0] * 4
    assert all(0.7 < d < 1.3 for d in history.history["sample_diversity"])
    assert health.message is None and "unhealthy" not in capsys.readouterr().out


def test_a_collapsed_generator_is_reported_the_second_epoch_in_a_row_and_stops_training(capsys):
    # Every z gives the same point: diversity 0 from the first epoch; one epoch may be a young generator's.
    health = callbacks.TrainingHealth(real_points()[:64], action="stop")
    history = fit(points_gan(generator_scale=0.0), real_points(), health)
    assert history.history["sample_diversity"] == [0.0, 0.0]
    assert history.history["healthy"] == [1.0, 0.0]  # stopped after epoch 2 of 4
    assert health.message.startswith("epoch 2: unhealthy run: the generator collapsed")
    assert "tfgan-impl: warning: epoch 2: unhealthy run: the generator collapsed" in capsys.readouterr().out


def test_a_discriminator_that_wins_outright_is_reported_and_warn_only_warns(capsys):
    # The reals sit far from the generator's points, which never move: D's outputs on fakes fall to ~0.
    health = callbacks.TrainingHealth(real_points(centre=8.0)[:64], action="warn")
    history = fit(points_gan(generator_scale=1.0, d_learning_rate=1e-2), real_points(centre=8.0), health)
    assert len(history.history["healthy"]) == 4  # warn: training goes on
    assert history.history["d_fake"][-1] < 0.01 and history.history["healthy"][-1] == 0.0
    first = history.history["healthy"].index(0.0) + 1
    assert f"epoch {first}: unhealthy run: the discriminator won outright" in capsys.readouterr().out
    assert health.message is None


def test_diversity_is_the_trained_generators_not_its_lagging_moving_average():
    # The average starts as the initial generator (every z -> one point) and, at decay 0.99999, stays there while
    # the trained generator is moved to an identity map: the run is healthy, and its diversity is the data's.
    keras.utils.set_random_seed(0)
    generator = keras.Sequential([keras.Input((2,)), keras.layers.Dense(2, kernel_initializer="zeros")])
    gan = GAN(generator, networks.mlp_discriminator([2], hidden_units=(32, 32)), latent_dim=2, output_range=None,
              ema_decay=0.99999)
    gan.compile(d_optimizer=keras.optimizers.Adam(1e-3), g_optimizer=keras.optimizers.SGD(0.0))
    generator.layers[0].kernel.assign(np.eye(2, dtype="float32"))
    health = callbacks.TrainingHealth(real_points()[:64], action="stop")
    history = fit(gan, real_points(), health, epochs=3)
    assert history.history["healthy"] == [1.0] * 3
    assert all(0.7 < d < 1.3 for d in history.history["sample_diversity"])
    assert np.ptp(gan.generate(64), axis=0).max() < 0.05  # samples come from the average: still near one point


def test_losses_of_scores_are_not_judged_by_d_fake():
    gan = points_gan(generator_scale=1.0, d_learning_rate=1e-2)
    gan.compile(d_optimizer=keras.optimizers.Adam(1e-2), g_optimizer=keras.optimizers.SGD(0.0), loss="least_squares")
    assert not gan.d_fake_is_probability
    health = callbacks.TrainingHealth(real_points(centre=8.0)[:64], action="stop")
    history = fit(gan, real_points(centre=8.0), health, epochs=2)
    assert history.history["healthy"] == [1.0, 1.0]  # a least-squares D's score on fakes near 0 is its target


def test_the_cli_stops_an_unhealthy_run_with_exit_code_1_and_records_it(tmp_path, capsys):
    # The scripted failure: the generator cannot learn (learning rate 0) and the reals lie far from its points.
    np.savez(tmp_path / "far.npz", x=real_points(centre=20.0, num=4096))
    config = tmp_path / "doomed.yaml"
    config.write_text(f"""
model: {{latent_dim: 4, output_range: null, generator: {{name: mlp, hidden_units: [8], output_activation: linear}},
        discriminator: {{name: mlp, hidden_units: [32, 32]}}}}
data: {{source: "npz:{tmp_path / 'far.npz'}", batch_size: 64}}
train: {{epochs: 5, steps_per_epoch: 100, health: stop, jit_compile: false,
        d_optimizer: {{name: adam, learning_rate: 0.01}}, g_optimizer: {{name: sgd, learning_rate: 0.0}}}}
""")
    run_dir = str(tmp_path / "run")
    assert cli.main(["train", str(config), "--out", run_dir, "--verbose", "0"]) == 1
    captured = capsys.readouterr()
    message = [line for line in captured.err.splitlines() if line.startswith("tfgan-impl:")]
    assert len(message) == 1 and "unhealthy run: the discriminator won outright" in message[0]
    assert "train.health: stop" in message[0] and "Traceback" not in captured.err
    with open(f"{run_dir}/metrics.csv") as stream:
        rows = list(csv.DictReader(stream))
    assert len(rows) < 5 and float(rows[-1]["healthy"]) == 0.0 and float(rows[-1]["d_fake"]) < 0.01
    assert all(float(row["healthy"]) == 1.0 for row in rows[:-1])


def test_health_options_are_checked():
    with pytest.raises(ValueError, match="action"):
        callbacks.TrainingHealth(real_points()[:4], action="panic")
    with pytest.raises(ValueError, match="at least 2"):
        callbacks.TrainingHealth(real_points()[:1])
