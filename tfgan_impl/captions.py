"""Images with captions, the data of text-to-image GANs (StackGAN, Zhang et al. 2017; GAN-CLS, Reed et al. 2016).

Three sources (`load_captioned`):

- Captioned Fashion-MNIST, offline: each image's captions are written from its class name and from two attributes
  measured on the image, its brightness (`dark`/`light`) and its width (`narrow`/`wide`), in several phrasings
  ("a dark, wide pullover", "a pullover that is light and narrow"), so that whether samples follow their text can
  be measured by the domain classifier and by the same measurements.
- A folder of images with a captions file: one caption per line, `FILE<TAB>caption`, several lines per file
  allowed (the layout of CUB's and COCO's caption lists, flattened).
- A TensorFlow Datasets set with captions (`coco_captions`: features `image` and `captions/text`), online.

Attributes split each class at its median, so that every class has dark and light, narrow and wide items; the
medians are measured once on the training images and kept, so held-out images are described on the same scale.
"""
import dataclasses
import os

import numpy as np
import tensorflow as tf

from tfgan_impl import data as data_module
from tfgan_impl import images as images_module
from tfgan_impl.errors import DataError

# The class names as a caption says them.
FASHION_NOUNS = ("t-shirt", "pair of trousers", "pullover", "dress", "coat", "sandal", "shirt", "sneaker", "bag",
                 "ankle boot")
BRIGHTNESS_WORDS, WIDTH_WORDS = ("dark", "light"), ("narrow", "wide")
PHRASINGS = (
    "a {brightness}, {width} {noun}",
    "a {width} {noun} that is {brightness}",
    "a {noun} that is {brightness} and {width}",
    "this {noun} is {width} and {brightness}",
    "a {brightness} {noun}, {width}",
    "a photo of a {brightness} {width} {noun}",
)
ITEM_THRESHOLD = 0.1  # pixels above this (in [0, 1]) belong to the item; Fashion-MNIST's background is 0


def brightness(images):
    """The mean value of each image's item pixels (those above `ITEM_THRESHOLD`), `[n]`; images `[n, H, W, 1]` in
    [0, 1]."""
    values = np.asarray(images, np.float32).reshape(len(images), -1)
    item = values > ITEM_THRESHOLD
    return (values * item).sum(axis=1) / np.maximum(item.sum(axis=1), 1)


def width(images):
    """The horizontal spread of each image's item, `[n]`: twice the intensity-weighted standard deviation of its
    pixels' column positions, over the image's width (a count of occupied columns ties too often: most sandals
    fill all 28)."""
    values = np.asarray(images, np.float64).mean(axis=-1)
    columns = values.sum(axis=1)  # [n, W]
    weights = columns / np.maximum(columns.sum(axis=1, keepdims=True), 1e-12)
    positions = np.arange(values.shape[2], dtype=np.float64)
    centre = (weights * positions).sum(axis=1, keepdims=True)
    return 2.0 * np.sqrt((weights * (positions - centre) ** 2).sum(axis=1)) / values.shape[2]


@dataclasses.dataclass(frozen=True)
class AttributeScale:
    """Per-class medians of the attributes: an image above its class's median is light (wide), else dark
    (narrow)."""

    brightness: tuple
    width: tuple

    @classmethod
    def measure(cls, images, labels, num_classes):
        """The medians of `images` (`[n, H, W, 1]` in [0, 1]) per class of `labels`."""
        labels = np.asarray(labels)
        values = brightness(images), width(images)
        medians = [tuple(float(np.median(value[labels == c])) if np.any(labels == c) else 0.0
                         for c in range(num_classes)) for value in values]
        return cls(*medians)

    def attributes(self, images, labels):
        """`(light, wide)` boolean arrays `[n]`."""
        labels = np.asarray(labels)
        return (brightness(images) > np.asarray(self.brightness)[labels],
                width(images) > np.asarray(self.width)[labels])


def caption(label, light, wide, phrasing=0, nouns=FASHION_NOUNS):
    """One caption of an item of class `label` with the given attributes, in the `phrasing`-th wording."""
    return PHRASINGS[phrasing % len(PHRASINGS)].format(noun=nouns[int(label)],
                                                       brightness=BRIGHTNESS_WORDS[int(bool(light))],
                                                       width=WIDTH_WORDS[int(bool(wide))])


def fashion_captions(images, labels, scale, per_image=3, seed=0):
    """`per_image` captions of each image, in different phrasings chosen at random (seeded).

    Args:
        images: `[n, H, W, 1]` in [0, 1].
        labels: `[n]` Fashion-MNIST classes.
        scale: the `AttributeScale` of the training images.
        per_image: captions per image, at most `len(PHRASINGS)`.
        seed: seed of the phrasings.

    Returns:
        A list of `n` lists of `per_image` strings.
    """
    if not 1 <= per_image <= len(PHRASINGS):
        raise ValueError(f"per_image: expected 1 to {len(PHRASINGS)}, got {per_image}")
    light, wide = scale.attributes(images, labels)
    rng = np.random.default_rng(seed)
    return [[caption(label, light[i], wide[i], phrasing) for phrasing in
             rng.choice(len(PHRASINGS), size=per_image, replace=False)] for i, label in enumerate(labels)]


def load_caption_folder(directory, captions_file=None):
    """A folder of images with their captions: `(images [n, H, W, C] uint8, captions: n lists of strings)`.

    Args:
        directory: the folder of images (all of one size).
        captions_file: lines `FILE<TAB>caption`; by default `captions.txt` in the folder.

    Raises:
        DataError: naming the file and line of a malformed caption, a caption of a missing image, or an image
            without captions.
    """
    captions_file = captions_file or os.path.join(directory, "captions.txt")
    if not os.path.isfile(captions_file):
        raise DataError(f"{captions_file}: no such captions file (lines FILE<TAB>caption)")
    by_file = {}
    with open(captions_file, encoding="utf-8") as stream:
        for number, line in enumerate(stream, 1):
            if not line.strip():
                continue
            name, tab, text = line.rstrip("\n").partition("\t")
            if not tab or not text.strip():
                raise DataError(f"{captions_file}:{number}: expected FILE<TAB>caption, got {line.strip()[:60]!r}")
            by_file.setdefault(name.strip(), []).append(text.strip())
    names = images_module.image_files(directory)
    missing = sorted(set(by_file) - set(names))
    if missing:
        raise DataError(f"{captions_file}: captions of {missing[0]}, which is not an image in {directory}")
    uncaptioned = sorted(set(names) - set(by_file))
    if uncaptioned:
        raise DataError(f"{os.path.join(directory, uncaptioned[0])}: no caption in {captions_file}")
    decoded = [images_module.decode_image(os.path.join(directory, name)) for name in names]
    shapes = sorted({image.shape for image in decoded})
    if len(shapes) != 1:
        raise DataError(f"{directory}: images of different shapes {shapes[:3]}")
    return np.stack(decoded), [by_file[name] for name in names]


@dataclasses.dataclass(frozen=True)
class CaptionedImages:
    """Images with their captions.

    Attributes:
        images: `[n, H, W, C]` uint8.
        captions: `n` lists of strings.
        labels: `[n]` class ids where the source has them, else None.
        scale: the `AttributeScale` the captions were written on (captioned Fashion-MNIST), else None.
    """

    images: np.ndarray
    captions: list
    labels: np.ndarray = None
    scale: AttributeScale = None


def _resized(images, image_size):
    """uint8 images resized to `image_size` (area averaging down, bilinear up), or as they are for None."""
    if image_size is None or list(images.shape[1:3]) == list(image_size):
        return images
    resized = tf.image.resize(tf.cast(images, tf.float32), list(image_size), antialias=True)
    return np.asarray(tf.clip_by_value(tf.round(resized), 0, 255), np.uint8)


def load_tfds_captioned(name, split="train", data_dir=None, image_size=None):
    """A TFDS set of images with captions (`coco_captions`) in memory, images resized to `image_size` (required:
    its images differ in size)."""
    if image_size is None:
        raise DataError(f"tfds:{name}: its images differ in size; set data.image_size, e.g. [64, 64]")
    builder, examples = data_module.open_tfds(name, split, data_dir)
    features = builder.info.features
    if "image" not in features or "captions" not in features:
        raise DataError(f"tfds:{name}: no image and captions features (expected those of coco_captions)")
    images, captions = [], []
    for example in examples.map(lambda ex: (tf.image.resize(tf.cast(ex["image"], tf.float32), list(image_size),
                                                            antialias=True), ex["captions"]["text"])):
        texts = [text.decode("utf-8").strip() for text in example[1].numpy()]
        if texts:
            images.append(np.asarray(tf.clip_by_value(tf.round(example[0]), 0, 255), np.uint8))
            captions.append(texts)
    if not images:
        raise DataError(f"tfds:{name}:{split}: no captioned images")
    return CaptionedImages(np.stack(images), captions)


def load_captioned(source, captions="attributes", split="train", data_dir=None, image_size=None, per_image=3,
                   seed=0, scale=None):
    """The images of a data source with captions.

    Args:
        source: a data source string (`tfgan_impl.data`): `fashion_mnist` or `idx:DIR` of it for `attributes`,
            `folder:DIR` for a captions file, `tfds:NAME[:SPLIT]` for `tfds`.
        captions: `attributes` (written from the class and measured attributes, `fashion_captions`), `tfds` (the
            set's own), or the path of a captions file (`load_caption_folder`; `folder` for the folder's
            `captions.txt`).
        split, data_dir, image_size: as `data.load_source`.
        per_image: captions written per image (`attributes`).
        seed: seed of the written phrasings.
        scale: the `AttributeScale` to describe images on (held-out images: the training images' one); by
            default measured on these images.

    Raises:
        DataError: naming the source, the file or the option at fault.
    """
    kind, _, rest = source.partition(":")
    if captions == "tfds":
        if kind != "tfds":
            raise DataError(f"{source}: captions 'tfds' come from a tfds: source, e.g. tfds:coco_captions")
        name, _, named_split = rest.partition(":")
        return load_tfds_captioned(name, named_split or split, data_dir, image_size)
    if captions == "attributes":
        opened = data_module.load_source(source, split, data_dir)
        if opened.images is None or opened.images.ndim != 4 or opened.images.shape[-1] != 1 or \
                opened.num_classes != len(FASHION_NOUNS):
            raise DataError(f"{source}: captions written from attributes need Fashion-MNIST (fashion_mnist or an "
                            "idx: copy of it)")
        unit = data_module.to_unit_interval(opened.images)
        scale = scale or AttributeScale.measure(unit, opened.labels, opened.num_classes)
        written = fashion_captions(unit, opened.labels, scale, per_image=per_image, seed=seed)
        return CaptionedImages(_resized(opened.images, image_size), written, np.asarray(opened.labels), scale)
    if kind != "folder":
        raise DataError(f"{source}: a captions file goes with a folder: source (folder:DIR)")
    images, written = load_caption_folder(rest, None if captions == "folder" else captions)
    return CaptionedImages(_resized(images, image_size), written)
