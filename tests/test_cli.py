"""The `tfgan-impl` command end to end: train, resume, sample, user errors and divergence."""
import csv
import json
import os
import signal
import subprocess
import sys
import time

import numpy as np
import pytest
from PIL import Image

from tests.conftest import FASHION_MNIST_DIR
from tfgan_impl import cli, rundir

ROOT = os.path.join(os.path.dirname(__file__), "..")
DCGAN = os.path.join(ROOT, "configs", "dcgan_fashion_mnist.yaml")
TINY = ["--set", "model.generator.base_filters=4", "--set", "model.discriminator.base_filters=4",
        "--set", "data.batch_size=16", "--set", "train.num_samples=4", "--verbose", "0"]


@pytest.fixture
def image_npz(tmp_path):
    rng = np.random.default_rng(0)
    images = rng.integers(0, 256, (128, 8, 8, 1), dtype=np.uint8)
    path = tmp_path / "images.npz"
    np.savez(path, x=images)
    return str(path)


def read_csv(path):
    with open(path, newline="") as stream:
        return list(csv.DictReader(stream))


@pytest.mark.slow
def test_train_resume_and_sample(tmp_path, image_npz, capsys):
    run_dir = str(tmp_path / "run")
    command = ["train", DCGAN, "--out", run_dir, "--steps-per-epoch", "2", "--set", f"data.source=npz:{image_npz}",
               *TINY]
    assert cli.main(command + ["--epochs", "1"]) == 0
    for name in ("config.yaml", "run.json", "metrics.csv", "samples/epoch_001.png", "checkpoints/latest.json",
                 "checkpoints/epoch_0001.weights.h5"):
        assert os.path.exists(os.path.join(run_dir, name)), name
    assert os.listdir(os.path.join(run_dir, "logs"))
    rows = read_csv(os.path.join(run_dir, "metrics.csv"))
    assert [row["epoch"] for row in rows] == ["1"]
    assert {"d_loss", "g_loss", "d_real", "d_fake", "epoch_seconds", "images_per_second"} <= set(rows[0])
    assert float(rows[0]["images_per_second"]) > 0

    assert cli.main(command + ["--epochs", "3"]) == 0
    assert "resuming after epoch 1" in capsys.readouterr().out
    assert [row["epoch"] for row in read_csv(os.path.join(run_dir, "metrics.csv"))] == ["1", "2", "3"]
    with open(os.path.join(run_dir, "checkpoints", "latest.json")) as stream:
        assert json.load(stream) == {"epoch": 3, "weights": "epoch_0003.weights.h5", "step": 6, "seed_states": []}
    assert sorted(os.listdir(os.path.join(run_dir, "samples"))) == ["epoch_001.png", "epoch_002.png", "epoch_003.png"]
    assert cli.main(command + ["--epochs", "3"]) == 0  # already complete: nothing to do
    assert "already trained for 3 epochs" in capsys.readouterr().out

    assert cli.main(["sample", run_dir, "--num", "6", "--seed", "1", "--out", str(tmp_path / "s.npy")]) == 0
    samples = np.load(tmp_path / "s.npy")
    assert samples.shape == (6, 8, 8, 1) and samples.dtype == np.float32
    assert 0.0 <= samples.min() and samples.max() <= 1.0
    assert cli.main(["sample", run_dir, "--num", "6", "--seed", "1", "--out", str(tmp_path / "again.npy")]) == 0
    np.testing.assert_array_equal(samples, np.load(tmp_path / "again.npy"))
    assert cli.main(["sample", run_dir, "--num", "9", "--out", str(tmp_path / "s.png")]) == 0
    assert Image.open(tmp_path / "s.png").size == (24, 24)  # a 3 x 3 grid of 8 x 8 images


@pytest.mark.parametrize("argv, message", [
    (["train", "missing.yaml"], "missing.yaml: no such config file"),
    (["train", DCGAN, "--set", "train.lr=1"], "unknown key 'train.lr'"),
    (["train", DCGAN, "--set", "data.source=idx:/nonexistent", "--out", "{tmp}/r"], "/nonexistent: no such directory"),
    (["sample", "{tmp}/norun", "--out", "{tmp}/x.png"], "not a run directory (no config.yaml)"),
])
def test_user_mistakes_exit_2_with_one_line(tmp_path, capsys, argv, message):
    argv = [arg.replace("{tmp}", str(tmp_path)) for arg in argv]
    assert cli.main(argv) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and message in err and err.startswith("tfgan-impl: error: ")


def test_bad_flag_exits_2_with_one_line(capsys):
    with pytest.raises(SystemExit) as raised:
        cli.main(["train", DCGAN, "--epochs", "many"])
    assert raised.value.code == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "--epochs: invalid int value: 'many'" in err


def test_console_script_prints_one_clean_line(tmp_path):
    """In a fresh process TensorFlow's start-up chatter must not reach stderr around a user error."""
    bad = tmp_path / "bad.yaml"
    bad.write_text("train: {d_steps: 0}\n")
    env = {k: v for k, v in os.environ.items() if k != "TF_CPP_MIN_LOG_LEVEL"}
    result = subprocess.run([sys.executable, "-m", "tfgan_impl", "train", str(bad)], capture_output=True, text=True,
                            env=env, timeout=300)
    assert result.returncode == 2
    assert result.stderr == f"tfgan-impl: error: {bad}: train.d_steps: expected a positive integer, got 0\n"


def test_run_dir_of_another_config_is_refused(tmp_path, image_npz, capsys):
    run_dir = str(tmp_path / "run")
    base = ["train", DCGAN, "--out", run_dir, "--steps-per-epoch", "1", "--epochs", "1",
            "--set", f"data.source=npz:{image_npz}", *TINY]
    assert cli.main(base) == 0
    assert cli.main(base + ["--set", "train.loss=minimax"]) == 2
    assert "holds a run of a different config" in capsys.readouterr().err


@pytest.mark.slow
def test_divergence_stops_with_the_step_and_keeps_the_last_finite_checkpoint(tmp_path, image_npz, capsys):
    run_dir = str(tmp_path / "run")
    exploding = "{class_name: PiecewiseConstantDecay, config: {boundaries: [4], values: [0.001, 1.0e+30]}}"
    argv = ["train", DCGAN, "--out", run_dir, "--steps-per-epoch", "2", "--epochs", "6",
            "--set", f"data.source=npz:{image_npz}", "--set", "model.discriminator.batch_norm=false",
            "--set", f"train.d_optimizer={{name: sgd, learning_rate: {exploding}}}", *TINY]
    assert cli.main(argv) == 1
    err = capsys.readouterr().err
    assert "training diverged at step" in err and "the last good checkpoint is after epoch 2" in err
    gan = rundir.load_run(run_dir)  # the last checkpoint is finite and loads
    assert all(np.all(np.isfinite(w.numpy())) for w in gan.weights)
    assert np.all(np.isfinite(gan.generate(4)))


@pytest.mark.slow
@pytest.mark.skipif(not os.path.isdir(FASHION_MNIST_DIR), reason="apt-get install dataset-fashion-mnist")
def test_default_config_trains_on_debian_fashion_mnist(tmp_path):
    run_dir = str(tmp_path / "run")
    assert cli.main(["train", DCGAN, "--out", run_dir, "--epochs", "1", "--steps-per-epoch", "3", *TINY]) == 0
    with open(os.path.join(run_dir, "run.json")) as stream:
        assert json.load(stream) == {"sample_shape": [28, 28, 1], "source": f"idx:{FASHION_MNIST_DIR}",
                                     "num_classes": None, "class_names": None}
    assert Image.open(os.path.join(run_dir, "samples", "epoch_001.png")).size == (56, 56)


def test_same_seed_same_config_gives_same_weights(tmp_path, image_npz):
    def run(name, seed):
        run_dir = str(tmp_path / name)
        argv = ["train", DCGAN, "--out", run_dir, "--steps-per-epoch", "3", "--epochs", "1",
                "--set", f"data.source=npz:{image_npz}", "--set", f"seed={seed}", *TINY]
        assert cli.main(argv) == 0
        return [w.numpy() for w in rundir.load_run(run_dir).weights]

    first, second, other = run("a", 3), run("b", 3), run("c", 4)
    assert all(np.array_equal(a, b) for a, b in zip(first, second))
    assert not all(np.array_equal(a, b) for a, b in zip(first, other))


@pytest.mark.slow
def test_killed_run_resumes_from_its_last_checkpoint(tmp_path, image_npz):
    run_dir = str(tmp_path / "run")

    def command(epochs):
        return [sys.executable, "-m", "tfgan_impl", "train", DCGAN, "--out", run_dir, "--steps-per-epoch", "4",
                "--epochs", str(epochs), "--set", f"data.source=npz:{image_npz}", *TINY]

    process = subprocess.Popen(command(400), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    latest = os.path.join(run_dir, "checkpoints", "latest.json")
    try:
        deadline = time.monotonic() + 240
        while time.monotonic() < deadline and not os.path.exists(latest):
            time.sleep(0.2)
        assert os.path.exists(latest), "no checkpoint appeared"
        time.sleep(1.0)
    finally:
        process.send_signal(signal.SIGKILL)
        process.wait(timeout=60)
    with open(latest) as stream:
        killed_at = json.load(stream)["epoch"]
    assert 1 <= killed_at < 400
    result = subprocess.run(command(killed_at + 2), capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr
    assert f"resuming after epoch {killed_at}" in result.stdout
    with open(latest) as stream:
        assert json.load(stream)["epoch"] == killed_at + 2
    epochs = [int(row["epoch"]) for row in read_csv(os.path.join(run_dir, "metrics.csv"))]
    assert epochs == list(range(1, killed_at + 3))


@pytest.fixture
def labelled_npz(tmp_path):
    rng = np.random.default_rng(0)
    labels = np.arange(128) % 3
    images = (rng.integers(0, 60, (128, 8, 8, 1)) + 90 * labels[:, None, None, None]).astype(np.uint8)
    path = tmp_path / "labelled.npz"
    np.savez(path, x=images, y=labels)
    return str(path)


@pytest.mark.slow
def test_conditional_run_samples_by_class_and_interpolates(tmp_path, labelled_npz, capsys):
    run_dir = str(tmp_path / "run")
    config = os.path.join(ROOT, "configs", "cgan_fashion_mnist.yaml")
    assert cli.main(["train", config, "--out", run_dir, "--epochs", "1", "--steps-per-epoch", "2",
                     "--set", f"data.source=npz:{labelled_npz}", *TINY]) == 0
    with open(os.path.join(run_dir, "run.json")) as stream:
        assert json.load(stream)["num_classes"] == 3
    assert cli.main(["sample", run_dir, "--labels", "0,2", "--num", "3", "--out", str(tmp_path / "c.npy")]) == 0
    assert np.load(tmp_path / "c.npy").shape == (6, 8, 8, 1)
    assert cli.main(["sample", run_dir, "--labels", "0,2", "--num", "3", "--out", str(tmp_path / "c.png")]) == 0
    assert Image.open(tmp_path / "c.png").size == (24, 16)  # one row of 3 per class
    assert cli.main(["sample", run_dir, "--interpolate", "--steps", "5", "--num", "2",
                     "--out", str(tmp_path / "i.png")]) == 0
    assert Image.open(tmp_path / "i.png").size == (40, 16)  # 2 paths of 5 steps
    assert cli.main(["sample", run_dir, "--interpolate", "linear", "--num", "2", "--out",
                     str(tmp_path / "i.npy")]) == 0
    path = np.load(tmp_path / "i.npy")
    assert path.shape == (16, 8, 8, 1) and not np.allclose(path[0], path[7])
    capsys.readouterr()
    for argv, message in ((["--labels", "0,3"], "class ids must lie in [0, 2], got [3]"),
                          (["--labels", "zero"], "expected comma-separated class ids"),
                          (["--interpolate", "--steps", "1"], "at least 2 steps")):
        assert cli.main(["sample", run_dir, "--out", str(tmp_path / "x.png"), *argv]) == 2
        err = capsys.readouterr().err
        assert err.count("\n") == 1 and message in err, err


def test_labels_for_an_unconditional_run_are_a_user_error(tmp_path, image_npz, capsys):
    run_dir = str(tmp_path / "run")
    assert cli.main(["train", DCGAN, "--out", run_dir, "--epochs", "1", "--steps-per-epoch", "1",
                     "--set", f"data.source=npz:{image_npz}", *TINY]) == 0
    capsys.readouterr()
    assert cli.main(["sample", run_dir, "--labels", "1", "--out", str(tmp_path / "x.png")]) == 2
    assert "this run's generator is unconditional" in capsys.readouterr().err
    assert cli.main(["train", os.path.join(ROOT, "configs", "cgan_fashion_mnist.yaml"), "--out", str(tmp_path / "c"),
                     "--set", f"data.source=npz:{image_npz}", *TINY]) == 2
    assert "labels were asked for but the source has none" in capsys.readouterr().err


@pytest.mark.slow
def test_runs_killed_while_writing_end_with_the_uninterrupted_weights(tmp_path, image_npz):
    """With op determinism, a run killed during a checkpoint write and again during a sample write, each time
    rerun with the same command, ends with exactly the weights of an uninterrupted run: the resumed run restores
    the last complete checkpoint (with the dropout layers' seed states), skips the batches already consumed and
    draws the same noise."""
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2"}

    def command(run_dir):  # epochs are one pass over the 128 images: 8 batches of 16
        return ["train", DCGAN, "--out", run_dir, "--epochs", "4", "--set", f"data.source=npz:{image_npz}",
                "--set", "train.deterministic=true", "--set", "model.discriminator.dropout=0.3", *TINY]

    def run(*argv, expect=0):
        result = subprocess.run([sys.executable, *argv], capture_output=True, text=True, env=env, timeout=300)
        assert result.returncode == expect, result.stderr[-2000:]
        return result.stdout

    uninterrupted, interrupted = str(tmp_path / "whole"), str(tmp_path / "killed")
    run("-m", "tfgan_impl", *command(uninterrupted))
    killer = os.path.join(os.path.dirname(__file__), "killing_run.py")
    run(killer, "checkpoints/epoch_", "2", *command(interrupted), expect=137)  # during epoch 2's checkpoint
    with open(os.path.join(interrupted, "checkpoints", "latest.json")) as stream:
        assert json.load(stream)["epoch"] == 1  # the half-written checkpoint never became the latest
    rundir.load_run(interrupted)  # ... and the latest loads
    out = run(killer, "samples/", "1", *command(interrupted), expect=137)  # during epoch 2's picture, again
    assert "resuming after epoch 1" in out
    out = run("-m", "tfgan_impl", *command(interrupted))
    assert "resuming after epoch 1" in out
    leftovers = [name for _, _, names in os.walk(interrupted) for name in names if name.startswith(".tmp-")]
    assert leftovers == []  # the killed writes' temporary files were cleared on resume
    epochs = [int(row["epoch"]) for row in read_csv(os.path.join(interrupted, "metrics.csv"))]
    assert epochs == [1, 2, 3, 4]
    whole, resumed = rundir.load_run(uninterrupted), rundir.load_run(interrupted)
    assert int(resumed.g_optimizer.iterations.numpy()) == int(whole.g_optimizer.iterations.numpy()) == 32
    for a, b in zip(whole.weights, resumed.weights):
        np.testing.assert_array_equal(a.numpy(), b.numpy())


def test_a_full_disk_stops_the_run_with_one_line_and_keeps_the_last_checkpoint(tmp_path, image_npz, capsys,
                                                                                  monkeypatch):
    import errno

    run_dir = str(tmp_path / "run")
    replace, seen = os.replace, []

    def full_disk_at_the_second_checkpoint(source, destination):
        if "checkpoints/epoch_" in str(destination):
            seen.append(destination)
            if len(seen) == 2:
                raise OSError(errno.ENOSPC, "No space left on device")
        return replace(source, destination)

    monkeypatch.setattr(os, "replace", full_disk_at_the_second_checkpoint)
    argv = ["train", DCGAN, "--out", run_dir, "--steps-per-epoch", "2", "--epochs", "3",
            "--set", f"data.source=npz:{image_npz}", *TINY]
    assert cli.main(argv) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "epoch_0002.weights.h5: cannot write (No space left on device)" in err
    with open(os.path.join(run_dir, "checkpoints", "latest.json")) as stream:
        assert json.load(stream)["epoch"] == 1
    assert rundir.load_run(run_dir) is not None
    assert not [n for n in os.listdir(os.path.join(run_dir, "checkpoints")) if n.startswith(".tmp-")]
    monkeypatch.setattr(os, "replace", replace)
    assert cli.main(argv) == 0  # space again: the same command finishes the run
    assert "resuming after epoch 1" in capsys.readouterr().out


def test_unwritable_outputs_are_one_line_errors(tmp_path, image_npz, capsys):
    blocker = tmp_path / "a_file"
    blocker.write_text("not a directory")
    assert cli.main(["train", DCGAN, "--out", str(blocker / "run"), "--set", f"data.source=npz:{image_npz}",
                     *TINY]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and f"{blocker / 'run'}: cannot create the run directory" in err


@pytest.mark.slow
def test_train_writes_one_line_an_epoch_when_its_output_is_not_a_terminal(tmp_path, image_npz, capsys):
    command = ["train", DCGAN, "--out", str(tmp_path / "run"), "--steps-per-epoch", "3", "--epochs", "2",
               "--set", f"data.source=npz:{image_npz}", *[arg for arg in TINY if arg not in ("--verbose", "0")]]
    assert cli.main(command) == 0
    output = capsys.readouterr().out
    assert "\r" not in output and "\b" not in output  # a progress bar redraws with these
    epoch_lines = [line for line in output.splitlines() if "d_loss:" in line]
    assert len(epoch_lines) == 2 and all("g_loss:" in line for line in epoch_lines), output
