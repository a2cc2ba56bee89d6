"""A model family defined entirely in this file (its options, data, model, phases and registration) trains through
`tfgan-impl train`, samples, evaluates and exports like the built-in ones; its lazy, stateful generator-side
regularizer runs on schedule, is checkpointed, and gives the same steps on 1 and 2 replicas."""
import dataclasses
import json
import os
import subprocess
import sys

import keras
import numpy as np
import pytest
import tensorflow as tf
import yaml

from tfgan_impl import cli, data, distribute, families, losses, networks, noise, rundir
from tfgan_impl.adversarial import AdversarialModel, Phase, PhaseLoss
from tfgan_impl.samplers import NoiseSampler


@dataclasses.dataclass
class SpreadOptions:
    spread_weight: float = families.option(0.1, section="train")  # weight of the spread regularizer
    spread_interval: int = families.option(2, section="train")  # it runs every this many steps (lazily)


@keras.saving.register_keras_serializable(package="tests")
class SpreadGAN(AdversarialModel, NoiseSampler):
    """A GAN of 2-D points with a generator-side regularizer that keeps state: like StyleGAN2's path length
    regularizer, it pulls the norm of the samples toward a running mean of itself (here kept in `norm_mean`)."""

    METRICS = ("d_loss", "g_loss", "spread_penalty")

    def __init__(self, generator, discriminator, latent_dim, seed=0, output_range=None, **kwargs):
        super().__init__(**kwargs)
        self.generator, self.discriminator = generator, discriminator
        self.latent_dim, self.seed, self.output_range = int(latent_dim), int(seed), output_range
        self.norm_mean = self.add_weight(name="norm_mean", shape=(), initializer="zeros", trainable=False,
                                         aggregation="only_first_replica")
        self.build()

    def build(self, input_shape=None):
        self.built = True

    @property
    def sampling_generator(self):
        return self.generator

    def call(self, z, training=False):
        return self.generator(z, training=training)

    def configure(self, spread_weight=0.1, spread_interval=2):
        self.spread_weight, self.spread_interval = float(spread_weight), int(spread_interval)
        return {"spread_weight": self.spread_weight, "spread_interval": self.spread_interval}

    def phases(self):
        return [Phase("discriminator", self.DISCRIMINATORS, "d_optimizer", self.discriminator_loss),
                Phase("generator", self.GENERATORS, "g_optimizer", self.generator_loss),
                Phase("spread", self.GENERATORS, "g_optimizer", self.spread_loss, interval=self.spread_interval)]

    def _latents(self, batch, stream):
        replica, replicas = distribute.replica_position()
        seed = noise.training_seed(self.seed, self.steps, stream)
        return tf.random.stateless_normal([replicas, batch, self.latent_dim], seed=seed)[replica]

    def discriminator_loss(self, real):
        fake = tf.stop_gradient(self.generator(self._latents(tf.shape(real)[0], "discriminator_latents")))
        per_example = losses.minimax_discriminator_loss(self.discriminator(real), self.discriminator(fake))
        return PhaseLoss(per_example, {"d_loss": tf.reduce_mean(per_example)})

    def generator_loss(self, real):
        fake = self.generator(self._latents(tf.shape(real)[0], "generator_latents"))
        per_example = losses.non_saturating_generator_loss(self.discriminator(fake))
        return PhaseLoss(per_example, {"g_loss": tf.reduce_mean(per_example)})

    def spread_loss(self, real):
        norms = tf.norm(self.generator(self._latents(tf.shape(real)[0], "penalty_interpolation")), axis=-1)
        # State must not depend on the replica count: the mean over the global batch updates it.
        batch_mean = tf.distribute.get_replica_context().all_reduce("MEAN", tf.stop_gradient(tf.reduce_mean(norms)))
        self.norm_mean.assign(0.9 * self.norm_mean + 0.1 * batch_mean)
        per_example = self.spread_weight * tf.square(norms - self.norm_mean)
        return PhaseLoss(per_example, {"spread_penalty": tf.reduce_mean(per_example)})

    def get_config(self):
        return {**super().get_config(), "latent_dim": self.latent_dim, "seed": self.seed,
                "output_range": self.output_range}


def training_data(config):
    source = data.load_source(config.data.source, config.data.split)
    dataset = data.make_dataset(source, config.data.batch_size, output_range=None, seed=config.seed)
    return families.TrainingData(dataset, {"sample_shape": [2], "source": source.name, "num_classes": None})


def build(config, info, extras):
    generator = networks.build("generator", config.model.generator,
                               {"latent_dim": config.model.latent_dim, "output_shape": info["sample_shape"]})
    discriminator = networks.build("discriminator", config.model.discriminator, {"input_shape": info["sample_shape"]})
    return SpreadGAN(generator, discriminator, config.model.latent_dim, seed=config.seed)


FAMILY = families.register(families.Family(
    "spread_gan", SpreadOptions, training_data=training_data, build=build, sampler=NoiseSampler,
    compile_options=lambda config: {"spread_weight": config.options.spread_weight,
                                    "spread_interval": config.options.spread_interval}))

CONFIG = {
    "seed": 3,
    "model": {"type": "spread_gan", "latent_dim": 4, "output_range": None,
              "generator": {"name": "mlp", "hidden_units": [32, 32], "output_activation": "linear"},
              "discriminator": {"name": "mlp", "hidden_units": [32, 32]}},
    "data": {"source": "ring8", "split": "train[:2048]", "batch_size": 64},
    "train": {"epochs": 2, "steps_per_epoch": 150, "spread_weight": 0.05, "spread_interval": 3, "num_samples": 16,
              "d_optimizer": {"name": "adam", "learning_rate": 0.002, "beta_1": 0.5},
              "g_optimizer": {"name": "adam", "learning_rate": 0.002, "beta_1": 0.5}},
}


@pytest.fixture(scope="module")
def plugin_run(tmp_path_factory):
    directory = tmp_path_factory.mktemp("plugin")
    config_path = directory / "spread.yaml"
    config_path.write_text(yaml.safe_dump(CONFIG))
    run_dir = str(directory / "run")
    assert cli.main(["train", str(config_path), "--out", run_dir, "--verbose", "0"]) == 0
    return run_dir


def radius(points):
    return float(np.mean(np.linalg.norm(points, axis=1)))


@pytest.mark.slow
def test_a_family_from_a_test_file_trains_through_the_cli_and_learns(plugin_run):
    model = rundir.load_run(plugin_run)
    assert isinstance(model, SpreadGAN) and model.training_options == {"spread_weight": 0.05, "spread_interval": 3}
    # 300 steps: the lazy phase stepped the generator's optimizer on steps 0, 3, ..., 297 (100 times) besides the
    # generator's own 300 updates; its state is in the checkpoint.
    assert int(model.steps.numpy()) == 300 and int(model.d_optimizer.iterations.numpy()) == 300
    assert int(model.g_optimizer.iterations.numpy()) == 400
    assert float(model.norm_mean.numpy()) > 0.5
    with open(os.path.join(plugin_run, "metrics.csv")) as stream:
        header = stream.readline().strip().split(",")
    assert {"d_loss", "g_loss", "spread_penalty"} <= set(header)
    # The ring's points lie at radius 2; the untrained generator's near the origin.
    untrained = build(_config(), {"sample_shape": [2]}, {})
    before, after = radius(untrained.generate(1000, seed=1)), radius(model.generate(1000, seed=1))
    assert abs(after - 2.0) < 0.5 * abs(before - 2.0), (before, after)


def _config():
    from tfgan_impl import config as config_module

    return config_module.from_dict(CONFIG)


@pytest.mark.slow
def test_a_family_from_a_test_file_samples_evaluates_and_exports(plugin_run, tmp_path, capsys):
    samples = str(tmp_path / "samples.npy")
    assert cli.main(["sample", plugin_run, "--num", "2500", "--out", samples]) == 0
    assert np.load(samples).shape == (2500, 2)
    capsys.readouterr()
    assert cli.main(["evaluate", plugin_run, "--metrics", "modes", "--num", "2500", "--data", "ring8"]) == 0
    figures = json.loads(capsys.readouterr().out)
    assert figures["num_samples"] == 2500 and figures["modes_num"] == 8 and np.isfinite(figures["modes_kl"])
    assert cli.main(["export", plugin_run, "--out", str(tmp_path / "export")]) == 0
    served = tf.saved_model.load(str(tmp_path / "export" / "1")).signatures["sample"](
        num=tf.constant(4), seed=tf.constant(5, tf.int64))["images"].numpy()
    np.testing.assert_allclose(served, rundir.load_run(plugin_run).generate(4, seed=5), atol=1e-5)


def test_lazy_phases_take_the_same_steps_on_one_and_two_replicas():
    config = _config()

    def train(strategy):
        keras.utils.set_random_seed(0)
        with strategy.scope():
            model = build(config, {"sample_shape": [2]}, {})
            model.compile(d_optimizer=keras.optimizers.SGD(0.05), g_optimizer=keras.optimizers.SGD(0.05),
                          spread_interval=2, spread_weight=0.5)
        points = data.load_source("ring8", "train[:256]").images
        model.fit(tf.data.Dataset.from_tensor_slices(points).batch(64, drop_remainder=True), epochs=1, verbose=0)
        assert int(model.steps.numpy()) == 4 and int(model.g_optimizer.iterations.numpy()) == 6
        return [w.numpy() for w in model.weights]

    one = train(tf.distribute.get_strategy())
    two = train(distribute.make_strategy("mirrored"))
    assert max(float(np.max(np.abs(a - b))) for a, b in zip(one, two)) < 1e-5


def test_a_dotted_model_type_imports_the_module_that_defines_the_family(tmp_path):
    (tmp_path / "plugins").mkdir()
    (tmp_path / "plugins" / "__init__.py").write_text("")
    (tmp_path / "plugins" / "my_family.py").write_text("from tests.test_family_plugin import FAMILY\n")
    code = ("import sys; sys.path[:0] = [sys.argv[1], sys.argv[2]]\n"
            "from tfgan_impl import config\n"
            "c = config.from_dict({'model': {'type': 'plugins.my_family', 'generator': {'name': 'mlp'}, "
            "'discriminator': {'name': 'mlp'}}, 'train': {'spread_interval': 5}})\n"
            "print(type(c.options).__name__, c.options.spread_interval)")
    result = subprocess.run([sys.executable, "-c", code, str(tmp_path), os.getcwd()], capture_output=True, text=True,
                            timeout=120)
    assert result.stdout.strip().splitlines()[-1] == "SpreadOptions 5", result.stderr[-2000:]
