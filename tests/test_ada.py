"""ADA (tfgan_impl.ada): each transformation against its closed form, the probability gate, gradients, and the
overfitting heuristic moving p with a scripted discriminator."""
import numpy as np
import pytest
import tensorflow as tf

from tfgan_impl import ada
from tests.test_stylegan2 import real_batches, tiny_model

RNG = np.random.default_rng(0)
SEED = tf.constant([3, 4], tf.int64)


def images(channels=3, batch=16, size=8):
    return tf.constant(RNG.uniform(-1, 1, (batch, size, size, channels)), tf.float32)


def test_probability_zero_leaves_images_unchanged_and_one_changes_every_image():
    x = images()
    np.testing.assert_array_equal(ada.augment(x, 0.0, SEED).numpy(), x.numpy())
    changed = np.abs(ada.augment(x, 1.0, SEED).numpy() - x.numpy()).max(axis=(1, 2, 3))
    assert (changed > 1e-3).all()


def test_each_transformation_is_applied_to_about_p_of_the_images():
    x = images(batch=2000, size=4)
    changed = np.abs(ada.augment(x, 0.3, SEED, ["brightness"]).numpy() - x.numpy()).max(axis=(1, 2, 3)) > 0
    assert changed.mean() == pytest.approx(0.3, abs=0.04)


def test_blits_are_exact_flips_quarter_turns_and_integer_shifts():
    x = images(channels=1, batch=32)
    flipped = ada.augment(x, 1.0, SEED, ["xflip"]).numpy()
    for original, out in zip(x.numpy(), flipped):
        assert np.allclose(out, original, atol=1e-5) or np.allclose(out, original[:, ::-1], atol=1e-5)
    turned = ada.augment(x, 1.0, SEED, ["rotate90"]).numpy()
    kinds = set()
    for original, out in zip(x.numpy(), turned):
        matches = [k for k in range(4) if np.allclose(out, np.rot90(original, k, axes=(0, 1)), atol=1e-5)]
        assert len(matches) == 1
        kinds.add(matches[0])
    assert kinds == {0, 1, 2, 3}
    shifted = ada.augment(x, 1.0, SEED, ["xint"]).numpy()
    for original, out in zip(x.numpy(), shifted):  # away from the reflected border, a whole-pixel shift
        assert any(np.allclose(out[2:6, 2:6], np.roll(original, (dy, dx), axis=(0, 1))[2:6, 2:6], atol=1e-5)
                   for dy in (-1, 0, 1) for dx in (-1, 0, 1))


def test_colour_transformations_keep_their_invariants():
    x = images(channels=3, batch=32)
    luma = lambda a: a.sum(axis=-1)  # noqa: E731  (projection on (1, 1, 1))
    bright = ada.augment(x, 1.0, SEED, ["brightness"]).numpy()
    offsets = bright - x.numpy()  # one offset per image, the same in every channel and pixel
    assert np.allclose(offsets, offsets[:, :1, :1, :1], atol=1e-5)
    for name in ("hue", "saturation"):  # both act orthogonally to the luma axis
        out = ada.augment(x, 1.0, SEED, [name]).numpy()
        np.testing.assert_allclose(luma(out), luma(x.numpy()), atol=1e-4)
    hue = ada.augment(x, 1.0, SEED, ["hue"]).numpy()  # a rotation keeps lengths
    np.testing.assert_allclose(np.linalg.norm(hue, axis=-1), np.linalg.norm(x.numpy(), axis=-1), atol=1e-4)
    flipped = ada.augment(x, 1.0, SEED, ["lumaflip"]).numpy()  # reflection: luma negated or kept, chroma kept
    for original, out in zip(x.numpy(), flipped):
        chroma = lambda a: a - a.mean(-1, keepdims=True)  # noqa: E731
        np.testing.assert_allclose(chroma(out), chroma(original), atol=1e-4)
        assert np.allclose(luma(out), luma(original), atol=1e-4) or np.allclose(luma(out), -luma(original), atol=1e-4)
    contrast = ada.augment(x, 1.0, SEED, ["contrast"]).numpy()
    ratios = contrast / x.numpy()
    assert np.allclose(ratios, ratios[:, :1, :1, :1], atol=1e-3)


def test_grayscale_images_get_the_rows_mean_of_the_colour_matrix():
    gray = images(channels=1, batch=8)
    out = ada.augment(gray, 1.0, SEED, ["brightness", "contrast"]).numpy()
    rgb = ada.augment(tf.tile(gray, [1, 1, 1, 3]), 1.0, SEED, ["brightness", "contrast"]).numpy()
    np.testing.assert_allclose(out[..., 0], rgb.mean(-1), atol=1e-5)  # same draws: the gray rule is the mean


def test_augmentation_passes_gradients_to_the_images():
    x = images(channels=1, batch=4)
    with tf.GradientTape() as tape:
        tape.watch(x)
        total = tf.reduce_sum(ada.augment(x, 1.0, SEED) * tf.range(64, dtype=tf.float32)[None, :, None, None][:, :8])
    gradient = tape.gradient(total, x)
    assert gradient is not None and float(tf.reduce_sum(tf.abs(gradient))) > 0


def test_unknown_transformations_are_named():
    with pytest.raises(ValueError, match=r"unknown transformations \['blur'\]"):
        ada.augment(images(), 0.5, SEED, ["xflip", "blur"])
    with pytest.raises(ValueError, match="expected one of b, bg, bgc, c, got 'x'"):
        ada.augment(images(), 0.5, SEED, "x")


def test_the_heuristic_moves_p_by_the_images_seen_and_never_below_zero():
    assert float(ada.adjusted_probability(0.2, 0.9, 0.6, images=1000, speed_images=10_000)) == pytest.approx(0.3)
    assert float(ada.adjusted_probability(0.2, 0.1, 0.6, images=1000, speed_images=10_000)) == pytest.approx(0.1)
    assert float(ada.adjusted_probability(0.05, -1.0, 0.6, images=1000, speed_images=10_000)) == 0.0


@pytest.mark.parametrize("real_logit, direction", [(5.0, 1), (-5.0, -1)])
def test_p_rises_when_the_discriminator_overfits_and_falls_when_it_does_not(real_logit, direction):
    model = tiny_model(ada_p=0.5, style_mixing=0.0)
    model.compile(d_optimizer="adam", g_optimizer="adam", r1_gamma=0.0, pl_weight=0.0, ada_target=0.6,
                  ada_interval=2, ada_speed_images=64)
    # a scripted discriminator: confident that every image is real (overfitting) or fake
    model._float32_logits = lambda inputs, labels, training: (
        0.0 * model.discriminator(inputs) + real_logit, None)
    model.fit(real_batches(batch=8), steps_per_epoch=4, epochs=1, verbose=0)
    # 4 steps, p updated after steps 2 and 4, each time by 2 steps x 8 images / 64 = 0.25
    assert float(model.ada_p.numpy()) == pytest.approx(0.5 + direction * 0.5)
    assert float(model.get_metrics_result()["real_sign"]) == pytest.approx(np.sign(real_logit))


def random_affine(batch, height, width):
    """Rotations, scalings and shears about the centre, and shifts up to three image sizes (reflected more than once)."""
    angle, scale, shear = RNG.uniform(-np.pi, np.pi, batch), np.exp(RNG.normal(0, 0.5, batch)), RNG.normal(0, 0.3, batch)
    matrices = np.zeros((batch, 3, 3), np.float32)
    matrices[:, 0, 0], matrices[:, 0, 1] = scale * np.cos(angle), -scale * np.sin(angle) + shear
    matrices[:, 1, 0], matrices[:, 1, 1] = scale * np.sin(angle), scale * np.cos(angle)
    matrices[:, 0, 2] = RNG.uniform(-3, 3, batch) * width
    matrices[:, 1, 2] = RNG.uniform(-3, 3, batch) * height
    matrices[:, 2, 2] = 1.0
    return tf.constant(matrices)


def test_resampling_is_the_projective_transform_op_with_bilinear_reflection_and_compiles_under_xla():
    """The values of `tf.raw_ops.ImageProjectiveTransformV3`; the gradient is the exact adjoint of the (linear)
    resampling, where the op's registered gradient resamples by the inverse transform (an approximation: it
    differed by up to 11 on these images)."""
    x = tf.constant(RNG.uniform(-1, 1, (8, 9, 7, 3)), tf.float32)  # not square: rows and columns kept apart
    matrices = random_affine(8, 9, 7)
    expected = tf.raw_ops.ImageProjectiveTransformV3(
        images=x, transforms=tf.reshape(matrices, [8, 9])[:, :8], output_shape=tf.constant([9, 7]), fill_value=0.0,
        interpolation="BILINEAR", fill_mode="REFLECT")
    weights = tf.constant(RNG.normal(size=(8, 9, 7, 3)), tf.float32)

    def value_and_gradient(function):
        with tf.GradientTape() as tape:
            tape.watch(x)
            value = function(x)
            total = tf.reduce_sum(value * weights)
        return value, tape.gradient(total, x)

    value, gradient = value_and_gradient(lambda images: ada.resample(images, matrices))
    np.testing.assert_allclose(value.numpy(), expected.numpy(), atol=1e-5)
    # linear in the images: <resample(x), w> = <x, resample^T(w)>
    np.testing.assert_allclose(np.sum(value.numpy() * weights.numpy()), np.sum(x.numpy() * gradient.numpy()),
                               rtol=1e-4)
    compiled, compiled_gradient = value_and_gradient(
        tf.function(lambda images: ada.resample(images, matrices), jit_compile=True))
    np.testing.assert_allclose(compiled.numpy(), expected.numpy(), atol=1e-5)
    np.testing.assert_allclose(compiled_gradient.numpy(), gradient.numpy(), atol=1e-4)
    np.testing.assert_allclose(ada.resample(x, tf.eye(3, batch_shape=[8])).numpy(), x.numpy(), atol=1e-6)
