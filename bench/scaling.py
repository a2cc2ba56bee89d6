"""Benchmark: `GAN.fit` images/second with 1 and 2 replicas at the same global batch.

Splits the CPU into two logical devices (or uses the GPUs when two are visible) and times the default job's DCGAN
step under the default strategy and under `tfgan_impl.distribute.make_strategy("mirrored")`, interleaved rounds,
medians kept. On one CPU the two logical devices share the same cores, so this measures the cost of the
replication machinery rather than a speed-up; on N GPUs it measures the scaling. Prints JSON and a summary.
Usage: python bench/scaling.py [--steps 30] [--rounds 5] [--batch-size 128]
"""
import argparse
import json
import os
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import tensorflow as tf  # noqa: E402

if len(tf.config.list_physical_devices("GPU")) < 2:  # before TensorFlow initializes its devices
    _cpu = tf.config.list_physical_devices("CPU")[0]
    tf.config.set_logical_device_configuration(_cpu, [tf.config.LogicalDeviceConfiguration()] * 2)

import numpy as np  # noqa: E402
from common import default_dcgan, machine, random_image_batches  # noqa: E402

from tfgan_impl import distribute  # noqa: E402


def build(strategy):
    with strategy.scope():
        return default_dcgan()


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=30)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--batch-size", type=int, default=128)
    args = parser.parse_args()
    dataset = random_image_batches(args.batch_size)
    models = {1: build(tf.distribute.get_strategy()), 2: build(distribute.make_strategy("mirrored"))}
    assert models[2].distribute_strategy.num_replicas_in_sync == 2
    for gan in models.values():
        gan.fit(dataset, epochs=1, steps_per_epoch=3, verbose=0)  # trace and warm up
    seconds = {replicas: [] for replicas in models}
    for _ in range(args.rounds):
        for replicas, gan in models.items():
            start = time.perf_counter()
            gan.fit(dataset, epochs=1, steps_per_epoch=args.steps, verbose=0)
            seconds[replicas].append(time.perf_counter() - start)
    rates = {replicas: args.steps * args.batch_size / float(np.median(times)) for replicas, times in seconds.items()}
    results = {"one_replica_images_per_second": rates[1], "two_replicas_images_per_second": rates[2],
               "two_over_one": rates[2] / rates[1], "global_batch": args.batch_size,
               "devices": [d.name for d in tf.config.list_logical_devices()], **machine()}
    print(json.dumps(results, indent=1))
    print(f"2 replicas vs 1 at global batch {args.batch_size}: {results['two_over_one']:.2f}x "
          f"({rates[1]:.0f} -> {rates[2]:.0f} images/s)")


if __name__ == "__main__":
    main()
