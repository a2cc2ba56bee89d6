"""Samples of a trained model written to files: pictures or arrays of generated samples, translated images."""
import os

import numpy as np
import tensorflow as tf

from tfgan_impl import images, latent
from tfgan_impl.errors import UserError


def _check_labels(gan, labels):
    if labels is None:
        return None
    if gan.num_classes is None:
        raise UserError("--labels: this run's generator is unconditional; it takes no labels")
    labels = [int(label) for label in labels]
    wrong = [label for label in labels if not 0 <= label < gan.num_classes]
    if wrong or not labels:
        raise UserError(f"--labels: class ids must lie in [0, {gan.num_classes - 1}], got {wrong or 'none'}")
    return labels


def write_samples(gan, num, seed, path, labels=None, interpolate=None, steps=8, truncation=None, mix=None):
    """Writes samples in data units as a PNG picture (`.png`) or a float32 array (`.npy`), atomically.

    Args:
        gan: a trained GAN.
        num: samples; with `labels`, samples of each listed class (a row each); with `interpolate`, paths (rows).
        seed: seed of the latent vectors.
        path: output file.
        labels: class ids of a conditional GAN; by default conditional GANs draw all classes in turn.
        interpolate: `None`, `"slerp"` or `"linear"`: rows of `steps` samples along paths between random z.
        steps: samples per interpolation path.
        truncation: the truncation trick's value (`truncated(z, value[, labels])`): StyleGAN's psi (sec. 3.3; w
            pulled toward the mean w, 1 is none), BigGAN's threshold on |z| (sec. 3.1), for the other models psi
            applied to z (`NoiseSampler.truncated`).
        mix: a crossover layer, for models that mix styles (`mixed(z_a, z_b, crossover)`): the grid of StyleGAN's
            fig. 3, `num` sources along the top, `num` destinations down the left, and in cell (i, j) the layers
            before `mix` from source j's latent (coarse styles, for a small `mix`), the rest from destination i's.
    """
    if num <= 0:
        raise UserError(f"--num: expected a positive number of samples, got {num}")
    extension = os.path.splitext(path)[1].lower()
    if extension not in (".png", ".npy"):
        raise UserError(f"{path}: the output must end in .png or .npy")
    labels = _check_labels(gan, labels)
    columns = None
    if mix is not None:
        samples, columns = _style_mixing_grid(gan, num, seed, mix, truncation, interpolate, labels), num + 1
    elif truncation is not None:
        if interpolate is not None:
            raise UserError("--truncation: draws plain samples; it does not combine with --interpolate")
        row_labels = None
        if gan.num_classes is not None:  # a row of `num` samples per listed class, or the classes in turn
            row_labels = np.repeat(labels, num) if labels is not None else np.arange(num) % gan.num_classes
            columns = num if labels is not None else None
        samples = truncated_samples(gan, gan.latents(num if row_labels is None else len(row_labels), seed=seed),
                                    truncation, row_labels)
    elif interpolate is not None:
        if steps < 2:
            raise UserError(f"--steps: an interpolation needs at least 2 steps, got {steps}")
        # Paths between end points of the model's own prior (N(0, I) ends as tfgan_impl 0.1.0 drew them).
        ends = None if gan.latent_distribution == "normal" else np.asarray(gan.latents(2 * num, seed))
        z = latent.interpolation_grid(gan.latent_dim, num, steps, seed=seed, spherical=interpolate == "slerp",
                                      ends=ends)
        row_labels = None
        if gan.num_classes is not None:
            row_labels = np.resize(labels if labels else np.arange(gan.num_classes), num)
            row_labels = np.repeat(row_labels, steps)
        samples, columns = gan.generate_from(z, labels=row_labels), steps
    elif labels is not None:
        z = gan.latents(num * len(labels), seed=seed)
        samples, columns = gan.generate_from(z, labels=np.repeat(labels, num)), num
    else:
        samples = gan.generate(num, seed=seed)
    if extension == ".npy":
        images.write_atomically(path, lambda temporary: np.save(temporary, np.asarray(samples, np.float32)))
    else:
        try:
            picture = images.samples_picture(samples, columns)
        except ValueError as error:
            raise UserError(f"{path}: {error}; write .npy instead") from None
        images.save_png(picture, path)
    return len(samples)


def truncated_samples(gan, z, truncation, labels=None):
    """Samples in [0, 1] of latent vectors `z` with the model's truncation trick (`truncated`: StyleGAN's psi,
    BigGAN's threshold, z pulled toward 0 by psi for the others); a bad value is the user's `--truncation` error."""
    try:
        samples = (gan.truncated(z, float(truncation)) if labels is None
                   else gan.truncated(z, float(truncation), labels=labels))
    except (ValueError, tf.errors.InvalidArgumentError) as error:
        raise UserError(f"--truncation {truncation}: {getattr(error, 'message', error)}") from None
    return gan.to_data_units(samples)


def write_text_samples(model, num, seed, path, captions=None, embeddings=None, stages=False):
    """Writes samples of a text-to-image model (`TextSampler`) as a PNG picture, a row of `num` per caption (or
    embedding), or as a float32 `.npy` array `[rows * num, H, W, C]`, atomically.

    Args:
        model: a trained `TextSampler`.
        num: samples per caption.
        seed: seed of the noise.
        path: output file (`.png` or `.npy`).
        captions: a list of strings.
        embeddings: `[rows, E]` (a `.npy` file's), instead of captions.
        stages: each row shows every stage's images (upscaled to the final size) side by side, stage by stage.

    Returns:
        The number of images written.
    """
    if num <= 0:
        raise UserError(f"--num: expected a positive number of samples, got {num}")
    extension = os.path.splitext(path)[1].lower()
    if extension not in (".png", ".npy"):
        raise UserError(f"{path}: the output must end in .png or .npy")
    if (captions is None) == (embeddings is None):
        raise UserError("give the captions to draw (--text, repeatable) or a file of their embeddings (--embeddings)")
    if captions is not None:
        if model.text_encoder is None:
            raise UserError("--text: this run was trained on precomputed embeddings and has no text encoder; give "
                            "--embeddings FILE.npy")
        embeddings = model.encode(captions)
    embeddings = np.asarray(embeddings, np.float32)
    if embeddings.ndim != 2 or embeddings.shape[1] != model.embedding_dim:
        raise UserError(f"--embeddings: expected [rows, {model.embedding_dim}], got {list(embeddings.shape)}")
    repeated = np.repeat(embeddings, num, axis=0)
    generated = [model.generate_from_embeddings(repeated, seed, stage=index)
                 for index in (range(len(model.stage_generators)) if stages else [None])]
    final = generated[-1]
    shown = [np.asarray(tf.image.resize(images_of, final.shape[1:3], method="nearest"), np.float32)
             for images_of in generated]
    rows = np.concatenate([part.reshape(len(embeddings), num, *final.shape[1:]) for part in shown], axis=1)
    samples = rows.reshape(-1, *final.shape[1:])
    if extension == ".npy":
        images.write_atomically(path, lambda temporary: np.save(temporary, samples))
    else:
        images.save_png(images.samples_picture(samples, num * len(shown)), path)
    return len(samples)


def _style_mixing_grid(gan, num, seed, crossover, truncation, interpolate, labels):
    if not hasattr(gan, "mixed"):
        raise UserError(f"--mix: this run's model ({type(gan).__name__}) does not mix styles")
    if truncation is not None or interpolate is not None or labels is not None:
        raise UserError("--mix: draws a style-mixing grid; it does not combine with --truncation, --interpolate or "
                        "--labels")
    num_ws = gan.sampling_generator.num_ws
    if not 0 <= crossover <= num_ws:
        raise UserError(f"--mix: the crossover layer must lie in [0, {num_ws}], got {crossover}")
    sources, destinations = gan.latents(num, seed=seed, stream=0), gan.latents(num, seed=seed, stream=1)
    top = gan.generate_from(sources)
    rows = [np.concatenate([np.ones_like(top[:1]), top])]  # a blank corner, then the sources
    for index in range(num):
        destination = np.repeat(np.asarray(destinations[index:index + 1]), num, axis=0)
        cells = gan.to_data_units(gan.mixed(sources, destination, crossover))
        rows.append(np.concatenate([gan.generate_from(destinations[index:index + 1]), cells]))
    return np.concatenate(rows)


def translate_files(model, source, out_dir, inverse=False, maps=None, tile=None):
    """Translates an image file, or every PNG/JPEG of a directory, into PNGs of the same names in `out_dir`
    (with `inverse`, through a CycleGAN's B -> A generator).

    Images are resized to the model's input size, if it has one, and converted to its number of channels
    (grey <-> RGB). `maps` gives the files of the network's other inputs (an inpainter's `masks`), by input name:
    a directory holding a file of each image's name, or one file for every image; they are read as grey in [0, 1]
    and must have the image's size. Inputs left out get the model's defaults (an inpainter's centred hole).
    `tile` translates images larger than `tile` input pixels tile by tile (`Translator.translate_tiled`, with a
    quarter of the tile as overlap), for fully convolutional translators.

    Returns:
        The number of images written.
    """
    if os.path.isdir(source):
        paths = [os.path.join(source, name) for name in images.image_files(source)]
    elif os.path.isfile(source):
        paths = [source]
    else:
        raise UserError(f"--input {source}: no such file or directory")
    if inverse and not model.has_inverse:
        raise UserError(f"--inverse: this {type(model).__name__} translates one way only")
    maps = {name: path for name, path in (maps or {}).items() if path is not None}
    for name, path in maps.items():
        if name not in model.TRANSLATION_INPUTS[1:]:
            raise UserError(f"--{name}: this {type(model).__name__} takes no {name}")
        if not os.path.exists(path):
            raise UserError(f"--{name} {path}: no such file or directory")
    height, width, channels = model.translation_input_shapes(inverse)[0][1:]
    if tile is not None and (height is not None or inverse or tile < 4):
        raise UserError(f"--tile {tile}: tiles are for fully convolutional translators (super-resolution, "
                        "inpainting), one way, of at least 4 pixels")
    if os.path.exists(out_dir) and not os.path.isdir(out_dir):
        raise UserError(f"--out {out_dir}: translations go into a directory, and this is a file")
    for path in paths:
        image = tf.convert_to_tensor(images.decode_image(path), tf.float32) / 255.0
        if image.shape[-1] != channels:
            image = tf.image.rgb_to_grayscale(image) if channels == 1 else tf.image.grayscale_to_rgb(image)
        if height is not None:  # fully convolutional translators (super-resolution) take any size
            image = tf.image.resize(image, [height, width], antialias=True)
        given = {name: _map_file(name, map_path, path, image.shape[:2])[None] for name, map_path in maps.items()}
        if tile is not None:
            translated = model.translate_tiled(image.numpy(), tile, tile // 4, **{k: v[0] for k, v in given.items()})
        else:
            translated = model.translate(image.numpy()[None], inverse=inverse, **given)[0]
        name = os.path.splitext(os.path.basename(path))[0] + ".png"
        images.save_png(np.round(translated * 255.0).astype(np.uint8), os.path.join(out_dir, name))
    return len(paths)


def _map_file(name, map_path, image_path, size):
    """The map of input `name` for one image, `[H, W, 1]` grey in [0, 1], from a file or a directory."""
    if os.path.isdir(map_path):
        stem = os.path.splitext(os.path.basename(image_path))[0]
        matches = [entry for entry in images.image_files(map_path) if os.path.splitext(entry)[0] == stem]
        if not matches:
            raise UserError(f"--{name} {map_path}: no file named {stem}.png (or .jpg) for {image_path}")
        map_path = os.path.join(map_path, matches[0])
    values = images.decode_grey(map_path)
    if list(values.shape[:2]) != list(size):
        raise UserError(f"--{name} {map_path}: {values.shape[0]}x{values.shape[1]}, but the image {image_path} is "
                        f"{size[0]}x{size[1]}")
    return values
