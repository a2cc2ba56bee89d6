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

from tfgan_impl import ranges, serving
from tfgan_impl.errors import OutputError, UserError
from tfgan_impl.samplers import TextSampler, Translator


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
    module = serving.module(gan, description)

    def write(directory):
        tf.saved_model.save(module, directory, signatures=module.signatures())
        os.makedirs(os.path.join(directory, "assets.extra"), exist_ok=True)
        _write_description(os.path.join(directory, "assets.extra", "tfgan_impl.json"), description)

    return write_version(export_dir, version, write)


def describe(model, metadata=None):
    """The facts a client needs, embedded in every export: latent size, sample shape, output range, classes;
    for translators the input shape instead of the latent size."""
    generator = model.sampling_generator if isinstance(model, TextSampler) else model.generator
    facts = {"sample_shape": list(generator.output_shape[1:]),
             "output_range": list(model.output_range) if model.output_range else None}
    if isinstance(model, TextSampler):
        facts.update(task="text_to_image", embedding_dim=model.embedding_dim, has_text_encoder=model.text_encoder
                     is not None, noise_shapes={name: list(shape) for name, shape in model.noise_shapes.items()})
    elif isinstance(model, Translator):
        shapes = [list(shape[1:]) for shape in model.translation_input_shapes()]
        facts.update(task="translation", input_shape=shapes[0])
        if len(shapes) > 1:
            facts["input_shapes"] = dict(zip(model.TRANSLATION_INPUTS, shapes))
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
    if isinstance(model, TextSampler):  # the text encoder's string ops stay in the SavedModel; these take embeddings
        inputs = [keras.Input((model.embedding_dim,), name="embeddings", dtype="float32"),
                  *(keras.Input(tuple(shape), name=name, dtype="float32") for name, shape in model.noise_shapes.items())]
        outputs = model.sampling_generator(inputs, training=False)
    elif translator:
        generator = model.translation_generator()
        inputs = [keras.Input(tuple(shape[1:]), name=name, dtype="float32")
                  for name, shape in zip(model.TRANSLATION_INPUTS, model.translation_input_shapes())]
        scale, offset = ranges.from_unit_affine(model.output_range)
        scaled = [keras.layers.Rescaling(scale, offset=offset, dtype="float32")(inputs[0]), *inputs[1:]]
        outputs = generator(scaled if len(scaled) > 1 else scaled[0], training=False)
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
    if isinstance(model, TextSampler):
        return [tf.TensorSpec([None, model.embedding_dim], tf.float32, name="embeddings"),
                *(tf.TensorSpec([None, *shape], tf.float32, name=name) for name, shape in model.noise_shapes.items())]
    if isinstance(model, Translator):
        return [tf.TensorSpec([None, *shape[1:]], tf.float32, name=name)
                for name, shape in zip(model.TRANSLATION_INPUTS, model.translation_input_shapes())]
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
    # The model's own input structure (a list, even of one input): a bare tensor for a one-input list is ambiguous.
    function = tf.function(lambda *inputs: model(list(inputs), training=False))
    description = describe(gan, metadata)

    def write(directory):
        with contextlib.redirect_stdout(io.StringIO()):
            proto, _ = tf2onnx.convert.from_function(function, input_signature=specs, opset=opset)
        try:  # tf2onnx logs the ops it cannot convert and writes them anyway, into a model no runtime loads
            onnx.checker.check_model(proto)
        except onnx.checker.ValidationError as error:
            raise UserError(f"--format onnx: the generator does not convert to ONNX opset {opset} "
                            f"({str(error).splitlines()[0]})") from None
        _check_output_rank(proto, len(model.outputs[0].shape))
        _rename_output(proto, model.output_names[0])
        with open(os.path.join(directory, "generator.onnx"), "wb") as stream:
            stream.write(proto.SerializeToString())
        _write_description(os.path.join(directory, "tfgan_impl.json"), {**description, "format": "onnx"})

    return write_version(export_dir, version, write)


def _check_output_rank(proto, rank):
    """Raises RuntimeError when the converted graph's output has another rank than the model's: a converter's
    wrong graph must not be written as an export."""
    (output,) = proto.graph.output
    converted = len(output.type.tensor_type.shape.dim)
    if converted != rank:
        raise RuntimeError(f"--format onnx: tf2onnx produced an output of rank {converted} for the generator's "
                           f"rank-{rank} output; nothing was written")


def _rename_output(proto, name):
    # tf2onnx names a function's output after its TensorFlow tensor ("Identity:0"); clients want `images`.
    (output,) = proto.graph.output
    old = output.name
    for node in proto.graph.node:
        node.input[:] = [name if value == old else value for value in node.input]
        node.output[:] = [name if value == old else value for value in node.output]
    output.name = name


EXPORTERS = {"saved_model": export_saved_model, "tflite": export_tflite, "onnx": export_onnx}
