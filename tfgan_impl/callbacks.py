"""Callbacks for `GAN.fit`: sample pictures, atomic checkpoints, divergence stop, training health, evaluation,
throughput."""
import csv
import io
import json
import math
import os
import time

import keras
import numpy as np
import tensorflow as tf

from tfgan_impl import checkpoints, images, noise
from tfgan_impl.health import TrainingHealth, mean_pairwise_distance  # noqa: F401 (a callback, here with the others)
from tfgan_impl.samplers import NoiseSampler


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
        if not isinstance(self.model, NoiseSampler):
            raise TypeError(f"SampleGrid draws from noise; {type(self.model).__name__} is not a NoiseSampler "
                            "(use TranslationGrid for translators)")
        self._latent = self.model.latents(self.num, self.seed, noise.SAMPLE_GRID_CHUNK)
        # Conditional models draw the classes in turn, so each row of the picture shows them in order.
        num_classes = self.model.num_classes
        self._labels = None if num_classes is None else np.arange(self.num) % num_classes
        if self.log_dir and self._writer is None:
            self._writer = tf.summary.create_file_writer(os.path.join(self.log_dir, "samples"))

    def _samples(self):
        """`(samples in data units, columns or None)` of the picture."""
        return self.model.generate_from(self._latent, labels=self._labels), None

    def on_epoch_end(self, epoch, logs=None):
        if (epoch + 1) % self.every:
            return
        samples, columns = self._samples()
        if not np.all(np.isfinite(samples)):  # a diverged generator: a black picture would mislead
            return
        picture = images.samples_picture(samples, columns)
        images.save_png(picture, os.path.join(self.directory, f"epoch_{epoch + 1:03d}.png"))
        if self._writer is not None:
            with self._writer.as_default():
                tf.summary.image("samples", picture[None], step=epoch + 1)
            self._writer.flush()


class TranslationGrid(SampleGrid):
    """Writes rows of input | translation | target for fixed pairs every `every` epochs (a translator's
    `SampleGrid`), or input | translation | reconstruction for unpaired translators: `DIRECTORY/epoch_NNN.png`
    and TensorBoard images.

    Args:
        directory: folder for the PNG files.
        inputs, targets: fixed pairs in [0, 1], `[n, H, W, C]` each; `targets=None` for unpaired translators.
        every: write after every `every`-th epoch.
        log_dir: optional TensorBoard log directory for image summaries.
    """

    def __init__(self, directory, inputs, targets=None, every=1, log_dir=None):
        super().__init__(directory, every=every, num=len(inputs), log_dir=log_dir)
        self.inputs = np.asarray(inputs, np.float32)
        self.targets = None if targets is None else np.asarray(targets, np.float32)

    def on_train_begin(self, logs=None):
        if self.log_dir and self._writer is None:
            self._writer = tf.summary.create_file_writer(os.path.join(self.log_dir, "samples"))

    def _samples(self):
        outputs = self.model.translate(self.inputs)
        # Unpaired translators (CycleGAN) have no target: the third column is the cycle's reconstruction.
        targets = self.targets if self.targets is not None else self.model.translate(outputs, inverse=True)
        inputs = self.inputs
        if inputs.shape[1:3] != outputs.shape[1:3]:  # super-resolution: show the input's pixels at the output size
            inputs = np.asarray(tf.image.resize(inputs, outputs.shape[1:3], method="nearest"), np.float32)
        columns = (inputs, outputs, targets)
        channels = max(a.shape[-1] for a in columns)  # e.g. colour to grey: show all three in colour
        columns = [np.broadcast_to(a, a.shape[:-1] + (channels,)) for a in columns]
        return np.stack(columns, axis=1).reshape(-1, *columns[0].shape[1:]), 3


class TextGrid(SampleGrid):
    """Writes, every `every` epochs, a row per fixed caption: its real image, then `columns - 1` samples drawn for
    its embedding (each with its own noise): `DIRECTORY/epoch_NNN.png`, TensorBoard images, and the rows' captions
    in `DIRECTORY/captions.txt` (a text sampler's `SampleGrid`).

    Args:
        directory: folder for the PNG files.
        captions: the rows' captions (strings), or None when only embeddings are known.
        embeddings: `[rows, E]`.
        images: the rows' real images in [0, 1].
        every: write after every `every`-th epoch.
        columns: images per row.
        seed: seed of the samples' noise.
        log_dir: optional TensorBoard log directory for image summaries.
    """

    def __init__(self, directory, captions, embeddings, images, every=1, columns=8, seed=0, log_dir=None):
        super().__init__(directory, every=every, num=len(embeddings), seed=seed, log_dir=log_dir)
        self.captions = None if captions is None else [str(text) for text in captions]
        self.embeddings = np.asarray(embeddings, np.float32)
        self.images = np.asarray(images, np.float32)
        self.columns = max(int(columns), 2)

    def on_train_begin(self, logs=None):
        if self.log_dir and self._writer is None:
            self._writer = tf.summary.create_file_writer(os.path.join(self.log_dir, "samples"))
        if self.captions is not None:
            lines = "".join(f"row {index + 1}: {text}\n" for index, text in enumerate(self.captions))
            images.write_text(os.path.join(self.directory, "captions.txt"), lines)

    def _samples(self):
        drawn = self.model.generate_from_embeddings(np.repeat(self.embeddings, self.columns - 1, axis=0), self.seed)
        rows = drawn.reshape(len(self.embeddings), self.columns - 1, *drawn.shape[1:])
        real = self.images
        if real.shape[1:3] != drawn.shape[1:3]:
            real = np.asarray(tf.image.resize(real, drawn.shape[1:3]), np.float32)
        real = np.broadcast_to(real, real.shape[:-1] + (drawn.shape[-1],))
        return np.concatenate([real[:, None], rows], axis=1).reshape(-1, *drawn.shape[1:]), self.columns


class EpochScalars(keras.callbacks.Callback):
    """Writes every epoch's logs (losses, metrics, throughput) as TensorBoard scalars in `log_dir/train`.

    Keras's `TensorBoard` callback writes a summary per batch even with `update_freq="epoch"`, which grew a
    run's resident memory by about 4 KB per step here (2 MB per Fashion-MNIST epoch); this writes per epoch only.

    Args:
        log_dir: TensorBoard log directory.
    """

    def __init__(self, log_dir):
        super().__init__()
        self.log_dir = log_dir
        self._writer = None

    def on_train_begin(self, logs=None):
        if self._writer is None:
            self._writer = tf.summary.create_file_writer(os.path.join(self.log_dir, "train"))

    def on_epoch_end(self, epoch, logs=None):
        with self._writer.as_default():
            for name, value in (logs or {}).items():
                if np.ndim(value) == 0:
                    tf.summary.scalar(name, float(value), step=epoch + 1)
        self._writer.flush()


class Checkpoint(keras.callbacks.Callback):
    """Saves weights and optimizer state at the end of each epoch, atomically, keeping the last `keep`
    (`tfgan_impl.checkpoints.save`). Non-finite weights (a diverged run) are never saved.

    `keras.callbacks.BackupAndRestore` writes over its backup in place, so a kill during the write leaves a
    broken backup; the store writes each checkpoint under a temporary name and renames it.

    Args:
        directory: folder of the checkpoints.
        keep: how many checkpoints to keep.
    """

    def __init__(self, directory, keep=2):
        super().__init__()
        self.directory = directory
        self.keep = int(keep)

    def on_epoch_end(self, epoch, logs=None):
        checkpoints.save(self.model, self.directory, epoch + 1, keep=self.keep)


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
            buffer = io.StringIO()
            csv.writer(buffer).writerows(kept)
            images.write_text(self.path, buffer.getvalue())

    def on_epoch_end(self, epoch, logs=None):
        row = {"epoch": epoch + 1, **{k: float(v) for k, v in sorted((logs or {}).items())}}
        header = None
        if os.path.exists(self.path) and os.path.getsize(self.path):
            with open(self.path, newline="") as stream:
                header = next(csv.reader(stream), None)  # a resumed run keeps the file's columns
        if header is not None and not set(row) <= set(header):
            header = header + [key for key in row if key not in header]
            self._widen(header)
        with open(self.path, "a", newline="") as stream:
            writer = csv.DictWriter(stream, fieldnames=header or list(row), extrasaction="ignore", restval="")
            if header is None:
                writer.writeheader()
            writer.writerow(row)
            stream.flush()
            os.fsync(stream.fileno())


    def _widen(self, header):
        # A figure that first appears in a later epoch (an evaluation every N epochs) gets its own column.
        with open(self.path, newline="") as stream:
            rows = list(csv.DictReader(stream))

        def write(temporary):
            with open(temporary, "w", newline="") as stream:
                writer = csv.DictWriter(stream, fieldnames=header, restval="")
                writer.writeheader()
                writer.writerows(rows)

        images.write_atomically(self.path, write)


class Evaluate(keras.callbacks.Callback):
    """Scores the generator every `every` epochs; the figures join the epoch's logs (CSV, TensorBoard).

    With `monitor`, the checkpoint with the best value so far is kept in `best_path` (weights, written
    atomically) beside `best_path + ".json"` (epoch and value).

    Args:
        data: reference data source (its `test` split).
        metrics: names from `tfgan_impl.evaluation.METRICS`.
        every: evaluate after every `every`-th epoch.
        num: samples per evaluation.
        classifier: domain classifier (`.keras` path or model) for fcd, kcd, score, pr.
        inception_weights: InceptionV3 weights path for fid, kid, is.
        monitor: the figure that selects the best checkpoint, e.g. `"fcd"`.
        mode: `"min"` or `"max"`: which direction of `monitor` is better.
        best_path: where to keep the best checkpoint (`*.weights.h5`).
        seed: seed of the evaluation's latent vectors (the same at every evaluation).
        image_size: `[height, width]` of the run's images when `data.image_size` resized them.
    """

    def __init__(self, data, metrics=("fcd",), every=1, num=2000, classifier=None, inception_weights=None,
                 monitor=None, mode="min", best_path=None, seed=0, image_size=None):
        super().__init__()
        self.image_size = image_size
        if mode not in ("min", "max"):
            raise ValueError(f"mode must be 'min' or 'max', got {mode!r}")
        if monitor is not None and best_path is None:
            raise ValueError("monitor needs a best_path to keep the best checkpoint in")
        self.data, self.metrics, self.every, self.num = data, list(metrics), int(every), int(num)
        self.classifier, self.inception_weights = classifier, inception_weights
        self.monitor, self.mode, self.best_path, self.seed = monitor, mode, best_path, int(seed)
        self._evaluator = None
        self.best = None

    def on_train_begin(self, logs=None):
        from tfgan_impl import evaluation

        if self._evaluator is None:
            self._evaluator = evaluation.Evaluator(self.data, self.metrics, classifier=self.classifier,
                                                   inception_weights=self.inception_weights,
                                                   image_size=self.image_size)
        if self.best_path and os.path.exists(self.best_path + ".json"):
            with open(self.best_path + ".json") as stream:
                self.best = json.load(stream)["value"]  # a resumed run competes with its earlier best

    def on_epoch_end(self, epoch, logs=None):
        from tfgan_impl import evaluation

        if (epoch + 1) % self.every:
            return
        figures = self._evaluator(evaluation.generator_chunks(self.model, self.num, seed=self.seed))
        if logs is not None:
            logs.update({key: float(value) for key, value in figures.items() if key != "num_samples"})
        if self.monitor is None:
            return
        if self.monitor not in figures:
            raise ValueError(f"monitor {self.monitor!r} is not among the figures {sorted(figures)}")
        value = float(figures[self.monitor])
        better = self.best is None or (value < self.best if self.mode == "min" else value > self.best)
        if better and np.isfinite(value):
            self.best = value
            images.write_atomically(self.best_path, self.model.save_weights)
            images.write_text(self.best_path + ".json",
                              json.dumps({"epoch": epoch + 1, "monitor": self.monitor, "value": value}))


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


class ClassifierAccuracy(keras.callbacks.Callback):
    """Adds `test_accuracy`, the accuracy of a semi-supervised GAN's classifier on held-out labelled images, to the
    epoch's logs (so CSV and TensorBoard get it).

    Args:
        images: held-out images in the generator's output range.
        labels: their integer labels.
        every: measure after every `every`-th epoch (and always after the last).
        report: if set, the chief prints the final accuracy with this note (e.g. the labels per class).
    """

    def __init__(self, images, labels, every=1, report=None):
        super().__init__()
        self.images, self.labels, self.every, self.report = images, np.asarray(labels), int(every), report
        self.accuracy = None

    def on_epoch_end(self, epoch, logs=None):
        last = epoch + 1 == self.params.get("epochs")
        if (epoch + 1) % self.every and not last:
            return
        self.accuracy = float(np.mean(self.model.classify(self.images) == self.labels))
        if logs is not None:
            logs["test_accuracy"] = self.accuracy

    def on_train_end(self, logs=None):
        if self.report and self.accuracy is not None and self.model.distribute_strategy.extended.should_checkpoint:
            print(f"classifier test accuracy: {self.accuracy:.4f} ({len(self.labels)} held-out images, {self.report})")
