"""Pictures in and out: decoding image files, image grids and 2-D scatter plots of samples, atomic writes."""
import math
import os
import tempfile

import keras
import numpy as np

from tfgan_impl.errors import DataError, OutputError

IMAGE_EXTENSIONS = (".png", ".jpg", ".jpeg")


def image_files(directory):
    """The sorted names of the PNG and JPEG files directly in `directory`.

    Raises:
        DataError: no such directory, or no image in it.
    """
    if not os.path.isdir(directory):
        raise DataError(f"{directory}: no such directory")
    names = sorted(name for name in os.listdir(directory) if name.lower().endswith(IMAGE_EXTENSIONS))
    if not names:
        raise DataError(f"{directory}: no PNG or JPEG images")
    return names


def decode_image(path, size=None):
    """Decodes a PNG or JPEG file into a uint8 array `[H, W, C]`: C = 1 for grayscale files, 3 otherwise (alpha and
    palettes are dropped to RGB).

    Args:
        path: the file.
        size: optional `[H, W]` to resize to (bilinear).

    Raises:
        DataError: the file is missing, truncated or not an image; the message names it.
    """
    from PIL import Image, UnidentifiedImageError

    try:
        with Image.open(path) as image:
            image.load()  # raises on truncated files instead of returning a partly grey image
            image = image.convert("RGB" if image.mode not in ("L", "1", "I", "I;16") else "L")
            if size is not None and image.size != (size[1], size[0]):
                image = image.resize((size[1], size[0]), Image.BILINEAR)
            array = np.asarray(image, np.uint8)
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError) as error:
        raise DataError(f"{path}: corrupt or unreadable image ({error})") from None
    return array[..., None] if array.ndim == 2 else array


def decode_grey(path):
    """A PNG or JPEG file as grey float32 `[H, W, 1]` in [0, 1] (colour files averaged over R, G and B): what a
    mask or other one-channel map file holds."""
    values = decode_image(path).astype(np.float32) / 255.0
    return values.mean(axis=-1, keepdims=True)


def image_grid(images, columns=None):
    """Tiles images `[N, H, W, C]` with values in [0, 1] into one uint8 picture `[rows*H, columns*W, C]`.

    Args:
        images: float array in [0, 1].
        columns: images per row; defaults to a square-ish grid.

    Returns:
        A uint8 array `[rows * H, columns * W, C]`.
    """
    images = np.asarray(images, np.float32)
    count, height, width, channels = images.shape
    columns = columns or math.ceil(math.sqrt(count))
    rows = math.ceil(count / columns)
    grid = np.zeros((rows * height, columns * width, channels), np.float32)
    for index, image in enumerate(images):
        row, column = divmod(index, columns)
        grid[row * height:(row + 1) * height, column * width:(column + 1) * width] = image
    return np.round(np.clip(grid, 0.0, 1.0) * 255).astype(np.uint8)


def scatter_plot(points, size=256, reference=None):
    """Draws 2-D points as a white-on-black uint8 picture `[size, size, 1]`, axes fit to the points.

    Args:
        points: array `[N, 2]`.
        size: picture side in pixels.
        reference: optional `[M, 2]` points that also set the axes (so runs share a frame).

    Returns:
        A uint8 array `[size, size, 1]`.
    """
    points = np.asarray(points, np.float64)
    frame = points if reference is None else np.concatenate([points, np.asarray(reference, np.float64)])
    finite = frame[np.all(np.isfinite(frame), axis=1)]
    low, high = (finite.min(0), finite.max(0)) if len(finite) else (np.zeros(2), np.ones(2))
    span = np.maximum(high - low, 1e-6) * 1.1
    center = (high + low) / 2
    picture = np.zeros((size, size, 1), np.uint8)
    visible = points[np.all(np.isfinite(points), axis=1)]
    pixels = np.clip(((visible - center) / span + 0.5) * (size - 1), 0, size - 1).astype(int)
    picture[size - 1 - pixels[:, 1], pixels[:, 0]] = 255
    return picture


def samples_picture(samples, columns=None):
    """A picture of samples in data units: a grid for images `[N, H, W, C]` (`columns` wide, square by default),
    a scatter plot for points `[N, 2]`."""
    samples = np.asarray(samples)
    if samples.ndim == 4 and samples.shape[-1] in (1, 3):
        return image_grid(samples, columns)
    if samples.ndim == 2 and samples.shape[1] == 2:
        return scatter_plot(samples)
    raise ValueError(f"cannot draw samples of shape {list(samples.shape)}: expected images [N, H, W, 1|3] "
                     "or 2-D points [N, 2]")


def write_atomically(path, write):
    """Calls `write(temporary_path)` then renames the result to `path`, so readers never see a partial file.

    Args:
        path: final file path; the temporary file keeps its extension so writers can infer the format.
        write: a function of the temporary path that writes the file.
    """
    directory = os.path.dirname(os.path.abspath(path))
    temporary = None
    try:
        os.makedirs(directory, exist_ok=True)
        suffix = "".join(os.path.basename(path).partition(".")[1:])
        handle, temporary = tempfile.mkstemp(prefix=".tmp-", suffix=suffix, dir=directory)
        os.close(handle)
        write(temporary)
        os.replace(temporary, path)
    except OSError as error:  # a full disk, a read-only directory, a file where a directory should be
        raise OutputError(f"{path}: cannot write ({error.strerror or error}); what was written before is "
                          "intact") from None
    finally:
        if temporary is not None and os.path.exists(temporary):
            os.remove(temporary)


def write_text(path, text):
    """Writes a text file atomically (closed and complete before it gets its name)."""

    def write(temporary):
        with open(temporary, "w", encoding="utf-8", newline="") as stream:
            stream.write(text)

    write_atomically(path, write)


def save_png(picture, path):
    """Writes a uint8 picture `[H, W, C]` as PNG atomically."""
    write_atomically(path, lambda temporary: keras.utils.save_img(temporary, picture, file_format="png",
                                                                  scale=False))
