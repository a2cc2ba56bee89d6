"""Evaluation end to end: the domain classifier, FCD on real and noise images, InceptionV3, the command and callback."""
import json
import os

import keras
import numpy as np
import pytest
import tensorflow as tf

from tests.conftest import FASHION_MNIST_DIR, needs_fashion_mnist
from tfgan_impl import GAN, callbacks, cli, data, evaluation, networks
from tfgan_impl.errors import UserError
from tfgan_impl.metrics import classifier as classifiers



@pytest.mark.slow
@needs_fashion_mnist
def test_domain_classifier_accuracy_and_fcd_sanity(fashion_classifier, tmp_path):
    path, accuracy = fashion_classifier
    assert accuracy >= 0.87, accuracy
    evaluator = evaluation.Evaluator("fashion_mnist", ["fcd", "kcd", "score", "pr"], classifier=path)
    train = data.to_unit_interval(data.load_source("fashion_mnist").images[:10_000])
    real = evaluator(evaluation.array_chunks(train, 10_000))
    noise = evaluator(evaluation.array_chunks(np.random.default_rng(0).uniform(size=train.shape).astype("float32"),
                                              10_000))
    # Real train images against the real test set: near zero; uniform noise: far away.
    assert real["fcd"] < 0.01 * noise["fcd"], (real["fcd"], noise["fcd"])
    assert abs(real["kcd"]) < 0.01 * noise["kcd"], (real["kcd"], noise["kcd"])
    # Noise images' features collapse to a few points, which may well lie inside the real manifold (noise
    # precision ran from 0.18 to 0.96 with classifiers from different machines and epochs), so precision cannot
    # judge noise; recall can: the collapsed features cover none of the real images.
    assert real["precision"] > 0.75 and real["recall"] > 0.75
    assert noise["recall"] < 0.05, noise["recall"]
    assert real["score"] > 0.8 * real["score_real_data"] and noise["score"] < 0.5 * real["score"]


@pytest.mark.slow
@needs_fashion_mnist
def test_evaluate_command_on_samples_file(fashion_classifier, tmp_path, capsys):
    path, _ = fashion_classifier
    test_images = data.to_unit_interval(data.load_source("fashion_mnist", split="test").images[:3000])
    np.save(tmp_path / "samples.npy", test_images)
    out = str(tmp_path / "figures.json")
    assert cli.main(["evaluate", str(tmp_path / "samples.npy"), "--data", "fashion_mnist", "--metrics",
                     "fcd,kcd,score,parzen,pr,nn", "--num", "3000", "--classifier", path, "--json", out]) == 0
    printed = json.loads(capsys.readouterr().out)
    with open(out) as stream:
        assert json.load(stream) == printed
    assert printed["num_samples"] == 3000 and printed["data"] == f"idx:{FASHION_MNIST_DIR}"
    for key in ("fcd", "kcd", "kcd_standard_error", "score", "precision", "recall", "parzen_log_likelihood",
                "parzen_standard_error", "parzen_sigma", "nn_median_ratio"):
        assert np.isfinite(printed[key]), key
    assert printed["parzen_sigma"] in [pytest.approx(s) for s in np.logspace(-1, 0, 10)]
    assert 0.7 < printed["nn_median_ratio"] < 1.3  # held-out real images are no copies of the training set


def test_evaluate_command_user_errors(tmp_path, capsys):
    np.save(tmp_path / "points.npy", np.zeros((10, 2), np.float32))
    np.save(tmp_path / "big.npy", np.full((10, 28, 28, 1), 255.0, np.float32))
    cases = [
        (["evaluate", str(tmp_path / "points.npy"), "--metrics", "parzen"], "--data: needed"),
        (["evaluate", str(tmp_path / "points.npy"), "--data", "fashion_mnist", "--metrics", "fid2"],
         "unknown metric 'fid2'"),
        (["evaluate", str(tmp_path / "missing.npy"), "--data", "fashion_mnist", "--metrics", "parzen"], "no such file"),
        (["evaluate", str(tmp_path / "points.npy"), "--data", "fashion_mnist", "--metrics", "fcd"],
         "need a domain classifier"),
        (["evaluate", str(tmp_path / "points.npy"), "--data", "fashion_mnist", "--metrics", "fid",
          "--inception-weights", str(tmp_path / "missing.h5")], "need InceptionV3 ImageNet weights"),
        (["evaluate", str(tmp_path / "points.npy"), "--data", "ring8", "--metrics", "parzen", "--truncation",
          "0.8"], "--truncation: " + str(tmp_path / "points.npy") + " holds samples already drawn"),
    ]
    if os.path.isdir(FASHION_MNIST_DIR):
        cases += [
            (["evaluate", str(tmp_path / "points.npy"), "--data", "fashion_mnist", "--metrics", "parzen"],
             "samples of shape [2] do not match"),
            (["evaluate", str(tmp_path / "big.npy"), "--data", "fashion_mnist", "--metrics", "parzen"],
             "images in [0, 1]"),
        ]
    for argv, message in cases:
        assert cli.main(argv) == 2, argv
        err = capsys.readouterr().err
        assert message in err and err.count("\n") == 1, (argv, err)


@pytest.mark.slow
def test_inception_extractor_loads_weights_by_path(tmp_path, monkeypatch):
    monkeypatch.setattr(data, "can_reach", lambda *args, **kwargs: False)  # offline, without touching the network
    with pytest.raises(UserError, match="pass --inception-weights PATH"):
        classifiers.inception_extractor(None)
    with pytest.raises(UserError, match="pass --inception-weights PATH"):
        classifiers.inception_extractor(str(tmp_path / "missing.h5"))
    keras.utils.set_random_seed(0)
    base = keras.applications.InceptionV3(weights=None)  # explicit stand-in weights: ImageNet's cannot be fetched here
    weights = str(tmp_path / "inception.weights.h5")
    base.save_weights(weights)
    extractor = classifiers.inception_extractor(weights, batch_size=3)
    images = np.random.default_rng(0).uniform(size=(4, 28, 28, 1)).astype("float32")
    features, logits = extractor(images)
    assert features.shape == (4, 2048) and logits.shape == (4, 1000)
    resized = tf.image.grayscale_to_rgb(tf.image.resize(images, (299, 299))) * 2.0 - 1.0
    np.testing.assert_allclose(tf.nn.softmax(logits).numpy(), base(resized).numpy(), atol=1e-5)


def test_evaluate_callback_logs_figures_and_keeps_the_best_checkpoint(tmp_path):
    rng = np.random.default_rng(0)
    images = rng.integers(0, 256, (256, 8, 8, 1), dtype=np.uint8)
    np.savez(tmp_path / "d.npz", x=images, y=np.arange(256) % 2)
    # The npz source has no test split of its own: it serves as both, which suffices to test the plumbing.
    keras.utils.set_random_seed(0)
    classifier = classifiers.build_classifier([8, 8, 1], 2)
    classifier.save(tmp_path / "classifier.keras")
    gan = GAN(networks.dcgan_generator(8, [8, 8, 1], base_filters=4), networks.dcgan_discriminator([8, 8, 1], 4),
              latent_dim=8)
    gan.compile(d_optimizer=keras.optimizers.Adam(1e-3, 0.5), g_optimizer=keras.optimizers.Adam(1e-3, 0.5))
    best = str(tmp_path / "best.weights.h5")
    evaluate = callbacks.Evaluate(f"npz:{tmp_path / 'd.npz'}", ["fcd", "parzen"], every=1, num=200,
                                  classifier=str(tmp_path / "classifier.keras"), monitor="fcd", best_path=best)
    csv_path = str(tmp_path / "metrics.csv")
    dataset = data.make_dataset(f"npz:{tmp_path / 'd.npz'}", batch_size=32)
    history = gan.fit(dataset, epochs=3, callbacks=[evaluate, callbacks.MetricsCSV(csv_path)], verbose=0)
    assert len(history.history["fcd"]) == 3 and len(history.history["parzen_log_likelihood"]) == 3
    with open(best + ".json") as stream:
        record = json.load(stream)
    assert record["value"] == min(history.history["fcd"])
    assert history.history["fcd"][record["epoch"] - 1] == record["value"]
    assert os.path.exists(best)
    with open(csv_path) as stream:
        assert "fcd" in stream.readline()


def test_evaluate_modes_of_a_points_file(tmp_path, capsys):
    points = data.load_source("ring8", split="test").images[:3000]
    np.save(tmp_path / "ring.npy", points)
    assert cli.main(["evaluate", str(tmp_path / "ring.npy"), "--data", "ring8", "--metrics", "modes,parzen",
                     "--num", "3000"]) == 0
    figures = json.loads(capsys.readouterr().out)
    assert figures["modes_covered"] == 8 and figures["modes_num"] == 8
    assert figures["modes_high_quality_fraction"] > 0.98 and figures["modes_kl"] < 0.01
    assert np.isfinite(figures["parzen_log_likelihood"])
    assert cli.main(["evaluate", str(tmp_path / "ring.npy"), "--data", "fashion_mnist", "--metrics", "modes"]) == 2
    assert "modes needs a 2-D mixture" in capsys.readouterr().err


@needs_fashion_mnist
def test_runs_at_another_image_size_are_scored_against_real_images_resized_alike():
    """A run of Fashion-MNIST at 32x32 (`data.image_size`) is judged against the test split resized to 32x32
    the way training resized its data, by a 28x28 classifier that sees both resized back."""
    classifier = classifiers.build_classifier([28, 28, 1], 10)
    evaluator = evaluation.Evaluator("fashion_mnist", ["fcd"], classifier=classifier, image_size=[32, 32])
    assert evaluator.real_test.shape[1:] == (32, 32, 1)
    source = data.load_source("fashion_mnist", "train[:2000]")
    resized = next(iter(data.make_dataset(source, 2000, output_range=(0.0, 1.0), image_size=[32, 32],
                                          shuffle_buffer=0))).numpy()
    real = evaluator(evaluation.array_chunks(resized, 2000))["fcd"]
    noise = evaluator(evaluation.array_chunks(np.random.default_rng(0).uniform(size=resized.shape)
                                              .astype("float32"), 2000))["fcd"]
    assert real < 0.05 * noise, (real, noise)
    with pytest.raises(UserError, match=r"samples of shape \[28, 28, 1\] do not match"):
        evaluator(evaluation.array_chunks(source.images[:10].astype("float32") / 255.0, 10))
