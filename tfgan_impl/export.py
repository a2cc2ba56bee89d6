"""Exporting a trained generator: a SavedModel for TF Serving, TFLite for phones, ONNX for other runtimes.

Layout: `EXPORT_DIR/<version>/`: `saved_model.pb` and `variables/` (TF Serving's layout), or `generator.tflite`
and `generator_float16.tflite`, or `generator.onnx`, each with `tfgan_impl.json` (the description). A version is
written under a temporary name and renamed into place, and an existing version is never overwritten.
"""
import contextlib
import io
import json
import os
import shutil
import tempfile

import keras
import tensorflow as tf

from tfgan_impl import noise, ranges
from tfgan_impl.errors import OutputError, UserError
from tfgan_impl.samplers import Translator

MAX_SAMPLES_PER_REQUEST = 4096  # bounds the memory one `sample` request may ask for


def _checked_shape(tensor, name, shape):
    """`tensor` after checks that its rank and non-batch sizes are `shape`'s (`None`: any size), with errors
    naming the input. A restored signature does not check shapes itself: a scalar would reach a layer."""
    message = "input {} must have shape [{}]".format(name, ", ".join("batch" if d is None else str(d) for d in shape))
    # The rank is read from the runtime shape vector, padded with -1: `tf.rank` is folded to the signature's
    # declared rank, which a restored signature does not enforce, so a rank-3 input would pass it.
    rank = len(shape)
    padded = tf.concat([tf.shape(tensor), tf.fill([rank + 1], -1)], axis=0)
    checks = [tf.debugging.assert_greater_equal(padded[rank - 1], 0, message=message),  # not fewer dimensions
              tf.debugging.assert_equal(padded[rank], -1, message=message)]  # not more
    sizes = [(index, size) for index, size in enumerate(shape) if size is not None]
    if sizes:
        actual = tf.gather(padded, [index for index, _ in sizes])
        checks.append(tf.debugging.assert_equal(actual, [size for _, size in sizes], message=message))
    with tf.control_dependencies(checks):
        return tf.identity(tensor)


class _ExportModule(tf.Module):
    """What every export shares: outputs mapped to [0, 1] (plus uint8 for images) and the embedded description."""

    def __init__(self, generator, output_range, metadata):
        super().__init__()
        self.generator = generator
        self.output_range = output_range
        self._metadata = json.dumps(metadata, sort_keys=True)

    def _to_outputs(self, outputs):
        outputs = ranges.to_unit_interval(tf.cast(outputs, tf.float32), self.output_range)
        result = {"images": outputs}
        if outputs.shape.rank == 4:
            result["images_uint8"] = tf.cast(tf.round(outputs * 255.0), tf.uint8)
        return result

    @tf.function
    def metadata(self):
        return {"json": tf.constant(self._metadata)}


class GeneratorModule(_ExportModule):
    """The exported object: the generator behind signatures that take noise or a seed and give images in [0, 1].

    Args:
        gan: a trained `tfgan_impl.GAN`.
        metadata: a JSON-serializable dict embedded as the `metadata` signature's `json` output.
    """

    def __init__(self, gan, metadata):
        # The moving average when the GAN keeps one.
        super().__init__(gan.sampling_generator, gan.output_range, metadata)
        self.latent_dim = gan.latent_dim
        self.latent_distribution = gan.latent_distribution
        # A model's own signatures (`serving_functions`, e.g. StyleGAN2's truncation): images go through the
        # same output mapping, any other output (a dict) is served as it is.
        self.model_functions, self._model_specs = {}, {}
        for name, (function, specs) in getattr(gan, "serving_functions", dict)().items():
            self.model_functions[name] = self._served(function)
            self._model_specs[name] = list(specs)

    def _served(self, function):
        def serve(*inputs):
            outputs = function(*inputs)
            return outputs if isinstance(outputs, dict) else self._to_outputs(outputs)

        return tf.function(serve)

    @tf.function
    def generate_from_noise(self, z):
        # Checks run before the generator (control dependencies), whose own errors would name no input.
        z = _checked_shape(z, "z", [None, self.latent_dim])
        z = tf.debugging.assert_all_finite(z, message="input z must be finite")
        return self._to_outputs(self.generator(z, training=False))

    def _noise_from_seed(self, num, seed):
        """`num` latent vectors keyed by `seed`, after checking `num` is within the request limit."""
        with tf.control_dependencies([
                tf.debugging.assert_positive(num, message="input num must be at least 1"),
                tf.debugging.assert_less_equal(num, MAX_SAMPLES_PER_REQUEST,
                                               message=f"input num must be at most {MAX_SAMPLES_PER_REQUEST}")]):
            num = tf.identity(num)
        return noise.latent_vectors(num, self.latent_dim, seed, distribution=self.latent_distribution)

    @tf.function
    def generate_from_seed(self, num, seed):
        z = self._noise_from_seed(num, seed)
        return self._to_outputs(self.generator(z, training=False))

    def sampling_signatures(self):
        """`serving_default` and `sample`; the other signatures are the same for every noise model."""
        return {"serving_default": self.generate_from_noise.get_concrete_function(
                    tf.TensorSpec([None, None], tf.float32, name="z")),
                "sample": self.generate_from_seed.get_concrete_function(
                    tf.TensorSpec([], tf.int32, name="num"), tf.TensorSpec([], tf.int64, name="seed"))}

    def signatures(self):
        return {**self.sampling_signatures(), "metadata": self.metadata.get_concrete_function(),
                **{name: function.get_concrete_function(*self._model_specs[name])
                   for name, function in self.model_functions.items()}}


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
        z, labels = _checked_shape(z, "z", [None, self.latent_dim]), _checked_shape(labels, "labels", [None])
        with tf.control_dependencies([
                tf.debugging.assert_equal(tf.shape(labels)[0], tf.shape(z)[0],
                                          message="inputs z and labels must have the same batch size")]):
            z = tf.debugging.assert_all_finite(tf.identity(z), message="input z must be finite")
        return self._to_outputs(self.generator([z, self._checked_labels(labels)], training=False))

    @tf.function
    def generate_class_from_seed(self, num, seed, label):
        z = self._noise_from_seed(num, seed)
        labels = self._checked_labels(tf.fill(tf.shape(z)[:1], label))
        return self._to_outputs(self.generator([z, labels], training=False))

    def sampling_signatures(self):
        return {"serving_default": self.generate_from_noise_and_labels.get_concrete_function(
                    tf.TensorSpec([None, None], tf.float32, name="z"), tf.TensorSpec([None], tf.int32, name="labels")),
                "sample": self.generate_class_from_seed.get_concrete_function(
                    tf.TensorSpec([], tf.int32, name="num"), tf.TensorSpec([], tf.int64, name="seed"),
                    tf.TensorSpec([], tf.int32, name="label"))}


class TranslatorModule(_ExportModule):
    """The exported object of an image-to-image translator: `serving_default` takes `images` in [0, 1]
    `[batch, H, W, C]` and gives the translated `images` in [0, 1] (and `images_uint8`); a CycleGAN's adds
    `inverse`, the same from domain B to A."""

    def __init__(self, model, metadata, generator=None):
        super().__init__(generator or model.generator, model.output_range, metadata)
        self.input_shape = [None if d is None else int(d) for d in self.generator.input_shape[1:]]
        inverse = generator is None and model.has_inverse  # its B -> A generator serves the `inverse` signature
        self.inverse = (TranslatorModule(model, metadata, generator=model.translation_generator(inverse=True))
                        if inverse else None)

    @tf.function
    def translate(self, images):
        images = _checked_shape(images, "images", [None, *self.input_shape])
        with tf.control_dependencies([
                tf.debugging.assert_greater_equal(images, 0.0, message="input images must lie in [0, 1]"),
                tf.debugging.assert_less_equal(images, 1.0, message="input images must lie in [0, 1]")]):
            images = tf.identity(images)
        return self._to_outputs(self.generator(ranges.from_unit_interval(images, self.output_range), training=False))

    def signatures(self):
        signatures = {
            "serving_default": self.translate.get_concrete_function(
                tf.TensorSpec([None, None, None, None], tf.float32, name="images")),
            "metadata": self.metadata.get_concrete_function(),
        }
        if self.inverse is not None:
            signatures["inverse"] = self.inverse.translate.get_concrete_function(
                tf.TensorSpec([None, None, None, None], tf.float32, name="images"))
        return signatures


def _module(model, description):
    if isinstance(model, Translator):
        return TranslatorModule(model, description)
    return (GeneratorModule if model.num_classes is None else ConditionalGeneratorModule)(model, description)


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
    description = describe(gan, metadata)
    module = _module(gan, description)

    def write(directory):
        tf.saved_model.save(module, directory, signatures=module.signatures())
        os.makedirs(os.path.join(directory, "assets.extra"), exist_ok=True)
        _write_description(os.path.join(directory, "assets.extra", "tfgan_impl.json"), description)

    return write_version(export_dir, version, write)


def describe(model, metadata=None):
    """The facts a client needs, embedded in every export: latent size, sample shape, output range, classes;
    for translators the input shape instead of the latent size."""
    facts = {"sample_shape": list(model.generator.output_shape[1:]),
             "output_range": list(model.output_range) if model.output_range else None}
    if isinstance(model, Translator):
        facts.update(task="translation", input_shape=list(model.generator.input_shape[1:]))
    else:
        facts.update(latent_dim=model.latent_dim, num_classes=model.num_classes)
    return {**facts, **(metadata or {})}


def _write_description(path, description):
    with open(path, "w") as stream:
        json.dump(description, stream, indent=1, sort_keys=True)


def write_version(export_dir, version, write):
    """Runs `write(directory)` on a temporary directory and renames it to `export_dir/<version>`.

    Raises:
        UserError: the version is not positive or already exists.
    """
    version = next_version(export_dir) if version is None else int(version)
    if version < 1:
        raise UserError(f"--version: expected a positive integer, got {version}")
    final = os.path.join(export_dir, str(version))
    if os.path.exists(final):
        raise UserError(f"{final}: version {version} exists and is never overwritten; choose another --version")
    temporary = None
    try:
        os.makedirs(export_dir, exist_ok=True)
        temporary = tempfile.mkdtemp(prefix=f".tmp-{version}-", dir=export_dir)
        write(temporary)
        os.rename(temporary, final)
    except (OSError, tf.errors.OpError) as error:  # a full disk, a read-only directory
        reason = getattr(error, "strerror", None) or getattr(error, "message", None) or str(error)
        raise OutputError(f"{final}: cannot write the export ({reason.strip().splitlines()[0]}); no version "
                          "was added") from None
    finally:
        if temporary is not None and os.path.exists(temporary):
            shutil.rmtree(temporary)
    return final


def portable_generator(model):
    """The sampling generator (or a translator's generator) as one Keras model of float32 inputs and output
    in [0, 1], whatever the training precision: what the TFLite and ONNX converters take. Inputs: `z` (and
    `labels` for conditional GANs), or a translator's `images` in [0, 1]; output: `images`, a translator's
    `translated`."""
    translator = isinstance(model, Translator)
    if translator:
        inputs = [keras.Input(tuple(model.generator.input_shape[1:]), name="images", dtype="float32")]
        scale, offset = ranges.from_unit_affine(model.output_range)
        scaled = keras.layers.Rescaling(scale, offset=offset, dtype="float32")(inputs[0])
        outputs = model.generator(scaled, training=False)
    else:
        z = keras.Input((model.latent_dim,), name="z", dtype="float32")
        inputs = [z] if model.num_classes is None else [z, keras.Input((), name="labels", dtype="int32")]
        generator = model.sampling_generator
        # A network whose run-time state picks a branch (ProGAN's level of detail) offers a copy of one branch.
        generator = generator.portable() if hasattr(generator, "portable") else generator
        outputs = generator(inputs if len(inputs) > 1 else z, training=False)
    outputs = keras.layers.Activation("linear", dtype="float32", name="to_float32")(outputs)
    if model.output_range is not None:
        scale, offset = ranges.to_unit_affine(model.output_range)
        outputs = keras.layers.Rescaling(scale, offset=offset, dtype="float32")(outputs)
        outputs = keras.layers.ReLU(max_value=1.0, dtype="float32")(outputs)  # clips to [0, 1]
    outputs = keras.layers.Identity(name="translated" if translator else "images", dtype="float32")(outputs)
    return keras.Model(inputs, outputs, name="portable_generator")


def _input_specs(model):
    if isinstance(model, Translator):
        return [tf.TensorSpec([None, *model.generator.input_shape[1:]], tf.float32, name="images")]
    specs = [tf.TensorSpec([None, model.latent_dim], tf.float32, name="z")]
    if model.num_classes is not None:
        specs.append(tf.TensorSpec([None], tf.int32, name="labels"))
    return specs


def export_tflite(gan, export_dir, version=None, metadata=None):
    """Writes `export_dir/<version>/generator.tflite` (float32) and `generator_float16.tflite` (float16 weights,
    half the size), with the `serving_default` signature: `z` float32 `[batch, latent_dim]` (and `labels` int32
    `[batch]`) -> `images` in [0, 1], or for translators `images` in [0, 1] -> `translated`; and
    `tfgan_impl.json`.

    Returns:
        The path of the written version.
    """
    model = portable_generator(gan)
    description = describe(gan, metadata)

    def convert(float16):
        converter = tf.lite.TFLiteConverter.from_keras_model(model)
        if float16:
            converter.optimizations = [tf.lite.Optimize.DEFAULT]
            converter.target_spec.supported_types = [tf.float16]
        with contextlib.redirect_stdout(io.StringIO()):  # Keras prints the temporary SavedModel's endpoints
            return converter.convert()

    def write(directory):
        for name, float16 in (("generator.tflite", False), ("generator_float16.tflite", True)):
            with open(os.path.join(directory, name), "wb") as stream:
                stream.write(convert(float16))
        _write_description(os.path.join(directory, "tfgan_impl.json"), {**description, "format": "tflite"})

    return write_version(export_dir, version, write)


def export_onnx(gan, export_dir, version=None, metadata=None, opset=17):
    """Writes `export_dir/<version>/generator.onnx` (tf2onnx): inputs `z` float32 `[batch, latent_dim]` (and
    `labels` int32 `[batch]`), output `images` in [0, 1] (translators: `images` in [0, 1] -> `translated`); and
    `tfgan_impl.json`.

    Returns:
        The path of the written version.

    Raises:
        UserError: tf2onnx is not installed.
    """
    try:
        import onnx
        import tf2onnx
    except ImportError:
        raise UserError("--format onnx needs tf2onnx: pip install 'tfgan_impl[onnx]'") from None
    model = portable_generator(gan)
    specs = _input_specs(gan)
    function = tf.function(lambda *inputs: model(list(inputs) if len(inputs) > 1 else inputs[0], training=False))
    description = describe(gan, metadata)

    def write(directory):
        with contextlib.redirect_stdout(io.StringIO()):
            proto, _ = tf2onnx.convert.from_function(function, input_signature=specs, opset=opset)
        try:  # tf2onnx logs the ops it cannot convert and writes them anyway, into a model no runtime loads
            onnx.checker.check_model(proto)
        except onnx.checker.ValidationError as error:
            raise UserError(f"--format onnx: the generator does not convert to ONNX opset {opset} "
                            f"({str(error).splitlines()[0]})") from None
        _rename_output(proto, model.output_names[0])
        with open(os.path.join(directory, "generator.onnx"), "wb") as stream:
            stream.write(proto.SerializeToString())
        _write_description(os.path.join(directory, "tfgan_impl.json"), {**description, "format": "onnx"})

    return write_version(export_dir, version, write)


def _rename_output(proto, name):
    # tf2onnx names a function's output after its TensorFlow tensor ("Identity:0"); clients want `images`.
    (output,) = proto.graph.output
    old = output.name
    for node in proto.graph.node:
        node.input[:] = [name if value == old else value for value in node.input]
        node.output[:] = [name if value == old else value for value in node.output]
    output.name = name


EXPORTERS = {"saved_model": export_saved_model, "tflite": export_tflite, "onnx": export_onnx}
