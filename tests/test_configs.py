"""Every shipped config trains: a couple of steps of each, with its own networks shrunk, on its own data source."""
import glob
import math
import os

import numpy as np
import pytest

from tests.conftest import FASHION_MNIST_DIR
from tfgan_impl import config as config_module
from tfgan_impl import families, rundir, sampling, training
from tfgan_impl.samplers import TextSampler, Translator

CONFIGS = sorted(glob.glob(os.path.join(os.path.dirname(__file__), "..", "configs", "*.yaml")))


def shrunk(path):
    """The config with tiny networks, 2 steps of 1 epoch, on 256 examples of its source (MNIST and TFDS sources
    -> Fashion-MNIST, the offline copy)."""
    mapping = config_module.load(path).to_dict()
    for kind in ("generator", "discriminator"):
        network = mapping["model"][kind]
        if network["name"] in ("dcgan", "unet", "patch"):
            network["base_filters"] = 4
        elif network["name"] == "resnet":
            network["filters"] = 4
        elif "hidden_units" in network:
            network["hidden_units"] = [8]
        elif network["name"] == "progan":
            network.update(channel_base=32, channel_max=8)
        elif network["name"] == "biggan":
            network["channels"] = 8  # self-attention needs 8 channels or more wherever it sits
            if max(mapping["data"].get("image_size") or [0]) > 32:  # the 128x128 networks: their own test builds them
                network["attention"] = [16]
        elif network["name"] in ("rrdb", "srresnet", "srgan"):
            network.update(filters=4, num_blocks=1)
        elif network["name"] in ("inpainting", "global_local"):
            network.update(filters=4, **({"dilations": [2]} if kind == "generator" else {}))
        elif network["name"] == "stackgan":
            network.update(filters=4, **({"stage2_filters": 4, "num_residual": 1} if kind == "generator" else {}))
        elif network["name"] == "stylegan2":
            network.update(channel_base=32, channel_max=8, **({"w_dim": 8, "mapping_layers": 1}
                                                              if kind == "generator" else {}))
    data = mapping["data"]
    if mapping["model"]["generator"]["name"] == "biggan" and max(data.get("image_size") or [0]) > 32:
        data["image_size"] = [32, 32]
    online = data["source"] == "mnist" or data["source"].startswith("tfds:")
    data["source"] = "fashion_mnist" if online else data["source"]
    data["split"] = "train[:256]"
    data["batch_size"] = math.lcm(8, mapping["model"].get("packing", 1))
    if "labels_per_class" in data:
        data["labels_per_class"] = 2
    mapping["train"].update(epochs=1, steps_per_epoch=2, num_samples=8, sample_every=1)  # jit_compile as shipped
    mapping["evaluate"]["metrics"] = []
    return config_module.from_dict(mapping)


def test_there_is_a_config_per_variant():
    names = {os.path.basename(path) for path in CONFIGS}
    for expected in ("dcgan_fashion_mnist.yaml", "cgan_fashion_mnist.yaml", "acgan_fashion_mnist.yaml",
                     "lsgan_fashion_mnist.yaml", "wgan_fashion_mnist.yaml", "wgan_gp_fashion_mnist.yaml",
                     "sngan_fashion_mnist.yaml", "sgan_fashion_mnist.yaml", "gan_ring8.yaml", "gan_grid25.yaml",
                     "pix2pix_edges_fashion_mnist.yaml"):
        assert expected in names


@pytest.mark.slow
@pytest.mark.parametrize("path", CONFIGS, ids=os.path.basename)
def test_config_trains_and_samples(path, tmp_path):
    config = shrunk(path)
    if config.data.source.endswith("fashion_mnist") and not os.path.isdir(FASHION_MNIST_DIR):
        pytest.skip("needs Debian's dataset-fashion-mnist")
    run_dir = str(tmp_path / "run")
    gan = training.train(config, run_dir, verbose=0)
    assert os.path.exists(os.path.join(run_dir, "samples", "epoch_001.png"))
    reloaded = rundir.load_run(run_dir)
    if families.get(config.model.type).sampler is TextSampler:
        captions = ["a dark bag", "a light ankle boot"]
        np.testing.assert_allclose(reloaded.generate_from_text(captions, seed=1), gan.generate_from_text(captions, seed=1),
                                   atol=1e-5)
        return
    if families.get(config.model.type).sampler is Translator:
        shape = [8 if size is None else size for size in reloaded.translation_input_shapes()[0][1:]]  # None: any
        images = np.random.default_rng(0).random((2, *shape)).astype(np.float32)
        np.testing.assert_allclose(reloaded.translate(images), gan.translate(images), atol=1e-5)
        return
    labels = [0, 1] if config.model.type in ("cgan", "acgan", "biggan") else None
    out = str(tmp_path / "samples.npy")
    count = sampling.write_samples(reloaded, 3, 0, out, labels=labels)
    samples = np.load(out)
    assert count == len(samples) == (6 if labels else 3) and np.all(np.isfinite(samples))
    np.testing.assert_allclose(reloaded.generate(4, seed=1), gan.generate(4, seed=1), atol=1e-5)
