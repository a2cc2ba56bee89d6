"""The `stackgan` family (issue 19): its config, captioned data (written attributes, a folder's captions file,
TFDS coco_captions, precomputed embeddings), the text encoder trained and kept with the run, the stage schedule,
`sample --text`, the exports' `text` and `embedding` signatures, resumption, and learning on captioned
Fashion-MNIST."""
import csv
import json
import os
import subprocess
import sys

import keras
import numpy as np
import pytest
import tensorflow as tf

from tests.conftest import assert_config_errors, needs_fashion_mnist
from tfgan_impl import cli, data, evaluation, images, rundir, training
from tfgan_impl import config as config_module
from tfgan_impl.errors import DataError
from tfgan_impl.families import stackgan as family

CONFIG = os.path.join(os.path.dirname(__file__), "..", "configs", "stackgan_fashion_mnist.yaml")
TINY = ["model.generator.filters=4", "model.generator.stage2_filters=4", "model.generator.num_residual=1",
        "model.generator.condition_dim=8", "model.discriminator.filters=4", "model.discriminator.text_dim=8",
        "model.latent_dim=8", "model.text_embedding_dim=8", "model.text_word_dim=8", "train.text_epochs=1",
        "data.batch_size=8", "train.num_samples=8"]


def tiny_config(overrides=()):
    return config_module.load(CONFIG, [*TINY, "data.split=train[:64]", "data.image_size=[16, 16]",
                                       "model.generator.stage1_size=8", "train.epochs=2", "train.steps_per_epoch=2",
                                       "train.stage2_epoch=1", *overrides])


def test_the_config_refuses_what_stackgan_cannot_do():
    assert_config_errors(CONFIG, [
        ({"model": {"generator": {"name": "dcgan"}}}, "model.generator.name: model.type stackgan builds StackGAN's"),
        ({"train": {"schedule": "stage3"}}, "train.schedule: expected one of sequential, stage1, stage2, joint"),
        ({"train": {"schedule": "joint"}, "model": {"generator": {"name": "stackgan", "stages": 1}}},
         "train.schedule: 'joint' trains Stage-II, and model.generator.stages is 1"),
        ({"train": {"stage2_epoch": 0}}, "train.stage2_epoch: expected an epoch of at least 1, got 0"),
        ({"data": {"captions": "/no/such/captions.txt"}}, "data.captions: expected attributes, tfds, folder or a"),
        ({"data": {"captions_per_image": 9}}, "data.captions_per_image: expected 1 to 6, got 9"),
        ({"train": {"d_steps": 2}}, "train: StackGAN trains with the non-saturating loss, one discriminator step"),
        ({"train": {"kl_weight": -1.0}}, "train.kl_weight"),
        ({"evaluate": {"metrics": ["fcd"]}}, "evaluate.metrics: the sample metrics score generators of noise"),
    ])


@needs_fashion_mnist
def test_training_data_pairs_each_caption_with_its_image_and_another_caption():
    config = tiny_config()
    training_data = family.training_data(config)
    info = training_data.info
    assert info["sample_shape"] == [16, 16, 1] and info["embedding_dim"] == 8
    assert {"dark", "light", "narrow", "wide", "pullover", "boot"} <= set(info["vocabulary"])
    assert len(info["attribute_scale"]["brightness"]) == 10
    batches = list(training_data.dataset)
    assert len(batches) == 64 * 3 // 8  # every caption (3 per image) once per pass
    pictures, embeddings, mismatched = batches[0]
    assert pictures.shape == (8, 16, 16, 1) and -1 <= float(tf.reduce_min(pictures)) < float(tf.reduce_max(pictures)) <= 1
    np.testing.assert_array_equal(mismatched.numpy(), np.roll(embeddings.numpy(), 1, axis=0))
    texts, shown_embeddings, real = training_data.captions
    encoder = training_data.extras["text_encoder"]
    np.testing.assert_allclose(encoder(tf.constant(texts)).numpy(), shown_embeddings, atol=1e-6)
    assert real.shape == (8, 16, 16, 1) and 0 <= real.min() and real.max() <= 1


def test_a_folder_with_a_captions_file_and_precomputed_embeddings(tmp_path):
    folder = tmp_path / "pictures"
    folder.mkdir()
    rng = np.random.default_rng(0)
    lines = []
    for index in range(12):
        images.save_png(rng.integers(0, 256, (16, 16, 3), dtype=np.uint8), str(folder / f"{index:02d}.png"))
        lines += [f"{index:02d}.png\ta {'red' if index % 2 else 'blue'} bird", f"{index:02d}.png\ta small bird"]
    (folder / "captions.txt").write_text("\n".join(lines) + "\n")
    base = [*TINY, f"data.source=folder:{folder}", "data.captions=folder", "model.generator.stage1_size=8",
            "train.epochs=1", "train.steps_per_epoch=2", "train.schedule=joint", "train.stage2_epoch=null",
            "data.image_size=null"]
    config = config_module.load(CONFIG, base)
    training_data = family.training_data(config)
    assert training_data.info["sample_shape"] == [16, 16, 3] and "bird" in training_data.info["vocabulary"]
    assert sum(1 for _ in training_data.dataset.unbatch()) == 24  # 2 captions of each of 12 images
    # Precomputed: one row per image (or per image and caption), from .npy or .npz with captions.
    vectors = rng.normal(size=(12, 2, 5)).astype(np.float32)
    np.savez(tmp_path / "embeddings.npz", embeddings=vectors, captions=np.array([["x", "y"]] * 12))
    config = config_module.load(CONFIG, [*base, f"data.embeddings={tmp_path / 'embeddings.npz'}"])
    training_data = family.training_data(config)
    assert training_data.info["vocabulary"] is None and training_data.info["embedding_dim"] == 5
    assert training_data.captions[0][0] == "x" and "text_encoder" not in training_data.extras
    run = str(tmp_path / "run")
    training.train(config, run, verbose=0)
    model = rundir.load_run(run)
    assert model.text_encoder is None
    assert model.generate_from_embeddings(vectors[:2, 0], seed=1).shape == (2, 16, 16, 3)
    np.save(tmp_path / "bad.npy", vectors[:5])
    with pytest.raises(DataError, match=r"data.embeddings: .*bad.npy: expected \[12, E\] or \[12, captions, E\]"):
        family.training_data(config_module.load(CONFIG, [*base, f"data.embeddings={tmp_path / 'bad.npy'}"]))
    with pytest.raises(DataError, match="a captions file goes with a folder: source"):
        family.training_data(config_module.load(CONFIG, [*TINY, "data.captions=folder"]))


def coco_like_examples(count=6):
    """`as_dataset_fn` for `tfds.testing.mock_data`: coco_captions-like examples, images of several sizes."""

    def as_dataset(self, *args, **kwargs):
        rng = np.random.default_rng(0)
        examples = [{"image": rng.integers(0, 256, (10 + index, 14 - index, 3), dtype=np.uint8),
                     "captions": {"text": np.array([f"a photo of {index} cats".encode(), b"an animal"])}}
                    for index in range(count)]
        return tf.data.Dataset.from_generator(lambda: iter(examples), output_signature={
            "image": tf.TensorSpec([None, None, 3], tf.uint8),
            "captions": {"text": tf.TensorSpec([None], tf.string)}})

    return as_dataset


def test_tfds_coco_captions_is_a_captioned_source_offline(monkeypatch):
    import tensorflow_datasets as tfds

    monkeypatch.setattr(data, "can_reach", lambda *args, **kwargs: True)
    base = [*TINY, "data.source=tfds:coco_captions", "data.captions=tfds", "model.generator.stage1_size=4",
            "data.batch_size=4"]
    with tfds.testing.mock_data(as_dataset_fn=coco_like_examples()):
        training_data = family.training_data(config_module.load(CONFIG, [*base, "data.image_size=[8, 8]"]))
        assert training_data.info["sample_shape"] == [8, 8, 3] and "cats" in training_data.info["vocabulary"]
        assert next(iter(training_data.dataset))[0].shape == (4, 8, 8, 3)
        with pytest.raises(DataError, match="tfds:coco_captions: its images differ in size; set data.image_size"):
            family.training_data(config_module.load(CONFIG, [*base, "data.image_size=null"]))


@pytest.mark.slow
@needs_fashion_mnist
def test_cli_trains_in_stages_samples_from_text_and_exports(tmp_path, capsys):
    """Stage-I trains alone in the first epoch and is frozen in the second (the paper's schedule), and the run
    resumed across the switch ends bit for bit where an uninterrupted one does (the text encoder, retrained at the
    resumed run's start, is the same); `sample --text` draws a row per caption, with both stages side by side; the
    SavedModel's `text` signature holds the run's text encoder and gives, in a fresh process, the images the model
    draws for the same captions and seed; TFLite and ONNX give them from embeddings and noise."""
    run = str(tmp_path / "run")
    settings = [*TINY, "data.split=train[:64]", "data.image_size=[16, 16]", "model.generator.stage1_size=8",
                "train.stage2_epoch=1", "train.deterministic=true"]
    overrides = [item for pair in (("--set", o) for o in settings) for item in pair]
    assert cli.main(["train", CONFIG, "--out", run, "--epochs", "1", "--steps-per-epoch", "2", "--verbose", "0",
                     *overrides]) == 0
    stage1_after_one = [w.numpy().copy() for w in rundir.load_run(run).stage1_generator.weights]
    assert cli.main(["train", CONFIG, "--out", run, "--epochs", "2", "--steps-per-epoch", "2", "--verbose", "0",
                     *overrides]) == 0
    model = rundir.load_run(run)
    assert int(model.steps.numpy()) == 4
    for before, after in zip(stage1_after_one, model.stage1_generator.weights):
        np.testing.assert_array_equal(before, after.numpy())  # frozen in Stage-II's epoch
    uninterrupted = training.train(config_module.load(CONFIG, [*settings, "train.epochs=2", "train.steps_per_epoch=2"]),
                                   str(tmp_path / "whole"), verbose=0)
    for x, y in zip(uninterrupted.weights, model.weights):
        np.testing.assert_array_equal(x.numpy(), y.numpy())
    assert os.path.isfile(os.path.join(run, "samples", "epoch_002.png"))
    assert "row 1: " in open(os.path.join(run, "samples", "captions.txt")).read()
    with open(os.path.join(run, "metrics.csv")) as stream:
        assert "kl" in stream.readline()

    grid = str(tmp_path / "grid.npy")
    assert cli.main(["sample", run, "--text", "a light ankle boot", "--text", "a dark bag", "--num", "3",
                     "--stages", "--out", grid]) == 0
    drawn = np.load(grid)
    assert drawn.shape == (12, 16, 16, 1)  # 2 rows of 3 Stage-I (upscaled) then 3 Stage-II images
    np.testing.assert_allclose(drawn[3:6], model.generate_from_text(["a light ankle boot"] * 3, seed=0), atol=1e-5)
    assert cli.main(["sample", run, "--text", "a dark bag", "--num", "2", "--out", str(tmp_path / "g.png")]) == 0
    np.save(tmp_path / "e.npy", np.zeros((1, 3), np.float32))
    capsys.readouterr()
    assert cli.main(["sample", run, "--embeddings", str(tmp_path / "e.npy"), "--out", str(tmp_path / "x.png")]) == 2
    assert "--embeddings: expected [rows, 8], got [1, 3]" in capsys.readouterr().err
    assert cli.main(["sample", run, "--out", str(tmp_path / "x.png")]) == 2
    assert "give the captions to draw (--text" in capsys.readouterr().err
    assert cli.main(["evaluate", run, "--metrics", "fcd"]) == 2
    assert "a StackGAN run; the sample metrics score generators of noise" in capsys.readouterr().err

    export_dir = str(tmp_path / "export")
    assert cli.main(["export", run, "--out", export_dir]) == 0
    captions_given = ["a light ankle boot", "a dark, narrow bag"]
    expected = model.generate_from_text(captions_given, seed=5)
    script = f"""
import json, numpy as np, tensorflow as tf
loaded = tf.saved_model.load({os.path.join(export_dir, '1')!r})
served = loaded.signatures["text"](captions=tf.constant({captions_given!r}), seed=tf.constant(5, tf.int64))
again = loaded.signatures["embedding"](embeddings=served["embeddings"], seed=tf.constant(5, tf.int64))
default = loaded.signatures["serving_default"](captions=tf.constant({captions_given!r}), seed=tf.constant(5, tf.int64))
facts = json.loads(loaded.signatures["metadata"]()["json"].numpy())
np.save({str(tmp_path / 'served.npy')!r}, np.stack([served["images"].numpy(), again["images"].numpy(),
                                                     default["images"].numpy()]))
print(json.dumps([facts["task"], facts["embedding_dim"], facts["has_text_encoder"]]))
"""
    output = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True,
                            env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"}).stdout
    assert json.loads(output.strip().splitlines()[-1]) == ["text_to_image", 8, True]
    for images_served in np.load(tmp_path / "served.npy"):
        np.testing.assert_allclose(images_served, expected, atol=1e-5)
    for fmt in ("tflite", "onnx"):
        assert cli.main(["export", run, "--out", str(tmp_path / fmt), "--format", fmt]) == 0
    from tests.test_export import onnx_session, tflite_images

    inputs = dict(zip(("embeddings", "z", "epsilon"),
                      [model.encode(captions_given), *(n.numpy() for n in model.noise_inputs(2, seed=5))]))
    lite = tflite_images(os.path.join(tmp_path, "tflite", "1", "generator.tflite"), **inputs)
    np.testing.assert_allclose(onnx_session(os.path.join(tmp_path, "onnx", "1", "generator.onnx")).run(
        ["images"], inputs)[0], expected, atol=1e-4)
    np.testing.assert_allclose(lite, expected, atol=1e-4)


@pytest.mark.slow
@needs_fashion_mnist
def test_two_replicas_train_like_one_device_through_the_family(tmp_path):
    """The whole run (text encoder, data with mismatches made on the global batch, both stages) under a
    two-replica MirroredStrategy ends where one device does (synchronized batch norm)."""
    from tests.test_distribute import mirrored

    # SGD: Adam divides by the root of tiny second moments, which turns float-level differences into steps of lr.
    config = tiny_config(["train.synchronized_batch_norm=true", "train.d_optimizer={name: sgd, learning_rate: 0.05}",
                          "train.g_optimizer={name: sgd, learning_rate: 0.05}"])
    runs = [str(tmp_path / "one"), str(tmp_path / "two")]
    one = training.train(config, runs[0], verbose=0, strategy=tf.distribute.get_strategy())
    two = training.train(config, runs[1], verbose=0, strategy=mirrored())
    assert int(one.steps.numpy()) == int(two.steps.numpy()) == 4
    for x, y in zip(one.weights, two.weights):
        np.testing.assert_allclose(x.numpy(), y.numpy(), atol=1e-4)
    losses = []
    for run in runs:
        with open(os.path.join(run, "metrics.csv")) as stream:
            losses.append([[float(row[key]) for key in ("d_loss", "g_loss", "kl")] for row in csv.DictReader(stream)])
    np.testing.assert_allclose(losses[0], losses[1], rtol=1e-4)  # the same steps, Stage-I's then Stage-II's
    assert losses[0][0] != losses[0][1]


@pytest.mark.slow(minutes=4)
@needs_fashion_mnist
def test_samples_follow_their_captions_class_and_brightness(fashion_classifier, tmp_path):
    """The shipped config's Stage-I (16x16, the text encoder trained on the run's 12,000 captioned images) for 1,200
    updates: samples drawn for captions of class c are classified as c by the domain classifier far above chance
    (exactly 0.1 for a generator that ignores its text, every class being asked equally often), and in every class
    or nearly, samples for "light" captions are brighter than for "dark" ones. Measured (2026-12-03): class
    accuracy 0.34 (per class 0.11 to 0.58), brightness followed in 10 of 10 classes (gap 0.20), width in 8; the
    whole shipped run reaches 0.70 at Stage-I (docs/stackgan.md). Stage-II's learning is the benchmark's: it
    needs more updates than CI's budget allows."""
    config = config_module.load(CONFIG, ["data.split=train[:12000]", "train.text_epochs=2", "train.epochs=3",
                                         "train.steps_per_epoch=400", "train.schedule=stage1", "train.sample_every=3",
                                         "model.generator.stages=1", "data.image_size=[16, 16]",
                                         "train.stage2_epoch=null"])
    keras.utils.set_random_seed(0)
    model = training.train(config, str(tmp_path / "run"), verbose=0)
    following = evaluation.text_following(model, fashion_classifier[0], per_caption=8)
    assert following["class_accuracy"] > 0.25, following
    assert following["brightness_agreement"] >= 0.9 and following["brightness_gap"] > 0.05, following
