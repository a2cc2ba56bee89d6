"""Input pipelines: named data sources turned into batched `tf.data` datasets scaled to the generator's range.

Sources are strings, as written in configs:
    `tfds:NAME[:SPLIT]`  a TensorFlow Datasets set (honours `data_dir`);
    `idx:DIR`            MNIST-format IDX files (`train-images-idx3-ubyte[.gz]`, `t10k-...`), gzipped or raw;
    `folder:DIR`         PNG/JPEG files; the names of subfolders become integer labels (sorted);
    `npz:FILE`           arrays `x` (or `images`) and optional `y` (or `labels`);
    `mnist`, `fashion_mnist`  a local IDX copy when one is present, TFDS otherwise;
    `ring8`, `grid25`    the 2-D Gaussian mixtures of the mode-collapse benchmark (points, not images).
"""
import concurrent.futures
import dataclasses
import gzip
import math
import os
import re
import socket
import struct
import typing
import zlib

import numpy as np
import tensorflow as tf

from tfgan_impl import images as images_module
from tfgan_impl.pipelines import PARALLEL_CALLS, PREFETCH_BATCHES, with_pipeline_options
from tfgan_impl import ranges
from tfgan_impl.errors import DataError

# Where Debian's dataset packages (`apt-get install dataset-fashion-mnist`) put their files.
LOCAL_COPIES = {"mnist": ("/usr/share/datasets/mnist",), "fashion_mnist": ("/usr/share/datasets/fashion-mnist",)}
# Class names of the local copies, as TFDS names them (IDX files hold only the ids).
CLASS_NAMES = {
    "mnist": [str(digit) for digit in range(10)],
    "fashion_mnist": ["T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt", "Sneaker", "Bag",
                      "Ankle boot"],
}
_IDX_DTYPES = {0x08: ">u1", 0x09: ">i1", 0x0B: ">i2", 0x0C: ">i4", 0x0D: ">f4", 0x0E: ">f8"}
_IDX_PREFIX = {"train": "train", "test": "t10k"}


@dataclasses.dataclass
class Source:
    """What a data source holds before preprocessing: in-memory arrays, or a TFDS dataset of (image, label)."""

    name: str
    num_examples: int
    images: np.ndarray = None
    labels: np.ndarray = None
    tfds_dataset: tf.data.Dataset = None
    has_labels: bool = False
    num_classes: int = 0
    class_names: typing.Optional[typing.List[str]] = None  # index -> name, where the source knows them


def read_idx(path):
    """Reads one IDX file (the MNIST format of LeCun et al.), gzipped when its name ends in `.gz`.

    Args:
        path: file path.

    Returns:
        A numpy array with the file's shape and type.

    Raises:
        DataError: the file is missing, not gzip where its name says so, or its size disagrees with its header.
    """
    try:
        opener = gzip.open if path.endswith(".gz") else open
        with opener(path, "rb") as stream:
            raw = stream.read()
    except FileNotFoundError:
        raise DataError(f"{path}: no such file") from None
    except (OSError, EOFError, zlib.error) as error:
        raise DataError(f"{path}: corrupt or truncated gzip file ({error})") from None
    if len(raw) < 4 or raw[0] != 0 or raw[1] != 0 or raw[2] not in _IDX_DTYPES:
        raise DataError(f"{path}: not an IDX file (bad magic number)")
    dtype, rank = np.dtype(_IDX_DTYPES[raw[2]]), raw[3]
    header_size = 4 + 4 * rank
    if len(raw) < header_size:
        raise DataError(f"{path}: truncated IDX file (header cut short)")
    shape = struct.unpack(f">{rank}I", raw[4:header_size])
    expected = math.prod(shape) * dtype.itemsize
    if len(raw) - header_size != expected:
        raise DataError(f"{path}: truncated or corrupt IDX file: header says shape {list(shape)} "
                        f"({expected} bytes) but {len(raw) - header_size} bytes follow")
    return np.frombuffer(raw, dtype, offset=header_size).reshape(shape).astype(dtype.newbyteorder("="))


def _idx_file(directory, split, kind):
    base = f"{_IDX_PREFIX[split]}-{kind}-idx{3 if kind == 'images' else 1}-ubyte"
    for name in (base + ".gz", base):
        if os.path.exists(os.path.join(directory, name)):
            return os.path.join(directory, name)
    raise DataError(f"{directory}: no {base}[.gz] file for the {split!r} split")


def load_idx(directory, split="train"):
    """Loads images and labels of one split of an MNIST-format IDX directory."""
    if split not in _IDX_PREFIX:
        raise DataError(f"idx:{directory}: unknown split {split!r}; IDX directories have 'train' and 'test'")
    if not os.path.isdir(directory):
        raise DataError(f"{directory}: no such directory")
    images = read_idx(_idx_file(directory, split, "images"))
    labels = read_idx(_idx_file(directory, split, "labels"))
    if images.ndim == 3:
        images = images[..., None]
    if len(labels) != len(images):
        raise DataError(f"{directory}: {len(images)} images but {len(labels)} labels in the {split!r} split")
    return Source(f"idx:{directory}", len(images), images=images, labels=labels.astype("int64"), has_labels=True,
                  num_classes=int(labels.max()) + 1 if len(labels) else 0)


def load_folder(directory, image_size=None):
    """Loads a tree of PNG/JPEG files; files in subfolder `NAME` get the label of `NAME` in sorted order.

    Files are decoded up front (in threads, names in errors) since a failing decode inside `tf.data` cannot
    say which file broke.

    Args:
        directory: root folder.
        image_size: optional `[H, W]`; every image is resized to it. Without it all images must agree in size.

    Returns:
        A `Source` with uint8 images `[N, H, W, C]` (C = 1 when every file is grayscale, else 3).
    """
    if not os.path.isdir(directory):
        raise DataError(f"{directory}: no such directory")
    classes = sorted(entry.name for entry in os.scandir(directory) if entry.is_dir())
    paths, labels = [], []
    for label, folder in [(None, directory)] + list(enumerate(os.path.join(directory, c) for c in classes)):
        walk = os.walk(folder) if label is not None else [(folder, [], os.listdir(folder))]
        for root, _, names in walk:
            for name in sorted(names):
                if name.lower().endswith(images_module.IMAGE_EXTENSIONS):
                    paths.append(os.path.join(root, name))
                    labels.append(-1 if label is None else label)
    if not paths:
        raise DataError(f"{directory}: no PNG or JPEG files found")
    if classes and -1 in labels:
        raise DataError(f"{directory}: images both at the top level and in class subfolders; keep one layout")
    with concurrent.futures.ThreadPoolExecutor(max_workers=os.cpu_count()) as pool:
        arrays = list(pool.map(lambda p: images_module.decode_image(p, image_size), paths))
    channels = 3 if any(a.shape[-1] == 3 for a in arrays) else 1
    arrays = [np.repeat(a, 3, axis=-1) if a.shape[-1] != channels else a for a in arrays]
    first = arrays[0].shape[:2]
    for path, array in zip(paths, arrays):
        if array.shape[:2] != first:
            raise DataError(f"{path}: image size {list(array.shape[:2])} differs from {paths[0]} "
                            f"({list(first)}); set data.image_size to resize")
    has_labels = bool(classes)
    return Source(f"folder:{directory}", len(paths), images=np.stack(arrays),
                  labels=np.asarray(labels, "int64") if has_labels else None, has_labels=has_labels,
                  num_classes=len(classes), class_names=classes or None)


def load_npz(path):
    """Loads `x`/`images` and optional `y`/`labels` from a `.npz` file."""
    if not os.path.isfile(path):
        raise DataError(f"{path}: no such file")
    try:
        with np.load(path, allow_pickle=False) as archive:
            arrays = {key: archive[key] for key in archive.files}
    except (OSError, ValueError, zlib.error, EOFError) as error:
        raise DataError(f"{path}: not a readable .npz file ({error})") from None
    image_key = next((k for k in ("x", "images") if k in arrays), None)
    if image_key is None:
        raise DataError(f"{path}: no array named 'x' or 'images' (found {sorted(arrays)})")
    images = arrays[image_key]
    label_key = next((k for k in ("y", "labels") if k in arrays), None)
    labels = arrays[label_key].astype("int64") if label_key else None
    if images.ndim < 2:
        raise DataError(f"{path}: '{image_key}' must be [N, ...] with at least 2 dimensions, got shape {list(images.shape)}")
    if labels is not None and len(labels) != len(images):
        raise DataError(f"{path}: {len(images)} examples but {len(labels)} labels")
    return Source(f"npz:{path}", len(images), images=images, labels=labels, has_labels=labels is not None,
                  num_classes=int(labels.max()) + 1 if labels is not None and len(labels) else 0)


def can_reach(host="storage.googleapis.com", port=443, timeout=5.0):
    """Whether a TCP connection to `host` opens within `timeout` seconds (TFDS downloads from there)."""
    try:
        socket.create_connection((host, port), timeout=timeout).close()
        return True
    except OSError:
        return False


def open_tfds(name, split="train", data_dir=None, shuffle_seed=None):
    """`(builder, dataset of examples)` of a TensorFlow Datasets split, prepared first (offline, a set missing from
    `data_dir` fails at once with a `DataError` instead of after TFDS's minutes of retries); `shuffle_seed` shuffles
    the files, the same way for the same seed (None: in order)."""
    try:
        import tensorflow_datasets as tfds

        builder = tfds.builder(name, data_dir=data_dir)
        if not tf.io.gfile.exists(builder.data_path) and not can_reach():
            raise DataError(f"tfds:{name}:{split}: not prepared in {builder.data_dir} and TFDS's servers cannot "
                            "be reached; offline, use an idx:, folder: or npz: source")
        builder.download_and_prepare()
        read_config = tfds.ReadConfig(shuffle_seed=None if shuffle_seed is None else int(shuffle_seed))
        return builder, builder.as_dataset(split=split, shuffle_files=shuffle_seed is not None, read_config=read_config)
    except DataError:
        raise
    except Exception as error:  # TFDS raises many types (network, registration, split names)
        message = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
        raise DataError(f"tfds:{name}:{split}: could not load ({message}); offline, use an idx:, folder: or "
                        "npz: source") from None


def load_tfds(name, split="train", data_dir=None):
    """A TensorFlow Datasets split as `(image, label)` pairs (label -1 where the set has none); see `open_tfds`."""
    builder, dataset = open_tfds(name, split, data_dir)
    num_examples = int(dataset.cardinality())  # unknown (-2): ask the dataset's metadata
    num_examples = num_examples if num_examples >= 0 else builder.info.splits[split].num_examples
    features = builder.info.features
    has_labels = "label" in features
    image_key = "image" if "image" in features else next(iter(features))
    dataset = dataset.map(lambda ex: (ex[image_key], ex["label"] if has_labels else tf.constant(-1, tf.int64)),
                          num_parallel_calls=PARALLEL_CALLS)
    return Source(f"tfds:{name}:{split}", num_examples, tfds_dataset=dataset, has_labels=has_labels,
                  num_classes=features["label"].num_classes if has_labels else 0,
                  class_names=list(features["label"].names) if has_labels else None)


def mixture_centres(name):
    """Centres and standard deviation of the 2-D Gaussian mixtures of the mode-collapse benchmark.

    `ring8`: 8 Gaussians evenly on a circle of radius 2, std 0.02; `grid25`: 25 Gaussians at {-4, -2, 0, 2, 4}^2,
    std 0.05 (the set-ups of VEEGAN, Srivastava et al. 2017, and PacGAN, Lin et al. 2018).

    Returns:
        `(centres [K, 2] float64, std)`.
    """
    if name == "ring8":
        angles = 2 * np.pi * np.arange(8) / 8
        return 2.0 * np.stack([np.cos(angles), np.sin(angles)], axis=1), 0.02
    if name == "grid25":
        axis = np.arange(-4.0, 5.0, 2.0)
        return np.stack(np.meshgrid(axis, axis, indexing="ij"), axis=-1).reshape(-1, 2), 0.05
    raise DataError(f"unknown mixture {name!r}; expected one of {sorted(MIXTURES)}")


MIXTURES = ("ring8", "grid25")
MIXTURE_SIZES = {"train": 50_000, "test": 10_000}


def load_mixture(name, split="train"):
    """Draws a split of a 2-D Gaussian mixture, the same points every time (train and test use other seeds)."""
    if split not in MIXTURE_SIZES:
        raise DataError(f"{name}: unknown split {split!r}; synthetic mixtures have 'train' and 'test'")
    centres, std = mixture_centres(name)
    rng = np.random.default_rng(list(MIXTURE_SIZES).index(split))
    labels = rng.integers(0, len(centres), MIXTURE_SIZES[split])
    points = (centres[labels] + rng.normal(scale=std, size=(len(labels), 2))).astype("float32")
    return Source(name, len(points), images=points, labels=labels.astype("int64"), has_labels=True,
                  num_classes=len(centres))


_SLICED_SPLIT = re.compile(r"^(\w+)\[(-?\d*):(-?\d*)\]$")


def _slice_source(opened, start, stop, split):
    images = opened.images[start:stop]
    if len(images) == 0:
        raise DataError(f"{opened.name}: the split {split!r} selects no examples (of {opened.num_examples})")
    labels = None if opened.labels is None else opened.labels[start:stop]
    return dataclasses.replace(opened, name=f"{opened.name}[{split}]", num_examples=len(images), images=images,
                               labels=labels)


def load_source(source, split="train", data_dir=None, image_size=None):
    """Opens a data source named as in configs (see the module docstring).

    Args:
        source: the source string.
        split: `train` or `test`, optionally sliced as TFDS slices splits (`train[:1000]`, `test[100:200]`);
            for TFDS any split name (`tfds:NAME:SPLIT` overrides it).
        data_dir: TFDS data directory, and a place to look for local copies of `mnist`/`fashion_mnist`.
        image_size: `[H, W]` to resize folder images to while decoding.

    Returns:
        A `Source`.
    """
    kind, _, rest = source.partition(":")
    if kind == "tfds":  # TFDS slices its splits itself
        return PREFIXED_SOURCES["tfds"](rest, split, data_dir, image_size)
    sliced = _SLICED_SPLIT.match(split)
    if sliced:  # in-memory sources are sliced here, with TFDS's syntax
        base, start, stop = sliced.groups()
        opened = load_source(source, base, data_dir, image_size)
        return _slice_source(opened, int(start) if start else None, int(stop) if stop else None, split)
    if rest and kind in PREFIXED_SOURCES:
        return PREFIXED_SOURCES[kind](rest, split, data_dir, image_size)
    if source in NAMED_SOURCES:
        return NAMED_SOURCES[source](source, split, data_dir, image_size)
    raise DataError(f"unknown data source {source!r}; expected tfds:NAME[:SPLIT], idx:DIR, folder:DIR, npz:FILE, "
                    f"or one of {sorted(NAMED_SOURCES)}")


def _local_copy_or_tfds(name, split, data_dir, image_size):
    """`mnist`, `fashion_mnist`: a local IDX copy (in `data_dir` or Debian's place) when present, TFDS otherwise."""
    candidates = ((os.path.join(data_dir, name),) if data_dir else ()) + LOCAL_COPIES[name]
    for directory in candidates:
        if os.path.isdir(directory):
            return dataclasses.replace(load_idx(directory, split), class_names=CLASS_NAMES[name])
    return load_tfds(name, split, data_dir)


# The sources of configs: `PREFIX:REST` (REST is a path or a TFDS name), or a name. Each opener takes
# `(rest or name, split, data_dir, image_size)`.
PREFIXED_SOURCES = {
    "tfds": lambda rest, split, data_dir, image_size: load_tfds(rest.partition(":")[0],
                                                                rest.partition(":")[2] or split, data_dir),
    "idx": lambda rest, split, data_dir, image_size: load_idx(rest, split),
    "folder": lambda rest, split, data_dir, image_size: load_folder(rest, image_size),
    "npz": lambda rest, split, data_dir, image_size: load_npz(rest),
}
NAMED_SOURCES = {
    **{name: _local_copy_or_tfds for name in LOCAL_COPIES},
    **{name: lambda name, split, data_dir, image_size: load_mixture(name, split) for name in MIXTURES},
}


def to_unit_interval(images):
    """Images as float32 in [0, 1]: uint8 values divided by 255, float values as they are."""
    images = np.asarray(images)
    return images.astype(np.float32) / 255.0 if images.dtype == np.uint8 else images.astype(np.float32)


def _to_range(output_range):
    """Maps uint8 images, or float images in [0, 1], to `output_range`; leaves float points alone."""

    def scale(example):
        is_image = example.shape.rank >= 3 or example.dtype == tf.uint8
        if not is_image:
            return tf.cast(example, tf.float32)
        example = tf.cast(example, tf.float32) / (255.0 if example.dtype == tf.uint8 else 1.0)
        return ranges.from_unit_interval(example, output_range)

    return scale


def make_dataset(source, batch_size, split="train", output_range=(-1.0, 1.0), image_size=None, with_labels=False,
                 shuffle_buffer=10_000, seed=None, cache=True, data_dir=None):
    """Builds the training input: decode, resize, scale, cache, shuffle, batch (dropping the remainder), prefetch.

    Args:
        source: a source string (module docstring) or an already opened `Source`.
        batch_size: the global batch size.
        split: the split to read.
        output_range: the generator's output interval images are scaled to; `None` keeps [0, 1].
        image_size: optional `[H, W]` all images are resized to (bilinear).
        with_labels: yield `(image, label)` pairs, for conditional models.
        shuffle_buffer: shuffle buffer size; 0 turns shuffling off.
        seed: shuffle seed.
        cache: cache decoded TFDS examples in memory after the first epoch (other sources live in memory).
        data_dir: TFDS data directory.

    Returns:
        A `tf.data.Dataset` of float32 batches (and int64 labels), static batch size.
    """
    opened = source if isinstance(source, Source) else load_source(source, split, data_dir, image_size)
    if opened.num_examples == 0:
        raise DataError(f"{opened.name}: the dataset is empty")
    if with_labels and not opened.has_labels:
        raise DataError(f"{opened.name}: labels were asked for but the source has none")
    if batch_size > opened.num_examples:
        raise DataError(f"{opened.name}: batch size {batch_size} is larger than the dataset "
                        f"({opened.num_examples} examples)")
    scale = _to_range(output_range)

    def preprocess(image, label):
        image = scale(image)
        if image_size is not None and image.shape.rank in (3, 4) and list(image.shape[-3:-1]) != list(image_size):
            image = tf.image.resize(image, image_size, antialias=True)
        return (image, label) if with_labels else image

    if opened.tfds_dataset is not None:
        dataset = opened.tfds_dataset.map(preprocess, num_parallel_calls=PARALLEL_CALLS)
        if cache:
            dataset = dataset.cache()
    else:
        # In-memory sources are preprocessed once, as whole arrays, so no per-epoch work or cache is needed.
        labels = opened.labels if opened.labels is not None else np.full(opened.num_examples, -1, "int64")
        arrays = preprocess(tf.convert_to_tensor(opened.images), tf.convert_to_tensor(labels))
        dataset = tf.data.Dataset.from_tensor_slices(arrays)
    if shuffle_buffer:
        dataset = dataset.shuffle(shuffle_buffer, seed=seed, reshuffle_each_iteration=True)
    dataset = dataset.batch(batch_size, drop_remainder=True).prefetch(PREFETCH_BATCHES)
    return with_pipeline_options(dataset, shard_by_data=opened.tfds_dataset is None)

