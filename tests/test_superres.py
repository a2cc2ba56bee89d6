"""Super-resolution (SRGAN, ESRGAN): networks of any input size, degradation pairs, the model's losses, saving,
exports and the command line."""
import os

import keras
import numpy as np
import pytest
import tensorflow as tf

from tests.conftest import assert_config_errors, needs_fashion_mnist
from tfgan_impl import cli, degradation, export, networks
from tfgan_impl import config as config_module
from tfgan_impl.errors import UserError
from tfgan_impl.families import superres as family
from tfgan_impl.superres import SuperResolution

RNG = np.random.default_rng(0)
CONFIG = os.path.join(os.path.dirname(__file__), "..", "configs", "esrgan_fashion_mnist.yaml")


@pytest.mark.parametrize("builder", [networks.srresnet_generator, networks.rrdb_generator])
@pytest.mark.parametrize("scale", [2, 4])
def test_generators_upscale_images_of_any_size(builder, scale):
    generator = builder([None, None, 3], output_channels=1, scale=scale, filters=8, num_blocks=1)
    for height, width in ((5, 7), (12, 4)):
        images = RNG.uniform(-1, 1, (2, height, width, 3)).astype("float32")
        outputs = generator(images).numpy()
        assert outputs.shape == (2, scale * height, scale * width, 1) and np.all(np.abs(outputs) <= 1)
    with pytest.raises(ValueError, match="scale: expected a power of two"):
        builder([None, None, 1], scale=3)


def test_pixel_shuffle_is_depth_to_space_and_survives_saving(tmp_path):
    features = RNG.normal(size=(2, 3, 5, 8)).astype("float32")
    layer = networks.PixelShuffle(2)
    np.testing.assert_array_equal(layer(features).numpy(), tf.nn.depth_to_space(features, 2).numpy())
    # pixel (i, j) of the output's channel c is input channel (2 (i % 2) + j % 2) * 2 + c at (i // 2, j // 2)
    assert layer(features).numpy()[0, 3, 4, 1] == features[0, 1, 2, (2 * 1 + 0) * 2 + 1]
    model = keras.Sequential([keras.Input((None, None, 8)), layer])
    model.save(tmp_path / "shuffle.keras")
    np.testing.assert_array_equal(keras.saving.load_model(tmp_path / "shuffle.keras")(features).numpy(),
                                  model(features).numpy())


def test_srgan_discriminator_judges_fixed_patches():
    discriminator = networks.srgan_discriminator([16, 16, 1], filters=4, num_blocks=2, dense_units=8)
    assert discriminator(np.zeros((3, 16, 16, 1), np.float32)).shape == (3, 1)
    strides = [layer.strides for layer in discriminator.layers if isinstance(layer, keras.layers.Conv2D)]
    assert strides == [(1, 1), (2, 2)] * 2
    with pytest.raises(ValueError, match="at least 2\\^num_blocks = 16"):
        networks.srgan_discriminator([8, 8, 1], num_blocks=4)


def test_degradation_downscales_blurs_and_adds_the_same_noise_to_the_same_image():
    images = RNG.uniform(size=(6, 16, 12, 1)).astype("float32")
    low = degradation.degrade(images, degradation.Degradation(scale=4, resize="area"))
    np.testing.assert_allclose(low, images.reshape(6, 4, 4, 3, 4, 1).mean(axis=(2, 4)), atol=1e-6)  # block means
    constant = np.full((1, 8, 8, 3), 0.3, np.float32)
    np.testing.assert_allclose(degradation.degrade(constant, degradation.Degradation(2, blur=1.5)), 0.3, atol=1e-6)
    noisy = degradation.Degradation(scale=2, noise=0.05)
    whole = degradation.degrade(images, noisy, seed=3)
    np.testing.assert_array_equal(degradation.degrade(images[2:5], noisy, seed=3, offset=2), whole[2:5])
    assert 0.03 < np.std(whole - degradation.degrade(images, degradation.Degradation(scale=2))) < 0.07
    assert np.all((whole >= 0) & (whole <= 1))
    with pytest.raises(ValueError, match="do not divide by the scale 4"):
        degradation.degrade(np.zeros((1, 10, 8, 1)), degradation.Degradation(4))
    with pytest.raises(ValueError, match="resize: expected one of"):
        degradation.Degradation(resize="lanczos7")


def test_bicubic_upscaling_and_psnr():
    smooth = np.tile(np.linspace(0, 1, 16, dtype=np.float32)[None, :, None, None], (2, 1, 16, 1))
    low = degradation.degrade(smooth, degradation.Degradation(scale=2))
    assert degradation.bicubic_upscale(low, 2).shape == smooth.shape
    assert degradation.psnr(degradation.bicubic_upscale(low, 2), smooth) > 30  # a ramp interpolates well
    assert degradation.psnr(smooth, smooth + 0.1) == pytest.approx(20.0, abs=1e-3)  # 10 log10(1 / 0.01)


def test_pairs_crop_the_same_region_of_both_images():
    high = RNG.uniform(size=(8, 16, 16, 1)).astype("float32")
    low = degradation.degrade(high, degradation.Degradation(scale=4, resize="area"))
    dataset = family.make_dataset(low, high, batch_size=8, scale=4, patch_size=8, output_range=(0.0, 1.0), seed=1)
    small, large = next(iter(dataset))
    assert small.shape == (8, 2, 2, 1) and large.shape == (8, 8, 8, 1)
    # area downscaling commutes with aligned crops: each low patch is its high patch's block means
    np.testing.assert_allclose(small.numpy(), large.numpy().reshape(8, 2, 4, 2, 4, 1).mean(axis=(2, 4)), atol=1e-6)
    whole = family.make_dataset(low, high, batch_size=8, scale=4, patch_size=None, output_range=(-1.0, 1.0),
                                augment=False, shuffle_buffer=0)
    small, large = next(iter(whole))
    np.testing.assert_allclose(large.numpy(), 2 * high - 1, atol=1e-6)
    with pytest.raises(Exception, match="patch_size: 32 is larger"):
        family.make_dataset(low, high, batch_size=8, scale=4, patch_size=32, output_range=(0.0, 1.0))


def test_folders_of_low_and_high_resolution_pairs_are_a_source(tmp_path):
    from tfgan_impl import images as images_module

    low_dir, high_dir = tmp_path / "low", tmp_path / "high"
    low_dir.mkdir(), high_dir.mkdir()
    high = RNG.integers(0, 256, (3, 16, 12, 1), dtype=np.uint8)
    for index, image in enumerate(high):
        images_module.save_png(image, str(high_dir / f"{index}.png"))
        images_module.save_png(image[::4, ::4], str(low_dir / f"{index}.png"))
    config = config_module.load(CONFIG, [f"data.source=pairs:{low_dir},{high_dir}"])
    low_read, high_read = family.pairs(config, "train")
    np.testing.assert_allclose(high_read, high / 255.0, atol=1e-6)
    np.testing.assert_allclose(low_read, high[:, ::4, ::4] / 255.0, atol=1e-6)
    with pytest.raises(UserError, match=r"are not data.scale \(2\) times the low-resolution \[4, 3\]"):
        family.pairs(config_module.load(CONFIG, [f"data.source=pairs:{low_dir},{high_dir}", "data.scale=2"]),
                     "train")


def tiny_model(adversarial_loss="relativistic_average", content=False, **options):
    keras.utils.set_random_seed(0)
    content_network = None
    if content:
        content_network = keras.Sequential([keras.Input((None, None, 1)), keras.layers.Conv2D(3, 3, padding="same")])
    model = SuperResolution(networks.rrdb_generator([None, None, 1], scale=2, filters=4, num_blocks=1, growth=4),
                            networks.srgan_discriminator([8, 8, 1], filters=4, num_blocks=2, dense_units=8),
                            content_network=content_network, adversarial_loss=adversarial_loss,
                            content_weight=1.0 if content else 0.0, **options)
    model.compile(d_optimizer=keras.optimizers.SGD(0.01), g_optimizer=keras.optimizers.SGD(0.01), run_eagerly=True)
    return model


def pairs(count=8):
    high = RNG.uniform(-1, 1, (count, 8, 8, 1)).astype("float32")
    low = tf.image.resize(high, [4, 4], method="area").numpy()
    return low, high


@pytest.mark.parametrize("adversarial_loss", ["relativistic_average", "non_saturating"])
def test_the_generator_step_is_the_gradient_of_its_weighted_losses(adversarial_loss):
    from tfgan_impl import losses

    model = tiny_model(adversarial_loss, content=True, pixel_weight=0.5, adversarial_weight=0.25)
    low, high = pairs()
    model.d_optimizer.learning_rate.assign(0.0)  # the discriminator stays where the generator's loss was taken
    before = [w.numpy() for w in model.generator.trainable_weights]
    with tf.GradientTape() as tape:
        fake = model.generator(low, training=True)
        real_logits, fake_logits = model.discriminator(high, training=True), model.discriminator(fake, training=True)
        adversarial = (losses.relativistic_average_generator_loss(real_logits, fake_logits)
                       if adversarial_loss == "relativistic_average"
                       else losses.non_saturating_generator_loss(fake_logits))
        unit = lambda x: (x + 1.0) / 2.0  # noqa: E731
        pixel = tf.reduce_mean(tf.abs(unit(fake) - unit(high)), axis=[1, 2, 3])
        content = tf.reduce_mean(tf.square(model.content_network(unit(fake)) - model.content_network(unit(high))),
                                 axis=[1, 2, 3])
        loss = tf.reduce_mean(content + 0.5 * pixel + 0.25 * adversarial)
    gradients = tape.gradient(loss, model.generator.trainable_weights)
    logs = model.train_on_batch(low, high, return_dict=True)
    assert logs["content"] > 0 and logs["pixel"] > 0
    for start, gradient, after in zip(before, gradients, model.generator.trainable_weights):
        np.testing.assert_allclose(after.numpy(), start - 0.01 * gradient.numpy(), rtol=1e-4, atol=1e-6)
    assert not model.content_network.trainable_weights  # frozen


def test_pretraining_steps_leave_out_the_adversarial_term():
    low, high = pairs()
    pretraining, plain = tiny_model(pretrain_steps=2), tiny_model(adversarial_weight=0.0)
    for _ in range(2):
        pretraining.train_on_batch(low, high)
        plain.train_on_batch(low, high)
    for a, b in zip(pretraining.generator.weights, plain.generator.weights):
        np.testing.assert_allclose(a.numpy(), b.numpy(), atol=1e-7)
    pretraining.train_on_batch(low, high)
    plain.train_on_batch(low, high)
    assert max(np.abs(a.numpy() - b.numpy()).max()
               for a, b in zip(pretraining.generator.weights, plain.generator.weights)) > 1e-6


def test_the_model_saves_and_exports_a_generator_of_any_size(tmp_path):
    model = tiny_model(content=True, pretrain_steps=1)
    batches = tf.data.Dataset.from_tensor_slices(pairs()).batch(4)
    model.fit(batches, epochs=1, verbose=0)
    held_out = model.evaluate(batches, verbose=0, return_dict=True)
    assert sorted(held_out) == ["content", "g_adversarial", "g_loss", "pixel"] and held_out["pixel"] > 0
    model.save(tmp_path / "model.keras")
    loaded = keras.saving.load_model(tmp_path / "model.keras")
    assert isinstance(loaded, SuperResolution) and loaded.pretrain_steps == 1 and loaded.scale == 2
    images = RNG.uniform(size=(2, 6, 10, 1)).astype("float32")
    np.testing.assert_allclose(loaded.translate(images), model.translate(images), atol=1e-6)
    path = export.export_saved_model(model, str(tmp_path / "export"))
    served = tf.saved_model.load(path).signatures["serving_default"](images=tf.constant(images))
    np.testing.assert_allclose(served["images"].numpy(), model.translate(images), atol=1e-5)


def test_tiles_with_enough_overlap_upscale_without_seams():
    """A 2x SRResNet of one block sees 10 input pixels either side (9x9, two 3x3 in the block, 3x3, the
    upsampling 3x3, 9x9 at twice the size): tiles overlapping by 12 give the whole image's upscaling; without
    overlap the tiles' zero padding shows at the seams."""
    model = SuperResolution(networks.srresnet_generator([None, None, 1], scale=2, filters=4, num_blocks=1),
                            networks.srgan_discriminator([8, 8, 1], filters=4, num_blocks=2, dense_units=8))
    image = RNG.uniform(size=(50, 70, 1)).astype("float32")
    whole = model.translate(image[None])[0]
    tiled = model.translate_tiled(image, tile=40, overlap=12)
    assert tiled.shape == whole.shape == (100, 140, 1)
    np.testing.assert_allclose(tiled, whole, atol=1e-5)
    seams = np.abs(model.translate_tiled(image, tile=16, overlap=0) - whole)
    assert seams.max() > 1e-2, seams.max()
    with pytest.raises(ValueError, match="tile: 16 leaves no core"):
        model.translate_tiled(image, tile=16, overlap=8)


def test_config_errors_name_their_keys():
    assert_config_errors(CONFIG, [({"model": {"content_network": "vgg16:x.h5"}}, "model.content_network: expected none"),
             ({"train": {"content_weight": 1.0}}, "train.content_weight: no model.content_network"),
             ({"data": {"patch_size": 10}}, "data.patch_size: expected a multiple of data.scale"),
             ({"data": {"resize": "nearest"}}, "data.resize: expected one of"),
             ({"model": {"generator": {"name": "unet"}}}, "model.generator.name: 'unet' is not a super-resolution"),
             ({"train": {"pixel_loss": "l3"}}, "train.pixel_loss: expected one of"),
             ({"train": {"adversarial_weight": -1.0}}, "train.adversarial_weight: expected 0 or more")])


@needs_fashion_mnist
def test_cli_trains_upscales_files_of_any_size_and_exports(tmp_path, capsys):
    from tfgan_impl import images as images_module

    run = str(tmp_path / "run")
    assert cli.main(["train", CONFIG, "--out", run, "--epochs", "1", "--steps-per-epoch", "2", "--verbose", "0",
                     "--set", "data.split=train[:64]", "--set", "model.generator.num_blocks=1",
                     "--set", "model.generator.filters=8"]) == 0
    assert os.path.isfile(os.path.join(run, "samples", "epoch_001.png"))
    (tmp_path / "in").mkdir()
    images_module.save_png(RNG.integers(0, 256, (9, 13, 1), dtype=np.uint8), str(tmp_path / "in" / "a.png"))
    assert cli.main(["sample", run, "--input", str(tmp_path / "in"), "--out", str(tmp_path / "out")]) == 0
    assert images_module.decode_image(str(tmp_path / "out" / "a.png")).shape == (36, 52, 1)
    assert cli.main(["sample", run, "--input", str(tmp_path / "in"), "--out", str(tmp_path / "tiled"),
                     "--tile", "8"]) == 0
    assert images_module.decode_image(str(tmp_path / "tiled" / "a.png")).shape == (36, 52, 1)
    assert cli.main(["export", run, "--out", str(tmp_path / "export")]) == 0
    capsys.readouterr()
    assert cli.main(["train", CONFIG, "--out", str(tmp_path / "bad"), "--set",
                     "model.content_network=classifier:/no/such.keras"]) == 2
    assert "model.content_network: /no/such.keras: no such file" in capsys.readouterr().err


def high_frequency_energy(images):
    """Mean squared Laplacian: the fine detail that pixel losses blur away."""
    kernel = tf.constant([[0, 1, 0], [1, -4, 1], [0, 1, 0]], tf.float32)[:, :, None, None]
    return float(tf.reduce_mean(tf.square(tf.nn.conv2d(np.asarray(images, np.float32), kernel, 1, "VALID"))))


@pytest.mark.slow(minutes=1)
@needs_fashion_mnist
def test_the_adversarial_phase_restores_detail_and_keeps_beating_bicubic(fashion_classifier, tmp_path):
    """The shipped config narrowed (2 RRDBs of 16 channels) for 200 pixel-loss steps and 300 adversarial ones at
    a larger learning rate: upscaled 7x7 test images beat bicubic upscaling by PSNR, and the adversarial phase
    brings back the fine detail the pixel loss leaves out, which brings the outputs' FCD down (SRGAN's and ESRGAN's
    claim, the perception-distortion trade-off). Measured (2026-12-02): bicubic 15.9 dB, 0.007 of the real
    images' high-frequency energy, FCD 76.9; after pretraining 17.0 dB, 0.17, FCD 35.1; after the adversarial
    steps 16.5 dB, 0.82, FCD 14.9 (60 s alone on 2 cores)."""
    from tfgan_impl import evaluation, training

    config = config_module.load(CONFIG, [
        "model.generator.num_blocks=2", "model.generator.filters=16", "model.generator.growth=8",
        "model.discriminator.filters=16", "model.discriminator.dense_units=64", "train.epochs=5",
        "train.steps_per_epoch=100", "train.pretrain_steps=200", "train.sample_every=5",
        "train.g_optimizer.learning_rate=0.0005", "train.d_optimizer.learning_rate=0.0005"])
    low, high = family.pairs(config, "test[:1000]")
    evaluator = evaluation.Evaluator("fashion_mnist", ["fcd"], classifier=fashion_classifier[0])
    figures = {}

    def measure(upscaled):
        fcd = evaluator(evaluation.array_chunks(upscaled, len(upscaled)))["fcd"]
        return degradation.psnr(upscaled, high), high_frequency_energy(upscaled), fcd

    class Measure(keras.callbacks.Callback):
        def on_epoch_end(self, epoch, logs=None):
            figures[epoch + 1] = measure(self.model.translate(low))

    training.train(config, str(tmp_path / "run"), verbose=0, callbacks=[Measure()])
    bicubic, _, bicubic_fcd = measure(degradation.bicubic_upscale(low, 4))
    detail = high_frequency_energy(high)
    (pretrained_psnr, pretrained_detail, pretrained_fcd), (psnr, final_detail, fcd) = figures[2], figures[5]
    assert pretrained_psnr > bicubic + 0.5, (bicubic, figures)
    assert psnr > bicubic + 0.2, (bicubic, figures)
    assert final_detail > 2 * pretrained_detail and 0.4 * detail < final_detail < 2 * detail, (detail, figures)
    # the perception-distortion trade-off (Blau & Michaeli 2018): less PSNR, outputs nearer the data's features
    assert fcd < 0.7 * pretrained_fcd and pretrained_fcd < 0.7 * bicubic_fcd, (bicubic_fcd, figures)


def test_tflite_and_onnx_exports_upscale_like_the_model(tmp_path):
    import onnxruntime

    from tests.test_export import tflite_images

    model = tiny_model()
    model.fit(tf.data.Dataset.from_tensor_slices(pairs()).batch(4), epochs=1, verbose=0)
    images = RNG.uniform(size=(2, 6, 10, 1)).astype("float32")
    expected = model.translate(images)
    assert expected.shape == (2, 12, 20, 1) and expected.std() > 0.005  # 50x the tolerance: agreement means something
    lite = tflite_images(os.path.join(export.export_tflite(model, str(tmp_path / "tflite")), "generator.tflite"),
                         images=images)
    np.testing.assert_allclose(lite, expected, atol=1e-4)
    session = onnxruntime.InferenceSession(os.path.join(export.export_onnx(model, str(tmp_path / "onnx")),
                                                        "generator.onnx"), providers=["CPUExecutionProvider"])
    np.testing.assert_allclose(session.run(["translated"], {"images": images})[0], expected, atol=1e-4)


def test_two_replicas_train_like_one_device():
    """Losses are scaled by the global batch, the relativistic loss's expectations are the global batch's (each
    replica's put the weights 0.2 apart where training moved them 0.67), the RRDB generator has no batch norm
    and the discriminator's is synchronized: two replicas take one device's steps."""
    from tests.test_distribute import one_and_two_replicas

    def make_model():
        model = tiny_model(adversarial_weight=0.5)
        networks.synchronize_batch_norm(model.discriminator)
        model.compile(d_optimizer=keras.optimizers.SGD(0.1), g_optimizer=keras.optimizers.SGD(0.1))
        return model

    moved, apart = one_and_two_replicas(make_model, tf.data.Dataset.from_tensor_slices(pairs(16)).batch(8))
    assert moved > 5e-3, moved  # training moved the weights
    assert apart < 5e-3 * moved, (apart, moved)


@pytest.fixture
def image_npz(tmp_path):
    path = tmp_path / "images.npz"
    np.savez(path, x=RNG.integers(0, 256, (64, 16, 16, 1), dtype=np.uint8))
    return str(path)


@pytest.mark.slow
def test_a_resumed_run_ends_with_the_uninterrupted_weights(tmp_path, image_npz):
    from tests.test_distribute import whole_and_resumed

    def small_config(epochs):
        return config_module.load(CONFIG, [
            "model.generator.num_blocks=1", "model.generator.filters=4", "model.generator.growth=4",
            "model.discriminator.filters=4", "model.discriminator.dense_units=8", "data.scale=2",
            f"data.source=npz:{image_npz}", "data.split=train", "data.batch_size=8", "data.patch_size=8",
            f"train.epochs={epochs}", "train.steps_per_epoch=2", "train.pretrain_steps=2",
            "data.noise=0.05", "train.num_samples=4", "train.deterministic=true"])

    # Bit-exact only since deterministic runs turn Grappler's arithmetic optimizer off: it orders sums by node
    # names, which differ between the three runs' models in this process.
    a, b = whole_and_resumed(small_config, tmp_path)
    assert tf.config.optimizer.get_experimental_options().get("arithmetic_optimization", True)  # restored
    assert isinstance(b, SuperResolution) and int(b.steps.numpy()) == 4
    for x, y in zip(a.weights, b.weights):
        np.testing.assert_array_equal(x.numpy(), y.numpy(), err_msg=x.path)


@pytest.fixture(scope="module")
def vgg19_weights(tmp_path_factory):
    """A file in the format and layout of Keras's `vgg19_weights_tf_dim_ordering_tf_kernels_notop.h5` (legacy
    HDF5, a group per layer), of random weights: the ImageNet file cannot be downloaded here."""
    import h5py
    from keras.src.legacy.saving import legacy_h5_format

    keras.utils.set_random_seed(1)
    vgg = keras.applications.VGG19(include_top=False, weights=None)
    path = str(tmp_path_factory.mktemp("vgg") / "vgg19_weights_tf_dim_ordering_tf_kernels_notop.h5")
    with h5py.File(path, "w") as file:
        legacy_h5_format.save_weights_to_hdf5_group(file, vgg)
    return path, vgg


def test_vgg19_features_take_images_in_the_unit_interval_before_the_activation(vgg19_weights):
    path, vgg = vgg19_weights
    images = RNG.uniform(0, 1, (2, 32, 32, 3)).astype("float32")
    # ImageNet's caffe convention by hand: 0-255, BGR, the mean pixel subtracted.
    caffe = images[..., ::-1] * 255.0 - np.array([103.939, 116.779, 123.68], np.float32)
    block5 = keras.Model(vgg.input, vgg.get_layer("block5_conv3").output)(caffe)
    conv = vgg.get_layer("block5_conv4")
    expected = tf.nn.bias_add(tf.nn.conv2d(block5, conv.kernel, 1, "SAME"), conv.bias)  # no ReLU (ESRGAN)
    features = networks.vgg19_features(path, channels=3)
    np.testing.assert_allclose(features(images), expected, rtol=1e-4, atol=1e-3)
    assert float(tf.reduce_min(expected)) < 0  # which the ReLU would have cut
    after = networks.vgg19_features(path, channels=3, before_activation=False)
    np.testing.assert_allclose(after(images), tf.nn.relu(expected), rtol=1e-4, atol=1e-3)
    grey = networks.vgg19_features(path, channels=1)
    np.testing.assert_allclose(grey(images[..., :1]), features(np.repeat(images[..., :1], 3, axis=-1)), atol=1e-3)
    with pytest.raises(ValueError, match="layer: VGG19 has no layer 'block6_conv1'"):
        networks.vgg19_features(path, layer="block6_conv1")


@needs_fashion_mnist
def test_cli_trains_with_vgg19_content_and_rejects_other_files(tmp_path, capsys, vgg19_weights):
    from tfgan_impl import rundir

    path, _ = vgg19_weights
    run = str(tmp_path / "run")
    options = ["--epochs", "1", "--steps-per-epoch", "2", "--verbose", "0", "--set", "data.split=train[:64]",
               "--set", "model.generator.num_blocks=1", "--set", "model.generator.filters=8",
               "--set", "train.content_weight=1.0", "--set", "train.num_samples=4"]
    assert cli.main(["train", CONFIG, "--out", run, "--set", f"model.content_network=vgg19:{path}", *options]) == 0
    model = rundir.load_run(run)
    cut = model.content_network.get_layer("vgg19_features").get_layer("block5_conv4")
    assert cut.get_config()["activation"] == "linear"  # the saved run keeps ESRGAN's features before the ReLU
    high = RNG.uniform(-1, 1, (4, 28, 28, 1)).astype("float32")
    low = tf.image.resize(high, [7, 7], method="area").numpy()
    content = model.generator_terms(low, high, training=False)[3]
    assert float(tf.reduce_min(content)) > 0  # the features of the upscaling differ from the target's
    capsys.readouterr()
    not_vgg = tmp_path / "not_vgg.h5"
    not_vgg.write_text("not weights")
    assert cli.main(["train", CONFIG, "--out", str(tmp_path / "bad"), "--set",
                     f"model.content_network=vgg19:{not_vgg}", *options]) == 2
    error = capsys.readouterr().err
    assert f"model.content_network: {not_vgg} does not hold Keras's VGG19 weights" in error, error
    assert "Traceback" not in error and not os.path.exists(tmp_path / "bad" / "checkpoints")


def div2k_like_examples(sizes, scale=4, mismatch=False):
    """`as_dataset` of TFDS's mock: div2k examples of the given low-resolution sizes, each high-resolution image
    its low one's pixels repeated `scale` times (so any aligned crop's low patch is its high patch subsampled)."""
    def as_dataset(self, *args, **kwargs):
        def examples():
            for index, (height, width) in enumerate(sizes):
                low = np.random.default_rng(index).integers(0, 256, (height, width, 3), dtype=np.uint8)
                high = np.repeat(np.repeat(low, scale, axis=0), scale + int(mismatch), axis=1)
                yield {"lr": low, "hr": high}
        return tf.data.Dataset.from_generator(examples, output_signature={
            feature: tf.TensorSpec([None, None, 3], tf.uint8) for feature in ("lr", "hr")}).apply(
                tf.data.experimental.assert_cardinality(len(sizes)))  # as TFDS's own datasets know theirs
    return as_dataset


def test_tfds_div2k_pairs_of_any_size_stream_as_aligned_crops(monkeypatch, tmp_path, capsys):
    """TFDS cannot download div2k here: its mock stands in with pairs of several sizes (the real set's 2K images
    differ in size too), which the family crops, aligned, before it batches them, and which train from the CLI."""
    import tensorflow_datasets as tfds

    from tfgan_impl import data

    monkeypatch.setattr(data, "can_reach", lambda *args, **kwargs: True)
    source = "data.source=tfds:div2k/bicubic_x4"
    sizes = [(6, 9), (8, 5), (7, 7), (12, 10), (5, 6), (9, 8), (6, 6), (10, 5)]
    with tfds.testing.mock_data(as_dataset_fn=div2k_like_examples(sizes)):
        config = config_module.load(CONFIG, [source, "data.patch_size=16", "data.batch_size=4",
                                             "train.num_samples=3"])
        assert family.tfds_pair_builder(config.data.source) is not None
        training = family.training_data(config)
        assert training.info["input_shape"] == [None, None, 3] and training.info["sample_shape"] == [16, 16, 3]
        low, high = training.preview
        assert low.shape == (3, 4, 4, 3) and high.shape == (3, 16, 16, 3)
        batches = list(training.dataset)
        assert len(batches) == 2
        for small, large in batches:
            assert small.shape == (4, 4, 4, 3) and large.shape == (4, 16, 16, 3)
            np.testing.assert_allclose(small.numpy(), large.numpy()[:, ::4, ::4], atol=1e-6)  # aligned
        with pytest.raises(UserError, match="data.patch_size: tfds:div2k/bicubic_x4 holds images of many sizes"):
            family.training_data(config_module.load(CONFIG, [source, "data.patch_size=null"]))
        with pytest.raises(UserError, match=r"data.patch_size: 32 is larger than the images of tfds:div2k/"):
            family.training_data(config_module.load(CONFIG, [source, "data.patch_size=32"]))
        with pytest.raises(UserError, match=r"are not data.scale \(2\) times the low-resolution \[6, 9\]"):
            family.training_data(config_module.load(CONFIG, [source, "data.scale=2", "data.patch_size=8"]))
        run = str(tmp_path / "run")
        assert cli.main(["train", CONFIG, "--out", run, "--epochs", "1", "--verbose", "0", "--set", source,
                         "--set", "data.patch_size=16", "--set", "data.batch_size=4", "--set", "train.num_samples=3",
                         "--set", "model.generator.num_blocks=1", "--set", "model.generator.filters=4",
                         "--set", "model.discriminator.filters=4", "--set", "model.discriminator.dense_units=8"]) == 0
    assert os.path.isfile(os.path.join(run, "samples", "epoch_001.png"))
    with tfds.testing.mock_data(as_dataset_fn=div2k_like_examples(sizes, mismatch=True)):
        capsys.readouterr()
        assert cli.main(["train", CONFIG, "--out", str(tmp_path / "bad"), "--set", source,
                         "--set", "data.patch_size=16"]) == 2
        assert "are not data.scale (4) times" in capsys.readouterr().err
