"""StyleGAN2's networks against closed forms: FIR resampling, the equalized learning rate, the modulated and
demodulated convolution of eq. 1-3 computed example by example in numpy, the synthesis layout."""
import math

import keras
import numpy as np
import pytest
import tensorflow as tf

from tfgan_impl.networks import equalized, stylegan2

RNG = np.random.default_rng(0)


def correlate_same(image, kernel):
    """Numpy 'same' cross-correlation of one image `[H, W, I]` with `[k, k, I, O]` (what tf.nn.conv2d computes)."""
    size = kernel.shape[0]
    padded = np.pad(image, [(size // 2, size // 2), (size // 2, size // 2), (0, 0)])
    height, width = image.shape[:2]
    out = np.zeros((height, width, kernel.shape[3]))
    for dy in range(size):
        for dx in range(size):
            out += padded[dy:dy + height, dx:dx + width] @ kernel[dy, dx]
    return out


def test_upsampling_is_bilinear_interpolation_at_half_pixel_centres():
    signal = RNG.standard_normal((1, 6, 6, 2)).astype("float32")
    up = equalized.upsample_2d(tf.constant(signal)).numpy()
    # separable [1, 3, 3, 1]: y[2i] = x[i-1]/4 + 3x[i]/4, y[2i+1] = 3x[i]/4 + x[i+1]/4, zero outside the image
    padded = np.pad(signal, [(0, 0), (1, 1), (1, 1), (0, 0)])
    rows = np.zeros((1, 12, 8, 2))
    rows[:, 0::2] = padded[:, 0:6] / 4 + 3 * padded[:, 1:7] / 4
    rows[:, 1::2] = 3 * padded[:, 1:7] / 4 + padded[:, 2:8] / 4
    expected = np.zeros((1, 12, 12, 2))
    expected[:, :, 0::2] = rows[:, :, 0:6] / 4 + 3 * rows[:, :, 1:7] / 4
    expected[:, :, 1::2] = 3 * rows[:, :, 1:7] / 4 + rows[:, :, 2:8] / 4
    np.testing.assert_allclose(up, expected, atol=1e-5)
    inner = tf.image.resize(signal, (12, 12), "bilinear").numpy()[:, 1:-1, 1:-1]
    np.testing.assert_allclose(up[:, 1:-1, 1:-1], inner, atol=1e-5)


def test_downsampling_filters_with_1_3_3_1_then_keeps_every_second_pixel():
    signal = RNG.standard_normal((2, 8, 8, 3)).astype("float32")
    down = equalized.downsample_2d(tf.constant(signal)).numpy()
    padded = np.pad(signal, [(0, 0), (1, 1), (1, 1), (0, 0)])
    rows = (padded[:, 0:8:2] + 3 * padded[:, 1:9:2] + 3 * padded[:, 2:10:2] + padded[:, 3:11:2]) / 8
    expected = (rows[:, :, 0:8:2] + 3 * rows[:, :, 1:9:2] + 3 * rows[:, :, 2:10:2] + rows[:, :, 3:11:2]) / 8
    np.testing.assert_allclose(down, expected, atol=1e-5)


def test_equalized_dense_scales_weights_at_run_time_by_lr_multiplier_over_root_fan_in():
    layer = equalized.EqualizedDense(300, lr_multiplier=0.01, bias_init=2.0, activation="linear")
    x = RNG.standard_normal((4, 400)).astype("float32")
    y = layer(x).numpy()
    kernel, bias = layer.kernel.numpy(), layer.bias.numpy()
    assert kernel.std() == pytest.approx(100.0, rel=0.02)  # N(0, 1 / lr_multiplier^2): stored large ...
    np.testing.assert_allclose(y, x @ kernel * (0.01 / math.sqrt(400)) + bias * 0.01, rtol=1e-4, atol=1e-4)
    assert np.std(x @ kernel * (0.01 / math.sqrt(400))) == pytest.approx(1.0, rel=0.1)  # ... used at unit gain
    # the equalized learning rate: a step of the parameter moves the output lr_multiplier^2 / fan_in as much
    with tf.GradientTape() as tape:
        out = tf.reduce_sum(layer(x))
    gradient = tape.gradient(out, layer.kernel).numpy()
    np.testing.assert_allclose(gradient, np.repeat(x.sum(0)[:, None], 300, 1) * 0.01 / math.sqrt(400), rtol=1e-4)
    lrelu = equalized.EqualizedDense(3, activation="lrelu")
    out = lrelu(x).numpy()
    pre = x @ lrelu.kernel.numpy() / math.sqrt(400)
    np.testing.assert_allclose(out, np.where(pre > 0, pre, 0.2 * pre) * math.sqrt(2), rtol=1e-4, atol=1e-5)


def test_equalized_convolution_down_halves_the_resolution_through_the_filter():
    x = RNG.standard_normal((2, 8, 8, 3)).astype("float32")
    skip = equalized.EqualizedConv2D(5, 1, use_bias=False, down=True, gain=0.5)
    y = skip(x).numpy()
    expected = equalized.downsample_2d(tf.constant(x)).numpy() @ (skip.kernel.numpy()[0, 0] / math.sqrt(3)) * 0.5
    np.testing.assert_allclose(y, expected, rtol=1e-4, atol=1e-5)
    conv = equalized.EqualizedConv2D(4, 3, down=True)
    assert conv(x).shape == (2, 4, 4, 4)
    plain = equalized.EqualizedConv2D(4, 3)
    y = plain(x).numpy()
    for b in range(2):
        np.testing.assert_allclose(y[b], correlate_same(x[b], plain.kernel.numpy() / math.sqrt(27)), atol=1e-4)


@pytest.mark.parametrize("demodulate", [True, False])
def test_modulated_convolution_is_eq_1_to_3_computed_example_by_example(demodulate):
    layer = stylegan2.ModulatedConv2D(6, 3, demodulate=demodulate, noise=False, activation="linear")
    x = RNG.standard_normal((3, 5, 5, 4)).astype("float32")
    w = RNG.standard_normal((3, 7)).astype("float32")
    y = layer([x, w]).numpy()
    affine = layer.affine
    styles = w @ affine.kernel.numpy() / math.sqrt(7) + affine.bias.numpy()  # A(w), bias initialized to 1
    assert np.allclose(affine.bias.numpy(), 1.0)
    if not demodulate:
        styles = styles / math.sqrt(4 * 9)
    for b in range(3):
        weights = layer.kernel.numpy() * styles[b][None, None, :, None]  # eq. 1: w'_ijk = s_i w_ijk
        if demodulate:  # eq. 3: w''_ijk = w'_ijk / sqrt(sum_ik w'_ijk^2 + eps)
            weights = weights / np.sqrt((weights**2).sum(axis=(0, 1, 2), keepdims=True) + 1e-8)
        np.testing.assert_allclose(y[b], correlate_same(x[b], weights) + layer.bias.numpy(), rtol=1e-3, atol=1e-4)


def test_demodulation_restores_unit_output_scale_whatever_the_style_magnitude():
    layer = stylegan2.ModulatedConv2D(32, 3, noise=False, activation="linear")
    x = RNG.standard_normal((4, 16, 16, 32)).astype("float32")
    small, large = RNG.standard_normal((4, 8)).astype("float32"), 50 * RNG.standard_normal((4, 8)).astype("float32")
    for w in (small, large):
        assert layer([x, w]).numpy()[:, 2:-2, 2:-2].std() == pytest.approx(1.0, rel=0.15)


def test_upsampling_modulated_convolution_equals_upsample_then_convolve():
    layer = stylegan2.ModulatedConv2D(3, 3, up=True, noise=False, activation="linear")
    x = RNG.standard_normal((2, 4, 4, 2)).astype("float32")
    w = RNG.standard_normal((2, 5)).astype("float32")
    y = layer([x, w]).numpy()
    styles = layer.styles(w).numpy()
    for b in range(2):
        weights = layer.kernel.numpy() * styles[b][None, None, :, None]
        weights = weights / np.sqrt((weights**2).sum(axis=(0, 1, 2), keepdims=True) + 1e-8)
        upsampled = equalized.upsample_2d(tf.constant(x[b:b + 1])).numpy()[0]
        np.testing.assert_allclose(y[b], correlate_same(upsampled, weights), rtol=1e-3, atol=1e-4)


def test_noise_is_random_in_training_and_a_fixed_learned_map_otherwise():
    layer = stylegan2.ModulatedConv2D(2, 3, activation="linear")
    x, w = np.ones((2, 4, 4, 2), "float32"), np.ones((2, 3), "float32")
    quiet = layer([x, w], training=True).numpy()
    np.testing.assert_allclose(quiet, layer([x, w], training=True).numpy())  # strength starts at 0
    layer.noise_strength.assign(0.5)
    first, second = layer([x, w], training=True).numpy(), layer([x, w], training=True).numpy()
    assert np.abs(first - second).max() > 0.1
    assert np.allclose(first[..., 0] - quiet[..., 0], first[..., 1] - quiet[..., 1])  # one map for all channels
    fixed = layer([x, w]).numpy()
    np.testing.assert_allclose(fixed, quiet + 0.5 * layer.noise_map.numpy()[None], rtol=1e-5, atol=1e-6)


def test_pixel_normalization_gives_unit_mean_square_features():
    x = 7 * RNG.standard_normal((5, 4, 4, 16)).astype("float32")
    y = equalized.PixelNormalization()(x).numpy()
    np.testing.assert_allclose((y**2).mean(-1), 1.0, rtol=1e-4)


def test_the_paper_1024_networks_build_with_the_official_parameter_counts():
    generator = stylegan2.stylegan2_generator(512, (1024, 1024, 3))
    discriminator = stylegan2.stylegan2_discriminator((1024, 1024, 3))
    trainable = lambda model: sum(int(np.prod(v.shape)) for v in model.trainable_weights)  # noqa: E731
    # the official StyleGAN2-ADA (PyTorch) networks, instantiated at 1024x1024 (z, w 512; 8 mapping layers;
    # channel_base 32768, channel_max 512), count these parameters (its noise maps are buffers, ours
    # non-trainable weights)
    assert generator.num_ws == 18 and stylegan2.num_ws((1024, 1024, 3)) == 18
    assert trainable(generator) == 30_370_060
    assert trainable(discriminator) == 29_012_513


def test_synthesis_reads_one_w_per_layer_in_the_official_order():
    generator = stylegan2.stylegan2_generator(8, (16, 16, 1), w_dim=8, mapping_layers=1, channel_base=64,
                                              channel_max=8)
    assert generator.num_ws == 6
    ws = generator.broadcast(tf.constant(RNG.standard_normal((2, 8)), tf.float32)).numpy()
    base = generator.synthesis(ws).numpy()
    changed = []
    for index in range(6):  # perturbing w_i changes the image; every w is read
        other = ws.copy()
        other[:, index] += 3.0
        changed.append(np.abs(generator.synthesis(other).numpy() - base).max() > 1e-4)
    assert all(changed)
    selects = {layer.name: layer.index for layer in generator.synthesis.layers if isinstance(layer, stylegan2.SelectW)}
    assert sorted(selects.values()) == [0, 1, 1, 2, 3, 3, 4, 5]  # an RGB layer shares the next block's first w


def test_truncation_pulls_w_toward_the_tracked_average():
    generator = stylegan2.stylegan2_generator(8, (8, 8, 1), w_dim=8, mapping_layers=2, channel_base=32, channel_max=8)
    generator.w_average.assign(np.full(8, 2.0, "float32"))
    ws = tf.constant(RNG.standard_normal((3, 4, 8)), tf.float32)
    np.testing.assert_allclose(generator.truncate(ws, 0.0).numpy(), 2.0)
    np.testing.assert_allclose(generator.truncate(ws, 1.0).numpy(), ws.numpy(), atol=1e-6)
    np.testing.assert_allclose(generator.truncate(ws, 0.5).numpy(), 1.0 + ws.numpy() / 2, rtol=1e-5, atol=1e-6)


def test_generator_and_discriminator_save_and_load(tmp_path):
    generator = stylegan2.stylegan2_generator(16, (16, 16, 3), w_dim=16, mapping_layers=2, channel_base=128,
                                              channel_max=16)
    discriminator = stylegan2.stylegan2_discriminator((16, 16, 3), channel_base=128, channel_max=16)
    z = RNG.standard_normal((4, 16)).astype("float32")
    images = generator(z).numpy()
    assert images.shape == (4, 16, 16, 3) and discriminator(images).shape == (4, 1)
    generator.w_average.assign(np.arange(16, dtype="float32"))
    generator.save(tmp_path / "g.keras")
    discriminator.save(tmp_path / "d.keras")
    loaded_g = keras.models.load_model(tmp_path / "g.keras")
    loaded_d = keras.models.load_model(tmp_path / "d.keras")
    np.testing.assert_allclose(loaded_g(z).numpy(), images, atol=1e-6)
    np.testing.assert_allclose(loaded_d(images).numpy(), discriminator(images).numpy(), atol=1e-6)
    np.testing.assert_allclose(loaded_g.w_average.numpy(), np.arange(16))


def test_image_sizes_that_are_not_square_powers_of_two_are_refused():
    with pytest.raises(ValueError, match=r"square power-of-two image size of at least 4, got \[28, 28\]"):
        stylegan2.stylegan2_generator(8, (28, 28, 1))
    with pytest.raises(ValueError, match=r"got \[32, 16\]"):
        stylegan2.stylegan2_discriminator((32, 16, 1))
