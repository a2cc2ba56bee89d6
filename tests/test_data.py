"""Data sources and the input pipeline, including corrupt, empty and inconsistent inputs."""
import gzip
import os
import struct

import numpy as np
import pytest
from PIL import Image

from tests.conftest import FASHION_MNIST_DIR
from tfgan_impl import data
from tfgan_impl.errors import DataError


def write_idx(path, array, compress=True):
    header = struct.pack(">BBBB", 0, 0, 0x08, array.ndim) + struct.pack(f">{array.ndim}I", *array.shape)
    payload = header + array.astype(np.uint8).tobytes()
    with (gzip.open if compress else open)(path, "wb") as stream:
        stream.write(payload)


def make_idx_dir(directory, images, labels, compress=True, split="train"):
    prefix = "train" if split == "train" else "t10k"
    suffix = ".gz" if compress else ""
    os.makedirs(directory, exist_ok=True)
    write_idx(os.path.join(directory, f"{prefix}-images-idx3-ubyte{suffix}"), images, compress)
    write_idx(os.path.join(directory, f"{prefix}-labels-idx1-ubyte{suffix}"), labels, compress)
    return directory


@pytest.mark.parametrize("compress", [True, False])
def test_idx_round_trip(tmp_path, tiny_images, compress):
    images, labels = tiny_images
    directory = make_idx_dir(str(tmp_path), images[..., 0], labels, compress)
    source = data.load_source(f"idx:{directory}")
    assert source.num_examples == 64 and source.has_labels
    np.testing.assert_array_equal(source.images, images)
    np.testing.assert_array_equal(source.labels, labels)


def test_idx_truncated_file_names_the_file(tmp_path, tiny_images):
    images, labels = tiny_images
    directory = make_idx_dir(str(tmp_path), images[..., 0], labels, compress=False)
    path = os.path.join(directory, "train-images-idx3-ubyte")
    with open(path, "r+b") as stream:
        stream.truncate(os.path.getsize(path) - 10)
    with pytest.raises(DataError, match="train-images-idx3-ubyte: truncated or corrupt IDX file"):
        data.load_source(f"idx:{directory}")


def test_idx_corrupt_gzip_names_the_file(tmp_path, tiny_images):
    images, labels = tiny_images
    directory = make_idx_dir(str(tmp_path), images[..., 0], labels)
    path = os.path.join(directory, "train-labels-idx1-ubyte.gz")
    raw = open(path, "rb").read()
    open(path, "wb").write(raw[: len(raw) // 2])
    with pytest.raises(DataError, match="train-labels-idx1-ubyte.gz: corrupt or truncated gzip"):
        data.load_source(f"idx:{directory}")


def test_idx_bad_magic_and_missing_files(tmp_path):
    with pytest.raises(DataError, match="no such directory"):
        data.load_source(f"idx:{tmp_path}/missing")
    with pytest.raises(DataError, match="no train-images-idx3-ubyte"):
        data.load_source(f"idx:{tmp_path}")
    (tmp_path / "train-images-idx3-ubyte").write_bytes(b"PNG junk that is not IDX")
    with pytest.raises(DataError, match="not an IDX file"):
        data.read_idx(str(tmp_path / "train-images-idx3-ubyte"))


def test_idx_label_count_mismatch(tmp_path, tiny_images):
    images, labels = tiny_images
    directory = make_idx_dir(str(tmp_path), images[..., 0], labels[:10])
    with pytest.raises(DataError, match="64 images but 10 labels"):
        data.load_source(f"idx:{directory}")


@pytest.mark.skipif(not os.path.isdir(FASHION_MNIST_DIR), reason="apt-get install dataset-fashion-mnist")
def test_debian_fashion_mnist_via_short_name():
    train = data.load_source("fashion_mnist")
    test = data.load_source("fashion_mnist", split="test")
    assert train.images.shape == (60000, 28, 28, 1) and test.images.shape == (10000, 28, 28, 1)
    assert sorted(np.unique(train.labels)) == list(range(10))
    assert train.name == f"idx:{FASHION_MNIST_DIR}"
    assert train.class_names[0] == "T-shirt/top" and train.class_names[9] == "Ankle boot"
    assert data.load_source("fashion_mnist", split="train[:10]").class_names == train.class_names


def save_png(path, array):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    Image.fromarray(array).save(path)


def test_folder_subfolders_become_sorted_labels(tmp_path):
    rng = np.random.default_rng(0)
    for name, count in (("cats", 3), ("dogs", 2)):
        for index in range(count):
            save_png(str(tmp_path / name / f"{index}.png"), rng.integers(0, 255, (6, 6, 3), dtype=np.uint8))
    source = data.load_source(f"folder:{tmp_path}")
    assert source.images.shape == (5, 6, 6, 3)
    assert source.labels.tolist() == [0, 0, 0, 1, 1]


def test_folder_grayscale_and_resize(tmp_path):
    save_png(str(tmp_path / "a.png"), np.zeros((10, 10), np.uint8))
    save_png(str(tmp_path / "b.png"), np.full((12, 8), 255, np.uint8))
    with pytest.raises(DataError, match=r"b.png: image size \[12, 8\] differs from .*a.png"):
        data.load_source(f"folder:{tmp_path}")
    source = data.load_source(f"folder:{tmp_path}", image_size=[4, 4])
    assert source.images.shape == (2, 4, 4, 1) and not source.has_labels


def test_folder_corrupt_and_truncated_images_name_the_file(tmp_path):
    save_png(str(tmp_path / "good.png"), np.zeros((8, 8), np.uint8))
    (tmp_path / "bad.png").write_bytes(b"\x89PNG\r\n\x1a\nnot really")
    with pytest.raises(DataError, match="bad.png: corrupt or unreadable image"):
        data.load_source(f"folder:{tmp_path}")
    os.remove(tmp_path / "bad.png")
    Image.fromarray(np.random.default_rng(0).integers(0, 255, (64, 64), dtype=np.uint8)).save(tmp_path / "cut.png")
    raw = (tmp_path / "cut.png").read_bytes()
    (tmp_path / "cut.png").write_bytes(raw[: len(raw) // 2])
    with pytest.raises(DataError, match="cut.png: corrupt or unreadable image"):
        data.load_source(f"folder:{tmp_path}", image_size=[8, 8])


def test_folder_empty_and_missing(tmp_path):
    with pytest.raises(DataError, match="no PNG or JPEG files"):
        data.load_source(f"folder:{tmp_path}")
    with pytest.raises(DataError, match="no such directory"):
        data.load_source(f"folder:{tmp_path}/nope")


def test_npz_points_and_images(tmp_path, tiny_images):
    images, labels = tiny_images
    np.savez(tmp_path / "images.npz", x=images, y=labels)
    source = data.load_source(f"npz:{tmp_path / 'images.npz'}")
    assert source.has_labels and source.images.shape == (64, 8, 8, 1)
    np.savez(tmp_path / "bad.npz", points=np.zeros((3, 2)))
    with pytest.raises(DataError, match="no array named 'x' or 'images'"):
        data.load_source(f"npz:{tmp_path / 'bad.npz'}")
    (tmp_path / "junk.npz").write_bytes(b"junk")
    with pytest.raises(DataError, match="junk.npz: not a readable .npz file"):
        data.load_source(f"npz:{tmp_path / 'junk.npz'}")


def test_pipeline_scales_batches_and_keeps_labels(tmp_path, tiny_images):
    images, labels = tiny_images
    np.savez(tmp_path / "d.npz", x=images, y=labels)
    dataset = data.make_dataset(f"npz:{tmp_path / 'd.npz'}", batch_size=10, with_labels=True, seed=0)
    batches = list(dataset.as_numpy_iterator())
    assert len(batches) == 6  # 64 // 10, remainder dropped
    batch_images, batch_labels = batches[0]
    assert batch_images.shape == (10, 8, 8, 1) and batch_images.dtype == np.float32
    assert -1.0 <= batch_images.min() and batch_images.max() <= 1.0
    # Bright images (label 1) stay brighter than dark ones after scaling: labels travel with their images.
    assert np.all((batch_images.mean(axis=(1, 2, 3)) > 0) == (batch_labels == 1))
    unit = next(iter(data.make_dataset(f"npz:{tmp_path / 'd.npz'}", batch_size=64, output_range=None,
                                       shuffle_buffer=0)))
    np.testing.assert_allclose(unit.numpy(), images / 255.0, atol=1e-6)
    resized = next(iter(data.make_dataset(f"npz:{tmp_path / 'd.npz'}", batch_size=4, image_size=[4, 4])))
    assert resized.shape == (4, 4, 4, 1)


def test_points_are_kept_in_data_coordinates(tmp_path, gaussian_points):
    np.savez(tmp_path / "p.npz", x=gaussian_points)
    batch = next(iter(data.make_dataset(f"npz:{tmp_path / 'p.npz'}", batch_size=4096, shuffle_buffer=0)))
    np.testing.assert_allclose(batch.numpy(), gaussian_points)


def test_pipeline_errors(tmp_path, tiny_images):
    images, _ = tiny_images
    np.savez(tmp_path / "d.npz", x=images)
    np.savez(tmp_path / "empty.npz", x=np.zeros((0, 8, 8, 1), np.uint8))
    with pytest.raises(DataError, match=r"batch size 100 is larger than the dataset \(64 examples\)"):
        data.make_dataset(f"npz:{tmp_path / 'd.npz'}", batch_size=100)
    with pytest.raises(DataError, match="labels were asked for but the source has none"):
        data.make_dataset(f"npz:{tmp_path / 'd.npz'}", batch_size=8, with_labels=True)
    with pytest.raises(DataError, match="empty.npz: the dataset is empty"):
        data.make_dataset(f"npz:{tmp_path / 'empty.npz'}", batch_size=8)
    with pytest.raises(DataError, match="unknown data source 'csv:x'"):
        data.load_source("csv:x")


def test_tfds_offline_is_a_clear_error(tmp_path, monkeypatch):
    monkeypatch.setattr(data, "can_reach", lambda *args, **kwargs: False)  # offline, without touching the network
    with pytest.raises(DataError, match="tfds:mnist:train: not prepared in .* cannot be reached"):
        data.load_source("tfds:mnist", data_dir=str(tmp_path))
    with pytest.raises(DataError, match="tfds:no_such_set_xyz:train: could not load"):
        data.load_source("tfds:no_such_set_xyz", data_dir=str(tmp_path))


def test_tfds_source_feeds_the_pipeline(tmp_path, monkeypatch):
    tfds = pytest.importorskip("tensorflow_datasets")
    monkeypatch.setattr(data, "can_reach", lambda *args, **kwargs: True)
    # TFDS's mock generates examples from the dataset's feature spec in code: no download.
    with tfds.testing.mock_data(num_examples=20, policy=tfds.testing.MockPolicy.USE_CODE):
        dataset = data.make_dataset("tfds:mnist", batch_size=8, with_labels=True, data_dir=str(tmp_path))
        images, labels = next(iter(dataset))
    assert images.shape == (8, 28, 28, 1) and images.dtype == np.float32 and labels.shape == (8,)
    assert -1.0 <= float(np.min(images)) and float(np.max(images)) <= 1.0


def test_mixtures_are_fixed_point_sets():
    train, again, test = data.load_source("ring8"), data.load_source("ring8"), data.load_source("ring8", split="test")
    assert train.images.shape == (50_000, 2) and test.images.shape == (10_000, 2)
    np.testing.assert_array_equal(train.images, again.images)
    assert not np.array_equal(train.images[:100], test.images[:100])
    radii = np.linalg.norm(train.images, axis=1)
    assert abs(radii.mean() - 2.0) < 0.01 and radii.std() < 0.05
    grid = data.load_source("grid25")
    assert sorted(np.unique(np.round(grid.images[:, 0] / 2) * 2)) == [-4.0, -2.0, 0.0, 2.0, 4.0]
    batch = next(iter(data.make_dataset("grid25", batch_size=64, output_range=None)))
    assert batch.shape == (64, 2)  # points stay in data coordinates


def test_splits_slice_like_tfds(tmp_path, tiny_images):
    images, labels = tiny_images
    path = tmp_path / "d.npz"
    np.savez(path, x=images, y=labels)
    first = data.load_source(f"npz:{path}", "train[:10]")
    assert first.num_examples == 10 and np.array_equal(first.images, images[:10])
    assert np.array_equal(first.labels, labels[:10]) and first.num_classes == 2
    middle = data.load_source(f"npz:{path}", "train[5:-50]")
    assert np.array_equal(middle.images, images[5:-50])
    assert data.load_source("ring8", "test[:100]").num_examples == 100
    with pytest.raises(DataError, match=r"the split 'train\[70:\]' selects no examples \(of 64\)"):
        data.load_source(f"npz:{path}", "train[70:]")
