"""Exports: SavedModel for TF Serving (layout, versions, signatures, parity, bad requests), TFLite and ONNX."""
import json
import os
import subprocess
import sys

import numpy as np
import pytest
import tensorflow as tf
from PIL import Image

from tfgan_impl import cli, rundir
from tfgan_impl.errors import UserError
from tfgan_impl.export import export_saved_model

ROOT = os.path.join(os.path.dirname(__file__), "..")
DCGAN = os.path.join(ROOT, "configs", "dcgan_fashion_mnist.yaml")
SAVED_MODEL_CLI = os.path.join(os.path.dirname(sys.executable), "saved_model_cli")


def train_tiny(root, config, overrides, **arrays):
    """Trains `config` for 3 steps with 4-filter networks on the given arrays; returns the run directory."""
    np.savez(root / "d.npz", **arrays)
    run_dir = str(root / "run")
    settings = [f"data.source=npz:{root / 'd.npz'}", "model.generator.base_filters=4",
                "model.discriminator.base_filters=4", "data.batch_size=16", *overrides]
    assert cli.main(["train", config, "--out", run_dir, "--epochs", "1", "--steps-per-epoch", "3", "--verbose", "0",
                     *[arg for setting in settings for arg in ("--set", setting)]]) == 0
    return run_dir


@pytest.fixture(scope="module")
def trained_run(tmp_path_factory):
    images = np.random.default_rng(0).integers(0, 256, (128, 8, 8, 1), dtype=np.uint8)
    return train_tiny(tmp_path_factory.mktemp("export"), DCGAN, ["model.latent_dim=12"], x=images)


def test_export_versions_and_in_process_parity(trained_run, tmp_path):
    out = str(tmp_path / "models" / "gen")
    assert cli.main(["export", trained_run, "--out", out]) == 0
    assert cli.main(["export", trained_run, "--out", out]) == 0
    assert sorted(os.listdir(out)) == ["1", "2"]  # no temporary directory left behind
    assert os.path.exists(os.path.join(out, "1", "saved_model.pb")) and os.path.isdir(os.path.join(out, "1", "variables"))
    with pytest.raises(UserError, match="version 2 exists and is never overwritten"):
        export_saved_model(rundir.load_run(trained_run), out, version=2)
    loaded = tf.saved_model.load(os.path.join(out, "1"))
    gan = rundir.load_run(trained_run)
    z = tf.random.stateless_normal([5, 12], seed=[3, 4])
    served = loaded.signatures["serving_default"](z=z)
    np.testing.assert_allclose(served["images"].numpy(), gan.to_data_units(gan.generator(z, training=False)), atol=1e-5)
    assert served["images_uint8"].dtype == tf.uint8
    np.testing.assert_array_equal(served["images_uint8"].numpy(), np.round(served["images"].numpy() * 255))
    first = loaded.signatures["sample"](num=tf.constant(3), seed=tf.constant(7, tf.int64))["images"].numpy()
    again = loaded.signatures["sample"](num=tf.constant(3), seed=tf.constant(7, tf.int64))["images"].numpy()
    assert first.shape == (3, 8, 8, 1) and np.array_equal(first, again)
    metadata = json.loads(loaded.signatures["metadata"]()["json"].numpy())
    assert metadata["latent_dim"] == 12 and metadata["sample_shape"] == [8, 8, 1]
    assert metadata["config"]["model"]["latent_dim"] == 12
    with open(os.path.join(out, "1", "assets.extra", "tfgan_impl.json")) as stream:
        assert json.load(stream) == metadata


@pytest.mark.parametrize("bad_z, message", [
    (np.zeros((2, 5), np.float32), "input z must have shape [batch, 12]"),
    (np.full((2, 12), np.nan, np.float32), "input z must be finite"),
])
def test_bad_requests_name_the_input(trained_run, tmp_path, bad_z, message):
    path = export_saved_model(rundir.load_run(trained_run), str(tmp_path / "m"))
    serve = tf.saved_model.load(path).signatures["serving_default"]
    with pytest.raises(tf.errors.InvalidArgumentError, match=message.replace("[", r"\[").replace("]", r"\]")):
        serve(z=tf.constant(bad_z))
    with pytest.raises((TypeError, ValueError, tf.errors.InvalidArgumentError), match="float"):
        serve(z=tf.constant(bad_z, tf.float64))  # a wrong dtype is refused at the signature
    sample = tf.saved_model.load(path).signatures["sample"]
    with pytest.raises(tf.errors.InvalidArgumentError, match="input num must be at least 1"):
        sample(num=tf.constant(0), seed=tf.constant(1, tf.int64))
    with pytest.raises(tf.errors.InvalidArgumentError, match="input num must be at most 4096"):
        sample(num=tf.constant(10**6), seed=tf.constant(1, tf.int64))


@pytest.mark.slow
def test_fresh_process_and_saved_model_cli(trained_run, tmp_path):
    path = export_saved_model(rundir.load_run(trained_run), str(tmp_path / "m"))
    shown = subprocess.run([SAVED_MODEL_CLI, "show", "--dir", path, "--all"], capture_output=True, text=True,
                           timeout=300)
    assert shown.returncode == 0, shown.stderr
    for fragment in ("signature_def['serving_default']", "signature_def['sample']", "signature_def['metadata']",
                     "inputs['z'] tensor_info:", "dtype: DT_FLOAT", "shape: (-1, -1)", "inputs['num']",
                     "dtype: DT_INT32", "inputs['seed']", "dtype: DT_INT64", "outputs['images']",
                     "outputs['images_uint8']", "dtype: DT_UINT8", "shape: (-1, 8, 8, 1)"):
        assert fragment in shown.stdout, fragment
    z = np.random.default_rng(0).normal(size=(4, 12)).astype(np.float32)
    np.save(tmp_path / "z.npy", z)
    expected = tf.saved_model.load(path).signatures["serving_default"](z=tf.constant(z))["images"].numpy()
    script = ("import sys, numpy as np, tensorflow as tf; m = tf.saved_model.load(sys.argv[1]); "
              "np.save(sys.argv[3], m.signatures['serving_default'](z=tf.constant(np.load(sys.argv[2])))['images'].numpy())")
    result = subprocess.run([sys.executable, "-c", script, path, str(tmp_path / "z.npy"), str(tmp_path / "out.npy")],
                            capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr
    np.testing.assert_allclose(np.load(tmp_path / "out.npy"), expected, atol=1e-6)


def test_export_serves_the_moving_average_generator(tmp_path):
    images = np.random.default_rng(1).integers(0, 256, (64, 8, 8, 1), dtype=np.uint8)
    run_dir = train_tiny(tmp_path, DCGAN, ["model.ema_decay=0.5"], x=images)
    gan = rundir.load_run(run_dir)
    z = tf.random.stateless_normal([4, 100], seed=[1, 2])
    averaged = gan.to_data_units(gan.ema_generator(z, training=False))
    assert not np.allclose(averaged, gan.to_data_units(gan.generator(z, training=False)), atol=1e-4)
    path = export_saved_model(gan, str(tmp_path / "models"))
    served = tf.saved_model.load(path).signatures["serving_default"](z=z)["images"].numpy()
    np.testing.assert_allclose(served, averaged, atol=1e-5)


def test_conditional_export_takes_labels(tmp_path):
    rng = np.random.default_rng(2)
    labels = np.arange(64) % 3
    images = (rng.integers(0, 60, (64, 8, 8, 1)) + 90 * labels[:, None, None, None]).astype(np.uint8)
    run_dir = train_tiny(tmp_path, os.path.join(ROOT, "configs", "cgan_fashion_mnist.yaml"), ["train.num_samples=6"],
                         x=images, y=labels)
    gan = rundir.load_run(run_dir)
    loaded = tf.saved_model.load(export_saved_model(gan, str(tmp_path / "models")))
    z = tf.random.stateless_normal([3, 100], seed=[5, 6])
    class_ids = tf.constant([0, 1, 2])
    served = loaded.signatures["serving_default"](z=z, labels=class_ids)["images"].numpy()
    np.testing.assert_allclose(served, gan.generate_from(z.numpy(), labels=class_ids.numpy()), atol=1e-5)
    sampled = loaded.signatures["sample"](num=tf.constant(4), seed=tf.constant(1, tf.int64), label=tf.constant(2))
    assert sampled["images"].shape == (4, 8, 8, 1)
    assert json.loads(loaded.signatures["metadata"]()["json"].numpy())["num_classes"] == 3
    with pytest.raises(tf.errors.InvalidArgumentError, match="input labels must be class ids below 3"):
        loaded.signatures["serving_default"](z=z, labels=tf.constant([0, 1, 5]))
    with pytest.raises(tf.errors.InvalidArgumentError, match="same batch size"):
        loaded.signatures["serving_default"](z=z, labels=tf.constant([0, 1]))


def tflite_images(path, **inputs):
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # tf.lite.Interpreter's notice that LiteRT will replace it
        interpreter = tf.lite.Interpreter(model_path=path)
    outputs = interpreter.get_signature_runner("serving_default")(**inputs)
    (images,) = outputs.values()
    return images


def weight_dtypes(path):
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        interpreter = tf.lite.Interpreter(model_path=path)
    return {detail["dtype"] for detail in interpreter.get_tensor_details()}


def onnx_session(path):
    import onnxruntime

    return onnxruntime.InferenceSession(path, providers=["CPUExecutionProvider"])


def test_tflite_and_onnx_agree_with_the_saved_model(trained_run, tmp_path, capsys):
    out = str(tmp_path / "models")
    for export_format in ("saved_model", "tflite", "onnx"):
        assert cli.main(["export", trained_run, "--format", export_format, "--out", out]) == 0
    assert sorted(os.listdir(out)) == ["1", "2", "3"]
    assert sorted(os.listdir(os.path.join(out, "2"))) == ["generator.tflite", "generator_float16.tflite",
                                                          "tfgan_impl.json"]
    assert sorted(os.listdir(os.path.join(out, "3"))) == ["generator.onnx", "tfgan_impl.json"]
    with open(os.path.join(out, "3", "tfgan_impl.json")) as stream:
        assert json.load(stream)["latent_dim"] == 12
    z = np.random.default_rng(3).normal(size=(5, 12)).astype(np.float32)
    expected = tf.saved_model.load(os.path.join(out, "1")).signatures["serving_default"](z=tf.constant(z))
    expected = expected["images"].numpy()
    assert expected.std() > 0.01  # not a constant picture, so agreement means something

    float32 = tflite_images(os.path.join(out, "2", "generator.tflite"), z=z)
    np.testing.assert_allclose(float32, expected, atol=1e-4)
    float16 = tflite_images(os.path.join(out, "2", "generator_float16.tflite"), z=z)
    np.testing.assert_allclose(float16, expected, atol=1e-4)
    assert weight_dtypes(os.path.join(out, "2", "generator_float16.tflite")) >= {np.float16}
    assert np.float16 not in weight_dtypes(os.path.join(out, "2", "generator.tflite"))

    session = onnx_session(os.path.join(out, "3", "generator.onnx"))
    assert [i.name for i in session.get_inputs()] == ["z"] and [o.name for o in session.get_outputs()] == ["images"]
    (onnx_images,) = session.run(["images"], {"z": z})
    np.testing.assert_allclose(onnx_images, expected, atol=1e-4)


def test_conditional_tflite_and_onnx_take_labels(tmp_path):
    rng = np.random.default_rng(2)
    labels = np.arange(64) % 3
    images = (rng.integers(0, 60, (64, 8, 8, 1)) + 90 * labels[:, None, None, None]).astype(np.uint8)
    run_dir = train_tiny(tmp_path, os.path.join(ROOT, "configs", "acgan_fashion_mnist.yaml"),
                         ["train.num_samples=6"], x=images, y=labels)
    gan = rundir.load_run(run_dir)
    z = np.random.default_rng(4).normal(size=(3, 100)).astype(np.float32)
    class_ids = np.array([0, 1, 2], np.int32)
    expected = gan.generate_from(z, labels=class_ids)
    from tfgan_impl.export import export_onnx, export_tflite

    lite = tflite_images(os.path.join(export_tflite(gan, str(tmp_path / "m")), "generator.tflite"), z=z,
                         labels=class_ids)
    np.testing.assert_allclose(lite, expected, atol=1e-4)
    session = onnx_session(os.path.join(export_onnx(gan, str(tmp_path / "m")), "generator.onnx"))
    assert sorted(i.name for i in session.get_inputs()) == ["labels", "z"]
    np.testing.assert_allclose(session.run(["images"], {"z": z, "labels": class_ids})[0], expected, atol=1e-4)


def test_onnx_without_tf2onnx_is_a_clear_error(trained_run, tmp_path, monkeypatch, capsys):
    monkeypatch.setitem(sys.modules, "tf2onnx", None)  # makes `import tf2onnx` raise ImportError
    assert cli.main(["export", trained_run, "--format", "onnx", "--out", str(tmp_path / "m")]) == 2
    assert capsys.readouterr().err == "tfgan-impl: error: --format onnx needs tf2onnx: pip install 'tfgan_impl[onnx]'\n"
    assert not os.path.exists(tmp_path / "m")


def test_export_embeds_the_class_names(tmp_path):
    rng = np.random.default_rng(5)
    for index, name in enumerate(("bright", "dark")):
        folder = tmp_path / "data" / name
        folder.mkdir(parents=True)
        for number in range(16):
            pixels = rng.integers(0, 60, (8, 8)) + (180 if name == "bright" else 0)
            Image.fromarray(pixels.astype(np.uint8)).save(folder / f"{number}.png")
    run_dir = str(tmp_path / "run")
    assert cli.main(["train", os.path.join(ROOT, "configs", "cgan_fashion_mnist.yaml"), "--out", run_dir,
                     "--epochs", "1", "--steps-per-epoch", "2", "--verbose", "0",
                     "--set", f"data.source=folder:{tmp_path / 'data'}", "--set", "data.batch_size=8",
                     "--set", "model.generator.base_filters=4", "--set", "model.discriminator.base_filters=4",
                     "--set", "train.num_samples=4"]) == 0
    out = str(tmp_path / "models")
    assert cli.main(["export", run_dir, "--out", out]) == 0
    metadata = json.loads(tf.saved_model.load(os.path.join(out, "1")).signatures["metadata"]()["json"].numpy())
    assert metadata["class_names"] == ["bright", "dark"] and metadata["num_classes"] == 2


def test_export_to_a_full_disk_adds_no_version(trained_run, tmp_path, monkeypatch, capsys):
    import errno

    def full_disk(source, destination):
        raise OSError(errno.ENOSPC, "No space left on device")

    out = tmp_path / "models"
    monkeypatch.setattr(os, "rename", full_disk)
    assert cli.main(["export", trained_run, "--out", str(out)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "cannot write the export (No space left on device); no version was added" in err
    assert os.listdir(out) == []  # neither a version nor a temporary directory


def test_an_onnx_graph_of_another_output_rank_is_not_written(trained_run, tmp_path, monkeypatch):
    import tf2onnx

    from tfgan_impl.export import export_onnx

    convert = tf2onnx.convert.from_function

    def one_dimension_too_many(*args, **kwargs):  # what a converter bug looked like once: [1, batch, h, w, c]
        proto, storage = convert(*args, **kwargs)
        proto.graph.output[0].type.tensor_type.shape.dim.add(dim_value=1)
        return proto, storage

    monkeypatch.setattr(tf2onnx.convert, "from_function", one_dimension_too_many)
    out = tmp_path / "m"
    with pytest.raises(RuntimeError, match="output of rank 5 for the generator's rank-4 output; nothing was written"):
        export_onnx(rundir.load_run(trained_run), str(out))
    assert os.listdir(out) == []
