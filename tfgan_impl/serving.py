"""The objects an export serves: `tf.Module`s whose signatures TF Serving calls (`serving_default`, `sample`,
`metadata`, a CycleGAN's `inverse`, a text-to-image model's `text` and `embedding`), checking their inputs with
errors that name them."""
import json

import tensorflow as tf

from tfgan_impl import noise, ranges
from tfgan_impl.samplers import TextSampler, Translator

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
    `[batch, H, W, C]` (and the network's maps, e.g. an inpainter's `masks` `[batch, H, W, 1]` in [0, 1]) and gives
    the translated `images` in [0, 1] (and `images_uint8`); a CycleGAN's adds `inverse`, the same from B to A."""

    def __init__(self, model, metadata, inverse=False):
        super().__init__(model.translation_generator(inverse), model.output_range, metadata)
        self.input_names = tuple(model.TRANSLATION_INPUTS)
        self.input_shapes = [[None if d is None else int(d) for d in shape[1:]]
                             for shape in model.translation_input_shapes(inverse)]
        # Its B -> A generator serves the `inverse` signature.
        self.inverse = TranslatorModule(model, metadata, inverse=True) if model.has_inverse and not inverse else None

    @tf.function
    def translate(self, *inputs):
        checked = []
        for name, tensor, shape in zip(self.input_names, inputs, self.input_shapes):
            tensor = _checked_shape(tensor, name, [None, *shape])
            if checked:  # maps are per pixel of the images
                with tf.control_dependencies([tf.debugging.assert_equal(
                        tf.shape(tensor)[:3], tf.shape(checked[0])[:3],
                        message=f"input {name} must have the batch, height and width of input images")]):
                    tensor = tf.identity(tensor)
            with tf.control_dependencies([
                    tf.debugging.assert_greater_equal(tensor, 0.0, message=f"input {name} must lie in [0, 1]"),
                    tf.debugging.assert_less_equal(tensor, 1.0, message=f"input {name} must lie in [0, 1]")]):
                checked.append(tf.identity(tensor))
        checked[0] = ranges.from_unit_interval(checked[0], self.output_range)
        return self._to_outputs(self.generator(checked if len(checked) > 1 else checked[0], training=False))

    def _specs(self):
        return [tf.TensorSpec([None, None, None, None], tf.float32, name=name) for name in self.input_names]

    def signatures(self):
        signatures = {"serving_default": self.translate.get_concrete_function(*self._specs()),
                      "metadata": self.metadata.get_concrete_function()}
        if self.inverse is not None:
            signatures["inverse"] = self.inverse.translate.get_concrete_function(*self.inverse._specs())
        return signatures


class TextGeneratorModule(_ExportModule):
    """The exported object of a text-to-image model (`TextSampler`): `text` takes `captions` (string `[batch]`)
    and `seed` (int64), encodes the captions with the run's text encoder (inside the SavedModel) and gives `images`
    in [0, 1] (and `images_uint8`) and the captions' `embeddings`; `embedding` takes `embeddings` float32
    `[batch, E]` and `seed`. The same seed gives the same images for the same rows. `serving_default` is `text`, or
    `embedding` for a model trained on precomputed embeddings (which has no text encoder)."""

    def __init__(self, model, metadata):
        super().__init__(model.sampling_generator, model.output_range, metadata)
        self.text_encoder = model.text_encoder
        self.embedding_dim = int(model.embedding_dim)
        self.noise_shapes = [list(shape) for shape in model.noise_shapes.values()]

    def _draw(self, embeddings, seed):
        count = tf.shape(embeddings)[0]
        noise_inputs = [tf.random.stateless_normal(tf.concat([[count], shape], 0), tf.stack([seed, index]))
                        for index, shape in enumerate(self.noise_shapes)]
        return self._to_outputs(self.generator([embeddings, *noise_inputs], training=False))

    @tf.function
    def from_embeddings(self, embeddings, seed):
        embeddings = _checked_shape(embeddings, "embeddings", [None, self.embedding_dim])
        embeddings = tf.debugging.assert_all_finite(embeddings, message="input embeddings must be finite")
        return self._draw(embeddings, seed)

    @tf.function
    def from_text(self, captions, seed):
        captions = _checked_shape(captions, "captions", [None])
        embeddings = tf.cast(self.text_encoder(captions, training=False), tf.float32)
        return {**self._draw(embeddings, seed), "embeddings": embeddings}

    def signatures(self):
        seed = tf.TensorSpec([], tf.int64, name="seed")
        signatures = {"embedding": self.from_embeddings.get_concrete_function(
            tf.TensorSpec([None, None], tf.float32, name="embeddings"), seed)}
        if self.text_encoder is not None:
            signatures["text"] = self.from_text.get_concrete_function(
                tf.TensorSpec([None], tf.string, name="captions"), seed)
        signatures["serving_default"] = signatures.get("text", signatures["embedding"])
        return {**signatures, "metadata": self.metadata.get_concrete_function()}


def module(model, description):
    """The served object of a trained model (its signatures: `module.signatures()`)."""
    if isinstance(model, Translator):
        return TranslatorModule(model, description)
    if isinstance(model, TextSampler):
        return TextGeneratorModule(model, description)
    return (GeneratorModule if model.num_classes is None else ConditionalGeneratorModule)(model, description)
