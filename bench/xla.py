"""Benchmark: XLA (`train.jit_compile: true`) against no XLA for every config in `configs/`, on this machine.

For each config, both models are built from it (its networks, loss, penalties, batch size and data) and timed
on the same batches: the first `fit` step (tracing, plus XLA's compilation when on) and then steady steps in
interleaved rounds (fastest round kept, and process CPU time, since shared machines run whole rounds at half
speed: docs/benchmarks.md). From these: XLA's steady speed-up, its extra start-up seconds, and the steps a run
needs before XLA has paid for its compilation. Configs whose data needs the network are trained on offline
Fashion-MNIST instead (marked `substituted`). A config XLA cannot compile is reported with its error.
Prints one JSON object, then one summary line per config.
Usage: python bench/xla.py [--steps 10] [--rounds 5] [CONFIG ...]
"""
import argparse
import glob
import json
import os
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import keras  # noqa: E402
import numpy as np  # noqa: E402
from common import machine  # noqa: E402

from tfgan_impl import config as config_module  # noqa: E402
from tfgan_impl import builder, families, training  # noqa: E402
from tfgan_impl.errors import UserError  # noqa: E402

CONFIGS = sorted(glob.glob(os.path.join(os.path.dirname(__file__), "..", "configs", "*.yaml")))
OFFLINE_SOURCE = "fashion_mnist"


def load_config(path, jit_compile, source=None):
    """The config at `path` with `train.jit_compile` set (and `data.source`, when given)."""
    overrides = [f"train.jit_compile={str(jit_compile).lower()}"] + ([f"data.source={source}"] if source else [])
    return config_module.load(path, overrides)


def training_data(path):
    """`(source override or None, training data)` of a config; data that needs the network (TFDS, Keras
    downloads) is replaced by the offline Fashion-MNIST. The data does not depend on `jit_compile`."""
    try:
        config = load_config(path, False)
        return None, families.get(config.model.type).training_data(config)
    except UserError:
        config = load_config(path, False, OFFLINE_SOURCE)
        return OFFLINE_SOURCE, families.get(config.model.type).training_data(config)


def timed_fit(model, dataset, steps):
    start, cpu_start = time.perf_counter(), time.process_time()
    model.fit(dataset, epochs=1, steps_per_epoch=steps, verbose=0)
    return time.perf_counter() - start, time.process_time() - cpu_start


def measure(path, steps, rounds):
    name = os.path.splitext(os.path.basename(path))[0]
    source, data = training_data(path)
    dataset = data.dataset
    models = {}
    for jit in (False, True):
        config = load_config(path, jit, source)
        training.seed_everything(config)
        models[jit] = builder.compile_model(builder.build_model(config, data.info, data.extras), config)
    dataset = dataset.repeat()
    result = {"config": name, "substituted": source is not None,
              "images_per_step": config.data.batch_size * config.train.d_steps}
    first = {}
    for jit, model in models.items():
        try:
            first[jit] = timed_fit(model, dataset, 1)[0]
        except Exception as error:  # noqa: BLE001 (reported: which configs XLA cannot compile is the finding)
            result["xla_error"] = f"{type(error).__name__}: {str(error).splitlines()[0][:200]}"
            return result
        timed_fit(model, dataset, 2)  # the rest of the warm-up (autotuning, first allocations)
    wall, cpu = {jit: [] for jit in models}, {jit: [] for jit in models}
    for _ in range(rounds):
        for jit, model in models.items():
            seconds, cpu_seconds = timed_fit(model, dataset, steps)
            wall[jit].append(seconds / steps)
            cpu[jit].append(cpu_seconds / steps)
    plain_step, xla_step = min(wall[False]), min(wall[True])
    extra_start = first[True] - first[False]
    saved = plain_step - xla_step
    result.update({
        "first_step_seconds": first[False], "xla_first_step_seconds": first[True],
        "xla_extra_start_seconds": extra_start,
        "step_ms": 1000 * plain_step, "xla_step_ms": 1000 * xla_step,
        "xla_speedup": plain_step / xla_step,
        "xla_cpu_speedup": float(np.median(cpu[False]) / np.median(cpu[True])),
        # Steps after which the XLA run has caught up with the plain one; None when XLA never does.
        "xla_break_even_steps": int(np.ceil(max(extra_start, 0) / saved)) if saved > 0 else None,
    })
    return result


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("configs", nargs="*", default=CONFIGS)
    parser.add_argument("--steps", type=int, default=10)
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    results = []
    for path in args.configs:
        results.append(measure(path, args.steps, args.rounds))
        keras.backend.clear_session()
        print(json.dumps(results[-1]), flush=True)
    speedups = [r["xla_speedup"] for r in results if "xla_speedup" in r]
    summary = {"configs": results, "median_xla_speedup": float(np.median(speedups)) if speedups else None,
               "xla_failures": [r["config"] for r in results if "xla_error" in r], **machine()}
    print(json.dumps(summary, indent=1))
    for r in results:
        if "xla_error" in r:
            print(f"{r['config']}: XLA fails: {r['xla_error']}")
            continue
        print(f"{r['config']}{' (fashion_mnist)' if r['substituted'] else ''}: XLA {r['xla_speedup']:.2f}x wall, "
              f"{r['xla_cpu_speedup']:.2f}x CPU ({r['step_ms']:.0f} -> {r['xla_step_ms']:.0f} ms/step), "
              f"start-up +{r['xla_extra_start_seconds']:.1f} s, "
              + (f"ahead after {r['xla_break_even_steps']} steps" if r["xla_break_even_steps"] is not None
                 else "never ahead"))


if __name__ == "__main__":
    main()
