"""Benchmark: the StyleGAN2, progressive-growing and BigGAN train steps against plain single-function Keras steps.

Each family's model is built from its shipped config (32x32 Fashion-MNIST networks, the config's batch) and timed
by `fit` against a hand-written `train_step` that does the same arithmetic on networks of the same config in one
function, as a user would write it from the papers:
  StyleGAN2 (Karras et al. 2020; StyleGAN2-ADA's `training_loop.py` and `loss.py`): logistic discriminator loss,
    non-saturating generator loss, style mixing, lazy R1 every `r1_interval` steps and lazy path-length
    regularization every `pl_interval` steps (as `tf.cond`s), the running mean of w, the generator's moving
    average. ADA is off in both (the plain step has no augmentation); its cost is reported on its own.
  ProGAN (Karras et al. 2018): the level of detail of the images seen, faded reals, WGAN-GP with the drift term,
    the generator's moving average.
  BigGAN (Brock et al. 2019): `d_steps` hinge-loss discriminator steps, each on its own labelled real batch, then
    a hinge generator step with the orthogonal regularization of every weight matrix but the class embedding,
    the generator's moving average.
Rounds interleave the models and span a multiple of every lazy interval; ratios are plain time over family time
(above 1: the family's step is the faster) by median wall clock, fastest round and CPU time. Each family is also
timed with XLA (`jit_compile=True`); a model that fails to compile is reported, not fatal.

    python bench/family_steps.py [--steps 32] [--rounds 5] [--families stylegan2,progan,biggan] [--xla ...]
                                 [--progan-lod start|full]

Prints one JSON object, then a one-line summary per family.
"""
import argparse
import json
import os
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import keras  # noqa: E402
import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402

from common import machine, random_image_batches  # noqa: E402
from tfgan_impl import builder, config as config_module  # noqa: E402
from tfgan_impl.biggan import orthogonal_regularization  # noqa: E402
from tfgan_impl.families import stylegan2 as stylegan2_family  # noqa: E402
from tfgan_impl.progan import faded_reals, level_of_detail  # noqa: E402

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), ".."))
CONFIGS = {"stylegan2": "stylegan2_fashion_mnist.yaml", "progan": "progan_fashion_mnist.yaml",
           "biggan": "biggan_fashion_mnist.yaml"}
NUM_CLASSES = 10  # BigGAN's, as Fashion-MNIST's


def ema_update(average, network, decay):
    """Moving average of the trainable weights, copies of the others (batch-norm statistics, lod)."""
    trainable = {id(w) for w in network.trainable_weights}
    for a, w in zip(average.weights, network.weights):
        a.assign(decay * a + (1.0 - decay) * w if id(w) in trainable else w)


def input_gradients(function, inputs):
    with tf.GradientTape() as tape:
        tape.watch(inputs)
        outputs = tf.reduce_sum(function(inputs))
    return tape.gradient(outputs, inputs)


class PlainStyleGAN2(keras.Model):
    """StyleGAN2's training step written out in one function (no phases, no replica bookkeeping)."""

    def __init__(self, generator, discriminator, latent_dim, style_mixing, r1_gamma, r1_interval, pl_weight,
                 pl_interval, pl_batch_shrink, pl_decay, w_average_beta, ema_decay):
        super().__init__()
        self.generator, self.discriminator, self.latent_dim = generator, discriminator, latent_dim
        self.style_mixing, self.r1_gamma, self.r1_interval = style_mixing, r1_gamma, r1_interval
        self.pl_weight, self.pl_interval, self.pl_batch_shrink, self.pl_decay = (pl_weight, pl_interval,
                                                                                pl_batch_shrink, pl_decay)
        self.w_average_beta, self.ema_decay = w_average_beta, ema_decay
        self.average = keras.models.clone_model(generator)
        self.average.set_weights(generator.get_weights())
        self.step = tf.Variable(0, dtype=tf.int64, trainable=False)
        self.pl_mean = tf.Variable(0.0, trainable=False)

    def compile(self, d_optimizer, g_optimizer, **kwargs):
        super().compile(**kwargs)
        self.d_optimizer, self.g_optimizer = d_optimizer, g_optimizer
        d_optimizer.build(self.discriminator.trainable_variables)
        g_optimizer.build(self.generator.trainable_variables)

    def mixed_ws(self, z):
        g = self.generator
        w = g.mapping(z, training=True)
        cutoff = tf.random.uniform([], 1, g.num_ws, dtype=tf.int32)
        cutoff = tf.where(tf.random.uniform([]) < self.style_mixing, cutoff, g.num_ws)
        other = g.broadcast(g.mapping(tf.random.normal(tf.shape(z)), training=True))
        return tf.where(tf.range(g.num_ws)[None, :, None] >= cutoff, other, g.broadcast(w)), w

    def train_step(self, real):
        g, d = self.generator, self.discriminator
        batch = tf.shape(real)[0]
        fake = g.synthesis(self.mixed_ws(tf.random.normal([batch, self.latent_dim]))[0], training=True)
        with tf.GradientTape() as tape:
            d_loss = (tf.reduce_mean(tf.nn.softplus(d(fake, training=True)))
                      + tf.reduce_mean(tf.nn.softplus(-d(real, training=True))))
        self.d_optimizer.apply_gradients(zip(tape.gradient(d_loss, d.trainable_variables), d.trainable_variables))

        def r1():
            with tf.GradientTape() as tape:
                gradients = input_gradients(lambda x: d(x, training=True), real)
                penalty = 0.5 * self.r1_gamma * tf.reduce_mean(tf.reduce_sum(tf.square(gradients), [1, 2, 3]))
            self.d_optimizer.apply_gradients(zip(tape.gradient(penalty, d.trainable_variables),
                                                 d.trainable_variables))
            return penalty

        tf.cond(self.step % self.r1_interval == 0, r1, lambda: 0.0)
        with tf.GradientTape() as tape:
            ws, w = self.mixed_ws(tf.random.normal([batch, self.latent_dim]))
            g_loss = tf.reduce_mean(tf.nn.softplus(-d(g.synthesis(ws, training=True), training=True)))
        self.g_optimizer.apply_gradients(zip(tape.gradient(g_loss, g.trainable_variables), g.trainable_variables))

        def path_length():
            small = tf.maximum(batch // self.pl_batch_shrink, 1)
            height, width = g.image_shape[0], g.image_shape[1]
            y = tf.random.normal(tf.concat([[small], g.image_shape], 0)) / float(height * width) ** 0.5
            with tf.GradientTape() as tape:
                ws_small = self.mixed_ws(tf.random.normal([small, self.latent_dim]))[0]
                gradients = input_gradients(lambda v: g.synthesis(v, training=True) * y, ws_small)
                lengths = tf.sqrt(tf.reduce_mean(tf.reduce_sum(tf.square(gradients), 2), 1))
                pl_mean = self.pl_mean + self.pl_decay * (tf.stop_gradient(tf.reduce_mean(lengths)) - self.pl_mean)
                penalty = self.pl_weight * tf.reduce_mean(tf.square(lengths - pl_mean))
            self.g_optimizer.apply_gradients(zip(tape.gradient(penalty, g.trainable_variables),
                                                 g.trainable_variables))
            self.pl_mean.assign(pl_mean)
            return penalty

        tf.cond(self.step % self.pl_interval == 0, path_length, lambda: 0.0)
        w_mean = tf.reduce_mean(w, 0)
        g.w_average.assign(w_mean + self.w_average_beta * (g.w_average - w_mean))
        ema_update(self.average, g, self.ema_decay)
        self.step.assign_add(1)
        return {"d_loss": d_loss, "g_loss": g_loss}


class PlainProGAN(keras.Model):
    """Progressive growing's training step written out in one function."""

    def __init__(self, generator, discriminator, latent_dim, max_lod, stage_images, transition_images,
                 gp_weight, drift_weight, ema_decay):
        super().__init__()
        self.generator, self.discriminator, self.latent_dim = generator, discriminator, latent_dim
        self.max_lod, self.stage_images, self.transition_images = max_lod, stage_images, transition_images
        self.gp_weight, self.drift_weight, self.ema_decay = gp_weight, drift_weight, ema_decay
        self.average = keras.models.clone_model(generator)
        self.average.set_weights(generator.get_weights())
        self.images_seen = tf.Variable(0, dtype=tf.int64, trainable=False)

    def compile(self, d_optimizer, g_optimizer, **kwargs):
        super().compile(**kwargs)
        self.d_optimizer, self.g_optimizer = d_optimizer, g_optimizer
        for network in (self.generator, self.discriminator):
            network.branch_by_level = not self.jit_compile

    def train_step(self, real):
        g, d = self.generator, self.discriminator
        lod = level_of_detail(self.images_seen, self.max_lod, self.stage_images, self.transition_images)
        g.lod.assign(lod)
        d.lod.assign(lod)
        real = faded_reals(real, lod, self.max_lod)
        batch = tf.shape(real)[0]
        fake = g(tf.random.normal([batch, self.latent_dim]), training=True)
        alpha = tf.random.uniform([batch, 1, 1, 1])
        with tf.GradientTape() as tape:
            real_logits, fake_logits = d(real, training=True), d(fake, training=True)
            gradients = input_gradients(lambda x: d(x, training=True), fake + alpha * (real - fake))
            penalty = tf.square(tf.sqrt(tf.reduce_sum(tf.square(gradients), [1, 2, 3]) + 1e-10) - 1.0)
            d_loss = (tf.reduce_mean(fake_logits) - tf.reduce_mean(real_logits) + self.gp_weight
                      * tf.reduce_mean(penalty) + self.drift_weight * tf.reduce_mean(tf.square(real_logits)))
        self.d_optimizer.apply_gradients(zip(tape.gradient(d_loss, d.trainable_variables), d.trainable_variables))
        with tf.GradientTape() as tape:
            g_loss = -tf.reduce_mean(d(g(tf.random.normal([batch, self.latent_dim]), training=True),
                                       training=True))
        self.g_optimizer.apply_gradients(zip(tape.gradient(g_loss, g.trainable_variables), g.trainable_variables))
        ema_update(self.average, g, self.ema_decay)
        self.images_seen.assign_add(tf.cast(batch, tf.int64))
        return {"d_loss": d_loss, "g_loss": g_loss}


class PlainBigGAN(keras.Model):
    """BigGAN's training step written out in one function; a batch holds the `d_steps` real batches of a step."""

    def __init__(self, generator, discriminator, latent_dim, d_steps, beta, ema_decay):
        super().__init__()
        self.generator, self.discriminator, self.latent_dim = generator, discriminator, latent_dim
        self.d_steps, self.beta, self.ema_decay = d_steps, beta, ema_decay
        self.average = keras.models.clone_model(generator)
        self.average.set_weights(generator.get_weights())

    def compile(self, d_optimizer, g_optimizer, **kwargs):
        super().compile(**kwargs)
        self.d_optimizer, self.g_optimizer = d_optimizer, g_optimizer

    def train_step(self, data):
        g, d = self.generator, self.discriminator
        images, labels = data
        reals, classes = tf.split(images, self.d_steps), tf.split(labels, self.d_steps)
        batch = tf.shape(reals[0])[0]
        for real, label in zip(reals, classes):
            fake = tf.stop_gradient(g([tf.random.normal([batch, self.latent_dim]), label], training=True))
            with tf.GradientTape() as tape:
                d_loss = (tf.reduce_mean(tf.nn.relu(1.0 - d([real, label], training=True)))
                          + tf.reduce_mean(tf.nn.relu(1.0 + d([fake, label], training=True))))
            self.d_optimizer.apply_gradients(zip(tape.gradient(d_loss, d.trainable_variables),
                                                 d.trainable_variables))
        kernels = [v for v in g.trainable_variables if len(v.shape) >= 2 and v.name != "embeddings"]
        with tf.GradientTape() as tape:
            fake = g([tf.random.normal([batch, self.latent_dim]), classes[-1]], training=True)
            g_loss = -tf.reduce_mean(d([fake, classes[-1]], training=True)) + orthogonal_regularization(kernels,
                                                                                                       self.beta)
        self.g_optimizer.apply_gradients(zip(tape.gradient(g_loss, g.trainable_variables), g.trainable_variables))
        ema_update(self.average, g, self.ema_decay)
        return {"d_loss": d_loss, "g_loss": g_loss}


def labelled(dataset):
    """Batches of images with class ids, as conditional models train on."""
    return dataset.map(lambda images: (images, tf.range(tf.shape(images)[0]) % NUM_CLASSES))


def family_config(name, **train):
    config = config_module.load(os.path.join(ROOT, "configs", CONFIGS[name])).to_dict()
    config["train"].update(train)
    return config_module.from_dict(config)


def build(config):
    keras.utils.set_random_seed(config.seed)
    num_classes = NUM_CLASSES if config.model.type == "biggan" else None
    model = builder.build_model(config, {"sample_shape": [*config.data.image_size, 1], "num_classes": num_classes})
    return builder.compile_model(model, config)


def plain_of(name, config, jit_compile):
    """The plain model on freshly built networks of `config`, with its optimizers."""
    model = build(config)
    options = config.options
    if name == "stylegan2":
        plain = PlainStyleGAN2(model.generator, model.discriminator, config.model.latent_dim, options.style_mixing,
                               options.r1_gamma, options.r1_interval, options.pl_weight, options.pl_interval,
                               options.pl_batch_shrink, options.pl_decay, options.w_average_beta,
                               stylegan2_family.ema_decay(config))
    elif name == "biggan":
        plain = PlainBigGAN(model.generator, model.discriminator, config.model.latent_dim, config.train.d_steps,
                            options.orthogonal_regularization, options.ema_decay)
    else:
        penalties = config.train.penalties
        plain = PlainProGAN(model.generator, model.discriminator, config.model.latent_dim, model.max_lod,
                            model.stage_images, model.transition_images, penalties["gradient_penalty"],
                            penalties["drift"], options.ema_decay)
    plain.compile(keras.optimizers.Adam(1e-3, 0.0, 0.99), keras.optimizers.Adam(1e-3, 0.0, 0.99),
                  jit_compile=jit_compile)
    return plain


def timed_fit(model, dataset, steps):
    start, cpu_start = time.perf_counter(), time.process_time()
    model.fit(dataset, epochs=1, steps_per_epoch=steps, verbose=0, shuffle=False)
    return time.perf_counter() - start, time.process_time() - cpu_start


def measure(name, steps, rounds, xla=True, progan_lod="start"):
    base = {"ada_target": None} if name == "stylegan2" else {}
    config = family_config(name, jit_compile=False, **base)
    batch, size = config.data.batch_size, config.data.image_size
    dataset = random_image_batches(batch, size).prefetch(2)
    plain_dataset = dataset
    if name == "biggan":  # the plain step takes a step's d_steps real batches as one
        dataset = labelled(random_image_batches(batch, size)).prefetch(2)
        plain_dataset = labelled(random_image_batches(batch * config.train.d_steps, size)).prefetch(2)
    candidates = {
        "plain": lambda: plain_of(name, config, False),
        "family": lambda: build(config),
    }
    if xla:
        candidates["plain_xla"] = lambda: plain_of(name, config, True)
        candidates["family_xla"] = lambda: build(family_config(name, jit_compile=True, **base))
    if name == "stylegan2":
        candidates["family_ada"] = lambda: build(family_config(name, jit_compile=False))
    models, failures, warmup = {}, {}, {}
    for key, make in candidates.items():
        try:
            model = make()
            started = time.perf_counter()
            timed_fit(model, plain_dataset if key.startswith("plain") else dataset, 2 * steps)  # traces, and
            # passes every lazy phase
            if name == "progan" and progan_lod == "full":  # past the schedule: lod 0, every level in use
                model.images_seen.assign(2**62)
            # one more warm-up round: branches of the level in use are instantiated on their first run
            timed_fit(model, plain_dataset if key.startswith("plain") else dataset, steps)
            warmup[key] = round(time.perf_counter() - started, 1)
            models[key] = model
        except Exception as error:  # a model XLA cannot compile is a finding, not the end of the benchmark
            failures[key] = f"{type(error).__name__}: {str(error).splitlines()[0][:300]}"
    wall, cpu = {key: [] for key in models}, {key: [] for key in models}
    for _ in range(rounds):
        for key, model in models.items():
            seconds, cpu_seconds = timed_fit(model, plain_dataset if key.startswith("plain") else dataset, steps)
            wall[key].append(seconds)
            cpu[key].append(cpu_seconds)
    result = {"batch_size": batch, "image_size": size, "warmup_seconds": warmup, "failures": failures,
              **({"lod": float(next(iter(models.values())).generator.lod.numpy())} if name == "progan" and models
                 else {}),
              "wall_seconds": {key: [round(t, 3) for t in times] for key, times in wall.items()}}
    for key in models:
        result[f"{key}_ms_per_step"] = 1000 * float(np.median(wall[key])) / steps
        result[f"{key}_cpu_ms_per_step"] = 1000 * float(np.median(cpu[key])) / steps
    pairs = [("family", "plain"), ("family_xla", "plain_xla"), ("family_xla", "family"), ("plain_xla", "plain"),
             ("family_ada", "family")]
    for subject, reference in pairs:
        if subject in models and reference in models:
            result[f"{subject}_vs_{reference}"] = {
                "median": float(np.median(wall[reference]) / np.median(wall[subject])),
                "best": float(np.min(wall[reference]) / np.min(wall[subject])),
                "cpu": float(np.median(cpu[reference]) / np.median(cpu[subject]))}
    return result


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=32, help="steps per round (a multiple of 16: every interval)")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--families", default="stylegan2,progan,biggan")
    parser.add_argument("--xla", default="stylegan2,progan,biggan", help="families also timed with XLA")
    parser.add_argument("--progan-lod", choices=["start", "full"], default="start",
                        help="ProGAN timed at its first level of detail (4x4) or past its schedule (every level)")
    args = parser.parse_args()
    results = {name: measure(name, args.steps, args.rounds, xla=name in args.xla.split(","),
                             progan_lod=args.progan_lod)
               for name in args.families.split(",")}
    results.update({"steps": args.steps, "rounds": args.rounds, **machine()})
    print(json.dumps(results, indent=1))
    for name in args.families.split(","):
        result = results[name]
        figures = ", ".join(f"{key} {' / '.join(f'{v:.2f}x' for v in value.values())}"
                            for key, value in result.items() if "_vs_" in key)
        print(f"{name} (median wall / best wall / CPU time, above 1: the first is faster): {figures}"
              + (f"; failed: {', '.join(result['failures'])}" if result["failures"] else ""))


if __name__ == "__main__":
    main()
