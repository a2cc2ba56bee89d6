"""Benchmark: the exported SavedModel's `serving_default` against the in-memory generator.

Builds the default job's DCGAN generator (28x28, base_filters 32; weights do not change the cost), exports it with
`tfgan_impl.export.export_saved_model`, loads it back with `tf.saved_model.load` (what TF Serving runs) and times,
on the same latent vectors: batch 1 latency (median and p99 over `--calls` calls) and batch 256 throughput
(images/second, median of `--rounds`), for the signature and for a compiled call of the in-memory generator with
the same output mapping. Target: ratio >= 0.9 at batch 256. Prints JSON, then a one-line summary.
Usage: python bench/sampling.py [--calls 300] [--rounds 15]
"""
import argparse
import json
import os
import tempfile
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402

from common import default_dcgan, machine  # noqa: E402

from tfgan_impl.export import export_saved_model  # noqa: E402


def timings(function, z, calls):
    function(z)  # warm up (tracing, allocation)
    seconds = []
    for _ in range(calls):
        start = time.perf_counter()
        result = function(z)
        np.asarray(result)  # wait for the value, as a client would
        seconds.append(time.perf_counter() - start)
    return np.asarray(seconds)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=300)
    parser.add_argument("--rounds", type=int, default=15)
    args = parser.parse_args()
    gan = default_dcgan()
    with tempfile.TemporaryDirectory() as directory:
        served = tf.saved_model.load(export_saved_model(gan, directory)).signatures["serving_default"]

        @tf.function(reduce_retracing=True)
        def in_memory(z):  # the same mapping to [0, 1] as the export, compiled as a client of the model would
            return tf.clip_by_value((gan.generator(z, training=False) + 1.0) / 2.0, 0.0, 1.0)

        def exported(z):
            return served(z=z)["images"]

        results = {}
        for batch, calls in ((1, args.calls), (256, args.rounds)):
            z = tf.random.stateless_normal([batch, 100], seed=[0, batch])
            np.testing.assert_allclose(exported(z), in_memory(z), atol=1e-5)  # same work, same answer
            # Interleaved, so drift favours neither.
            pairs = [(timings(exported, z, 1)[0], timings(in_memory, z, 1)[0]) for _ in range(calls)]
            served_seconds, memory_seconds = (np.asarray(column) for column in zip(*pairs))
            if batch == 1:
                results.update({
                    "batch_1_served_median_ms": 1000 * float(np.median(served_seconds)),
                    "batch_1_served_p99_ms": 1000 * float(np.percentile(served_seconds, 99)),
                    "batch_1_in_memory_median_ms": 1000 * float(np.median(memory_seconds)),
                    "batch_1_in_memory_p99_ms": 1000 * float(np.percentile(memory_seconds, 99))})
            else:
                results.update({
                    "batch_256_served_images_per_second": batch / float(np.median(served_seconds)),
                    "batch_256_in_memory_images_per_second": batch / float(np.median(memory_seconds))})
    results["batch_256_ratio"] = (results["batch_256_served_images_per_second"]
                                  / results["batch_256_in_memory_images_per_second"])
    results.update(machine())
    print(json.dumps(results, indent=1))
    print(f"SavedModel vs in-memory generator: batch 256 {results['batch_256_ratio']:.2f}x "
          f"({results['batch_256_served_images_per_second']:.0f} images/s); batch 1 median "
          f"{results['batch_1_served_median_ms']:.2f} ms, p99 {results['batch_1_served_p99_ms']:.2f} ms "
          f"(in memory {results['batch_1_in_memory_median_ms']:.2f} / {results['batch_1_in_memory_p99_ms']:.2f} ms)")


if __name__ == "__main__":
    main()
