"""Benchmark: the speed of the image-restoration families (super-resolution, inpainting) against plain code.

For each of `configs/esrgan_fashion_mnist.yaml` and `configs/inpainting_fashion_mnist.yaml` (their networks at the
shipped sizes, built by `tfgan_impl.builder` as `tfgan-impl train` builds them):

- Training: `fit` of the family's model against a plain single-function Keras `train_step` on a second copy of
  the same networks, computing the same losses (the model's own loss functions, averaged over the batch) with two
  tapes and two optimizers, as the keras.io examples write it: what the phases, loss scaling and trackers cost.
  Interleaved rounds of `--steps` steps, timed by wall clock and process CPU time. Target: ratio >= 0.95.
- Serving: images/second of the exported SavedModel's `serving_default` (`tf.saved_model.load`, what TF Serving
  runs) against a compiled call of the in-memory network with the same mapping to [0, 1], on batches of 64
  test-sized images, median of `--rounds`. Target: ratio >= 0.9.

    python bench/restoration_speed.py [--steps 20] [--rounds 7]

Prints JSON, then one summary line per family.
"""
import argparse
import json
import os
import tempfile
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import keras  # noqa: E402
import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402

from common import machine  # noqa: E402

from tfgan_impl import builder, config as config_module, export, masks, optimizers, ranges  # noqa: E402

ROOT = os.path.join(os.path.dirname(__file__), "..")
FAMILIES = {
    "superres": ("esrgan_fashion_mnist.yaml", {"input_shape": [None, None, 1], "sample_shape": [28, 28, 1]}),
    "inpainting": ("inpainting_fashion_mnist.yaml", {"input_shape": [28, 28, 1], "sample_shape": [28, 28, 1]}),
}


class PlainStep(keras.Model):
    """One `train_step`: the discriminator's mean loss and update, then the generator's, on the same batch."""

    def __init__(self, model, d_optimizer, g_optimizer):
        super().__init__()
        self.inner, self.d_optimizer, self.g_optimizer = model, d_optimizer, g_optimizer

    def train_step(self, data):
        discriminator, generator = self.inner.discriminator, self.inner.generator
        with tf.GradientTape() as tape:
            d_loss = tf.reduce_mean(self.inner.discriminator_loss(data).losses)
        self.d_optimizer.apply(tape.gradient(d_loss, discriminator.trainable_variables),
                               discriminator.trainable_variables)
        with tf.GradientTape() as tape:
            g_loss = tf.reduce_mean(self.inner.generator_loss(data).losses)
        self.g_optimizer.apply(tape.gradient(g_loss, generator.trainable_variables), generator.trainable_variables)
        return {"d_loss": d_loss, "g_loss": g_loss}


def batches(family, config):
    """A repeated dataset of one family's training batches, random images of the shipped size."""
    rng = np.random.default_rng(0)
    batch = config.data.batch_size
    high = rng.uniform(-1, 1, (batch * 4, 28, 28, 1)).astype("float32")
    if family == "superres":
        scale = config.options.scale
        low = tf.image.resize(high, [28 // scale, 28 // scale], method="area").numpy()
        data = (low, high)
    else:
        data = (high, np.stack([np.asarray(masks.rectangle_mask(tf.constant([i, 0]), 28, 28))
                                for i in range(len(high))]))
    return tf.data.Dataset.from_tensor_slices(data).batch(batch, drop_remainder=True).repeat()


def build(config, info):
    keras.utils.set_random_seed(config.seed)
    model = builder.build_model(config, info)
    d_optimizer = optimizers.make_optimizer(config.train.d_optimizer, "train.d_optimizer")
    g_optimizer = optimizers.make_optimizer(config.train.g_optimizer, "train.g_optimizer")
    return model, d_optimizer, g_optimizer


def timed_fit(model, dataset, steps):
    start, cpu_start = time.perf_counter(), time.process_time()
    model.fit(dataset, epochs=1, steps_per_epoch=steps, verbose=0)
    return time.perf_counter() - start, time.process_time() - cpu_start


def training_ratio(family, config, info, steps, rounds):
    ours, d_optimizer, g_optimizer = build(config, info)
    ours.compile(d_optimizer=d_optimizer, g_optimizer=g_optimizer, jit_compile=config.train.jit_compile)
    inner, d_optimizer, g_optimizer = build(config, info)
    plain = PlainStep(inner, d_optimizer, g_optimizer)
    plain.compile(jit_compile=config.train.jit_compile)
    dataset = batches(family, config)
    for model in (ours, plain):
        timed_fit(model, dataset, 2)  # tracing and compilation
    times = {"ours": [], "plain": []}
    for _ in range(rounds):  # interleaved, so drift favours neither
        for name, model in (("ours", ours), ("plain", plain)):
            times[name].append(timed_fit(model, dataset, steps))
    wall = {name: float(np.median([t[0] for t in values])) for name, values in times.items()}
    cpu = {name: float(np.median([t[1] for t in values])) for name, values in times.items()}
    return {"step_ratio": wall["plain"] / wall["ours"], "step_cpu_ratio": cpu["plain"] / cpu["ours"],
            "step_ms": 1000 * wall["ours"] / steps, "plain_step_ms": 1000 * wall["plain"] / steps}


def serving_ratio(family, config, info, rounds, batch=64):
    model, _, _ = build(config, info)
    rng = np.random.default_rng(1)
    size = 7 if family == "superres" else 28
    inputs = {"images": tf.constant(rng.uniform(size=(batch, size, size, 1)).astype("float32"))}
    if family == "inpainting":
        inputs["masks"] = tf.constant(np.broadcast_to(np.asarray(masks.center_mask(28, 28)), (batch, 28, 28, 1)))
    network = model.translation_generator()
    low, high = model.output_range

    @tf.function(reduce_retracing=True)
    def in_memory(images, *maps):
        outputs = network([ranges.from_unit_interval(images, model.output_range), *maps] if maps else
                          ranges.from_unit_interval(images, model.output_range), training=False)
        return tf.clip_by_value((outputs - low) / (high - low), 0.0, 1.0)

    with tempfile.TemporaryDirectory() as directory:
        served = tf.saved_model.load(export.export_saved_model(model, directory)).signatures["serving_default"]
        calls = {"served": lambda: served(**inputs)["images"], "in_memory": lambda: in_memory(*inputs.values())}
        np.testing.assert_allclose(calls["served"](), calls["in_memory"](), atol=1e-5)  # same work, same answer
        seconds = {name: [] for name in calls}
        for _ in range(rounds):
            for name, call in calls.items():
                call()
                start = time.perf_counter()
                np.asarray(call())
                seconds[name].append(time.perf_counter() - start)
    rates = {name: batch / float(np.median(values)) for name, values in seconds.items()}
    return {"served_images_per_second": rates["served"], "in_memory_images_per_second": rates["in_memory"],
            "serving_ratio": rates["served"] / rates["in_memory"]}


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=20)
    parser.add_argument("--rounds", type=int, default=7)
    args = parser.parse_args()
    results = {}
    for family, (name, info) in FAMILIES.items():
        config = config_module.load(os.path.join(ROOT, "configs", name))
        results[family] = {**training_ratio(family, config, info, args.steps, args.rounds),
                           **serving_ratio(family, config, info, args.rounds)}
    results.update(machine())
    print(json.dumps(results, indent=1))
    for family in FAMILIES:
        figures = results[family]
        print(f"{family}: step {figures['step_ratio']:.2f}x the plain step by wall clock, "
              f"{figures['step_cpu_ratio']:.2f}x by CPU time ({figures['step_ms']:.0f} ms); SavedModel "
              f"{figures['serving_ratio']:.2f}x the in-memory network ({figures['served_images_per_second']:.0f} "
              "images/s)")


if __name__ == "__main__":
    main()
