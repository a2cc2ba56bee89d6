"""The pieces of Goodfellow et al. 2014's own MNIST set-up (goodfeli/adversarial, mnist.yaml): the momentum
schedule, the simultaneous update of AdversaryCost2, the uniform prior; and a short MNIST run that learns."""
import csv
import os

import keras
import numpy as np
import pytest
import tensorflow as tf

from tests.conftest import MNIST_DIR, needs_mnist
from tfgan_impl import GAN, latent, metrics, networks, noise, optimizers, schedules, serving
from tfgan_impl import config as config_module


def test_momentum_ramp_follows_pylearn2s_momentum_adjustor_epoch_by_epoch():
    ramp = schedules.LinearRampByEpoch(initial=0.5, final=0.7, start=1, saturate=250, steps_per_epoch=500)
    # pylearn2's MomentumAdjustor counts monitor calls: 1 before epoch 1's updates, e after epoch e - 1's.
    expected = {1: 0.5, 2: 0.5 + 0.2 / 249, 126: 0.5 + 0.2 * 125 / 249, 250: 0.7, 251: 0.7, 1000: 0.7}
    for epoch, value in expected.items():
        for step in ((epoch - 1) * 500, epoch * 500 - 1):  # the first and last update of the epoch
            assert float(ramp(step)) == pytest.approx(value, abs=1e-6), (epoch, step)
    copy = schedules.LinearRampByEpoch.from_config(ramp.get_config())
    assert float(copy(600)) == pytest.approx(float(ramp(600)))
    with pytest.raises(ValueError, match="saturate"):
        schedules.LinearRampByEpoch(0.5, 0.7, start=10, saturate=5, steps_per_epoch=1)


def test_sgd_with_a_momentum_schedule_takes_the_scheduled_momentum_at_each_step():
    ramp = schedules.LinearRampByEpoch(initial=0.5, final=0.9, start=1, saturate=3, steps_per_epoch=2)
    optimizer = optimizers.SGD(learning_rate=0.1, momentum=ramp)
    weight = keras.Variable(np.zeros(1, np.float32))
    gradient = tf.constant([1.0])
    velocity, value = 0.0, 0.0
    for step in range(6):
        optimizer.apply_gradients([(gradient, weight)])
        momentum = [0.5, 0.5, 0.7, 0.7, 0.9, 0.9][step]  # epochs 1, 2, 3 of two steps each
        velocity = momentum * velocity - 0.1 * 1.0
        value += velocity
        assert float(weight.numpy()[0]) == pytest.approx(value, rel=1e-5), step
    restored = keras.optimizers.deserialize(keras.optimizers.serialize(optimizer))
    assert isinstance(restored, optimizers.SGD) and restored.momentum_schedule.get_config() == ramp.get_config()


def test_a_config_spells_the_momentum_schedule_as_keras_spells_learning_rate_schedules():
    spec = {"name": "sgd", "learning_rate": 0.1,
            "momentum": {"class_name": "tfgan_impl>LinearRampByEpoch",
                         "config": {"initial": 0.5, "final": 0.7, "start": 1, "saturate": 250, "steps_per_epoch": 500}}}
    optimizer = optimizers.make_optimizer(spec, "train.g_optimizer")
    assert isinstance(optimizer, optimizers.SGD) and float(optimizer.momentum_schedule(500 * 249)) == pytest.approx(0.7)
    assert type(optimizers.make_optimizer({"name": "sgd", "momentum": 0.5})) is keras.optimizers.SGD
    with pytest.raises(config_module.ConfigError, match="train.g_optimizer.momentum"):
        optimizers.make_optimizer({**spec, "momentum": {"class_name": "NoSuchRamp", "config": {}}},
                                     "train.g_optimizer")


def test_annealed_schedule_holds_the_inner_schedule_then_falls_exponentially_to_its_factor():
    inner = {"class_name": "ExponentialDecay",
             "config": {"initial_learning_rate": 0.1, "decay_steps": 1, "decay_rate": 0.999996000016}}
    spec = {"name": "sgd", "learning_rate": {"class_name": "tfgan_impl>Annealed",
                                             "config": {"schedule": inner, "start_step": 1000, "steps": 500,
                                                        "factor": 0.01}}}
    optimizer = optimizers.make_optimizer(spec, "train.g_optimizer")
    schedule = keras.optimizers.schedules.deserialize(spec["learning_rate"])
    assert float(optimizer.learning_rate) == pytest.approx(0.1)  # the optimizer's rate at step 0
    authors = lambda step: 0.1 / 1.000004 ** step  # noqa: E731  (pylearn2's ExponentialDecay)
    for step, multiplier in ((0, 1.0), (999, 1.0), (1000, 1.0), (1250, 0.1), (1500, 0.01), (9000, 0.01)):
        assert float(schedule(step)) == pytest.approx(authors(step) * multiplier, rel=1e-4), step  # float32 powers
    copy = keras.optimizers.schedules.deserialize(keras.optimizers.schedules.serialize(schedule))
    assert float(copy(1250)) == pytest.approx(float(schedule(1250)))
    assert float(schedules.Annealed(0.5, start_step=0, steps=2, factor=0.25)(1)) == pytest.approx(0.25)
    with pytest.raises(ValueError, match="factor"):
        schedules.Annealed(0.1, start_step=0, steps=1, factor=0.0)
    with pytest.raises(config_module.ConfigError, match="train.g_optimizer.learning_rate"):
        optimizers.make_optimizer({**spec, "learning_rate": {"class_name": "tfgan_impl>Annealed", "config": {
            "schedule": 0.1, "start_step": 0, "steps": 0, "factor": 0.5}}}, "train.g_optimizer")


def toy_gan(update, loss="non_saturating", seed=3):
    keras.utils.set_random_seed(seed)
    generator = networks.mlp_generator(3, [2], hidden_units=(8,), output_activation="linear")
    discriminator = networks.mlp_discriminator([2], hidden_units=(8,))
    gan = GAN(generator, discriminator, latent_dim=3, seed=seed, output_range=None)
    gan.compile(d_optimizer=keras.optimizers.SGD(0.05), g_optimizer=keras.optimizers.SGD(0.1), loss=loss,
                update=update)
    return gan


def test_simultaneous_update_is_one_gradient_step_of_both_costs_at_the_same_point():
    gan = toy_gan("simultaneous")
    real = tf.constant(np.random.default_rng(0).normal(size=(16, 2)), tf.float32)
    d_before = [w.numpy().copy() for w in gan.discriminator.trainable_weights]
    g_before = [w.numpy().copy() for w in gan.generator.trainable_weights]
    # The joint cost of goodfeli/adversarial's AdversaryCost2, from the same z and before either network moves.
    z = gan.sample_latent(16, gan.g_optimizer.iterations, "generator_latents")
    with tf.GradientTape(persistent=True) as tape:
        fake = gan.generator(z, training=True)
        real_logits, fake_logits = gan.discriminator(real, training=True), gan.discriminator(fake, training=True)
        d_cost = tf.reduce_mean(gan.discriminator_loss_fn(real_logits, fake_logits))
        g_cost = tf.reduce_mean(gan.generator_loss_fn(fake_logits))
    d_gradients = tape.gradient(d_cost, gan.discriminator.trainable_weights)
    g_gradients = tape.gradient(g_cost, gan.generator.trainable_weights)
    logs = gan.train_on_batch(real, return_dict=True)
    for before, gradient, after in zip(d_before, d_gradients, gan.discriminator.trainable_weights):
        np.testing.assert_allclose(after.numpy(), before - 0.05 * gradient.numpy(), rtol=1e-5, atol=1e-7)
    for before, gradient, after in zip(g_before, g_gradients, gan.generator.trainable_weights):
        np.testing.assert_allclose(after.numpy(), before - 0.1 * gradient.numpy(), rtol=1e-5, atol=1e-7)
    assert logs["d_loss"] == pytest.approx(float(d_cost), rel=1e-5)
    assert logs["g_loss"] == pytest.approx(float(g_cost), rel=1e-5)


def test_alternating_update_differs_from_simultaneous_by_the_discriminators_step():
    real = tf.constant(np.random.default_rng(0).normal(size=(16, 2)), tf.float32)
    simultaneous, alternating = toy_gan("simultaneous"), toy_gan("alternating")
    simultaneous.train_on_batch(real)
    alternating.train_on_batch(real)
    # Both step the discriminator from the same point on the same reals; the generators' steps differ, since
    # the alternating generator is judged by the updated discriminator (and draws its own z).
    moved = [np.abs(a.numpy() - b.numpy()).max() for a, b in zip(simultaneous.generator.trainable_weights,
                                                                  alternating.generator.trainable_weights)]
    assert max(moved) > 1e-6
    assert simultaneous.get_compile_config()["update"] == "simultaneous"
    assert "update" not in alternating.get_compile_config()  # 0.1.0's compile configs are unchanged
    with pytest.raises(ValueError, match="update: simultaneous"):
        toy_gan("simultaneous").compile(d_optimizer="sgd", g_optimizer="sgd", update="simultaneous", d_steps=2)
    with pytest.raises(ValueError, match="update: expected one of"):
        toy_gan("simultaneous").compile(d_optimizer="sgd", g_optimizer="sgd", update="sideways")


def test_uniform_prior_has_unit_variance_and_reaches_training_sampling_and_saving(tmp_path):
    z = noise.latent_vectors(20_000, 10, seed=1, distribution="uniform").numpy()
    bound = np.sqrt(3.0)
    assert z.min() >= -bound and z.max() <= bound
    assert abs(z.mean()) < 0.02 and abs(z.var() - 1.0) < 0.02
    # Uniform: each tenth of [-sqrt 3, sqrt 3] holds a tenth of the draws (a normal prior's centre would hold more).
    counts = np.histogram(z, bins=10, range=(-bound, bound))[0] / z.size
    np.testing.assert_allclose(counts, 0.1, atol=0.005)
    normal = noise.latent_vectors(20_000, 10, seed=1).numpy()
    assert np.abs(normal).max() > bound  # the default prior is still N(0, I)
    keras.utils.set_random_seed(0)
    gan = GAN(networks.mlp_generator(5, [2], hidden_units=(4,), output_activation="linear"),
              networks.mlp_discriminator([2], hidden_units=(4,)), latent_dim=5, seed=0, output_range=None,
              latent_distribution="uniform")
    training = gan.sample_latent(4096, tf.constant(7, tf.int64), "generator_latents").numpy()
    assert training.min() >= -bound and training.max() <= bound and abs(training.var() - 1.0) < 0.05
    assert np.abs(gan.latents(1000).numpy()).max() <= bound
    path = latent.interpolation_grid(5, 2, 4, spherical=False, ends=gan.latents(4).numpy())
    assert np.abs(path).max() <= bound and np.allclose(path[0], gan.latents(4).numpy()[0])
    exported = serving.GeneratorModule(gan, {})  # the `sample` signature of exports draws the same prior
    assert np.abs(exported._noise_from_seed(tf.constant(1000), tf.constant(3, tf.int64)).numpy()).max() <= bound
    gan.compile(d_optimizer="sgd", g_optimizer="sgd")
    gan.save(tmp_path / "uniform.keras")
    assert keras.saving.load_model(tmp_path / "uniform.keras").latent_distribution == "uniform"
    with pytest.raises(ValueError, match="latent_distribution"):
        GAN(gan.generator, gan.discriminator, latent_dim=5, latent_distribution="cauchy")


def test_the_shipped_config_is_the_authors_set_up():
    config = config_module.load(os.path.join(os.path.dirname(__file__), "..", "configs", "gan_mnist.yaml"))
    assert config.options.latent_distribution == "uniform" and config.options.update == "simultaneous"
    assert config.data.split == "train[:50000]" and config.data.batch_size == 100
    g_optimizer = optimizers.make_optimizer(config.train.g_optimizer)
    assert float(g_optimizer.momentum_schedule(0)) == pytest.approx(0.5)
    assert float(g_optimizer.momentum_schedule(500 * 249)) == pytest.approx(0.7)
    # The authors halve the discriminator's cost at learning rate 0.1: the same SGD step as 0.05 on the whole cost.
    assert float(g_optimizer.learning_rate) == pytest.approx(0.1)
    assert float(optimizers.make_optimizer(config.train.d_optimizer).learning_rate) == pytest.approx(0.05)


def mnist_classifier(images, labels):
    """A small MNIST classifier (one hidden layer of 256 ReLU units, 2 epochs of Adam: about 0.96 test accuracy in
    seconds) whose logits give the classifier score and whose hidden units the features of the Frechet distance."""
    keras.utils.set_random_seed(123)
    inputs = keras.Input((784,))
    features = keras.layers.Dense(256, activation="relu")(inputs)
    classifier = keras.Model(inputs, keras.layers.Dense(10)(features))
    classifier.compile("adam", keras.losses.SparseCategoricalCrossentropy(from_logits=True))
    classifier.fit(images.reshape(-1, 784), labels, epochs=2, batch_size=128, verbose=0)
    return classifier, keras.Model(inputs, features)


@pytest.mark.slow(minutes=4)
@needs_mnist
def test_the_authors_set_up_learns_mnist(tmp_path):
    """8 epochs of configs/gan_mnist.yaml on the real MNIST (about 3 minutes on 2 CPU cores), judged by a small
    MNIST classifier trained on the 50,000 training images: 5,000 samples move from the untrained generator's one
    blurred mean image (classifier score 1.0, every sample one class; FCD 118 from 5,000 test images) to digits of
    every class (score 4.9, FCD 32; 5,000 other test images: 9.0 and 11), and every epoch is healthy. Measured per
    epoch (2026-12-03, seed 0): FCD 160, 106, 71, 75, 61, 41, 30, 32, 28, 28; score 1.0, 2.2, 3.2, 3.2, 3.3, 4.5,
    4.8, 4.9, 4.9, 5.1. The paper's own figure, the Parzen log-likelihood, favours the mean image for the first
    25 epochs or so (bench/paper_table.py), too long for a test: that figure is the benchmark's."""
    from tfgan_impl import builder, data, families, training

    config = config_module.load(os.path.join(os.path.dirname(__file__), "..", "configs", "gan_mnist.yaml"),
                                overrides=[f"data.source=idx:{MNIST_DIR}", "train.epochs=8", "train.sample_every=8"])
    train = data.load_source(f"idx:{MNIST_DIR}", "train")
    classifier, features = mnist_classifier(data.to_unit_interval(train.images[:50_000]), train.labels[:50_000])
    test_images = data.to_unit_interval(data.load_source(f"idx:{MNIST_DIR}", "test").images).reshape(-1, 784)
    test_features = features.predict(test_images[:5000], batch_size=1000, verbose=0)

    def judged(model):
        samples = np.asarray(model.generate(5000, seed=1)).reshape(-1, 784)
        logits = classifier.predict(samples, batch_size=1000, verbose=0)
        fcd = metrics.frechet_distance_from_activations(features.predict(samples, batch_size=1000, verbose=0),
                                                        test_features)
        shares = np.bincount(logits.argmax(1), minlength=10) / len(logits)
        return metrics.classifier_score_from_logits(logits), float(fcd), shares

    keras.utils.set_random_seed(0)
    training_data = families.get("gan").training_data(config)
    score_before, fcd_before, _ = judged(builder.build_model(config, training_data.info, training_data.extras))
    model = training.train(config, str(tmp_path / "run"), verbose=0)
    score, fcd, shares = judged(model)
    with open(tmp_path / "run" / "metrics.csv") as stream:
        rows = list(csv.DictReader(stream))
    assert [float(row["healthy"]) for row in rows] == [1.0] * 8
    assert fcd < 0.5 * fcd_before, (fcd_before, fcd)
    assert score > 3.5 and score > 2.0 * score_before, (score_before, score)
    assert shares.min() > 0.01, shares  # every digit drawn: no class dropped
