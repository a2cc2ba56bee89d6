"""DiffAugment: each transformation does what it says, is seeded, and lets gradients through to the images."""
import numpy as np
import pytest
import tensorflow as tf

from tfgan_impl import augment

IMAGES = tf.constant(np.random.default_rng(0).uniform(-1, 1, (6, 16, 16, 3)).astype("float32"))
SEED = tf.constant([3, 4], tf.int64)


def test_translation_shifts_whole_images_and_pads_with_zeros():
    moved = augment.translation(IMAGES, SEED).numpy()
    original = IMAGES.numpy()
    for image, result in zip(original, moved):
        matches = [(dy, dx) for dy in range(-2, 3) for dx in range(-2, 3)
                   if np.allclose(np.roll(image, (-dy, -dx), axis=(0, 1))[2:-2, 2:-2], result[2:-2, 2:-2])]
        assert matches, "each image must be a shifted copy of itself (shift at most 16 * 0.125 = 2)"
        dy, dx = matches[0]
        if dy > 0:
            assert np.all(result[-dy:] == 0)
        if dx < 0:
            assert np.all(result[:, :-dx] == 0)


def test_cutout_zeroes_one_square_of_half_the_size():
    ones = tf.ones([4, 16, 16, 1])
    result = augment.cutout(ones, SEED).numpy()[..., 0]
    for image in result:
        zero_rows = np.where((image == 0).any(axis=1))[0]
        zero_columns = np.where((image == 0).any(axis=0))[0]
        # A square of side 8, clipped where it runs off the border.
        assert 4 <= len(zero_rows) <= 8 and 4 <= len(zero_columns) <= 8
        assert (image == 0).sum() == len(zero_rows) * len(zero_columns)


def test_color_changes_brightness_saturation_and_contrast_per_image():
    result = augment.color(IMAGES, SEED).numpy()
    assert result.shape == IMAGES.shape
    shifts = result.mean(axis=(1, 2, 3)) - IMAGES.numpy().mean(axis=(1, 2, 3))
    assert np.all(np.abs(shifts) <= 0.5 + 1e-5) and np.std(shifts) > 0.01


def test_same_seed_same_augmentation_and_different_seed_differs():
    policy = ("color", "translation", "cutout")
    first = augment.diff_augment(IMAGES, policy, SEED)
    np.testing.assert_array_equal(first.numpy(), augment.diff_augment(IMAGES, policy, SEED).numpy())
    assert not np.allclose(first.numpy(), augment.diff_augment(IMAGES, policy, SEED + 1).numpy())


def test_gradients_flow_to_the_images():
    images = tf.Variable(IMAGES)
    with tf.GradientTape() as tape:
        total = tf.reduce_sum(augment.diff_augment(images, augment.POLICIES, SEED) ** 2)
    gradient = tape.gradient(total, images).numpy()
    assert np.all(np.isfinite(gradient)) and np.count_nonzero(gradient) > gradient.size // 4


def test_bad_policy_and_bad_shapes_are_clear_errors():
    with pytest.raises(ValueError, match="unknown augmentation 'rotate'"):
        augment.check_policy(["color", "rotate"])
    with pytest.raises(ValueError, match=r"needs images \[batch, H, W, C\]"):
        augment.diff_augment(tf.zeros([4, 2]), ["color"], SEED)
