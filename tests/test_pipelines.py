"""The library's tf.data pipelines run without tf.data's autotuning (its thread stalled the end of fit and predict,
docs/benchmarks.md), keep their sharding policy, and `prediction_batches` feeds `predict` what a direct call sees."""
import keras
import numpy as np
import pytest
import tensorflow as tf

from tfgan_impl import data, paired, pipelines, semi_supervised
from tfgan_impl.families import inpainting, stackgan, superres

RNG = np.random.default_rng(0)
DATA = tf.data.experimental.AutoShardPolicy.DATA


def images(n=32, size=8, channels=1):
    return RNG.uniform(0, 1, (n, size, size, channels)).astype("float32")


def labelled_source():
    return data.Source("memory", 40, images=images(40), labels=np.arange(40) % 4, has_labels=True, num_classes=4)


PIPELINES = {
    "make_dataset": lambda: data.make_dataset(labelled_source(), 8),
    "semi_supervised": lambda: semi_supervised.make_semi_supervised_dataset(labelled_source(), 8, 2)[0],
    "paired": lambda: paired.make_paired_dataset(images(), images(), 8),
    "unpaired": lambda: paired.make_unpaired_dataset(images(), images(), 8),
    "inpainting": lambda: inpainting.make_dataset(images(), 8, (-1.0, 1.0)),
    "superres": lambda: superres.make_dataset(images(size=4), images(size=8), 8, 2, None, (-1.0, 1.0)),
    "stackgan": lambda: stackgan.make_dataset((images() * 255).astype(np.uint8), RNG.normal(size=(64, 6)).astype(
        "float32"), np.arange(64) % 32, 8, (-1.0, 1.0)),
}


@pytest.mark.parametrize("name", sorted(PIPELINES))
def test_library_pipelines_run_without_autotuning(name):
    dataset = PIPELINES[name]()
    assert dataset.options().autotune.enabled is False
    next(iter(dataset))  # the options do not stop the pipeline from running


def test_in_memory_pipelines_keep_data_sharding_when_options_are_added_again():
    dataset = pipelines.with_pipeline_options(data.make_dataset(labelled_source(), 8), shard_by_data=False)
    assert dataset.options().experimental_distribute.auto_shard_policy == DATA
    assert dataset.options().autotune.enabled is False
    plain = pipelines.with_pipeline_options(tf.data.Dataset.range(4), shard_by_data=False)
    assert plain.options().experimental_distribute.auto_shard_policy != DATA


def test_prediction_batches_give_predict_the_direct_call_results():
    z = RNG.normal(size=(50, 3)).astype("float32")
    labels = (np.arange(50) % 5).astype("int32")
    single = keras.Sequential([keras.Input((3,)), keras.layers.Dense(2)])
    batches = pipelines.prediction_batches(z, 16)
    assert batches.options().autotune.enabled is False
    assert [int(x[0].shape[0]) for x in batches] == [16, 16, 16, 2]
    np.testing.assert_allclose(single.predict(batches, verbose=0), single(z).numpy(), rtol=1e-5, atol=1e-6)
    z_in, label_in = keras.Input((3,)), keras.Input((), dtype="int32")
    embedded = keras.layers.Flatten()(keras.layers.Embedding(5, 2)(label_in))
    two = keras.Model([z_in, label_in], keras.layers.Dense(2)(keras.layers.Concatenate()([z_in, embedded])))
    np.testing.assert_allclose(two.predict(pipelines.prediction_batches([z, labels], 16), verbose=0),
                               two([z, labels]).numpy(), rtol=1e-5, atol=1e-6)


def test_autotuning_block_turns_it_on_for_pipelines_built_inside_and_only_there():
    with pipelines.autotuning(True):
        inside = data.make_dataset(labelled_source(), 8)
    assert inside.options().autotune.enabled is True
    assert data.make_dataset(labelled_source(), 8).options().autotune.enabled is False


@pytest.mark.parametrize("autotune", [False, True])
def test_training_feeds_fit_under_the_configs_autotuning(tmp_path, monkeypatch, autotune):
    from tfgan_impl import config as config_module
    from tfgan_impl import training
    from tfgan_impl.gan import GAN

    seen, original_fit = [], GAN.fit

    def recording_fit(self, x=None, *args, **kwargs):
        seen.append(x.options().autotune.enabled)
        return original_fit(self, x, *args, **kwargs)

    monkeypatch.setattr(GAN, "fit", recording_fit)
    path = tmp_path / "images.npz"
    np.savez(path, x=RNG.integers(0, 256, (32, 8, 8, 1), dtype=np.uint8))
    mapping = {"data": {"source": f"npz:{path}", "batch_size": 8, "autotune": autotune},
               "model": {"generator": {"name": "dcgan", "base_filters": 4},
                         "discriminator": {"name": "dcgan", "base_filters": 4}},
               "train": {"epochs": 1, "steps_per_epoch": 2, "num_samples": 4}, "evaluate": {"metrics": []}}
    training.train(config_module.from_dict(mapping), str(tmp_path / "run"), verbose=0)
    assert seen == [autotune]
