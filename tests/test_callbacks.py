"""Callbacks used from a plain script's `fit`: sample pictures, checkpoints and resume, CSV rows."""
import csv
import os

import keras
import numpy as np
import tensorflow as tf
from PIL import Image

from tfgan_impl import GAN, callbacks, checkpoints, networks


def small_image_gan(seed=0):
    keras.utils.set_random_seed(seed)
    gan = GAN(networks.dcgan_generator(8, [8, 8, 1], base_filters=4), networks.dcgan_discriminator([8, 8, 1], 4),
              latent_dim=8, seed=seed)
    gan.compile(d_optimizer=keras.optimizers.Adam(2e-4, 0.5), g_optimizer=keras.optimizers.Adam(2e-4, 0.5))
    return gan


def image_dataset():
    images = tf.random.stateless_uniform([64, 8, 8, 1], seed=[1, 1], minval=-1.0, maxval=1.0)
    return tf.data.Dataset.from_tensor_slices(images).batch(16, drop_remainder=True)


def test_sample_grid_from_a_script_writes_pngs_and_tensorboard_images(tmp_path):
    gan = small_image_gan()
    grid = callbacks.SampleGrid(str(tmp_path / "samples"), every=2, num=9, log_dir=str(tmp_path / "logs"))
    gan.fit(image_dataset(), epochs=4, callbacks=[grid], verbose=0)
    assert sorted(os.listdir(tmp_path / "samples")) == ["epoch_002.png", "epoch_004.png"]
    picture = np.asarray(Image.open(tmp_path / "samples" / "epoch_004.png"))
    assert picture.shape == (24, 24)  # 3 x 3 grid of 8 x 8 grayscale images
    assert picture.std() > 0  # not a blank picture
    events = [f for f in os.listdir(tmp_path / "logs" / "samples") if f.startswith("events")]
    assert events and os.path.getsize(tmp_path / "logs" / "samples" / events[0]) > 1000


def test_checkpoint_keeps_the_last_ones_and_restores_optimizer_state(tmp_path):
    gan = small_image_gan()
    gan.fit(image_dataset(), epochs=3, callbacks=[callbacks.Checkpoint(str(tmp_path), keep=2)], verbose=0)
    assert sorted(os.listdir(tmp_path)) == ["epoch_0002.weights.h5", "epoch_0003.weights.h5", "latest.json"]
    assert checkpoints.latest_checkpoint(str(tmp_path)) == {"epoch": 3, "weights": "epoch_0003.weights.h5", "step": 12, "seed_states": []}
    restored = small_image_gan(seed=1)
    assert checkpoints.restore_latest(restored, str(tmp_path)) == 3
    assert int(restored.d_optimizer.iterations) == 12 and int(restored.g_optimizer.iterations) == 12
    for a, b in zip(gan.weights, restored.weights):
        np.testing.assert_array_equal(a.numpy(), b.numpy())
    assert checkpoints.restore_latest(small_image_gan(), str(tmp_path / "empty")) == 0


def test_metrics_csv_drops_rows_a_resumed_run_retrains(tmp_path):
    path = str(tmp_path / "metrics.csv")
    with open(path, "w") as stream:
        stream.write("epoch,d_loss\n1,0.5\n2,0.4\n3,0.3\n")
    gan = small_image_gan()
    gan.fit(image_dataset(), epochs=3, initial_epoch=2, callbacks=[callbacks.MetricsCSV(path)], verbose=0)
    with open(path, newline="") as stream:
        rows = list(csv.DictReader(stream))
    assert [row["epoch"] for row in rows] == ["1", "2", "3"]
    assert rows[1]["d_loss"] == "0.4" and rows[1]["g_loss"] == ""  # old rows keep their values, new columns empty
    assert float(rows[2]["d_loss"]) != 0.3 and float(rows[2]["g_loss"]) > 0  # epoch 3 was trained again


def test_epoch_scalars_write_each_epochs_logs(tmp_path):
    gan = small_image_gan()
    history = gan.fit(image_dataset(), epochs=3, verbose=0,
                      callbacks=[callbacks.EpochScalars(str(tmp_path / "logs"))]).history
    written = {}
    directory = tmp_path / "logs" / "train"
    for name in os.listdir(directory):
        for event in tf.compat.v1.train.summary_iterator(str(directory / name)):
            for value in event.summary.value:
                written[(value.tag, event.step)] = float(tf.make_ndarray(value.tensor))
    for step in (1, 2, 3):
        for tag in ("d_loss", "g_loss", "d_real", "d_fake"):
            assert written[(tag, step)] == np.float32(history[tag][step - 1])
