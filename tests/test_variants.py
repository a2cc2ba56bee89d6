"""The GAN family: every loss, penalty, constraint and remedy trains (both networks change, losses stay finite);
conditional models follow their labels; the regularizers do what their papers say."""
import os

import keras
import numpy as np
import pytest
import tensorflow as tf

from tfgan_impl import ACGAN, GAN, ConditionalGAN, data, networks
from tfgan_impl.gan import pack, packed_shape
from tfgan_impl.semi_supervised import SemiSupervisedGAN, labelled_subset, make_semi_supervised_dataset


def mixture_points(num=1024, seed=0):
    """Points of 4 labelled Gaussians at (+-2, +-2), std 0.1."""
    rng = np.random.default_rng(seed)
    centres = np.array([[2, 2], [-2, 2], [-2, -2], [2, -2]], np.float32)
    labels = rng.integers(0, 4, num)
    return (centres[labels] + rng.normal(scale=0.1, size=(num, 2))).astype("float32"), labels.astype("int32"), centres


def adam(rate=1e-3):
    return keras.optimizers.Adam(rate, beta_1=0.5)


def weights_of(model):
    return [w.numpy().copy() for w in model.trainable_weights]


def assert_trains(gan, dataset, steps=4):
    """A few steps run, change both networks' weights and keep every reported loss finite."""
    before_g, before_d = weights_of(gan.generator), weights_of(gan.discriminator)
    history = gan.fit(dataset, epochs=1, steps_per_epoch=steps, verbose=0)
    for name, values in history.history.items():
        assert np.all(np.isfinite(values)), (name, values)
    assert any(not np.allclose(a, b) for a, b in zip(before_g, weights_of(gan.generator))), "generator unchanged"
    assert any(not np.allclose(a, b) for a, b in zip(before_d, weights_of(gan.discriminator))), "discriminator unchanged"
    return history


def point_gan(packing=1, **discriminator_options):
    keras.utils.set_random_seed(0)
    generator = networks.mlp_generator(4, [2], hidden_units=(16,), output_activation="linear")
    discriminator = networks.mlp_discriminator(packed_shape([2], packing), hidden_units=(16,), **discriminator_options)
    return GAN(generator, discriminator, latent_dim=4, seed=0, output_range=None, packing=packing)


def points_dataset(batch_size=32):
    points, _, _ = mixture_points()
    return tf.data.Dataset.from_tensor_slices(points).repeat().batch(batch_size, drop_remainder=True)


@pytest.mark.parametrize("loss", ["minimax", "non_saturating", "least_squares", "wasserstein", "hinge"])
def test_every_loss_trains(loss):
    gan = point_gan()
    gan.compile(d_optimizer=adam(), g_optimizer=adam(), loss=loss)
    assert_trains(gan, points_dataset())


@pytest.mark.parametrize("penalty", ["gradient_penalty", "r1"])
def test_penalties_train_and_are_reported(penalty):
    gan = point_gan()
    gan.compile(d_optimizer=adam(), g_optimizer=adam(), loss="wasserstein", penalties={penalty: 10.0}, d_steps=2)
    history = assert_trains(gan, points_dataset())
    assert history.history["d_penalty"][0] > 0


def test_gradient_penalty_pulls_critic_gradients_toward_norm_one():
    # Train only the critic, with a large penalty and no adversarial signal to fight it: the gradient norm at
    # random points must approach 1.
    gan = point_gan()
    gan.compile(d_optimizer=adam(1e-2), g_optimizer=keras.optimizers.SGD(0.0), loss="wasserstein",
                penalties={"gradient_penalty": 100.0})
    gan.fit(points_dataset(), epochs=1, steps_per_epoch=150, verbose=0)
    probe = tf.constant(np.random.default_rng(1).normal(scale=2.0, size=(256, 2)).astype("float32"))
    with tf.GradientTape() as tape:
        tape.watch(probe)
        total = tf.reduce_sum(gan.discriminator(probe))
    norms = np.linalg.norm(tape.gradient(total, probe).numpy(), axis=1)
    assert abs(np.median(norms) - 1.0) < 0.15, np.median(norms)


def test_weight_clipping_keeps_every_critic_weight_in_bounds():
    gan = point_gan(weight_clip=0.01)
    gan.compile(d_optimizer=keras.optimizers.RMSprop(5e-2), g_optimizer=adam(), loss="wasserstein", d_steps=5)
    assert_trains(gan, points_dataset())
    for weight in gan.discriminator.trainable_weights:
        assert np.max(np.abs(weight.numpy())) <= 0.01 + 1e-7, weight.path


def test_spectral_norm_keeps_the_largest_singular_value_near_one():
    gan = point_gan(spectral_norm=True)
    gan.compile(d_optimizer=adam(1e-2), g_optimizer=adam(), loss="hinge")
    assert_trains(gan, points_dataset(), steps=20)
    kernels = [w.numpy() for w in gan.discriminator.trainable_weights if w.name == "kernel"]
    assert kernels
    for kernel in kernels:
        assert np.linalg.svd(kernel.reshape(-1, kernel.shape[-1]), compute_uv=False)[0] < 1.1


def test_minibatch_stddev_appends_the_group_average_standard_deviation():
    inputs = np.random.default_rng(0).normal(size=(8, 3)).astype("float32")
    output = networks.MinibatchStdDev(group_size=4)(inputs).numpy()
    assert output.shape == (8, 4)
    np.testing.assert_array_equal(output[:, :3], inputs)
    for row in range(8):  # row i is in the group of the rows with the same i % 2 (8 rows in groups of 4)
        group = inputs[row % 2::2]
        np.testing.assert_allclose(output[row, 3], np.sqrt(group.var(axis=0) + 1e-8).mean(), rtol=1e-5)
    images = networks.MinibatchStdDev(group_size=2)(np.ones((4, 5, 5, 2), np.float32)).numpy()
    assert images.shape == (4, 5, 5, 3) and np.allclose(images[..., 2], 1e-4)
    gan = point_gan(minibatch_std=True)
    gan.compile(d_optimizer=adam(), g_optimizer=adam())
    assert_trains(gan, points_dataset())


def test_packing_groups_samples_side_by_side():
    points = tf.reshape(tf.range(12.0), [6, 2])
    np.testing.assert_array_equal(pack(points, 3).numpy(), [[0, 1, 2, 3, 4, 5], [6, 7, 8, 9, 10, 11]])
    images = tf.reshape(tf.range(4 * 2 * 2 * 1, dtype=tf.float32), [4, 2, 2, 1])
    packed = pack(images, 2).numpy()
    assert packed.shape == (2, 2, 2, 2) and packed_shape([2, 2, 1], 2) == [2, 2, 2]
    np.testing.assert_array_equal(packed[1, ..., 0], images.numpy()[2, ..., 0])
    np.testing.assert_array_equal(packed[1, ..., 1], images.numpy()[3, ..., 0])
    gan = point_gan(packing=4)
    gan.compile(d_optimizer=adam(), g_optimizer=adam())
    assert_trains(gan, points_dataset())
    with pytest.raises(tf.errors.InvalidArgumentError, match="needs a batch size divisible by 4"):
        gan.fit(points_dataset(batch_size=30), epochs=1, steps_per_epoch=1, verbose=0)
    with pytest.raises(ValueError, match="divisible by 4 on every replica, got a batch of 30"):
        pack(tf.zeros([30, 2]), 4)


def test_moving_average_generator_follows_the_formula_samples_and_is_saved(tmp_path):
    gan = point_gan()
    gan_ema = GAN(gan.generator, gan.discriminator, latent_dim=4, seed=0, output_range=None, ema_decay=0.9)
    initial = weights_of(gan_ema.generator)
    gan_ema.compile(d_optimizer=adam(), g_optimizer=adam())
    gan_ema.fit(points_dataset(), epochs=1, steps_per_epoch=1, verbose=0)
    for start, now, average in zip(initial, weights_of(gan_ema.generator), gan_ema.ema_generator.get_weights()):
        np.testing.assert_allclose(average, 0.9 * start + 0.1 * now, rtol=1e-5, atol=1e-7)
    z = gan_ema.latents(5)
    np.testing.assert_allclose(gan_ema.generate_from(z), gan_ema.ema_generator(z).numpy())
    assert not np.allclose(gan_ema.generate_from(z), gan_ema.generator(z).numpy())
    path = str(tmp_path / "ema.weights.h5")
    gan_ema.save_weights(path)
    fresh = point_gan()
    fresh = GAN(fresh.generator, fresh.discriminator, latent_dim=4, seed=0, output_range=None, ema_decay=0.9)
    fresh.load_weights(path)
    for saved, restored in zip(gan_ema.ema_generator.get_weights(), fresh.ema_generator.get_weights()):
        np.testing.assert_array_equal(saved, restored)


def test_moving_average_under_mirrored_strategy():
    strategy = tf.distribute.MirroredStrategy(["/cpu:0", "/cpu:1"])
    with strategy.scope():
        gan = point_gan()
        gan = GAN(gan.generator, gan.discriminator, latent_dim=4, seed=0, output_range=None, ema_decay=0.5)
        gan.compile(d_optimizer=adam(), g_optimizer=adam())
    gan.fit(points_dataset(), epochs=1, steps_per_epoch=3, verbose=0)
    averaged = gan.ema_generator.get_weights()
    assert all(np.all(np.isfinite(w)) for w in averaged)
    assert any(not np.allclose(a, b) for a, b in zip(averaged, gan.generator.get_weights()))


def test_diff_augment_trains_an_image_gan():
    keras.utils.set_random_seed(0)
    generator = networks.dcgan_generator(8, [8, 8, 1], base_filters=4)
    discriminator = networks.dcgan_discriminator([8, 8, 1], base_filters=4)
    gan = GAN(generator, discriminator, latent_dim=8, seed=0)
    gan.compile(d_optimizer=adam(), g_optimizer=adam(), augment=["color", "translation", "cutout"])
    images = np.random.default_rng(0).uniform(-1, 1, (64, 8, 8, 1)).astype("float32")
    assert_trains(gan, tf.data.Dataset.from_tensor_slices(images).repeat().batch(16))


def labelled_dataset(batch_size=64):
    points, labels, _ = mixture_points()
    return tf.data.Dataset.from_tensor_slices((points, labels)).repeat().batch(batch_size, drop_remainder=True)


def conditional_gan(kind, **options):
    keras.utils.set_random_seed(0)
    generator = networks.mlp_generator(4, [2], hidden_units=(64, 64), output_activation="linear", num_classes=4)
    conditioning = "input" if kind is ConditionalGAN else "auxiliary"
    discriminator = networks.mlp_discriminator([2], hidden_units=(64, 64), num_classes=4, conditioning=conditioning)
    return kind(generator, discriminator, latent_dim=4, num_classes=4, seed=0, output_range=None, **options)


@pytest.mark.parametrize("kind", [ConditionalGAN, ACGAN])
def test_conditional_models_train_on_labelled_batches(kind):
    gan = conditional_gan(kind)
    gan.compile(d_optimizer=adam(), g_optimizer=adam())
    history = assert_trains(gan, labelled_dataset())
    if kind is ACGAN:
        assert 0.0 <= history.history["d_class_accuracy"][0] <= 1.0
    with pytest.raises(ValueError, match="needs labels"):
        gan.generate_from(gan.latents(3))
    with pytest.raises(ValueError, match=r"labels must lie in \[0, 3\]"):
        gan.generate(3, labels=[0, 1, 7])
    with pytest.raises(ValueError, match="the data has no labels"):
        gan.fit(points_dataset(), epochs=1, steps_per_epoch=1, verbose=0)


@pytest.mark.slow
@pytest.mark.parametrize("kind", [ConditionalGAN, ACGAN])
def test_conditional_samples_land_in_the_requested_component(kind):
    gan = conditional_gan(kind, ema_decay=None)
    gan.compile(d_optimizer=adam(2e-3), g_optimizer=adam(2e-3))
    gan.fit(labelled_dataset(), epochs=1, steps_per_epoch=1500, verbose=0)
    _, _, centres = mixture_points()
    for label, centre in enumerate(centres):
        samples = gan.generate(200, seed=label, labels=label)
        nearest = np.argmin(((samples[:, None, :] - centres[None]) ** 2).sum(-1), axis=1)
        assert np.mean(nearest == label) > 0.9, (kind.__name__, label, np.bincount(nearest, minlength=4))


def test_labelled_subset_takes_the_same_number_of_each_class():
    labels = np.repeat(np.arange(3), [10, 20, 30])
    chosen = labelled_subset(labels, 4, seed=1)
    assert np.bincount(labels[chosen]).tolist() == [4, 4, 4]
    np.testing.assert_array_equal(chosen, labelled_subset(labels, 4, seed=1))
    with pytest.raises(ValueError, match="class 0 has 10 examples, fewer than labels_per_class=11"):
        labelled_subset(labels, 11)


def semi_supervised_gan():
    keras.utils.set_random_seed(0)
    generator = networks.mlp_generator(4, [2], hidden_units=(32, 32), output_activation="linear")
    discriminator = networks.mlp_discriminator([2], hidden_units=(32, 32), num_classes=4, conditioning="classes")
    return SemiSupervisedGAN(generator, discriminator, latent_dim=4, num_classes=4, seed=0, output_range=None)


def semi_supervised_data(labels_per_class=2):
    points, labels, _ = mixture_points()
    source = data.Source("mixture", len(points), images=points, labels=labels, has_labels=True, num_classes=4)
    dataset, chosen = make_semi_supervised_dataset(source, 64, labels_per_class, output_range=None, seed=0)
    return dataset.repeat(), chosen, points, labels


def test_semi_supervised_gan_trains_on_unlabelled_and_labelled_batches():
    dataset, chosen, _, labels = semi_supervised_data()
    assert len(chosen) == 8 and np.bincount(labels[chosen]).tolist() == [2, 2, 2, 2]
    element = next(iter(dataset))
    assert element["images"].shape == (64, 2) and element["labelled_images"].shape == (8, 2)
    gan = semi_supervised_gan()
    gan.compile(d_optimizer=adam(), g_optimizer=adam())
    history = assert_trains(gan, dataset)
    assert {"d_supervised_loss", "d_supervised_accuracy"} <= set(history.history)


@pytest.mark.slow
def test_semi_supervised_classifier_learns_from_two_labels_per_class():
    dataset, _, points, labels = semi_supervised_data()
    gan = semi_supervised_gan()
    gan.compile(d_optimizer=adam(), g_optimizer=adam())
    untrained = np.mean(gan.classify(points) == labels)
    gan.fit(dataset, epochs=1, steps_per_epoch=300, verbose=0)
    trained = np.mean(gan.classify(points) == labels)
    assert trained > 0.95 and trained > untrained + 0.3, (untrained, trained)


@pytest.mark.slow(minutes=2.5)
def test_best_remedy_config_covers_every_ring_mode(tmp_path):
    """The shipped PacGAN config on ring8, cut to a CI budget (half its updates, smaller networks, no moving
    average: an average over a trajectory that has not settled is no generator), covers all 8 modes."""
    from tfgan_impl import config as config_module
    from tfgan_impl import training
    from tfgan_impl.metrics.modes import mode_coverage

    path = os.path.join(os.path.dirname(__file__), "..", "configs", "pacgan_ring8.yaml")
    config = config_module.load(path, ["train.epochs=5", "train.steps_per_epoch=2000", "train.sample_every=5",
                                       "model.ema_decay=null", "model.generator.hidden_units=[128, 128, 128]",
                                       "model.discriminator.hidden_units=[128, 128, 128]"])
    gan = training.train(config, str(tmp_path / "run"), verbose=0)
    figures = mode_coverage(gan.generate(2500, seed=1), "ring8")
    assert figures["modes_covered"] == 8 and figures["high_quality_fraction"] > 0.5, figures
