"""Benchmark: images/second of `GAN.fit` against a plain keras.io-style GAN on the same DCGAN networks.

The plain reference is the minimal hand-written two-optimizer `train_step` of the keras.io DCGAN example,
measured in the same process on the same networks, batch size and data. Also measured against it: the WGAN-GP
step (gradient penalty, critic without batch norm), `steps_per_execution=4` and `jit_compile=True` (XLA).

Each model is timed in interleaved rounds by wall clock and by the process's CPU time. Wall-clock ratios use
the median round (`*_ratio`) and the fastest round (`*_best_ratio`); CPU-time ratios (`*_cpu_ratio`) count
the work a step costs whatever share of the cores the process was given, since on shared virtual machines
whole rounds can run on one core of two (docs/benchmarks.md shows such a run).
Prints one JSON object, then a one-line summary.
Usage: python bench/train_step.py [--steps 20] [--rounds 7] [--batch-size 128] [--base-filters 32]
"""
import argparse
import json
import os
import platform
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import keras  # noqa: E402
import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402

from tfgan_impl import GAN, networks, pipelines  # noqa: E402


class PlainGAN(keras.Model):
    """The keras.io `dcgan_overriding_train_step.py` pattern: one model, two optimizers, mean losses."""

    def __init__(self, generator, discriminator, latent_dim):
        super().__init__()
        self.generator, self.discriminator, self.latent_dim = generator, discriminator, latent_dim
        self.loss_fn = keras.losses.BinaryCrossentropy(from_logits=True)
        self.seed_generator = keras.random.SeedGenerator(0)

    def compile(self, d_optimizer, g_optimizer):
        super().compile()
        self.d_optimizer, self.g_optimizer = d_optimizer, g_optimizer

    def train_step(self, real_images):
        batch_size = tf.shape(real_images)[0]
        z = keras.random.normal((batch_size, self.latent_dim), seed=self.seed_generator)
        fake_images = self.generator(z, training=True)
        with tf.GradientTape() as tape:
            real_logits = self.discriminator(real_images, training=True)
            fake_logits = self.discriminator(fake_images, training=True)
            d_loss = self.loss_fn(tf.ones_like(real_logits), real_logits) + self.loss_fn(
                tf.zeros_like(fake_logits), fake_logits)
        grads = tape.gradient(d_loss, self.discriminator.trainable_weights)
        self.d_optimizer.apply_gradients(zip(grads, self.discriminator.trainable_weights))
        z = keras.random.normal((batch_size, self.latent_dim), seed=self.seed_generator)
        with tf.GradientTape() as tape:
            fake_logits = self.discriminator(self.generator(z, training=True), training=True)
            g_loss = self.loss_fn(tf.ones_like(fake_logits), fake_logits)
        grads = tape.gradient(g_loss, self.generator.trainable_weights)
        self.g_optimizer.apply_gradients(zip(grads, self.generator.trainable_weights))
        return {"d_loss": d_loss, "g_loss": g_loss}


def networks_pair(latent_dim, base_filters, batch_norm=True):
    keras.utils.set_random_seed(0)
    return (networks.dcgan_generator(latent_dim, [28, 28, 1], base_filters),
            networks.dcgan_discriminator([28, 28, 1], base_filters, batch_norm=batch_norm))


def timed_fit(model, dataset, steps):
    """Wall-clock and process CPU seconds of `steps` training steps."""
    start, cpu_start = time.perf_counter(), time.process_time()
    model.fit(dataset, epochs=1, steps_per_epoch=steps, verbose=0, shuffle=False)
    return time.perf_counter() - start, time.process_time() - cpu_start


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=20)
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument("--batch-size", type=int, default=128)
    parser.add_argument("--base-filters", type=int, default=32)
    parser.add_argument("--latent-dim", type=int, default=100)
    args = parser.parse_args()
    images = np.random.default_rng(0).uniform(-1, 1, (args.batch_size * 8, 28, 28, 1)).astype("float32")
    dataset = tf.data.Dataset.from_tensor_slices(images).repeat().batch(args.batch_size, drop_remainder=True)
    dataset = pipelines.with_pipeline_options(dataset.prefetch(2))  # as the library's own pipelines

    plain = PlainGAN(*networks_pair(args.latent_dim, args.base_filters), args.latent_dim)
    plain.compile(keras.optimizers.Adam(2e-4, 0.5), keras.optimizers.Adam(2e-4, 0.5))
    models = {"plain": plain}
    variants = {
        "non_saturating": ({}, {"loss": "non_saturating"}),
        "minimax": ({}, {"loss": "minimax"}),
        "gradient_penalty": ({"batch_norm": False}, {"loss": "wasserstein", "penalties": {"gradient_penalty": 10.0}}),
        "steps_per_execution_4": ({}, {"steps_per_execution": 4}),
        "xla": ({}, {"jit_compile": True}),
    }
    for name, (network_options, compile_options) in variants.items():
        gan = GAN(*networks_pair(args.latent_dim, args.base_filters, **network_options), latent_dim=args.latent_dim,
                  seed=0)
        gan.compile(d_optimizer=keras.optimizers.Adam(2e-4, 0.5), g_optimizer=keras.optimizers.Adam(2e-4, 0.5),
                    **compile_options)
        models[name] = gan
    for model in models.values():
        timed_fit(model, dataset, 5)  # trace and warm up
    # Rounds interleave the models and medians are kept, so drift and noisy neighbours favour none of them.
    wall, cpu = {name: [] for name in models}, {name: [] for name in models}
    for _ in range(args.rounds):
        for name, model in models.items():
            seconds, cpu_seconds = timed_fit(model, dataset, args.steps)
            wall[name].append(seconds)
            cpu[name].append(cpu_seconds)
    images = args.steps * args.batch_size
    results = {}
    for name in models:
        results[f"{name}_images_per_second"] = images / float(np.median(wall[name]))
        results[f"{name}_best_images_per_second"] = images / float(np.min(wall[name]))
        results[f"{name}_cpu_ms_per_step"] = 1000 * float(np.median(cpu[name])) / args.steps
        results[f"{name}_cores_used"] = float(np.median(np.divide(cpu[name], wall[name])))
    for name in variants:
        results[f"{name}_ratio"] = results[f"{name}_images_per_second"] / results["plain_images_per_second"]
        results[f"{name}_best_ratio"] = (results[f"{name}_best_images_per_second"]
                                         / results["plain_best_images_per_second"])
        results[f"{name}_cpu_ratio"] = results["plain_cpu_ms_per_step"] / results[f"{name}_cpu_ms_per_step"]
    # The target for the penalty is on time: the GP step within 1.6x of the plain step's time.
    for kind in ("", "_best", "_cpu"):
        results[f"gradient_penalty_time{kind}_ratio"] = 1.0 / results[f"gradient_penalty{kind}_ratio"]
    results["wall_seconds"] = {name: [round(t, 3) for t in times] for name, times in wall.items()}
    results.update({"batch_size": args.batch_size, "steps": args.steps, "rounds": args.rounds, "base_filters": args.base_filters,
                    "machine": f"{platform.processor() or platform.machine()}, {os.cpu_count()} cores",
                    "devices": [d.device_type for d in tf.config.list_physical_devices()],
                    "tensorflow": tf.__version__, "keras": keras.__version__})
    print(json.dumps(results, indent=1))
    def triple(name):
        return " / ".join(f"{results[f'{name}{kind}_ratio']:.2f}x" for kind in ("", "_best", "_cpu"))

    print(f"GAN.fit vs plain train_step (median wall / best wall / CPU time): non_saturating "
          f"{triple('non_saturating')}, minimax {triple('minimax')} ({results['plain_images_per_second']:.0f} "
          f"plain images/s); WGAN-GP step takes {triple('gradient_penalty_time')} the plain step's time; "
          f"steps_per_execution 4: {triple('steps_per_execution_4')}; XLA: {triple('xla')}")


if __name__ == "__main__":
    main()
