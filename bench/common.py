"""What the benchmarks share: the default job's DCGAN, a stream of random image batches, the machine's facts."""
import os
import platform

import keras
import numpy as np
import tensorflow as tf

from tfgan_impl import GAN, networks, pipelines


def default_dcgan(base_filters=32, latent_dim=100, **compile_options):
    """The default job's DCGAN (28x28x1), seeded, compiled with the paper's Adam settings."""
    keras.utils.set_random_seed(0)
    gan = GAN(networks.dcgan_generator(latent_dim, [28, 28, 1], base_filters),
              networks.dcgan_discriminator([28, 28, 1], base_filters), latent_dim=latent_dim, seed=0)
    gan.compile(d_optimizer=keras.optimizers.Adam(2e-4, 0.5), g_optimizer=keras.optimizers.Adam(2e-4, 0.5),
                **compile_options)
    return gan


def random_image_batches(batch_size=128, image_size=(28, 28), library_options=True):
    """An endless dataset of batches of `image_size` x 1 images in [-1, 1] (8 distinct batches, repeated), with
    the options of the library's pipelines (tf.data autotuning off) unless `library_options` is False."""
    images = np.random.default_rng(0).uniform(-1, 1, (batch_size * 8, *image_size, 1)).astype("float32")
    dataset = tf.data.Dataset.from_tensor_slices(images).repeat().batch(batch_size, drop_remainder=True)
    return pipelines.with_pipeline_options(dataset) if library_options else dataset


def machine():
    """The facts every result records."""
    return {"machine": f"{platform.processor() or platform.machine()}, {os.cpu_count()} cores",
            "tensorflow": tf.__version__, "keras": keras.__version__}
