"""Scaling out: strategies, multi-worker training in two processes, synchronized batch norm, mixed precision."""
import json
import os
import signal
import socket
import subprocess
import sys
import time

import keras
import numpy as np
import pytest
import tensorflow as tf

from tests.test_cli import TINY, DCGAN, image_npz  # noqa: F401  (a fixture)
from tfgan_impl import cli, distribute, networks
from tfgan_impl.errors import UserError
from tfgan_impl.gan import GAN

WORKER = os.path.join(os.path.dirname(__file__), "distributed_worker.py")
TWO_CPUS = ["/cpu:0", "/cpu:1"]


def free_ports(count):
    sockets = [socket.socket() for _ in range(count)]
    for s in sockets:
        s.bind(("localhost", 0))
    ports = [s.getsockname()[1] for s in sockets]
    for s in sockets:
        s.close()
    return ports


def start_workers(args_of, ports, log_dir):
    """Starts one process per port with its TF_CONFIG; returns the processes and their log paths."""
    cluster = {"worker": [f"localhost:{port}" for port in ports]}
    processes, logs = [], []
    for index in range(len(ports)):
        env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2", "CUDA_VISIBLE_DEVICES": "",
               "TF_CONFIG": json.dumps({"cluster": cluster, "task": {"type": "worker", "index": index}})}
        log = os.path.join(log_dir, f"worker{index}.log")
        with open(log, "w") as stream:
            processes.append(subprocess.Popen([sys.executable, WORKER, *args_of(index)], env=env, stdout=stream,
                                              stderr=subprocess.STDOUT))
        logs.append(log)
    return processes, logs


def wait_all(processes, logs, timeout=240):
    for process, log in zip(processes, logs):
        try:
            code = process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            for p in processes:
                p.kill()
            code = "timeout"
        with open(log) as stream:
            assert code == 0, f"{log} ({code}):\n{stream.read()[-3000:]}"


def load_weights(path):
    with np.load(path) as arrays:
        return [arrays[f"arr_{i}"] for i in range(len([name for name in arrays.files if name.startswith("arr_")]))]


@pytest.mark.slow
def test_two_workers_fit_like_one_device(tmp_path):
    """`gan.fit` under MultiWorkerMirroredStrategy (which Keras 3.15's own fit cannot run, keras-team/keras#20585):
    both workers end with identical weights, equal to one device training on the same global batches."""
    processes, logs = start_workers(lambda i: ["fit", str(tmp_path / f"worker{i}.npz")], free_ports(2), tmp_path)
    wait_all(processes, logs)
    with open(logs[0]) as stream:
        assert "replicas 2" in stream.read()
    single = subprocess.run([sys.executable, WORKER, "fit", str(tmp_path / "single.npz")], capture_output=True,
                            text=True, env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2"}, timeout=240)
    assert single.returncode == 0, single.stderr[-3000:]
    first, second, reference = (load_weights(tmp_path / f"{name}.npz") for name in ("worker0", "worker1", "single"))
    initial = load_weights_of_fresh_toy_gan()
    assert any(not np.allclose(a, b) for a, b in zip(first, initial)), "training did not move the weights"
    for a, b, c in zip(first, second, reference):
        np.testing.assert_array_equal(a, b)
        np.testing.assert_allclose(a, c, rtol=1e-4, atol=1e-5)


@pytest.mark.slow
def test_two_workers_fit_with_xla_and_several_steps_per_execution(tmp_path):
    """XLA cannot compile collectives on CPU: under a multi-worker strategy each replica's forward and backward
    pass is compiled and the update runs outside; both workers still end identical, and training moved them."""
    processes, logs = start_workers(lambda i: ["fit", str(tmp_path / f"worker{i}.npz"), "xla"], free_ports(2),
                                    tmp_path)
    wait_all(processes, logs)
    with open(logs[0]) as stream:
        assert "replicas 2 phase functions 2" in stream.read()
    first, second = load_weights(tmp_path / "worker0.npz"), load_weights(tmp_path / "worker1.npz")
    assert any(not np.allclose(a, b) for a, b in zip(first, load_weights_of_fresh_toy_gan()))
    for a, b in zip(first, second):
        np.testing.assert_array_equal(a, b)


def load_weights_of_fresh_toy_gan():
    sys.path.insert(0, os.path.dirname(WORKER))
    import distributed_worker

    return [w.numpy() for w in distributed_worker.toy_gan().weights]


@pytest.mark.slow
def test_two_workers_only_chief_writes_and_a_killed_run_resumes(tmp_path, image_npz):  # noqa: F811
    """Through `training.train`: the chief's run directory holds the checkpoints and samples, the other worker's
    does not exist; killing a worker mid-run and restarting both resumes from the chief's last checkpoint, and
    the workers end in the same state (the chief's checkpoint is broadcast to a worker that cannot read it)."""
    overrides = [f"data.source=npz:{image_npz}", "model.generator.base_filters=4", "model.discriminator.base_filters=4",
                 "data.batch_size=16", "train.num_samples=4", "train.steps_per_epoch=20", "train.epochs=6",
                 # Per-replica batch norm keeps each worker's own moving statistics; synchronized, all state agrees.
                 "train.synchronized_batch_norm=true"]

    def args_of(index):
        return ["train", str(tmp_path / f"run{index}"), str(tmp_path / f"state{index}.npz"), *overrides]

    ports = free_ports(2)
    processes, logs = start_workers(args_of, ports, tmp_path)
    latest = tmp_path / "run0" / "checkpoints" / "latest.json"
    deadline = time.time() + 180
    while not latest.exists() and time.time() < deadline and processes[0].poll() is None:
        time.sleep(0.2)
    assert latest.exists(), open(logs[0]).read()[-3000:]
    processes[1].send_signal(signal.SIGKILL)  # a worker dies mid-run ...
    processes[1].wait()
    processes[0].kill()  # ... and the chief, stuck in a collective, is restarted with it
    processes[0].wait()
    with open(latest) as stream:
        epoch = json.load(stream)["epoch"]
    assert 1 <= epoch < 6
    assert not (tmp_path / "run1").exists()

    processes, logs = start_workers(args_of, ports, tmp_path)
    wait_all(processes, logs)
    with open(logs[0]) as stream:
        assert f"resuming after epoch {epoch}" in stream.read()
    with open(latest) as stream:
        assert json.load(stream)["epoch"] == 6
    assert len(os.listdir(tmp_path / "run0" / "samples")) == 6
    assert not (tmp_path / "run1").exists()
    for index in range(2):  # both resumed at the checkpoint's step and ran on to the end
        assert int(np.load(tmp_path / f"state{index}.npz")["generator_updates"]) == 6 * 20
    chief, other = load_weights(tmp_path / "state0.npz"), load_weights(tmp_path / "state1.npz")
    assert len(chief) == len(other) > 10
    for a, b in zip(chief, other):
        np.testing.assert_array_equal(a, b)


def dcgan(seed, synchronized=False):
    keras.utils.set_random_seed(seed)
    gan = GAN(networks.dcgan_generator(8, [8, 8, 1], base_filters=4),
              networks.dcgan_discriminator([8, 8, 1], base_filters=4), latent_dim=8, seed=seed)
    if synchronized:
        assert sum(networks.synchronize_batch_norm(n) for n in (gan.generator, gan.discriminator)) >= 1
        assert all(layer.synchronized for n in (gan.generator, gan.discriminator) for layer in n._flatten_layers()
                   if isinstance(layer, keras.layers.BatchNormalization))
    gan.compile(d_optimizer=keras.optimizers.SGD(0.05), g_optimizer=keras.optimizers.SGD(0.05))
    return gan


def image_dataset():
    images = tf.random.stateless_uniform([64, 8, 8, 1], seed=[0, 1], minval=-1.0, maxval=1.0)
    return tf.data.Dataset.from_tensor_slices(images).batch(16, drop_remainder=True)


def train_dcgan(strategy, synchronized=False, **compile_kwargs):
    with strategy.scope():
        gan = dcgan(seed=4, synchronized=synchronized)
        if compile_kwargs:
            gan.compile(d_optimizer=keras.optimizers.SGD(0.05), g_optimizer=keras.optimizers.SGD(0.05),
                        **compile_kwargs)
    gan.fit(image_dataset(), epochs=1, verbose=0)
    return [w.numpy() for w in gan.weights]


def mirrored():
    """Two CPU replicas that reduce to one device. MirroredStrategy's default collectives on CPU devices can
    pair the replicas' batch-norm and gradient all-reduces in different orders, and a later default
    MirroredStrategy in the same test process then aborts with a shape mismatch in collective instance 100
    (observed on TF 2.21); reducing to one device uses no collectives."""
    return tf.distribute.MirroredStrategy(TWO_CPUS, cross_device_ops=tf.distribute.ReductionToOneDevice())


def max_difference(first, second):
    return max(float(np.max(np.abs(a - b))) for a, b in zip(first, second))


def float_weights(model):
    """The values of `model`'s floating-point weights (not its step counters, which any training moves)."""
    return [w.numpy() for w in model.weights if "float" in str(w.dtype)]


def one_and_two_replicas(make_model, dataset, epochs=2):
    """`(moved, apart)`: how far training on one device moved `make_model()`'s float weights, and how far two
    replicas ended from one device, after `fit` on `dataset` for `epochs`. `make_model` builds and compiles the
    model (seeded) inside the strategy's scope it is called in."""

    def train(strategy):
        with strategy.scope():
            model = make_model()
        initial = float_weights(model)
        model.fit(dataset, epochs=epochs, verbose=0)
        return initial, float_weights(model)

    initial, single = train(tf.distribute.get_strategy())
    _, replicated = train(mirrored())
    return max_difference(single, initial), max_difference(single, replicated)


def whole_and_resumed(small_config, tmp_path):
    """The models of a two-epoch run and of the same run stopped after one epoch and resumed (`small_config(epochs)`
    gives the config), loaded from their run directories."""
    from tfgan_impl import rundir, training

    whole, parts = str(tmp_path / "whole"), str(tmp_path / "parts")
    training.train(small_config(2), whole, verbose=0)
    training.train(small_config(1), parts, verbose=0)
    training.train(small_config(2), parts, verbose=0)
    return rundir.load_run(whole), rundir.load_run(parts)


def test_synchronized_batch_norm_makes_two_replicas_match_one_device():
    """Batch norm normalizes each replica's share of the batch, so 1 and 2 replicas legitimately differ (which is
    why the exact replica-invariance test uses a network without it); synchronized, they agree."""
    single = train_dcgan(tf.distribute.get_strategy())
    per_replica = train_dcgan(mirrored())
    synchronized = train_dcgan(mirrored(), synchronized=True)
    assert max_difference(single, synchronized) < 1e-4
    assert max_difference(single, per_replica) > 100 * max_difference(single, synchronized)


def test_several_discriminator_steps_under_mirrored_strategy_match_one_device():
    """Each of a step's discriminator updates (`d_steps`) is traced per replica and reduced across them."""
    single = train_dcgan(tf.distribute.get_strategy(), synchronized=True, d_steps=2)
    two = train_dcgan(mirrored(), synchronized=True, d_steps=2)
    assert max_difference(single, two) < 1e-4
    assert max_difference(single, train_dcgan(tf.distribute.get_strategy(), synchronized=True)) > 1e-3


def test_steps_per_execution_under_mirrored_strategy_takes_the_same_steps():
    strategy = mirrored()
    one = train_dcgan(strategy, steps_per_execution=1)
    four = train_dcgan(strategy, steps_per_execution=4)
    assert max_difference(one, four) < 1e-5


def test_xla_under_mirrored_strategy_compiles_each_replica():
    """Whole-step XLA fails across devices ("Trying to access resource ... located in device CPU:1 from device
    CPU:0"); the GAN compiles each replica's gradients instead, with the same steps for any steps_per_execution."""
    def train(steps_per_execution):
        with mirrored().scope():
            gan = dcgan(seed=4)
            gan.compile(d_optimizer=keras.optimizers.SGD(0.05), g_optimizer=keras.optimizers.SGD(0.05),
                        jit_compile=True, steps_per_execution=steps_per_execution)
        gan.fit(image_dataset(), epochs=2, verbose=0)
        assert sorted(gan._phase_functions) == ["discriminator", "generator"]
        assert int(gan.g_optimizer.iterations.numpy()) == 8
        return [w.numpy() for w in gan.weights]

    one, three = train(1), train(3)
    assert all(np.isfinite(w).all() for w in one)
    assert max_difference(one, three) < 1e-5


def test_make_strategy_names():
    assert distribute.make_strategy("default") is tf.distribute.get_strategy()
    assert distribute.make_strategy("auto") is tf.distribute.get_strategy()  # no GPUs here
    mirrored_strategy = distribute.make_strategy("mirrored")
    assert isinstance(mirrored_strategy, tf.distribute.MirroredStrategy)
    assert mirrored_strategy.num_replicas_in_sync == 2  # the two logical CPUs of conftest.py
    assert distribute.is_chief(tf.distribute.get_strategy())
    with pytest.raises(UserError, match="train.strategy: expected one of auto, default"):
        distribute.make_strategy("horovod")


def test_auto_picks_mirrored_with_several_gpus(monkeypatch):
    devices = {"GPU": []}
    monkeypatch.setattr(tf.config, "list_logical_devices", lambda kind=None: devices.get(kind, []))
    assert distribute.resolve_auto() == "default"
    devices["GPU"] = ["/gpu:0"]
    assert distribute.resolve_auto() == "default"
    devices["GPU"] = ["/gpu:0", "/gpu:1"]
    assert distribute.resolve_auto() == "mirrored"


def test_multi_worker_without_a_cluster_and_tpu_without_a_tpu_are_clear_errors(monkeypatch):
    monkeypatch.delenv("TF_CONFIG", raising=False)
    monkeypatch.delenv("SLURM_JOB_ID", raising=False)
    with pytest.raises(UserError, match="set TF_CONFIG on every worker"):
        distribute.make_strategy("multi_worker")
    monkeypatch.setenv("TF_CONFIG", "{not json")
    with pytest.raises(UserError, match="TF_CONFIG: expected JSON"):
        distribute.make_strategy("multi_worker")
    with pytest.raises(UserError, match="train.strategy tpu: no TPU"):
        distribute.make_strategy("tpu", tpu="no-such-tpu")


def test_cli_strategy_flags_are_validated(capsys, tmp_path):
    assert cli.main(["train", DCGAN, "--out", str(tmp_path / "run"), "--strategy", "horovod"]) == 2
    assert "train.strategy: expected one of auto, default, mirrored, multi_worker, tpu, got 'horovod'" in \
        capsys.readouterr().err
    assert cli.main(["train", DCGAN, "--out", str(tmp_path / "run"), "--precision", "float8"]) == 2
    assert "train.precision: expected one of float32" in capsys.readouterr().err
    assert not (tmp_path / "run").exists()


@pytest.mark.parametrize("policy", ["mixed_bfloat16", "mixed_float16"])
def test_mixed_precision_trains_with_float32_logits_and_weights(policy):
    with distribute.precision(policy):
        gan = dcgan(seed=2)
    assert keras.config.dtype_policy().name == "float32"  # restored after building
    assert gan.generator.layers[0].compute_dtype == policy.split("_")[1]
    assert all(w.dtype == "float32" for w in gan.generator.weights + gan.discriminator.weights)
    scaled = policy == "mixed_float16"
    assert isinstance(gan.d_optimizer, keras.optimizers.LossScaleOptimizer) == scaled
    assert isinstance(gan.g_optimizer, keras.optimizers.LossScaleOptimizer) == scaled
    before = [w.numpy() for w in gan.generator.trainable_weights]
    history = gan.fit(image_dataset().repeat(), steps_per_epoch=6, epochs=1, verbose=0).history
    assert all(np.isfinite(values[-1]) for values in history.values())
    assert int(gan.g_optimizer.iterations) == 6
    assert max_difference(before, [w.numpy() for w in gan.generator.trainable_weights]) > 0
    if scaled:  # dynamic loss scaling ran: its counter of good steps advanced or the scale came down
        optimizer = gan.d_optimizer
        assert int(optimizer.step_counter) > 0 or float(optimizer.dynamic_scale) < optimizer.initial_scale


def test_loss_scaling_skips_overflowing_steps_and_lowers_the_scale():
    with distribute.precision("mixed_float16"):
        gan = dcgan(seed=2)
    # A scale of 2**40 overflows float16 gradients: the update is skipped and the scale halved, no NaN lands.
    gan.compile(d_optimizer=keras.optimizers.LossScaleOptimizer(keras.optimizers.SGD(0.05), initial_scale=2.0**40),
                g_optimizer=keras.optimizers.SGD(0.05))
    before = [w.numpy() for w in gan.discriminator.trainable_weights]
    gan.fit(image_dataset(), steps_per_epoch=1, epochs=1, verbose=0)
    assert float(gan.d_optimizer.dynamic_scale) == 2.0**39
    assert max_difference(before, [w.numpy() for w in gan.discriminator.trainable_weights]) == 0
    assert all(np.isfinite(w.numpy()).all() for w in gan.weights)


@pytest.mark.slow
def test_cli_resumes_under_another_strategy_and_trains_in_bfloat16(tmp_path, image_npz, capsys):  # noqa: F811
    run_dir = str(tmp_path / "run")
    command = ["train", DCGAN, "--out", run_dir, "--steps-per-epoch", "2", "--set", f"data.source=npz:{image_npz}",
               *TINY]
    assert cli.main(command + ["--epochs", "1"]) == 0
    # How it runs may change (here from one device to two replicas) ...
    assert cli.main(command + ["--epochs", "2", "--strategy", "mirrored"]) == 0
    assert "resuming after epoch 1" in capsys.readouterr().out
    assert cli.main(command + ["--epochs", "3", "--precision", "mixed_bfloat16"]) == 2  # ... what it trains may not
    assert "holds a run of a different config" in capsys.readouterr().err

    bf16_dir = str(tmp_path / "bf16")
    assert cli.main(["train", DCGAN, "--out", bf16_dir, "--steps-per-epoch", "3", "--epochs", "1",
                     "--precision", "mixed_bfloat16", "--set", f"data.source=npz:{image_npz}", *TINY]) == 0
    with open(os.path.join(bf16_dir, "metrics.csv")) as stream:
        header, row = stream.read().splitlines()[:2]
    values = dict(zip(header.split(","), row.split(",")))
    assert all(np.isfinite(float(values[key])) for key in ("d_loss", "g_loss", "d_real", "d_fake"))
    assert cli.main(["sample", bf16_dir, "--num", "4", "--out", str(tmp_path / "s.npy")]) == 0
    samples = np.load(tmp_path / "s.npy")
    assert samples.dtype == np.float32 and samples.shape == (4, 8, 8, 1)
    export_dir = str(tmp_path / "models")
    assert cli.main(["export", bf16_dir, "--out", export_dir]) == 0
    served = tf.saved_model.load(os.path.join(export_dir, "1")).signatures["serving_default"](
        z=tf.random.stateless_normal([2, 100], seed=[0, 0]))["images"]
    assert served.dtype == tf.float32 and served.shape == (2, 8, 8, 1)


def test_in_memory_sources_shard_by_data(image_npz):  # noqa: F811
    from tfgan_impl import data

    dataset = data.make_dataset(f"npz:{image_npz}", batch_size=16)
    assert dataset.options().experimental_distribute.auto_shard_policy == tf.data.experimental.AutoShardPolicy.DATA
