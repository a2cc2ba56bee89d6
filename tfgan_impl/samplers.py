"""The three ways a trained model gives samples, one interface each: from noise (`NoiseSampler.generate`), from
images (`Translator.translate`) and from text (`TextSampler.generate_from_text`). Sample pictures,
`tfgan-impl sample` and `evaluate`, and every exporter use these and nothing else of a model.
"""
import numpy as np
import tensorflow as tf

from tfgan_impl import noise, pipelines, ranges


class NoiseSampler:
    """A model that maps latent vectors z (and, when `num_classes` is set, class ids) to samples.

    Its exports offer `serving_default` (z [and labels] -> samples) and `sample` (num, seed [, label] -> samples).
    A class provides `latent_dim`, `num_classes` (`None`: unconditional), `output_range` and `sampling_generator`
    (the network samples come from); it may override `truncated` with its own truncation trick.
    """

    latent_dim = None
    num_classes = None
    latent_distribution = "normal"  # the prior p_z, one of `tfgan_impl.noise.LATENT_DISTRIBUTIONS`

    def latents(self, num, seed=0, stream=0):
        """`num` latent vectors z ~ p_z, `[num, latent_dim]`, the same for the same `(seed, stream)`."""
        return noise.latent_vectors(num, self.latent_dim, seed, stream, self.latent_distribution)

    def generate(self, num, seed=0, batch_size=256, stream=0, labels=None):
        """Draws `num` samples in data units: images in [0, 1], other data in the data set's coordinates.

        Args:
            num: number of samples.
            seed: integer seed; the same seed gives the same samples.
            batch_size: generator batch size.
            stream: a second integer key, to draw independent chunks under one seed.
            labels: class ids, one per sample, for conditional models (by default the classes in turn, equally
                many of each); unconditional models refuse them.

        Returns:
            A float32 numpy array `[num, ...]`.
        """
        if labels is None and self.num_classes is not None:
            labels = np.arange(int(num)) % self.num_classes
        return self.generate_from(self.latents(num, seed, stream), labels=labels, batch_size=batch_size)

    @property
    def trained_generator(self):
        """The network the optimizer moves; `sampling_generator` may be its moving average (then it lags)."""
        return self.sampling_generator

    def generate_from(self, z, labels=None, batch_size=256, averaged=True):
        """Samples in data units from given latent vectors `z` `[n, latent_dim]` and, for conditional models, class
        ids `labels` (one per row, or one for all): interpolation and latent arithmetic (Radford et al. 2015,
        sec. 6). `averaged=False` draws from `trained_generator` instead of `sampling_generator`."""
        inputs = self._generator_inputs(z, labels)
        generator = self.sampling_generator if averaged else self.trained_generator
        if len(z) <= batch_size:  # one batch: a direct call avoids building a predict function
            return self.to_data_units(generator(inputs, training=False))
        return self.to_data_units(generator.predict(pipelines.prediction_batches(inputs, batch_size), verbose=0))

    def truncated(self, z, psi, labels=None):
        """Samples of z pulled toward the prior's mean by psi, in the generator's output range: StyleGAN's truncation
        (Karras et al. 2019, eq. 3) applied to z, whose mean is 0 under both priors, that is sampling at a reduced
        temperature (Kingma & Dhariwal 2018, fig. 8). 1 is none; smaller trades diversity for typical samples.
        Through the sampling generator (the moving average if kept); `labels` as in `generate_from`."""
        if not psi >= 0:
            raise ValueError(f"truncation: expected psi >= 0 (1: none, 0: the image of the mean z), got {psi}")
        z = np.asarray(z, np.float32) * np.float32(psi)
        return self.sampling_generator(self._generator_inputs(z, labels), training=False)

    def _generator_inputs(self, z, labels):
        """The generator's inputs: z alone, or z with `labels` checked and broadcast to one id per row."""
        if self.num_classes is None:
            if labels is not None:
                raise ValueError("this GAN is unconditional: it takes no labels")
            return z
        if labels is None:
            raise ValueError(f"{type(self).__name__} needs labels: one class id per sample, or one for all")
        labels = np.broadcast_to(np.asarray(labels, np.int32), [len(z)]).copy()
        if labels.min() < 0 or labels.max() >= self.num_classes:
            raise ValueError(f"labels must lie in [0, {self.num_classes - 1}], got {sorted(set(labels.tolist()))}")
        return [tf.convert_to_tensor(z, tf.float32), tf.convert_to_tensor(labels)]

    def to_data_units(self, samples):
        """Maps generator outputs from `output_range` to [0, 1] (identity when `output_range` is None), as numpy."""
        return ranges.to_unit_interval(np.asarray(samples, np.float32), self.output_range)


class Translator:
    """A model that maps images to images; `INVERSE` names the network that translates back, if it has one.

    Its exports offer `serving_default` (images in [0, 1] -> translated images) and, with an inverse, `inverse`.
    A class provides `generator`, `output_range` and, with `INVERSE`, that network. A translator whose network
    also takes maps beside the images (an inpainter's masks) names them after `"images"` in `TRANSLATION_INPUTS`
    and provides them in `translation_maps`; maps are given in [0, 1] and reach the network as they are.
    """

    INVERSE = None
    TRANSLATION_INPUTS = ("images",)

    @property
    def has_inverse(self):
        """Whether the model also translates back (B to A)."""
        return self.INVERSE is not None

    def translation_generator(self, inverse=False):
        """The network that translates A to B, or with `inverse` B to A."""
        if inverse and not self.has_inverse:
            raise ValueError(f"{type(self).__name__} translates one way only")
        return getattr(self, self.INVERSE) if inverse else self.generator

    def translation_input_shapes(self, inverse=False):
        """The shapes of the translating network's inputs, in the order of `TRANSLATION_INPUTS`, batch first."""
        shapes = self.translation_generator(inverse).input_shape
        return [tuple(shape) for shape in shapes] if isinstance(shapes, list) else [tuple(shapes)]

    def translation_maps(self, images, **maps):
        """The network's inputs after the images, as numpy arrays (one row per image), from the caller's `maps`
        (keyed by `TRANSLATION_INPUTS[1:]`) or the model's defaults; `[]` for a translator of images alone."""
        if maps:
            raise ValueError(f"{type(self).__name__} translates images alone; it takes no {', '.join(maps)}")
        return []

    def translate(self, images, batch_size=64, inverse=False, **maps):
        """Translates images given in [0, 1] (numpy `[n, H, W, C]`) from A to B (with `inverse`, from B to A);
        returns the outputs in [0, 1]. `maps` are the network's other inputs, if it has any (e.g. `masks`)."""
        generator = self.translation_generator(inverse)
        images = np.asarray(images, np.float32)
        maps = self.translation_maps(images, **maps)
        images = ranges.from_unit_interval(images, self.output_range)

        def batch(start):
            inputs = [images[start:start + batch_size], *(values[start:start + batch_size] for values in maps)]
            return np.asarray(generator(inputs if maps else inputs[0], training=False), np.float32)

        outputs = [batch(start) for start in range(0, len(images), batch_size)]
        return self.to_data_units(np.concatenate(outputs) if outputs else np.zeros((0,), np.float32))

    def translate_tiled(self, image, tile, overlap=8, **maps):
        """Translates one image `[H, W, C]` in [0, 1] tile by tile, for fully convolutional translators and images
        too large for one pass: each core of `tile - 2 overlap` input pixels is translated with `overlap` pixels of
        context on every side, and only its core is kept, so the seams vanish once the overlap covers the
        network's receptive field. `maps` (`[H, W, k]` each) are cut like the image. Returns `[H', W', C']`."""
        image = np.asarray(image, np.float32)
        height, width = image.shape[:2]
        core = int(tile) - 2 * int(overlap)
        if core < 1:
            raise ValueError(f"tile: {tile} leaves no core inside an overlap of {overlap} on each side")
        if height <= tile and width <= tile:
            return self.translate(image[None], **{name: values[None] for name, values in maps.items()})[0]
        rows = []
        for top in range(0, height, core):
            row = []
            for left in range(0, width, core):
                box = (max(top - overlap, 0), min(top + core + overlap, height),
                       max(left - overlap, 0), min(left + core + overlap, width))
                window = lambda values: values[None, box[0]:box[1], box[2]:box[3]]  # noqa: E731
                output = self.translate(window(image), **{name: window(values) for name, values in maps.items()})[0]
                scale = output.shape[0] // (box[1] - box[0])  # the translator's upscaling (1: same size)
                keep_top, keep_left = (top - box[0]) * scale, (left - box[2]) * scale
                keep_height = (min(top + core, height) - top) * scale
                keep_width = (min(left + core, width) - left) * scale
                row.append(output[keep_top:keep_top + keep_height, keep_left:keep_left + keep_width])
            rows.append(np.concatenate(row, axis=1))
        return np.concatenate(rows, axis=0)

    def to_data_units(self, images):
        """Maps images from `output_range` to [0, 1], as numpy."""
        return ranges.to_unit_interval(np.asarray(images, np.float32), self.output_range)


class TextSampler:
    """A model that draws images for text: captions (strings, through its `text_encoder`) or sentence embeddings
    `[n, embedding_dim]`, each with its own noise.

    Its exports offer `text` (captions, seed -> images) when it has a text encoder, `embedding` (embeddings, seed
    -> images), and `serving_default` as the first of them. A class provides `embedding_dim`, `text_encoder` (a
    Keras model of `[n]` strings to `[n, embedding_dim]`, or None for a model trained on precomputed embeddings),
    `noise_shapes` (`{name: shape}` of the noise inputs, without the batch), `sampling_generator` (a Keras model of
    `[embeddings, *noise in the order of noise_shapes]` to images in `output_range`) and `output_range`;
    `stage_generators` (the same inputs to each stage's images, lowest resolution first) when it draws in stages.
    """

    text_encoder = None

    def noise_inputs(self, num, seed=0):
        """The noise of `num` samples keyed by `seed`, in the order of `noise_shapes` (tensors)."""
        return [tf.random.stateless_normal([int(num), *shape], [int(seed), index])
                for index, shape in enumerate(self.noise_shapes.values())]

    def encode(self, captions):
        """Sentence embeddings `[n, embedding_dim]` of captions (a list of strings), as numpy."""
        if self.text_encoder is None:
            raise ValueError(f"this {type(self).__name__} was trained on precomputed embeddings and has no text "
                             "encoder: give embeddings instead of captions")
        return np.asarray(self.text_encoder(tf.constant([str(text) for text in captions])), np.float32)

    def generate_from_embeddings(self, embeddings, seed=0, stage=None):
        """Images in [0, 1] for embeddings `[n, embedding_dim]`, the same for the same seed; `stage` (an index of
        `stage_generators`) gives that stage's images instead of the final ones."""
        embeddings = np.asarray(embeddings, np.float32)
        if embeddings.ndim != 2 or embeddings.shape[1] != self.embedding_dim:
            raise ValueError(f"embeddings: expected [n, {self.embedding_dim}], got {list(embeddings.shape)}")
        generator = self.sampling_generator if stage is None else self.stage_generators[stage]
        inputs = [tf.convert_to_tensor(embeddings), *self.noise_inputs(len(embeddings), seed)]
        return ranges.to_unit_interval(np.asarray(generator(inputs, training=False), np.float32), self.output_range)

    def generate_from_text(self, captions, seed=0, stage=None):
        """Images in [0, 1] for captions (a list of strings), as `generate_from_embeddings`."""
        return self.generate_from_embeddings(self.encode(captions), seed, stage)

    @property
    def stage_generators(self):
        return [self.sampling_generator]
