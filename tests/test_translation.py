"""Pix2Pix: U-Net and PatchGAN shapes, pair sources and jitter, saving, and learning edges of Fashion-MNIST."""
import json
import os

import keras
import numpy as np
import pytest
import tensorflow as tf
from PIL import Image

from tests.conftest import FASHION_MNIST_DIR
from tfgan_impl import cli, paired, rundir
from tfgan_impl.families import pix2pix as pix2pix_family
from tfgan_impl.errors import DataError
from tfgan_impl.networks.pix2pix import patch_discriminator, unet_generator
from tfgan_impl.translation import Pix2Pix


def tiny_pix2pix(seed=0, l1_weight=100.0):
    keras.utils.set_random_seed(seed)
    model = Pix2Pix(unet_generator([16, 16, 1], base_filters=4, max_filters=16),
                    patch_discriminator([16, 16, 1], base_filters=4, num_layers=2), l1_weight=l1_weight)
    model.compile(d_optimizer=keras.optimizers.Adam(2e-4, 0.5), g_optimizer=keras.optimizers.Adam(2e-4, 0.5))
    return model


def test_unet_and_patchgan_shapes():
    generator = unet_generator([32, 32, 3], output_channels=1, base_filters=8)
    assert generator.output_shape == (None, 32, 32, 1)
    # The encoder goes down to 1x1 (5 stride-2 layers for 32x32) and every encoder layer but the innermost
    # feeds a decoder layer through a skip connection.
    assert sum(isinstance(layer, keras.layers.Concatenate) for layer in generator.layers) == 4
    assert sum(isinstance(layer, keras.layers.Dropout) for layer in generator.layers) == 3
    discriminator = patch_discriminator([32, 32, 3], target_channels=1, base_filters=8, num_layers=2)
    assert discriminator.output_shape == (None, 8, 8, 1)  # one logit per patch
    with pytest.raises(ValueError, match="power of two of at least 8, got \\[28, 28, 1\\]"):
        unet_generator([28, 28, 1])
    with pytest.raises(ValueError, match="num_layers must be at least 1"):
        patch_discriminator([16, 16, 1], num_layers=4)


def test_jitter_crops_and_mirrors_both_images_alike():
    rng = np.random.default_rng(0)
    images = rng.random((8, 16, 16, 1)).astype(np.float32)
    batches = list(paired.make_paired_dataset(images, images, batch_size=4, seed=1).take(2))
    for inputs, targets in batches:
        assert inputs.shape == (4, 16, 16, 1) and inputs.dtype == tf.float32
        np.testing.assert_array_equal(inputs.numpy(), targets.numpy())  # same crop and flip for both
        assert inputs.numpy().min() >= -1.0 and inputs.numpy().max() <= 1.0
    jittered = np.concatenate([b[0].numpy() for b in batches])
    plain = images * 2 - 1
    # Every jittered image differs from every original (a shifted crop), so jitter did something.
    assert all(not any(np.allclose(j, p) for p in plain) for j in jittered)
    unjittered = next(iter(paired.make_paired_dataset(images, images, 8, jitter=False, shuffle_buffer=0)))[0]
    np.testing.assert_allclose(unjittered.numpy(), plain, atol=1e-6)


def write_png(path, array):
    Image.fromarray(array).save(path)


def test_pair_sources(tmp_path):
    rng = np.random.default_rng(0)
    side = tmp_path / "side"
    side.mkdir()
    for index in range(3):
        write_png(side / f"{index}.png", rng.integers(0, 256, (8, 16, 3), dtype=np.uint8))
    inputs, targets = paired.load_pairs(f"pairs:{side}")
    assert inputs.shape == targets.shape == (3, 8, 8, 3)
    first = np.asarray(Image.open(side / "0.png"), np.float32) / 255
    np.testing.assert_allclose(inputs[0], first[:, :8])
    np.testing.assert_allclose(targets[0], first[:, 8:])

    folder_a, folder_b = tmp_path / "a", tmp_path / "b"
    folder_a.mkdir()
    folder_b.mkdir()
    for name in ("x.png", "y.png"):
        write_png(folder_a / name, rng.integers(0, 256, (8, 8), dtype=np.uint8))
        write_png(folder_b / name, rng.integers(0, 256, (8, 8), dtype=np.uint8))
    inputs, targets = paired.load_pairs(f"pairs:{folder_a},{folder_b}")
    assert inputs.shape == targets.shape == (2, 8, 8, 1)
    write_png(folder_b / "z.png", rng.integers(0, 256, (8, 8), dtype=np.uint8))
    with pytest.raises(DataError, match="1 files have no partner of the same name, e.g. z.png"):
        paired.load_pairs(f"pairs:{folder_a},{folder_b}")

    np.savez(tmp_path / "d.npz", x=rng.integers(0, 256, (5, 8, 8, 1), dtype=np.uint8))
    images, edge_maps = paired.load_pairs(f"edges:npz:{tmp_path / 'd.npz'}")
    assert images.shape == edge_maps.shape == (5, 8, 8, 1)
    assert 0.0 <= edge_maps.min() and edge_maps.max() <= 1.0 and edge_maps.std() > 0
    with pytest.raises(DataError, match="unknown pair source 'edges:'"):
        paired.load_pairs("edges:")


def test_sobel_edges_mark_a_step():
    image = np.zeros((1, 8, 8, 1), np.float32)
    image[:, :, 4:] = 1.0
    edge_map = paired.sobel_edges(image)[0, :, :, 0]
    assert edge_map[4, 3] == edge_map[4, 4] == 1.0  # both sides of the step, a unit step's magnitude
    assert edge_map[4, 0] == edge_map[4, 7] == 0.0


@pytest.mark.parametrize("kind", ["pix2pix", "cyclegan"])
def test_saves_and_loads_with_keras(tmp_path, kind):
    from tfgan_impl.translation import CycleGAN

    model = tiny_pix2pix() if kind == "pix2pix" else tiny_cyclegan()
    images = tf.random.stateless_uniform([8, 16, 16, 1], seed=[0, 0], minval=-1.0, maxval=1.0)
    model.fit(tf.data.Dataset.from_tensor_slices((images, -images)).batch(4), epochs=1, verbose=0)
    path = str(tmp_path / f"{kind}.keras")
    model.save(path)
    loaded = keras.models.load_model(path, safe_mode=True)
    assert isinstance(loaded, Pix2Pix if kind == "pix2pix" else CycleGAN)
    networks = model.GENERATORS + model.DISCRIMINATORS
    settings = [{k: v for k, v in m.get_config().items() if k not in networks} for m in (model, loaded)]
    assert settings[0] == settings[1] and len(settings[0]) > 2  # l1_weight or the cycle weights, output range
    assert int(loaded.g_optimizer.iterations.numpy()) == 2
    for name in model.GENERATORS:
        np.testing.assert_allclose(getattr(loaded, name)(images), getattr(model, name)(images), atol=1e-6)


@pytest.mark.slow
@pytest.mark.skipif(not os.path.isdir(FASHION_MNIST_DIR), reason="needs apt-get install dataset-fashion-mnist")
def test_learns_edge_maps_of_fashion_mnist():
    """After 3 epochs on 1,792 pairs (168 updates), the held-out L1 to the true edge maps falls below the
    identity mapping's (an edge map is far from its image) and well below the untrained network's."""
    images, edge_maps = paired.load_pairs("edges:fashion_mnist", "train[:1792]", image_size=[32, 32])
    held_out_images, held_out_edges = paired.load_pairs("edges:fashion_mnist", "test[:256]", image_size=[32, 32])
    keras.utils.set_random_seed(0)
    model = Pix2Pix(unet_generator([32, 32, 1], base_filters=16, max_filters=128),
                    patch_discriminator([32, 32, 1], base_filters=16, num_layers=2))
    model.compile(d_optimizer=keras.optimizers.Adam(2e-4, 0.5), g_optimizer=keras.optimizers.Adam(2e-4, 0.5))
    dataset = paired.make_paired_dataset(images, edge_maps, batch_size=32, seed=0)

    def held_out_l1():
        return float(np.abs(model.translate(held_out_images) - held_out_edges).mean())

    untrained, identity = held_out_l1(), float(np.abs(held_out_images - held_out_edges).mean())
    history = model.fit(dataset, epochs=3, verbose=0).history
    trained = held_out_l1()
    assert all(np.isfinite(values[-1]) for values in history.values())
    assert trained < 0.8 * identity, (trained, identity)
    assert trained < 0.6 * untrained, (trained, untrained)
    assert 0.0 < history["d_real"][-1] < 1.0 and history["g_adversarial"][-1] > 0  # the adversary took part


PIX2PIX = os.path.join(os.path.dirname(__file__), "..", "configs", "pix2pix_edges_fashion_mnist.yaml")


@pytest.fixture(scope="module")
def translator_run(tmp_path_factory):
    root = tmp_path_factory.mktemp("pix2pix")
    np.savez(root / "d.npz", x=np.random.default_rng(0).integers(0, 256, (64, 12, 12, 1), dtype=np.uint8))
    run_dir = str(root / "run")
    settings = [f"data.source=edges:npz:{root / 'd.npz'}", "data.split=train", "data.image_size=[16, 16]",
                "data.batch_size=8", "model.generator.base_filters=4", "model.discriminator.base_filters=4",
                "train.num_samples=3", "train.g_optimizer.learning_rate=0.02"]  # outputs far from constant
    assert cli.main(["train", PIX2PIX, "--out", run_dir, "--epochs", "1", "--steps-per-epoch", "3", "--verbose", "0",
                     *[arg for setting in settings for arg in ("--set", setting)]]) == 0
    return run_dir


def test_cli_trains_samples_and_exports_a_translator(translator_run, tmp_path, capsys):
    with open(os.path.join(translator_run, "run.json")) as stream:
        assert json.load(stream)["input_shape"] == [16, 16, 1]
    grid = np.asarray(Image.open(os.path.join(translator_run, "samples", "epoch_001.png")))
    assert grid.shape[:2] == (48, 48)  # three rows of input | translation | target, 16x16 each
    assert not np.array_equal(grid[:, :16], grid[:, 32:])  # images differ from their edge maps

    inputs = tmp_path / "inputs"
    inputs.mkdir()
    write_png(inputs / "grey.png", np.random.default_rng(1).integers(0, 256, (20, 20), dtype=np.uint8))
    write_png(inputs / "colour.png", np.random.default_rng(2).integers(0, 256, (16, 16, 3), dtype=np.uint8))
    assert cli.main(["sample", translator_run, "--input", str(inputs), "--out", str(tmp_path / "out")]) == 0
    assert sorted(os.listdir(tmp_path / "out")) == ["colour.png", "grey.png"]
    assert np.asarray(Image.open(tmp_path / "out" / "grey.png")).shape == (16, 16)
    assert cli.main(["sample", translator_run, "--num", "4", "--out", str(tmp_path / "x.png")]) == 2
    assert "is a translator: give --input IMAGE_OR_DIR" in capsys.readouterr().err

    model = rundir.load_run(translator_run)
    images = np.random.default_rng(3).random((4, 16, 16, 1)).astype(np.float32)
    expected = model.translate(images)
    assert expected.std() > 0.005  # 50 times the parity tolerance below, so agreement means something
    out = str(tmp_path / "models")
    for export_format in ("saved_model", "tflite", "onnx"):
        assert cli.main(["export", translator_run, "--format", export_format, "--out", out]) == 0
    serve = tf.saved_model.load(os.path.join(out, "1")).signatures["serving_default"]
    np.testing.assert_allclose(serve(images=tf.constant(images))["images"].numpy(), expected, atol=1e-5)
    with pytest.raises(tf.errors.InvalidArgumentError, match=r"input images must have shape \[batch, 16, 16, 1\]"):
        serve(images=tf.zeros([1, 8, 8, 1]))
    with pytest.raises(tf.errors.InvalidArgumentError, match=r"input images must lie in \[0, 1\]"):
        serve(images=tf.fill([1, 16, 16, 1], 255.0))
    with open(os.path.join(out, "2", "tfgan_impl.json")) as stream:
        assert json.load(stream)["task"] == "translation"
    from tests.test_export import tflite_images

    lite = tflite_images(os.path.join(out, "2", "generator.tflite"), images=images)
    np.testing.assert_allclose(lite, expected, atol=1e-4)
    import onnxruntime

    session = onnxruntime.InferenceSession(os.path.join(out, "3", "generator.onnx"),
                                           providers=["CPUExecutionProvider"])
    np.testing.assert_allclose(session.run(["translated"], {"images": images})[0], expected, atol=1e-4)


def test_two_replicas_train_like_one_device():
    """Losses are scaled by the global batch: with dropout off and synchronized batch norm (whose statistics
    then cover the global batch), two replicas take the steps one device takes."""
    from tests.test_distribute import float_weights, max_difference, mirrored
    from tfgan_impl import networks

    def train(strategy):
        with strategy.scope():
            keras.utils.set_random_seed(5)
            model = Pix2Pix(unet_generator([16, 16, 1], base_filters=4, max_filters=8, dropout=0.0),
                            patch_discriminator([16, 16, 1], base_filters=4, num_layers=2))
            for network in (model.generator, model.discriminator):
                networks.synchronize_batch_norm(network)
            model.compile(d_optimizer=keras.optimizers.SGD(0.1), g_optimizer=keras.optimizers.SGD(0.1))
        initial = float_weights(model)
        images = tf.random.stateless_uniform([16, 16, 16, 1], seed=[1, 2], minval=-1.0, maxval=1.0)
        model.fit(tf.data.Dataset.from_tensor_slices((images, tf.reverse(images, [2]))).batch(8), epochs=2,
                  verbose=0)
        return initial, float_weights(model)

    initial, single = train(tf.distribute.get_strategy())
    _, replicated = train(mirrored())
    assert max_difference(single, initial) > 0.1  # training moved the weights
    # Measured against the single device: per-replica batch norm 0.23, a double step 1.5, a learning rate 1% larger
    # 0.02; float rounding 4e-7 here and 2.8e-4 on another CI machine's CPU (whose kernels round differently).
    assert max_difference(single, replicated) < 2e-3, max_difference(single, replicated)


def test_xla_under_mirrored_strategy_compiles_each_replica():
    """XLA cannot compile a step that spans devices: under mirrored strategies the translators compile each
    replica's gradients, and take the steps they take without XLA. (CycleGAN is split the same way; its XLA
    compilation takes minutes on 2 cores, so CI runs Pix2Pix's.)"""
    from tests.test_distribute import float_weights, max_difference, mirrored

    def train(jit_compile):
        with mirrored().scope():
            keras.utils.set_random_seed(5)
            model = Pix2Pix(unet_generator([8, 8, 1], base_filters=4, max_filters=8, dropout=0.0),
                            patch_discriminator([8, 8, 1], base_filters=4, num_layers=2))
            model.compile(d_optimizer=keras.optimizers.SGD(0.1), g_optimizer=keras.optimizers.SGD(0.1),
                          jit_compile=jit_compile)
        initial = float_weights(model)
        images = tf.random.stateless_uniform([16, 8, 8, 1], seed=[1, 2], minval=-1.0, maxval=1.0)
        model.fit(tf.data.Dataset.from_tensor_slices((images, tf.reverse(images, [2]))).batch(8), epochs=1,
                  verbose=0)
        return model, initial, float_weights(model)

    _, initial, plain = train(False)
    compiled_model, _, compiled = train(True)
    assert sorted(compiled_model._phase_functions) == ["discriminator", "generator"]
    moved = max_difference(plain, initial)
    assert moved > 1e-3, moved  # training moved the weights
    assert max_difference(plain, compiled) < 0.02 * moved, (max_difference(plain, compiled), moved)


def test_cyclegan_pools_under_mirrored_strategy():
    """The history pools are per-replica variables, which have no scatter updates under tf.distribute
    (NotImplementedError before 2026-11-26): two replicas each fill their own pool with their half-batches."""
    from tests.test_distribute import mirrored

    with mirrored().scope():
        model = tiny_cyclegan(pool_size=6, seed=5, size=8)
    images = tf.random.stateless_uniform([16, 8, 8, 1], seed=[1, 2], minval=-1.0, maxval=1.0)
    initial = [w.numpy() for w in model.generator.weights]
    model.fit(tf.data.Dataset.from_tensor_slices((images, tf.reverse(images, [2]))).batch(8), epochs=1, verbose=0)
    counts = [int(v.numpy()) for v in model._pool_counts["a"].values]
    assert counts == [6, 6], counts  # 2 steps x 4 images per replica, capped at the pool size
    stored = [v.numpy() for v in model._pools["a"].values]
    assert all(np.abs(pool).sum(axis=(1, 2, 3)).min() > 0 for pool in stored)  # every slot written
    assert any(np.abs(w - v).max() > 0 for w, v in zip(initial, [w.numpy() for w in model.generator.weights]))


def tiny_cyclegan(pool_size=50, seed=0, size=16, **compile_options):
    from tfgan_impl.networks import resnet_translator
    from tfgan_impl.translation import CycleGAN

    keras.utils.set_random_seed(seed)

    def pair():
        return (resnet_translator([size, size, 1], base_filters=4, num_blocks=1),
                patch_discriminator([size, size, 1], base_filters=4, num_layers=2, conditional=False,
                                    normalization="instance"))

    (generator, discriminator), (inverse_generator, inverse_discriminator) = pair(), pair()
    model = CycleGAN(generator, discriminator, inverse_generator, inverse_discriminator, pool_size=pool_size)
    model.compile(d_optimizer=keras.optimizers.Adam(2e-4, 0.5), g_optimizer=keras.optimizers.Adam(2e-4, 0.5),
                  **compile_options)
    return model


def test_resnet_translator_and_unconditional_patchgan():
    from tfgan_impl.networks import resnet_translator

    generator = resnet_translator([32, 32, 3], output_channels=1, base_filters=8, num_blocks=4)
    assert generator.output_shape == (None, 32, 32, 1)
    assert sum(isinstance(layer, keras.layers.Add) for layer in generator.layers) == 4
    assert any(isinstance(layer, keras.layers.GroupNormalization) for layer in generator.layers)
    discriminator = patch_discriminator([32, 32, 3], base_filters=8, num_layers=2, conditional=False,
                                        normalization="instance")
    assert discriminator.input_shape == (None, 32, 32, 3) and discriminator.output_shape == (None, 8, 8, 1)
    with pytest.raises(ValueError, match="divisible by 4"):
        resnet_translator([30, 30, 1])


def test_history_pool_fills_then_swaps_half_the_time():
    model = tiny_cyclegan(pool_size=4)
    first = tf.fill([2, 16, 16, 1], 1.0)
    np.testing.assert_array_equal(model.query_pool("a", first), first)  # filling: stored and returned
    np.testing.assert_array_equal(model.query_pool("a", 2 * first), 2 * first)
    assert int(model._pool_counts["a"].numpy()) == 4
    returned = []
    for step in range(40):
        model.g_optimizer.iterations.assign(step + 1)  # the pool's draws are keyed by the update counter
        returned.append(model.query_pool("a", tf.fill([2, 16, 16, 1], 100.0 + step)).numpy()[:, 0, 0, 0])
    returned = np.concatenate(returned)
    swapped = np.mean(returned < 100.0 + np.repeat(np.arange(40), 2))  # an older image came back
    assert 0.3 < swapped < 0.7
    assert int(model._pool_counts["a"].numpy()) == 4
    assert set(np.unique(model._pools["b"].numpy())) == {0.0}  # domains keep separate pools


def test_unpaired_sources_and_dataset(tmp_path):
    rng = np.random.default_rng(0)
    np.savez(tmp_path / "d.npz", x=rng.integers(0, 256, (30, 8, 8, 1), dtype=np.uint8), y=np.arange(30) % 3)
    images_a, images_b = paired.load_unpaired(f"classes:npz:{tmp_path / 'd.npz'}:0,2")
    assert images_a.shape == images_b.shape == (10, 8, 8, 1)
    with pytest.raises(DataError, match="class 5 has no images"):
        paired.load_unpaired(f"classes:npz:{tmp_path / 'd.npz'}:0,5")
    with pytest.raises(DataError, match="expected classes:SOURCE:I,J"):
        paired.load_unpaired(f"classes:npz:{tmp_path / 'd.npz'}:0")
    dataset = paired.make_unpaired_dataset(images_a[:4], images_b, batch_size=2, seed=0)
    batches = list(dataset)
    assert len(batches) == 5  # as long as the larger domain: 10 images / 2
    firsts = {tuple(np.round(a.numpy().ravel()[:3], 3)) for a, _ in batches}
    assert len(firsts) > 1  # the smaller domain repeats, reshuffled


def test_constant_then_linear_decay():
    from tfgan_impl.schedules import ConstantThenLinearDecay

    schedule = ConstantThenLinearDecay(2e-4, constant_steps=100, decay_steps=50)
    assert [float(schedule(step)) for step in (0, 100, 125, 150, 400)] == pytest.approx([2e-4, 2e-4, 1e-4, 0, 0])
    assert keras.optimizers.schedules.deserialize(keras.optimizers.schedules.serialize(schedule)).decay_steps == 50


@pytest.mark.slow(minutes=3)
@pytest.mark.skipif(not os.path.isdir(FASHION_MNIST_DIR), reason="needs apt-get install dataset-fashion-mnist")
def test_cyclegan_turns_sneakers_into_ankle_boots():
    """1,000 sneakers and 1,000 ankle boots, 375 updates: a small classifier trained on the real classes (held-out
    accuracy asserted) judges most translations to be of the target class, far more than the untranslated
    images, and a round trip comes back close to where it started."""
    from tfgan_impl.networks import resnet_translator
    from tfgan_impl.translation import CycleGAN

    sneakers, boots = paired.load_unpaired("classes:fashion_mnist:7,9", image_size=[32, 32])  # 6,000 of each
    train_a, train_b, test_a, test_b = sneakers[:1000], boots[:1000], sneakers[1000:1200], boots[1000:1200]
    keras.utils.set_random_seed(0)
    judge = keras.Sequential([keras.Input((32, 32, 1)), keras.layers.Conv2D(16, 3, strides=2, activation="relu"),
                              keras.layers.Conv2D(32, 3, strides=2, activation="relu"),
                              keras.layers.Flatten(), keras.layers.Dense(1)])
    judge.compile(keras.optimizers.Adam(1e-3), keras.losses.BinaryCrossentropy(from_logits=True))
    judge.fit(np.concatenate([sneakers[1200:], boots[1200:]]),  # images the translator never sees
              np.repeat([0.0, 1.0], [len(sneakers) - 1200, len(boots) - 1200]), epochs=5, batch_size=64, verbose=0)

    def boot_fraction(images):
        return float(np.mean(judge.predict(images, verbose=0)[:, 0] > 0))

    untranslated = boot_fraction(test_a)
    assert untranslated < 0.1 and boot_fraction(test_b) > 0.85  # the judge knows the classes (0.0 and 0.91 seen)

    def pair():
        return (resnet_translator([32, 32, 1], base_filters=16, num_blocks=3),
                patch_discriminator([32, 32, 1], base_filters=16, num_layers=2, conditional=False,
                                    normalization="instance"))

    (generator, discriminator), (inverse_generator, inverse_discriminator) = pair(), pair()
    model = CycleGAN(generator, discriminator, inverse_generator, inverse_discriminator)
    # XLA: 1.5x faster CycleGAN steps on CPU (bench/xla.py), and it is trained here to learn under XLA.
    model.compile(d_optimizer=keras.optimizers.Adam(2e-4, 0.5), g_optimizer=keras.optimizers.Adam(2e-4, 0.5),
                  jit_compile=True)
    model.fit(paired.make_unpaired_dataset(train_a, train_b, batch_size=8, jitter=False, seed=0), epochs=3, verbose=0)
    to_boots, to_sneakers = model.translate(test_a), model.translate(test_b, inverse=True)
    assert boot_fraction(to_boots) > max(0.7, untranslated + 0.6), boot_fraction(to_boots)
    assert 1 - boot_fraction(to_sneakers) > 0.7, boot_fraction(to_sneakers)
    round_trip = float(np.abs(model.translate(to_boots, inverse=True) - test_a).mean())
    assert round_trip < 0.08, round_trip
    print(f"boots judged boots {boot_fraction(test_b):.3f}, sneakers judged boots {untranslated:.3f}, "
          f"translated sneakers judged boots {boot_fraction(to_boots):.3f}, translated boots judged sneakers "
          f"{1 - boot_fraction(to_sneakers):.3f}, round-trip L1 {round_trip:.4f}")


CYCLEGAN = os.path.join(os.path.dirname(__file__), "..", "configs", "cyclegan_fashion_mnist.yaml")


def test_cli_trains_samples_and_exports_a_cyclegan(tmp_path):
    rng = np.random.default_rng(0)
    labels = np.arange(48) % 2
    images = (rng.integers(0, 80, (48, 16, 16, 1)) + 150 * labels[:, None, None, None]).astype(np.uint8)
    np.savez(tmp_path / "d.npz", x=images, y=labels)
    run_dir = str(tmp_path / "run")
    settings = [f"data.source=classes:npz:{tmp_path / 'd.npz'}:0,1", "data.split=train", "data.image_size=[16, 16]",
                "data.batch_size=4", "model.generator.base_filters=4", "model.generator.num_blocks=1",
                "model.discriminator.base_filters=4", "train.num_samples=2", "train.pool_size=4"]
    assert cli.main(["train", CYCLEGAN, "--out", run_dir, "--epochs", "1", "--steps-per-epoch", "3", "--verbose", "0",
                     *[arg for setting in settings for arg in ("--set", setting)]]) == 0
    grid = np.asarray(Image.open(os.path.join(run_dir, "samples", "epoch_001.png")))
    assert grid.shape[:2] == (32, 48)  # two rows of input | translation | round trip

    inputs = tmp_path / "inputs"
    inputs.mkdir()
    write_png(inputs / "dark.png", rng.integers(0, 80, (16, 16), dtype=np.uint8))
    for flags in ([], ["--inverse"]):
        out = tmp_path / f"out{len(flags)}"
        assert cli.main(["sample", run_dir, "--input", str(inputs), "--out", str(out), *flags]) == 0
        assert os.listdir(out) == ["dark.png"]

    model = rundir.load_run(run_dir)
    batch = rng.random((3, 16, 16, 1)).astype(np.float32)
    out = str(tmp_path / "models")
    assert cli.main(["export", run_dir, "--out", out]) == 0
    loaded = tf.saved_model.load(os.path.join(out, "1"))
    np.testing.assert_allclose(loaded.signatures["serving_default"](images=tf.constant(batch))["images"].numpy(),
                               model.translate(batch), atol=1e-5)
    np.testing.assert_allclose(loaded.signatures["inverse"](images=tf.constant(batch))["images"].numpy(),
                               model.translate(batch, inverse=True), atol=1e-5)


def test_unpaired_folders_and_direction(tmp_path):
    rng = np.random.default_rng(4)
    for name, count in (("a", 3), ("b", 5)):
        (tmp_path / name).mkdir()
        for index in range(count):
            write_png(tmp_path / name / f"{index}.png", rng.integers(0, 256, (8, 8, 3), dtype=np.uint8))
    images_a, images_b = paired.load_unpaired(f"unpaired:{tmp_path / 'a'},{tmp_path / 'b'}")
    assert images_a.shape == (3, 8, 8, 3) and images_b.shape == (5, 8, 8, 3)
    with pytest.raises(DataError, match="unknown unpaired source"):
        paired.load_unpaired(f"unpaired:{tmp_path / 'a'}")

    from tfgan_impl import config as config_module

    np.savez(tmp_path / "d.npz", x=rng.integers(0, 256, (4, 8, 8, 1), dtype=np.uint8))
    forward = config_module.from_dict({"model": {"type": "pix2pix", "generator": {"name": "unet"},
                                                 "discriminator": {"name": "patch"}},
                                       "data": {"source": f"edges:npz:{tmp_path / 'd.npz'}"}})
    backward = config_module.from_dict({**forward.to_dict(), "data": {**forward.to_dict()["data"],
                                                                      "direction": "b_to_a"}})
    inputs, targets = pix2pix_family.pairs(forward, "train")
    edge_inputs, image_targets = pix2pix_family.pairs(backward, "train")
    np.testing.assert_array_equal(inputs, image_targets)
    np.testing.assert_array_equal(targets, edge_inputs)


def test_tfds_translation_sources_with_mocked_tfds(monkeypatch):
    """TFDS cannot download here: `tfds.testing.mock_data` stands in with random examples of each set's real
    features, so the CycleGAN (`tfds:cycle_gan/NAME`, splits trainA/trainB) and paired (`pairs:tfds:...`)
    paths run end to end."""
    import tensorflow_datasets as tfds

    from tfgan_impl import data

    monkeypatch.setattr(data, "can_reach", lambda *args, **kwargs: True)
    opened, load_tfds = [], data.load_tfds
    monkeypatch.setattr(data, "load_tfds", lambda name, split, *rest: opened.append((name, split)) or
                        load_tfds(name, split, *rest))
    with tfds.testing.mock_data(num_examples=6):  # the mock ignores slices: every split has 6 examples
        images_a, images_b = paired.load_unpaired("tfds:cycle_gan/horse2zebra", "train[:4]", image_size=[16, 16])
        assert opened == [("cycle_gan/horse2zebra", "trainA[:4]"), ("cycle_gan/horse2zebra", "trainB[:4]")]
        assert images_a.shape == images_b.shape == (6, 16, 16, 3)
        assert 0.0 <= images_a.min() and images_a.max() <= 1.0 and images_a.std() > 0
        inputs, targets = paired.load_pairs("pairs:tfds:oxford_iiit_pet:image,segmentation_mask", "train",
                                            image_size=[8, 8])
        assert inputs.shape == (6, 8, 8, 3) and targets.shape == (6, 8, 8, 1)
        with pytest.raises(DataError, match="has no feature 'mask'"):
            paired.load_pairs("pairs:tfds:oxford_iiit_pet:image,mask", "train", image_size=[8, 8])
    with pytest.raises(DataError, match="set data.image_size"):
        paired.load_unpaired("tfds:cycle_gan/horse2zebra")
