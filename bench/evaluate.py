"""Benchmark: FCD over 50,000 generated samples: wall time and peak memory (samples are streamed, not stored).

Scores the default job's DCGAN generator (weights do not change the cost) against Fashion-MNIST's test split with
`tfgan_impl.evaluation.Evaluator(["fcd"])` and a domain classifier of the `train-classifier` architecture, once
with 10,000 and once with 50,000 samples, resetting the peak resident memory (Linux `clear_refs`) before each: with
streaming the two peaks are about equal. Needs Debian's dataset-fashion-mnist. Prints JSON and a summary.
Usage: python bench/evaluate.py
"""
import json
import os
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")


from common import default_dcgan, machine  # noqa: E402

from tfgan_impl import evaluation  # noqa: E402
from tfgan_impl.metrics import classifier as classifiers  # noqa: E402


def memory_megabytes(field):
    with open("/proc/self/status") as stream:
        for line in stream:
            if line.startswith(field + ":"):
                return int(line.split()[1]) / 1024
    raise RuntimeError(f"{field} not in /proc/self/status")


def reset_peak():
    with open("/proc/self/clear_refs", "w") as stream:
        stream.write("5")  # resets VmHWM, the peak resident set size


def main():
    gan = default_dcgan()
    classifier = classifiers.build_classifier([28, 28, 1], 10)
    start = time.perf_counter()
    evaluator = evaluation.Evaluator("fashion_mnist", ["fcd"], classifier=classifier)
    results = {"reference_setup_seconds": time.perf_counter() - start}
    for num in (10_000, 50_000):
        reset_peak()
        before = memory_megabytes("VmRSS")
        start = time.perf_counter()
        figures = evaluator(evaluation.generator_chunks(gan, num))
        results[f"{num}_seconds"] = time.perf_counter() - start
        results[f"{num}_peak_mb_above_start"] = memory_megabytes("VmHWM") - before
        results[f"{num}_fcd"] = figures["fcd"]
    results.update({"samples_per_second_50000": 50_000 / results["50000_seconds"], **machine()})
    print(json.dumps(results, indent=1))
    print(f"FCD over 50,000 samples: {results['50000_seconds']:.1f} s "
          f"({results['samples_per_second_50000']:.0f} samples/s); peak memory above the start "
          f"{results['50000_peak_mb_above_start']:.0f} MB (10,000 samples: {results['10000_peak_mb_above_start']:.0f} MB)")


if __name__ == "__main__":
    main()
