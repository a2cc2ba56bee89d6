"""Files written by tfgan_impl 0.1.0, before families and phases, still load and give the same outputs:
`.keras` files of every model (compiled, after a step of training) and an ACGAN run directory."""
import json
import os
import warnings

import keras
import numpy as np
import pytest

from tfgan_impl import conditional, gan, rundir, semi_supervised, translation  # noqa: F401 (registers the classes)
from tfgan_impl.samplers import Translator

FIXTURES = os.path.join(os.path.dirname(__file__), "data", "v0.1.0")
with open(os.path.join(FIXTURES, "expected.json")) as _stream:
    EXPECTED = json.load(_stream)


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_keras_files_of_0_1_0_load_with_their_weights_and_training_options(name):
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # a weight that failed to load is only a warning in Keras
        model = keras.saving.load_model(os.path.join(FIXTURES, f"{name}.keras"))
    assert model.compiled and int(model.d_optimizer.iterations.numpy()) == 2  # the optimizers' states too
    if isinstance(model, Translator):
        rng = np.random.default_rng(0)
        rng.normal(size=(16, 2))  # the points the fixtures' other models trained on
        images = (rng.uniform(-1, 1, size=(8, 8, 8, 1)).astype("float32")[:2] + 1) / 2
        outputs = model.translate(images)
    else:
        z = np.linspace(-1, 1, 8, dtype="float32").reshape(2, 4)
        outputs = model.generate_from(z, labels=[0, 2] if model.num_classes else None)
    np.testing.assert_allclose(outputs, np.asarray(EXPECTED[name]), atol=1e-6)
    options = {"gan": {"loss": "wasserstein", "d_steps": 2, "penalties": {"gradient_penalty": 10.0}},
               "acgan": {"class_loss_weight": 0.5}, "sgan": {"supervised_weight": 2.0}}.get(name, {})
    for key, value in options.items():
        assert model.training_options[key] == value


def test_run_directory_of_0_1_0_loads_and_samples_as_it_did(tmp_path):
    model = rundir.load_run(os.path.join(FIXTURES, "acgan_run"))
    assert model.class_loss_weight == 0.5
    samples = model.generate_from(model.latents(4, seed=0), labels=np.repeat([0, 3], 2))
    np.testing.assert_allclose(samples, np.load(os.path.join(FIXTURES, "acgan_run_samples.npy")), atol=1e-6)
