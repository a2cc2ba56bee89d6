"""Benchmark: where the default DCGAN's `GAN.fit` step spends its time on CPU, op by op (TensorFlow's profiler).

Issue 22. Traces `--steps` steps of `GAN.fit` (the networks and batches of `bench/cpu_regimes.py`) after a warm-up
with `tf.profiler.experimental`, reads the trace's per-op statistics (`framework_op_stats`) and prints the ops'
self time per step grouped by what they compute (convolutions, batch normalization, activations, the optimizer,
...), with their forward and gradient parts apart, then the op types. `--keras-bn` runs the library's networks
with Keras's own batch normalization instead of the library's fused one, to compare. The sum over ops counts
both cores' work, so it can exceed the wall time per step; the profiler's own cost inflates both a little.
`--timeline` also reads the trace's events per thread and prints how long the intra-op pool's threads (where
oneDNN and Eigen split an op's work) had none, some or all of them busy, and which ops were running on the
executor's threads while the pool was not fully busy: where a step leaves cores idle.

    python bench/op_profile.py [--steps 30] [--keras-bn] [--logdir DIR] [--timeline]

Prints the wall time per step, one line per group and the 15 costliest op types.
"""
import argparse
import collections
import glob
import json
import os
import sys
import tempfile
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
sys.path.insert(0, os.path.dirname(__file__))

GROUPS = (("batch_norm", ("batch_normalization",)), ("convolution", ("conv",)), ("dense", ("dense",)),
          ("activation", ("leaky_re_lu", "re_lu", "activation")), ("optimizer", ("adam", "optimizer")))


def group_of(name):
    lowered = name.lower()
    for group, keys in GROUPS:
        if any(key in lowered for key in keys):
            return group + (" (gradient)" if "gradient_tape" in lowered else "")
    return "other (random numbers, input, sums of gradients)"


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=30)
    parser.add_argument("--keras-bn", action="store_true")
    parser.add_argument("--logdir", default=None)
    parser.add_argument("--timeline", action="store_true")
    args = parser.parse_args()

    import keras
    import tensorflow as tf
    from tensorflow.python.profiler.internal import _pywrap_profiler_plugin as profiler_plugin

    from common import default_dcgan, random_image_batches
    from tfgan_impl.networks import BatchNormalization

    if args.keras_bn:
        BatchNormalization.call = keras.layers.BatchNormalization.call
    model = default_dcgan(32, 100)
    dataset = random_image_batches(128).prefetch(2)
    model.fit(dataset, epochs=1, steps_per_epoch=10, verbose=0)
    logdir = args.logdir or tempfile.mkdtemp(prefix="op_profile_")
    tf.profiler.experimental.start(logdir)
    started = time.perf_counter()
    model.fit(dataset, epochs=1, steps_per_epoch=args.steps, verbose=0)
    wall = time.perf_counter() - started
    tf.profiler.experimental.stop()

    # No public reader of the trace's op statistics exists in TensorFlow; TensorBoard's profile plugin uses this one.
    path = sorted(glob.glob(os.path.join(logdir, "plugins", "profile", "*", "*.xplane.pb")))[-1]
    table = json.loads(profiler_plugin.xspace_to_tools_data([path], "framework_op_stats", {})[0])[0]
    columns = [column["id"] for column in table["cols"]]
    rows = [dict(zip(columns, [cell.get("v") for cell in row["c"]])) for row in table["rows"]]
    rows = [row for row in rows if row["type"] != "IDLE"]
    groups, types = collections.Counter(), collections.Counter()
    for row in rows:
        groups[group_of(row["operation"])] += row["total_self_time"]
        types[row["type"]] += row["total_self_time"]
    per_step = 1000.0 * args.steps  # microseconds in the table -> milliseconds per step
    print(f"batch normalization: {'Keras' if args.keras_bn else 'the library (fused)'}; {args.steps} steps; "
          f"wall {1000 * wall / args.steps:.1f} ms a step ({args.steps * 128 / wall:.0f} images/s, profiler on); "
          f"ops' self time {sum(groups.values()) / per_step:.1f} ms a step")
    for group, total in groups.most_common():
        print(f"  {group:50s} {total / per_step:6.2f} ms")
    print("op types:", ", ".join(f"{name} {total / per_step:.2f}" for name, total in types.most_common(15)))
    if args.timeline:
        trace = json.loads(profiler_plugin.xspace_to_tools_data([path], "trace_viewer@", {})[0])
        pool_occupancy(trace["traceEvents"], args.steps)


def pool_occupancy(events, steps):
    """Prints, per step, the time with 0, 1, ... intra-op pool threads busy, and the ops the executor's threads
    ran while the pool was not fully busy (1-microsecond bins over the traced window)."""
    import numpy as np

    names = {e["tid"]: e["args"]["name"] for e in events if e.get("ph") == "M" and e.get("name") == "thread_name"}
    spans = [(names.get(e["tid"], ""), e["name"], float(e["ts"]), float(e["ts"]) + float(e.get("dur", 0)))
             for e in events if e.get("ph") == "X"]
    start = min(span[2] for span in spans)
    bins = int(max(span[3] for span in spans) - start) + 1
    pool_threads = sorted({thread for thread, *_ in spans if "_Eigen" in thread})
    busy = np.zeros(bins, np.int16)
    for thread in pool_threads:
        mask = np.zeros(bins, bool)
        for other, _, begin, end in spans:
            if other == thread:
                mask[int(begin - start):int(end - start)] = True
        busy += mask
    full = len(pool_threads)
    print(f"intra-op pool ({full} threads), ms a step with k threads busy: " + ", ".join(
        f"{k}: {(busy == k).sum() / 1000 / steps:.2f}" for k in range(full + 1)))
    short = collections.Counter()
    for thread, name, begin, end in spans:
        if thread.startswith("tf_Compute") and not name.startswith(("ExecutorState", "ThreadpoolListener",
                                                                      "ExecutorDoneCallback")):
            short[name.split(":")[0]] += (busy[int(begin - start):int(end - start)] < full).sum()
    print("ops running while the pool was not fully busy (ms a step): " + ", ".join(
        f"{name} {total / 1000 / steps:.2f}" for name, total in short.most_common(12)))


if __name__ == "__main__":
    main()
