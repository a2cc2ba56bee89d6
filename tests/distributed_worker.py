"""One worker of the multi-worker tests (`tests/test_distribute.py`), run as a separate process.

    python tests/distributed_worker.py fit   WEIGHTS.npz [xla]     # gan.fit on a toy GAN, 2-D points
    python tests/distributed_worker.py train RUN_DIR WEIGHTS.npz CONFIG_OVERRIDES...  # training.train

The cluster comes from TF_CONFIG (unset: one process, the default strategy). Each worker saves the weights it
ends with, so the test can compare workers with each other and with a single device.
"""
import os
import sys

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
sys.path.insert(0, os.path.join(os.path.dirname(__file__), ".."))

import numpy as np  # noqa: E402

from tfgan_impl import distribute  # noqa: E402


def points():
    return np.random.default_rng(0).normal([3.0, -1.0], [0.5, 0.2], size=(512, 2)).astype("float32")


def toy_gan(**compile_kwargs):
    import keras

    from tfgan_impl.gan import GAN

    keras.utils.set_random_seed(3)
    generator = keras.Sequential([keras.Input((2,)), keras.layers.Dense(16, activation="relu"), keras.layers.Dense(2)])
    discriminator = keras.Sequential([keras.Input((2,)), keras.layers.Dense(16, activation="relu"),
                                      keras.layers.Dense(1)])
    gan = GAN(generator, discriminator, latent_dim=2, seed=7, output_range=None)
    gan.compile(d_optimizer=keras.optimizers.SGD(0.05), g_optimizer=keras.optimizers.SGD(0.05), **compile_kwargs)
    return gan


def fit(weights_path, xla=False):
    import tensorflow as tf

    from tfgan_impl.pipelines import with_pipeline_options

    strategy = distribute.make_strategy("multi_worker" if os.environ.get("TF_CONFIG") else "default")
    with strategy.scope():
        gan = toy_gan(**({"jit_compile": True, "steps_per_execution": 3} if xla else {}))
    dataset = with_pipeline_options(tf.data.Dataset.from_tensor_slices(points()).batch(64, drop_remainder=True))
    gan.fit(dataset, epochs=2, verbose=0)
    np.savez(weights_path, *[w.numpy() for w in gan.weights])
    print("replicas", strategy.num_replicas_in_sync, "phase functions", len(gan._phase_functions))


def train(run_dir, weights_path, overrides):
    from tfgan_impl import config as config_module
    from tfgan_impl import training

    strategy = distribute.make_strategy("multi_worker")
    config = config_module.load(os.path.join(os.path.dirname(__file__), "..", "configs", "dcgan_fashion_mnist.yaml"),
                                overrides)
    gan = training.train(config, run_dir, verbose=0, strategy=strategy)
    np.savez(weights_path, *[v.numpy() for v in training.state_variables(gan)],
             generator_updates=gan.g_optimizer.iterations.numpy())


if __name__ == "__main__":
    if sys.argv[1] == "fit":
        fit(sys.argv[2], xla=sys.argv[3:] == ["xla"])
    else:
        train(sys.argv[2], sys.argv[3], sys.argv[4:])
