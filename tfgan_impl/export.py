"""Exporting a trained generator for TF Serving: a versioned SavedModel with `serving_default` and `sample`.

Layout: `EXPORT_DIR/<version>/saved_model.pb` and `variables/`, TF Serving's. A version is written under a
temporary name and renamed into place, and an existing version is never overwritten.
"""
import json
import os
import shutil
import tempfile

import tensorflow as tf

from tfgan_impl.errors import UserError

MAX_SAMPLES_PER_REQUEST = 4096  # bounds the memory one `sample` request may ask for


class GeneratorModule(tf.Module):
    """The exported object: the generator behind signatures that take noise or a seed and give images in [0, 1].

    Args:
        gan: a trained `tfgan_impl.GAN`.
        metadata: a JSON-serializable dict embedded as the `metadata` signature's `json` output.
    """

    def __init__(self, gan, metadata):
        super().__init__()
        self.generator = gan.sampling_generator  # the moving average when the GAN keeps one
        self.latent_dim = gan.latent_dim
        self.output_range = gan.output_range
        self._metadata = json.dumps(metadata, sort_keys=True)

    def _to_outputs(self, outputs):
        outputs = tf.cast(outputs, tf.float32)
        if self.output_range is not None:
            low, high = self.output_range
            outputs = tf.clip_by_value((outputs - low) / (high - low), 0.0, 1.0)
        result = {"images": outputs}
        if outputs.shape.rank == 4:
            result["images_uint8"] = tf.cast(tf.round(outputs * 255.0), tf.uint8)
        return result

    @tf.function
    def generate_from_noise(self, z):
        # Control dependencies make the checks run before the generator, whose own errors would name no input.
        with tf.control_dependencies([tf.debugging.assert_equal(
                tf.shape(z)[1], self.latent_dim, message=f"input z must have shape [batch, {self.latent_dim}]")]):
            z = tf.debugging.assert_all_finite(tf.identity(z), message="input z must be finite")
        return self._to_outputs(self.generator(z, training=False))

    def _noise_from_seed(self, num, seed):
        """`num` latent vectors keyed by `seed`, after checking `num` is within the request limit."""
        with tf.control_dependencies([
                tf.debugging.assert_positive(num, message="input num must be at least 1"),
                tf.debugging.assert_less_equal(num, MAX_SAMPLES_PER_REQUEST,
                                               message=f"input num must be at most {MAX_SAMPLES_PER_REQUEST}")]):
            num = tf.identity(num)
        return tf.random.stateless_normal(tf.stack([num, self.latent_dim]),
                                          seed=tf.stack([seed, tf.constant(0, tf.int64)]))

    @tf.function
    def generate_from_seed(self, num, seed):
        z = self._noise_from_seed(num, seed)
        return self._to_outputs(self.generator(z, training=False))

    @tf.function
    def metadata(self):
        return {"json": tf.constant(self._metadata)}

    def signatures(self):
        return {
            "serving_default": self.generate_from_noise.get_concrete_function(
                tf.TensorSpec([None, None], tf.float32, name="z")),
            "sample": self.generate_from_seed.get_concrete_function(
                tf.TensorSpec([], tf.int32, name="num"), tf.TensorSpec([], tf.int64, name="seed")),
            "metadata": self.metadata.get_concrete_function(),
        }


class ConditionalGeneratorModule(GeneratorModule):
    """The exported object of a class-conditional GAN: its signatures also take class ids (`labels`, `label`)."""

    def __init__(self, gan, metadata):
        super().__init__(gan, metadata)
        self.num_classes = gan.num_classes

    def _checked_labels(self, labels):
        with tf.control_dependencies([
                tf.debugging.assert_non_negative(labels, message="input labels must be class ids of at least 0"),
                tf.debugging.assert_less(labels, self.num_classes,
                                         message=f"input labels must be class ids below {self.num_classes}")]):
            return tf.identity(labels)

    @tf.function
    def generate_from_noise_and_labels(self, z, labels):
        with tf.control_dependencies([
                tf.debugging.assert_equal(tf.shape(z)[1], self.latent_dim,
                                          message=f"input z must have shape [batch, {self.latent_dim}]"),
                tf.debugging.assert_equal(tf.shape(labels)[0], tf.shape(z)[0],
                                          message="inputs z and labels must have the same batch size")]):
            z = tf.debugging.assert_all_finite(tf.identity(z), message="input z must be finite")
        return self._to_outputs(self.generator([z, self._checked_labels(labels)], training=False))

    @tf.function
    def generate_class_from_seed(self, num, seed, label):
        z = self._noise_from_seed(num, seed)
        labels = self._checked_labels(tf.fill(tf.shape(z)[:1], label))
        return self._to_outputs(self.generator([z, labels], training=False))

    def signatures(self):
        return {
            "serving_default": self.generate_from_noise_and_labels.get_concrete_function(
                tf.TensorSpec([None, None], tf.float32, name="z"), tf.TensorSpec([None], tf.int32, name="labels")),
            "sample": self.generate_class_from_seed.get_concrete_function(
                tf.TensorSpec([], tf.int32, name="num"), tf.TensorSpec([], tf.int64, name="seed"),
                tf.TensorSpec([], tf.int32, name="label")),
            "metadata": self.metadata.get_concrete_function(),
        }


def next_version(export_dir):
    """One more than the largest numeric version directory in `export_dir` (1 when there is none)."""
    if not os.path.isdir(export_dir):
        return 1
    versions = [int(name) for name in os.listdir(export_dir) if name.isdigit()]
    return max(versions, default=0) + 1


def export_saved_model(gan, export_dir, version=None, metadata=None):
    """Writes the generator as `export_dir/<version>/`, a SavedModel TF Serving loads as it is.

    Signatures: `serving_default` (`z` float32 `[batch, latent_dim]` -> `images` float32 in [0, 1], plus
    `images_uint8` for images), `sample` (`num` int32, `seed` int64 -> the same outputs, identical for the same
    seed) and `metadata` (-> `json`, the embedded description). Class-conditional GANs also take `labels` int32
    `[batch]` in `serving_default` and `label` int32 in `sample`. The generator is the moving average when the
    GAN keeps one. The description is also written as `assets.extra/tfgan_impl.json`.

    Args:
        gan: a trained `GAN`.
        export_dir: the model's base directory.
        version: the version number; by default one more than the largest present.
        metadata: extra JSON-serializable facts to embed (e.g. the config).

    Returns:
        The path of the written version.

    Raises:
        UserError: the version already exists.
    """
    version = next_version(export_dir) if version is None else int(version)
    if version < 1:
        raise UserError(f"--version: expected a positive integer, got {version}")
    final = os.path.join(export_dir, str(version))
    if os.path.exists(final):
        raise UserError(f"{final}: version {version} exists and is never overwritten; choose another --version")
    sample_shape = list(gan.generator.output_shape[1:])
    description = {"latent_dim": gan.latent_dim, "sample_shape": sample_shape,
                   "output_range": list(gan.output_range) if gan.output_range else None,
                   "num_classes": gan.num_classes, **(metadata or {})}
    module = (GeneratorModule if gan.num_classes is None else ConditionalGeneratorModule)(gan, description)
    os.makedirs(export_dir, exist_ok=True)
    temporary = tempfile.mkdtemp(prefix=f".tmp-{version}-", dir=export_dir)
    try:
        tf.saved_model.save(module, temporary, signatures=module.signatures())
        os.makedirs(os.path.join(temporary, "assets.extra"), exist_ok=True)
        with open(os.path.join(temporary, "assets.extra", "tfgan_impl.json"), "w") as stream:
            json.dump(description, stream, indent=1, sort_keys=True)
        os.rename(temporary, final)
    finally:
        if os.path.exists(temporary):
            shutil.rmtree(temporary)
    return final
