"""Image data for translation: pairs (Pix2Pix) and two unpaired domains (CycleGAN), with random jitter.

Pair sources (images in [0, 1], float32, `[n, H, W, C]` each):

    `edges:SOURCE`        each image of an image source (see `tfgan_impl.data`) paired with its Sobel edge map;
                          the offline task of our tests (`edges:fashion_mnist`)
    `pairs:DIR`           side-by-side A|B images in one file each, the layout of the original pix2pix data sets
    `pairs:DIR_A,DIR_B`   two folders whose files of the same name form a pair
    `pairs:tfds:NAME:A,B` two image features of each example of a TFDS set, e.g.
                          `pairs:tfds:oxford_iiit_pet:image,segmentation_mask`

Unpaired sources (two arrays of possibly different lengths):

    `classes:SOURCE:I,J`  the images of class I and of class J of a labelled source, e.g.
                          `classes:fashion_mnist:7,9` (sneakers and ankle boots), the offline task of our tests
    `unpaired:DIR_A,DIR_B`  two folders of images
    `tfds:cycle_gan/NAME` TFDS's CycleGAN sets: splits trainA and trainB (testA and testB for `test`)

TFDS images differ in size: these sources need `data.image_size`.
"""
import re

import os

import numpy as np
import tensorflow as tf

from tfgan_impl import data as data_module
from tfgan_impl import images as images_module
from tfgan_impl import pipelines, ranges
from tfgan_impl.errors import DataError



def sobel_edges(images):
    """Edge maps in [0, 1]: the Sobel gradient magnitude of images in [0, 1], averaged over channels and
    divided by 4 (a unit step's magnitude), clipped to 1.

    Args:
        images: `[n, H, W, C]` in [0, 1].

    Returns:
        float32 numpy `[n, H, W, 1]`.
    """
    gradients = tf.image.sobel_edges(tf.convert_to_tensor(images, tf.float32))  # [n, H, W, C, 2]
    magnitude = tf.sqrt(tf.reduce_sum(tf.square(gradients), axis=-1))
    return tf.clip_by_value(tf.reduce_mean(magnitude, axis=-1, keepdims=True) / 4.0, 0.0, 1.0).numpy()


def _decode(path):
    return images_module.decode_image(path).astype(np.float32) / 255.0


def _stack(images, what):
    shapes = {image.shape for image in images}
    if len(shapes) != 1:
        raise DataError(f"{what}: images of different shapes {sorted(shapes)[:3]}; set data.image_size")
    return np.stack(images)


def load_side_by_side(directory, image_size=None):
    """`pairs:DIR`: each file holds A (left half) and B (right half) side by side."""
    sources, targets = [], []
    for name in images_module.image_files(directory):
        image = _decode(os.path.join(directory, name))
        if image.shape[1] % 2:
            raise DataError(f"{os.path.join(directory, name)}: an A|B pair needs an even width, got "
                            f"{image.shape[1]}")
        half = image.shape[1] // 2
        sources.append(image[:, :half])
        targets.append(image[:, half:])
    return _resize(_stack(sources, directory), image_size), _resize(_stack(targets, directory), image_size)


def load_pair_folders(directory_a, directory_b, image_size=None):
    """`pairs:DIR_A,DIR_B`: files of the same name in the two folders form a pair."""
    names_a, names_b = images_module.image_files(directory_a), images_module.image_files(directory_b)
    unmatched = sorted(set(names_a) ^ set(names_b))
    if unmatched:
        raise DataError(f"{directory_a},{directory_b}: {len(unmatched)} files have no partner of the same name, "
                        f"e.g. {unmatched[0]}")
    sources = [_decode(os.path.join(directory_a, name)) for name in names_a]
    targets = [_decode(os.path.join(directory_b, name)) for name in names_a]
    return (_resize(_stack(sources, directory_a), image_size), _resize(_stack(targets, directory_b), image_size))


def _resize(images, image_size):
    if image_size is None or list(images.shape[1:3]) == list(image_size):
        return images
    return tf.image.resize(images, image_size, antialias=True).numpy()


def load_pairs(source, split="train", data_dir=None, image_size=None):
    """The `(inputs, targets)` arrays of a pair source (module docstring), in [0, 1].

    Raises:
        DataError: an unknown or unreadable source, or unpaired files.
    """
    kind, _, rest = source.partition(":")
    if kind == "edges" and rest:
        opened = data_module.load_source(rest, split, data_dir, image_size)
        if opened.images is None:
            raise DataError(f"{source}: edges need an in-memory image source (idx:, folder:, npz:, fashion_mnist)")
        images = _resize(data_module.to_unit_interval(opened.images), image_size)
        if images.ndim != 4:
            raise DataError(f"{source}: expected images [n, H, W, C], got shape {list(images.shape)}")
        return images, sobel_edges(images)
    if kind == "pairs" and rest.startswith("tfds:"):
        name, _, features = rest[len("tfds:"):].rpartition(":")
        if not name or len(features.split(",")) != 2:
            raise DataError(f"{source}: expected pairs:tfds:NAME:FEATURE_A,FEATURE_B")
        return _tfds_images(name, split, data_dir, image_size, features.split(","), source)
    if kind == "pairs" and rest:
        directories = rest.split(",")
        if len(directories) == 1:
            return load_side_by_side(directories[0], image_size)
        if len(directories) == 2:
            return load_pair_folders(*directories, image_size=image_size)
    raise DataError(f"unknown pair source {source!r}; expected edges:SOURCE, pairs:DIR or pairs:DIR_A,DIR_B")


def load_unpaired(source, split="train", data_dir=None, image_size=None):
    """The `(domain A, domain B)` image arrays of an unpaired source (module docstring), in [0, 1].

    Raises:
        DataError: an unknown or unreadable source, or an empty domain.
    """
    kind, _, rest = source.partition(":")
    if kind == "classes":
        name, _, classes = rest.rpartition(":")
        try:
            first, second = (int(c) for c in classes.split(","))
        except ValueError:
            raise DataError(f"{source}: expected classes:SOURCE:I,J with two class ids, e.g. "
                            "classes:fashion_mnist:7,9") from None
        opened = data_module.load_source(name, split, data_dir, image_size)
        if opened.images is None or not opened.has_labels:
            raise DataError(f"{source}: needs an in-memory labelled image source")
        images = _resize(data_module.to_unit_interval(opened.images), image_size)
        domains = images[opened.labels == first], images[opened.labels == second]
        for class_id, domain in zip((first, second), domains):
            if not len(domain):
                raise DataError(f"{source}: class {class_id} has no images in split {split!r}")
        return domains
    if kind == "tfds" and rest.startswith("cycle_gan/"):
        matched = re.fullmatch(r"(\w+)(\[.*\])?", split)  # train -> trainA, trainB; train[:100] -> trainA[:100]
        if not matched:
            raise DataError(f"{source}: cannot read split {split!r} as NAME or NAME[SLICE]")
        base, slicing = matched.group(1), matched.group(2) or ""
        return tuple(_tfds_images(rest, f"{base}{domain}{slicing}", data_dir, image_size, ["image"], source)[0]
                     for domain in ("A", "B"))
    if kind == "unpaired" and len(rest.split(",")) == 2:
        domains = []
        for directory in rest.split(","):
            arrays = [_decode(os.path.join(directory, name)) for name in images_module.image_files(directory)]
            domains.append(_resize(_stack(arrays, directory), image_size))
        return tuple(domains)
    raise DataError(f"unknown unpaired source {source!r}; expected classes:SOURCE:I,J, unpaired:DIR_A,DIR_B or "
                    "tfds:cycle_gan/NAME")


def _tfds_images(name, split, data_dir, image_size, features, source):
    """Image features of a TFDS split as float arrays in [0, 1], resized to `image_size` (one array per feature)."""
    if image_size is None:
        raise DataError(f"{source}: TFDS images differ in size; set data.image_size, e.g. [256, 256]")
    try:
        import tensorflow_datasets as tfds

        builder = tfds.builder(name, data_dir=data_dir)
        missing = [feature for feature in features if feature not in builder.info.features]
        if missing:
            raise DataError(f"{source}: tfds:{name} has no feature {missing[0]!r}; it has "
                            f"{', '.join(builder.info.features)}")
    except DataError:
        raise
    except Exception as error:  # TFDS raises many types for unknown names
        raise DataError(f"{source}: could not open tfds:{name} ({str(error).strip().splitlines()[0]})") from None
    data_module.load_tfds(name, split, data_dir)  # prepares it, or fails clearly offline
    dataset = builder.as_dataset(split=split, shuffle_files=False)

    def resized(example):
        return tuple(tf.image.resize(tf.cast(example[feature], tf.float32) / 255.0, image_size, antialias=True)
                     for feature in features)

    arrays = [[] for _ in features]
    for batch in dataset.map(resized, num_parallel_calls=pipelines.PARALLEL_CALLS).batch(256).as_numpy_iterator():
        for collected, values in zip(arrays, batch):
            collected.append(values)
    if not arrays[0]:
        raise DataError(f"{source}: split {split!r} is empty")
    return tuple(np.clip(np.concatenate(collected), 0.0, 1.0) for collected in arrays)


def _jitter(images, element_seed, height, width):
    """Pix2Pix's and CycleGAN's random jitter of one image (or channel-stacked images, cropped alike)."""
    bigger = [int(round(height * 286 / 256)), int(round(width * 286 / 256))]
    images = tf.image.resize(images, bigger, method="nearest")
    seeds = tf.random.experimental.stateless_split(element_seed, 2)
    images = tf.image.stateless_random_crop(images, [height, width, images.shape[-1]], seed=seeds[0])
    return tf.image.stateless_random_flip_left_right(images, seed=seeds[1])


def element_seeds(seed):
    """A dataset of stateless seeds `[2]` int64, one per element: zipped with a dataset, it gives each element
    its own random draws, the same on every worker and after a resume."""
    return tf.data.Dataset.random(seed=seed).batch(2).map(lambda s: tf.cast(s, tf.int64))


def make_unpaired_dataset(images_a, images_b, batch_size, output_range=(-1.0, 1.0), jitter=True, seed=0,
                          shuffle_buffer=10_000):
    """Batches of `(images_a, images_b)` drawn independently from two domains (CycleGAN, Zhu et al. 2017):
    each domain shuffled and repeated on its own, an epoch as long as the larger domain (the paper's code), and
    the random jitter applied to each image on its own.

    Returns:
        A `tf.data.Dataset` of float32 `(a, b)` batches of static size.
    """
    steps = max(len(images_a), len(images_b)) // batch_size
    if steps == 0:
        raise DataError(f"unpaired: batch size {batch_size} is larger than both domains "
                        f"({len(images_a)} and {len(images_b)} images)")

    def domain(images, offset):
        height, width = images.shape[1:3]
        dataset = tf.data.Dataset.from_tensor_slices(ranges.from_unit_interval(tf.cast(images, tf.float32),
                                                                                output_range))
        if shuffle_buffer:
            dataset = dataset.shuffle(shuffle_buffer, seed=seed + offset, reshuffle_each_iteration=True)
        dataset = dataset.repeat()
        if jitter:
            dataset = tf.data.Dataset.zip(dataset, element_seeds(seed + offset)).map(
                lambda image, element_seed: _jitter(image, element_seed, height, width),
                num_parallel_calls=pipelines.PARALLEL_CALLS)
        return dataset

    dataset = tf.data.Dataset.zip(domain(images_a, 0), domain(images_b, 1)).take(steps * batch_size)
    dataset = dataset.batch(batch_size, drop_remainder=True).prefetch(pipelines.PREFETCH_BATCHES)
    return pipelines.with_pipeline_options(dataset)


def make_paired_dataset(inputs, targets, batch_size, output_range=(-1.0, 1.0), jitter=True, seed=0,
                        shuffle_buffer=10_000):
    """Batches of `(input, target)` pairs scaled to `output_range`, with Pix2Pix's random jitter (Isola et al.
    2017, appendix 6.2: resize by 286/256, crop back at random, mirror at random), the same for both images.

    Args:
        inputs, targets: `[n, H, W, C]` arrays in [0, 1] of the same height and width.
        batch_size: the global batch size.
        output_range: the interval the networks see.
        jitter: apply the random jitter (training); `False` for evaluation.
        seed: seed of the shuffle and the jitter.
        shuffle_buffer: 0 turns shuffling off.

    Returns:
        A `tf.data.Dataset` of float32 `(inputs, targets)` batches of static size.
    """
    if len(inputs) != len(targets) or inputs.shape[1:3] != targets.shape[1:3]:
        raise DataError(f"pairs: {len(inputs)} inputs of {list(inputs.shape[1:])} and {len(targets)} targets of "
                        f"{list(targets.shape[1:])} do not pair up")
    if batch_size > len(inputs):
        raise DataError(f"pairs: batch size {batch_size} is larger than the data ({len(inputs)} pairs)")
    height, width, channels = inputs.shape[1:]

    def scale(images):
        return ranges.from_unit_interval(tf.cast(images, tf.float32), output_range)

    def jittered(pair, element_seed):
        both = _jitter(tf.concat(pair, axis=-1), element_seed, height, width)
        return both[..., :channels], both[..., channels:]

    dataset = tf.data.Dataset.from_tensor_slices((scale(inputs), scale(targets)))
    if shuffle_buffer:
        dataset = dataset.shuffle(shuffle_buffer, seed=seed, reshuffle_each_iteration=True)
    if jitter:
        dataset = tf.data.Dataset.zip(dataset, element_seeds(seed)).map(jittered, num_parallel_calls=pipelines.PARALLEL_CALLS)
    dataset = dataset.batch(batch_size, drop_remainder=True).prefetch(pipelines.PREFETCH_BATCHES)
    return pipelines.with_pipeline_options(dataset)
