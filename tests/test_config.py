"""Configs: every shipped config validates and builds; mistakes give one-line errors naming the key."""
import glob
import os

import keras
import numpy as np
import pytest

from tfgan_impl import builder, families
from tfgan_impl import config as config_module
from tfgan_impl.samplers import TextSampler, Translator
from tfgan_impl.errors import ConfigError

CONFIGS = sorted(glob.glob(os.path.join(os.path.dirname(__file__), "..", "configs", "*.yaml")))
# Networks of the papers' full size, whose build takes minutes: their tests build them once and check their sizes.
BUILT_IN_THEIR_OWN_TESTS = {"biggan_imagenet128.yaml": "tests/test_biggan.py::test_the_imagenet_config_builds_the_papers_networks"}


@pytest.mark.parametrize("path", CONFIGS, ids=os.path.basename)
def test_shipped_configs_validate_and_build(path):
    config = config_module.load(path)
    if families.get(config.model.type).sampler is Translator:
        # Colour in and out: an inpainter's output has its input's channels (it pastes the known pixels).
        model = builder.compile_model(builder.build_model(
            config, {"input_shape": [32, 32, 3], "sample_shape": [32, 32, 3]}), config)
        assert model.generator.output_shape[-1] == 3
        size = 32 // getattr(model, "scale", 1)  # super-resolution upscales its input
        assert model.translate(np.zeros((1, size, size, 3), np.float32)).shape == (1, 32, 32, 3)
        return
    if families.get(config.model.type).sampler is TextSampler:
        model = builder.compile_model(builder.build_model(
            config, {"sample_shape": [32, 32, 1], "embedding_dim": 64, "vocabulary": ["a", "dark", "bag"]}), config)
        assert model.generate_from_text(["a dark bag"]).shape == (1, 32, 32, 1)
        assert model.generate_from_text(["a dark bag"], stage=0).shape == (1, 16, 16, 1)
        return
    if os.path.basename(path) in BUILT_IN_THEIR_OWN_TESTS:
        return  # validated by the load above
    sample_shape = [2] if config.data.source in ("ring8", "grid25") else [*(config.data.image_size or [28, 28]), 1]
    gan = builder.compile_model(builder.build_model(config, {"sample_shape": sample_shape, "num_classes": 10}), config)
    assert gan.generator.output_shape[1:] == tuple(sample_shape)
    expected = {"gan": (None, 1), "cgan": (None, 1), "acgan": [(None, 1), (None, 10)], "sgan": (None, 10),
                "stylegan2": (None, 1), "progan": (None, 1), "biggan": (None, 1)}
    assert gan.discriminator.output_shape == expected[config.model.type]


def test_paper_config_matches_the_published_setup():
    config = config_module.load(os.path.join(os.path.dirname(__file__), "..", "configs", "gan_mnist.yaml"))
    gan = builder.build_model(config, {"sample_shape": [28, 28, 1]})
    dense = [layer for layer in gan.generator.layers if isinstance(layer, keras.layers.Dense)]
    assert [layer.units for layer in dense] == [1200, 1200, 784]
    assert [layer.units for layer in gan.discriminator.layers if hasattr(layer, "num_pieces")] == [240, 240]
    assert config.data.batch_size == 100 and config.train.loss == "non_saturating"


def write(tmp_path, text):
    path = tmp_path / "c.yaml"
    path.write_text(text)
    return str(path)


@pytest.mark.parametrize("text, message", [
    ("train: {lr: 0.1}", "unknown key 'train.lr'; allowed: epochs, steps_per_epoch"),
    ("trian: {}", "unknown key 'trian'; allowed: seed, model, data, train, evaluate"),
    ("train: {d_steps: 0}", "train.d_steps: expected a positive integer, got 0"),
    ("train: {d_steps: two}", "train.d_steps: expected an integer, got 'two'"),
    ("train: {loss: hinj}", "train.loss: unknown loss 'hinj'; allowed: minimax, non_saturating, least_squares"),
    ("model: {type: infogan}", "model.type: unknown model type 'infogan'; allowed: acgan, biggan, cgan, cyclegan, gan"),
    ("model: {type: cgan, packing: 2}", "unknown key 'model.packing'; allowed: type, latent_dim"),
    ("model: {packing: 3}", "data.batch_size: 64 is not divisible by model.packing (3)"),
    ("model: {packing: 0}", "model.packing: expected a positive integer, got 0"),
    ("model: {type: acgan}\ntrain: {class_loss_weight: -1}", "train.class_loss_weight: expected 0 or more, got -1"),
    ("model: {type: sgan}\ntrain: {supervised_weight: 1, labelled: 2}", "unknown key 'train.labelled'; allowed: epochs"),
    ("model: {ema_decay: 1.0}", "model.ema_decay: expected a number strictly between 0 and 1"),
    ("train: {penalties: {gp: 10}}", "train.penalties: unknown penalty 'gp'; allowed: gradient_penalty, r1"),
    ("train: {penalties: {r1: -1}}", "train.penalties.r1: expected a non-negative weight, got -1"),
    ("train: {augment: [flip]}", "train.augment: unknown augmentation 'flip'; allowed: color, translation, cutout"),
    ("train: {loss: hinge, label_smoothing: 0.1}", "train.label_smoothing: applies to the minimax and non_saturating"),
    ("train: {label_smoothing: 1.0}", "train.label_smoothing: expected a number in [0, 1)"),
    ("data: {batch_size: 1.5}", "data.batch_size: expected an integer, got 1.5"),
    ("model: {generator: {name: stylegan}}", "model.generator.name: unknown network 'stylegan'; allowed: biggan, dcgan, inpainting, mlp"),
    ("model: {generator: {name: dcgan, filters: 3}}", "unknown key 'model.generator.filters' for network 'dcgan'"),
    ("train: {d_optimizer: {name: adamm}}", "train.d_optimizer.name: unknown optimizer 'adamm'"),
    ("train: {g_optimizer: {name: adam, betta_1: 0.5}}", "unknown key 'train.g_optimizer.betta_1' for optimizer"),
    ("model: {output_range: [1, -1]}", "model.output_range: expected [low, high] with low < high"),
    ("train: {jit_compile: maybe}", "train.jit_compile: expected true, false or auto"),
    ("[1, 2", "invalid YAML at line"),
    ("- a\n- b\n", "the config must be a mapping"),
])
def test_config_errors_name_the_key(tmp_path, text, message):
    path = write(tmp_path, text)
    with pytest.raises(ConfigError) as raised:
        config_module.load(path)
    assert str(raised.value).startswith(path + ": ")
    assert message in str(raised.value)
    assert "\n" not in str(raised.value)


def test_missing_config_file(tmp_path):
    with pytest.raises(ConfigError, match="no such config file"):
        config_module.load(str(tmp_path / "missing.yaml"))


def test_overrides_reach_any_value(tmp_path):
    path = write(tmp_path, "train: {d_steps: 1}")
    config = config_module.load(path, ["train.d_steps=3", "model.generator.base_filters=8", "data.image_size=[32, 32]",
                                       "model.output_range=null"])
    assert config.train.d_steps == 3
    assert config.model.generator == {"name": "dcgan", "base_filters": 8}
    assert config.data.image_size == [32, 32] and config.model.output_range is None
    with pytest.raises(ConfigError, match="unknown key 'train.bogus'"):
        config_module.load(path, ["train.bogus=1"])
    with pytest.raises(ConfigError, match="expected section.key=value"):
        config_module.load(path, ["train.d_steps"])


def test_values_read_as_yaml_1_2_in_files_and_overrides(tmp_path):
    # PyYAML's YAML 1.1 reads 2e-4 as a string, which an optimizer then refuses, and off as false.
    path = write(tmp_path, "train: {d_optimizer: {name: adam, learning_rate: 4e-4}}")
    config = config_module.load(path, ["train.g_optimizer.learning_rate=2e-4", "train.g_optimizer.name=adam"])
    assert config.train.d_optimizer["learning_rate"] == 4e-4 and config.train.g_optimizer["learning_rate"] == 2e-4
    assert config_module.apply_overrides({}, ["a.b=1e", "a.c=12"]) == {"a": {"b": "1e", "c": 12}}
    assert config_module.load(path, ["train.health=off"]).train.health == "off"
    assert config_module.apply_overrides({}, ["a.b=yes", "a.c=true", "a.d=False"]) == {"a": {"b": "yes", "c": True,
                                                                                             "d": False}}


def test_defaults_round_trip_through_yaml(tmp_path):
    config = config_module.from_dict({"train": {"d_steps": 2}})
    config_module.dump(config, str(tmp_path / "out.yaml"))
    assert config_module.load(str(tmp_path / "out.yaml")) == config
