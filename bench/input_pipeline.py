"""Benchmark: how fast each data source delivers training batches, against how fast the train step eats them.

For `idx:` (Debian's Fashion-MNIST copy, when installed), `npz:` and `folder:` (the same 4,096 images written
to a temporary npz file and PNG folder) and `tfds:fashion_mnist` (offline, the first 12,000 images of the IDX copy
prepared with TFDS's own writer under the registered name and version in a temporary `data_dir`, so TFDS's
builder reads them as it reads a downloaded copy; with its in-memory cache and, as `tfds_uncached`, without), `tfgan_impl.data.make_dataset` batches of 128 at 28x28 are read for
`--batches` batches (after the first, which pays for setup); the train step's rate is `GAN.fit` on the default
job's DCGAN networks. Target: every source at least 10x the step's batches per second. Prints JSON, then a
one-line summary. Usage: python bench/input_pipeline.py [--batches 200]
"""
import argparse
import json
import os
import tempfile
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import numpy as np  # noqa: E402
from PIL import Image  # noqa: E402

from common import default_dcgan, machine, random_image_batches  # noqa: E402

from tfgan_impl import data  # noqa: E402

FASHION_MNIST = "/usr/share/datasets/fashion-mnist"
BATCH = 128
TFDS_EXAMPLES = 12_000


def prepare_tfds_fashion_mnist(data_dir, examples=TFDS_EXAMPLES):
    """Writes Fashion-MNIST from the IDX copy as a prepared TFDS `fashion_mnist` (its registered version and
    features: PNG-encoded 28x28x1 images and 10 class labels), since TFDS cannot download it offline."""
    import tensorflow as tf
    import tensorflow_datasets as tfds

    tfds.disable_progress_bar()
    source = data.load_idx(FASHION_MNIST, "train")
    registered = tfds.builder("fashion_mnist", data_dir=data_dir)
    examples = tf.data.Dataset.from_tensor_slices({"image": source.images[:examples],
                                                   "label": source.labels[:examples].astype(np.int64)})
    tfds.dataset_builders.store_as_tfds_dataset(
        name="fashion_mnist", version=str(registered.version), features=registered.info.features,
        split_datasets={"train": examples}, data_dir=data_dir)


def batches_per_second(dataset, batches):
    iterator = iter(dataset.repeat())
    next(iterator)  # setup: the first batch pays for building the pipeline and the first shuffle fill
    start = time.perf_counter()
    for _ in range(batches):
        next(iterator)
    return batches / (time.perf_counter() - start)


def train_steps_per_second(steps=20, rounds=3):
    """The train step's rate in its fastest round (see bench/train_step.py on this machine's slow rounds), so
    the headroom is not flattered by a round that ran on one core."""
    gan, dataset = default_dcgan(), random_image_batches(BATCH)
    gan.fit(dataset, epochs=1, steps_per_epoch=5, verbose=0)
    best = float("inf")
    for _ in range(rounds):
        start = time.perf_counter()
        gan.fit(dataset, epochs=1, steps_per_epoch=steps, verbose=0)
        best = min(best, time.perf_counter() - start)
    return steps / best


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--batches", type=int, default=200)
    args = parser.parse_args()
    images = np.random.default_rng(0).integers(0, 256, (4096, 28, 28, 1), dtype=np.uint8)
    rates = {}
    with tempfile.TemporaryDirectory() as directory:
        np.savez(os.path.join(directory, "images.npz"), x=images)
        os.makedirs(os.path.join(directory, "folder"))
        for index, image in enumerate(images):
            Image.fromarray(image[..., 0]).save(os.path.join(directory, "folder", f"{index:05d}.png"))
        sources = {"npz": f"npz:{os.path.join(directory, 'images.npz')}",
                   "folder": f"folder:{os.path.join(directory, 'folder')}"}
        options = {name: {} for name in sources}
        if os.path.isdir(FASHION_MNIST):
            sources["idx"] = f"idx:{FASHION_MNIST}"
            start = time.perf_counter()
            prepare_tfds_fashion_mnist(directory)
            rates["tfds_prepare_seconds"] = time.perf_counter() - start
            sources["tfds"] = sources["tfds_uncached"] = "tfds:fashion_mnist"
            options = {"idx": {}, "tfds": {"data_dir": directory},
                       "tfds_uncached": {"data_dir": directory, "cache": False}, **options}
        for name, source in sources.items():
            start = time.perf_counter()
            dataset = data.make_dataset(source, BATCH, seed=0, **options[name])
            rates[f"{name}_load_seconds"] = time.perf_counter() - start
            rates[f"{name}_batches_per_second"] = batches_per_second(dataset, args.batches)
    step_rate = train_steps_per_second()
    results = {"train_steps_per_second": step_rate, **rates,
               **{f"{name}_headroom": rates[f"{name}_batches_per_second"] / step_rate for name in sources},
               "batch_size": BATCH, **machine()}
    print(json.dumps(results, indent=1))
    print("batches per second / train steps per second: " + ", ".join(
        f"{name} {results[f'{name}_headroom']:.0f}x" for name in sources) + f" (train step {step_rate:.1f}/s)")


if __name__ == "__main__":
    main()
