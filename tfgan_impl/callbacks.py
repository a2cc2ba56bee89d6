"""Callbacks for `GAN.fit`: sample pictures, atomic checkpoints with resume, divergence stop, throughput."""
import csv
import json
import math
import os
import time

import keras
import numpy as np
import tensorflow as tf

from tfgan_impl import images

LATEST = "latest.json"


class SampleGrid(keras.callbacks.Callback):
    """Writes samples from fixed noise every `every` epochs: `DIRECTORY/epoch_NNN.png` and TensorBoard images.

    Works with any `tfgan_impl.GAN` in any script's `fit`. The same latent vectors are used at every epoch,
    so the pictures show how the generator evolves.

    Args:
        directory: folder for the PNG files.
        every: write after every `every`-th epoch.
        num: number of samples in the picture.
        seed: seed of the fixed latent vectors.
        log_dir: optional TensorBoard log directory for image summaries.
    """

    def __init__(self, directory, every=1, num=64, seed=0, log_dir=None):
        super().__init__()
        self.directory = directory
        self.every = int(every)
        self.num = int(num)
        self.seed = int(seed)
        self.log_dir = log_dir
        self._writer = None

    def on_train_begin(self, logs=None):
        self._latent = tf.random.stateless_normal([self.num, self.model.latent_dim], seed=[self.seed, 7])
        if self.log_dir and self._writer is None:
            self._writer = tf.summary.create_file_writer(os.path.join(self.log_dir, "samples"))

    def on_epoch_end(self, epoch, logs=None):
        if (epoch + 1) % self.every:
            return
        samples = self.model.to_data_units(self.model.generator(self._latent, training=False))
        if not np.all(np.isfinite(samples)):  # a diverged generator: a black picture would mislead
            return
        picture = images.samples_picture(samples)
        images.save_png(picture, os.path.join(self.directory, f"epoch_{epoch + 1:03d}.png"))
        if self._writer is not None:
            with self._writer.as_default():
                tf.summary.image("samples", picture[None], step=epoch + 1)
            self._writer.flush()


def _weights_finite(model):
    return all(np.all(np.isfinite(keras.ops.convert_to_numpy(v))) for v in model.weights
               if np.issubdtype(np.dtype(v.dtype), np.floating))


class Checkpoint(keras.callbacks.Callback):
    """Saves weights and optimizer state at the end of each epoch, atomically, keeping the last `keep`.

    `keras.callbacks.BackupAndRestore` writes over its backup in place, so a kill during the write leaves a
    broken backup; here each checkpoint is written under a temporary name and renamed, and `latest.json` is
    replaced only afterwards. Non-finite weights (a diverged run) are never saved.

    Args:
        directory: folder of the checkpoints.
        keep: how many checkpoints to keep.
    """

    def __init__(self, directory, keep=2):
        super().__init__()
        self.directory = directory
        self.keep = int(keep)

    def on_epoch_end(self, epoch, logs=None):
        if not _weights_finite(self.model):
            return
        name = f"epoch_{epoch + 1:04d}.weights.h5"
        images.write_atomically(os.path.join(self.directory, name), self.model.save_weights)
        state = {"epoch": epoch + 1, "weights": name, "step": int(self.model.g_optimizer.iterations.numpy())}
        images.write_atomically(os.path.join(self.directory, LATEST),
                                lambda path: _write_json(path, state))
        kept = sorted(f for f in os.listdir(self.directory) if f.startswith("epoch_") and f.endswith(".weights.h5"))
        for stale in kept[:-self.keep]:
            os.remove(os.path.join(self.directory, stale))


def _write_json(path, value):
    with open(path, "w") as stream:
        json.dump(value, stream)


def latest_checkpoint(directory):
    """The `latest.json` record of a checkpoint folder (`epoch`, `weights`, `step`), or None when there is none."""
    path = os.path.join(directory, LATEST)
    if not os.path.exists(path):
        return None
    with open(path) as stream:
        return json.load(stream)


def restore_latest(model, directory):
    """Loads the latest checkpoint of `directory` into a compiled GAN.

    Args:
        model: a compiled `GAN` with the architecture the checkpoint was saved from.
        directory: checkpoint folder.

    Returns:
        The number of epochs the checkpoint had completed, 0 when there is no checkpoint.
    """
    state = latest_checkpoint(directory)
    if state is None:
        return 0
    model.build_optimizers()
    model.load_weights(os.path.join(directory, state["weights"]))
    return int(state["epoch"])


class TerminateOnDivergence(keras.callbacks.Callback):
    """Stops training at the first non-finite loss and records which loss at which step.

    Args:
        monitor: the logged losses to watch.
    """

    def __init__(self, monitor=("d_loss", "g_loss")):
        super().__init__()
        self.monitor = tuple(monitor)
        self.message = None

    def on_train_batch_end(self, batch, logs=None):
        for name in self.monitor:
            value = (logs or {}).get(name)
            if value is not None and not math.isfinite(float(value)):
                step = int(self.model.g_optimizer.iterations.numpy())
                self.message = f"training diverged at step {step}: {name}={float(value)}"
                self.model.stop_training = True
                return


class MetricsCSV(keras.callbacks.Callback):
    """Appends one row per epoch (the epoch number, then every logged figure) to a CSV file.

    Keras's `CSVLogger` adds an empty `val_` column for every metric when there is no validation data.

    Args:
        path: the CSV file; rows are appended, so a resumed run continues it.
    """

    def __init__(self, path):
        super().__init__()
        self.path = path

    def on_train_begin(self, logs=None):
        self._trim = True

    def on_epoch_begin(self, epoch, logs=None):
        # A resumed run drops rows of epochs after its checkpoint, which it is about to train again.
        if not self._trim or not os.path.exists(self.path):
            return
        self._trim = False
        with open(self.path, newline="") as stream:
            rows = list(csv.reader(stream))
        kept = rows[:1] + [row for row in rows[1:] if row and int(row[0]) <= epoch]
        if len(kept) < len(rows):
            images.write_atomically(self.path, lambda temporary: csv.writer(open(temporary, "w", newline="")).writerows(kept))

    def on_epoch_end(self, epoch, logs=None):
        row = {"epoch": epoch + 1, **{k: float(v) for k, v in sorted((logs or {}).items())}}
        header = None
        if os.path.exists(self.path) and os.path.getsize(self.path):
            with open(self.path, newline="") as stream:
                header = next(csv.reader(stream), None)  # a resumed run keeps the file's columns
        with open(self.path, "a", newline="") as stream:
            writer = csv.DictWriter(stream, fieldnames=header or list(row), extrasaction="ignore", restval="")
            if header is None:
                writer.writeheader()
            writer.writerow(row)
            stream.flush()
            os.fsync(stream.fileno())


class Throughput(keras.callbacks.Callback):
    """Adds `epoch_seconds` and `images_per_second` (real images the discriminator saw) to each epoch's logs.

    Place it before loggers (`CSVLogger`, `TensorBoard`) in the callback list so they record its figures.

    Args:
        global_batch_size: images per discriminator update, across replicas.
    """

    def __init__(self, global_batch_size):
        super().__init__()
        self.global_batch_size = int(global_batch_size)

    def on_epoch_begin(self, epoch, logs=None):
        self._start = time.perf_counter()
        self._start_step = int(self.model.d_optimizer.iterations.numpy())

    def on_epoch_end(self, epoch, logs=None):
        seconds = time.perf_counter() - self._start
        updates = int(self.model.d_optimizer.iterations.numpy()) - self._start_step
        if logs is not None:
            logs["epoch_seconds"] = seconds
            logs["images_per_second"] = updates * self.global_batch_size / max(seconds, 1e-9)
