"""Benchmark: FLOPs per image of the default job's networks and the fraction of the machine's matmul peak a
training step reaches.

Counts floating-point operations of one forward pass of the DCGAN generator and discriminator (28x28,
base_filters 32) from their dense and convolution layers (2 x multiply-adds; normalization and activations are
left out); a GAN step on one image costs about 3x the forward FLOPs of
what it runs (forward + two backward products): the discriminator update runs G once and D twice, the generator
update runs G and D once. The machine's peak is the best of a few float32 2048x2048 matmuls. Prints JSON and a
summary. Usage: python bench/flops.py [--steps 40]
"""
import argparse
import json
import os
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import keras  # noqa: E402
import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402

from common import default_dcgan, machine, random_image_batches  # noqa: E402

BATCH = 128


def forward_flops(model):
    """Floating-point operations of one forward pass on one example: 2 x the multiply-adds of its dense and
    convolution layers (TensorFlow's v1 graph profiler agrees within 2% on these networks, and needs graphs)."""
    total = 0
    for layer in model._flatten_layers(include_self=False):
        if isinstance(layer, keras.layers.Dense):
            total += 2 * layer.input.shape[-1] * layer.units
        elif isinstance(layer, keras.layers.Conv2DTranspose):  # every input pixel meets the whole kernel
            height, width, channels = layer.input.shape[1:]
            total += 2 * height * width * np.prod(layer.kernel_size) * channels * layer.filters
        elif isinstance(layer, keras.layers.Conv2D):  # every output pixel does
            height, width = layer.output.shape[1:3]
            total += 2 * height * width * np.prod(layer.kernel_size) * layer.input.shape[-1] * layer.filters
    return int(total)


def matmul_peak(size=2048, repeats=10):
    a = tf.random.normal([size, size])
    b = tf.random.normal([size, size])
    multiply = tf.function(lambda x, y: tf.matmul(x, y))
    multiply(a, b).numpy()
    best = float("inf")
    for _ in range(repeats):
        start = time.perf_counter()
        multiply(a, b).numpy()
        best = min(best, time.perf_counter() - start)
    return 2 * size**3 / best


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=40)
    args = parser.parse_args()
    gan = default_dcgan()
    g_flops, d_flops = forward_flops(gan.generator), forward_flops(gan.discriminator)
    step_flops = 3 * ((g_flops + 2 * d_flops) + (g_flops + d_flops))  # per image: D update, then G update
    dataset = random_image_batches(BATCH)
    gan.fit(dataset, epochs=1, steps_per_epoch=5, verbose=0)
    start = time.perf_counter()
    gan.fit(dataset, epochs=1, steps_per_epoch=args.steps, verbose=0)
    images_per_second = args.steps * BATCH / (time.perf_counter() - start)
    peak = matmul_peak()
    results = {"generator_forward_flops_per_image": g_flops, "discriminator_forward_flops_per_image": d_flops,
               "train_step_flops_per_image": step_flops, "images_per_second": images_per_second,
               "achieved_flops_per_second": step_flops * images_per_second, "matmul_peak_flops_per_second": peak,
               "fraction_of_peak": step_flops * images_per_second / peak, **machine()}
    print(json.dumps(results, indent=1))
    print(f"DCGAN 28x28 (base_filters 32): G {g_flops / 1e6:.1f} MFLOPs, D {d_flops / 1e6:.1f} MFLOPs per image "
          f"forward; step {step_flops / 1e6:.0f} MFLOPs per image; {results['achieved_flops_per_second'] / 1e9:.1f} "
          f"GFLOP/s = {100 * results['fraction_of_peak']:.0f}% of the {peak / 1e9:.0f} GFLOP/s matmul peak")


if __name__ == "__main__":
    main()
