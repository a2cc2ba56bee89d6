"""Benchmark: super-resolution x4 and inpainting on real photographs, the perception-distortion trade-off
outside Fashion-MNIST.

The photographs are scikit-image's sample images (shipped in its wheel, so offline; `pip install scikit-image`,
a benchmark-only dependency, or `--photos DIR` with the same file names). Held out, the five that super-resolution
papers' "Set5"-like tables use: astronaut, camera, chelsea, coffee, rocket. The models train on random 64x64
crops of the others (natural photographs only: textures, coins, moon, Hubble, motorcycles, retina, microscopy,
text), as luminance: SR papers score PSNR on the Y channel, and grey keeps the networks the Fashion-MNIST ones.

Methods as `bench/restoration.py` (bicubic; ESRGAN's RRDB on the pixel loss; SRGAN; ESRGAN), each trained from
the shipped `configs/esrgan_fashion_mnist.yaml` narrowed the same way, through `tfgan_impl.training.train`, on
bicubic x4 degradations of the crops. Scores on the held-out photographs, whole (the generators are fully
convolutional), a 4-pixel border shaved as SR papers do: PSNR, SSIM and "detail", the mean squared Laplacian of
the outputs over the originals' (1 is the real photographs' fine detail; pixel losses blur it away). There is no
domain classifier of photographs here, so no FCD.

Inpainting as `bench/restoration.py` (the mean pixel; the L1-only completion network; the GAN), trained on the same
64x64 crops with a centred 32x32 hole (dilations 2, 4, 8 at 16x16: Iizuka et al.'s hole-to-field ratio), scored
on 500 random 64x64 crops of the held-out photographs: PSNR, SSIM, L1 in the hole, detail inside the hole.

Writes the tables between the `<!-- photos -->` and `<!-- photos-inpainting -->` markers of `docs/restoration.md`,
`docs/restoration_photos.json`, and pictures `docs/restoration_photos.png` (a crop of each held-out photograph:
bicubic, pixel loss, SRGAN, ESRGAN, original) and `docs/restoration_photos_inpainting.png`.

    python bench/restoration_photos.py [--parts superres,inpainting] [--steps 1500] [--crops 6000] [--photos DIR]
"""
import argparse
import json
import os
import tempfile
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402
from restoration import (CONFIGS, INPAINTING, INPAINTING_COMMON, SUPERRES, SUPERRES_COMMON, table, train,  # noqa: E402
                         write_tables)

from tfgan_impl import degradation, images, masks  # noqa: E402

ROOT = os.path.join(os.path.dirname(__file__), "..")
HELD_OUT = ("astronaut.png", "camera.png", "chelsea.png", "coffee.png", "rocket.jpg")
TRAINING = ("brick.png", "cell.png", "coins.png", "grass.png", "gravel.png", "hubble_deep_field.jpg", "ihc.png",
            "moon.png", "motorcycle_left.png", "motorcycle_right.png", "page.png", "retina.jpg", "text.png")
SCALE, CROP, SHAVE = 4, 64, 4


def photos_directory():
    import skimage.data  # noqa: F401 (scikit-image: benchmark-only)

    return os.path.dirname(skimage.data.__file__)


def luminance(path):
    """A photograph as `[H, W, 1]` luminance in [0, 1], cropped to a multiple of the scale."""
    image = images.decode_image(path).astype(np.float32) / 255.0
    if image.shape[-1] in (2, 4):
        image = image[..., :-1]
    if image.shape[-1] == 3:
        image = np.asarray(tf.image.rgb_to_grayscale(image))
    height, width = image.shape[0] // SCALE * SCALE, image.shape[1] // SCALE * SCALE
    return image[:height, :width]


def random_crops(photos, count, seed=0):
    """`count` random CROP x CROP crops of the photographs, each photograph drawn in proportion to its area."""
    rng = np.random.default_rng(seed)
    areas = np.array([photo.shape[0] * photo.shape[1] for photo in photos], np.float64)
    crops = []
    for index in rng.choice(len(photos), size=count, p=areas / areas.sum()):
        photo = photos[index]
        top, left = rng.integers(0, photo.shape[0] - CROP + 1), rng.integers(0, photo.shape[1] - CROP + 1)
        crops.append(photo[top:top + CROP, left:left + CROP])
    return np.stack(crops)


def laplacian_energy(image, region=None):
    """Mean squared Laplacian of `[H, W, 1]`, over the pixels whose 3x3 neighbourhoods lie in `region` (all by
    default), so that a hole's edge does not count as detail."""
    kernel = tf.constant([[0, 1, 0], [1, -4, 1], [0, 1, 0]], tf.float32)[:, :, None, None]
    energy = tf.square(tf.nn.conv2d(np.asarray(image, np.float32)[None], kernel, 1, "VALID"))[0, ..., 0]
    if region is None:
        return float(tf.reduce_mean(energy))
    inside = 1.0 - tf.nn.max_pool2d(1.0 - np.asarray(region, np.float32)[None], 3, 1, "VALID")[0, ..., 0]
    return float(tf.reduce_sum(energy * inside) / tf.reduce_sum(inside))


def scores(outputs, originals, shave=SHAVE, hole=None):
    """Mean PSNR, SSIM and detail over images of any sizes, `shave` border pixels left out; with a `hole`
    `[H, W, 1]`, the L1 distance in it too, and the detail inside it."""
    figures = {"psnr": [], "ssim": [], "detail": [], **({"l1_hole": []} if hole is not None else {})}
    energies = []
    for output, original in zip(outputs, originals):
        output = np.clip(output, 0.0, 1.0)
        if hole is not None:
            figures["l1_hole"].append(float(np.abs(output - original)[hole[..., 0] > 0].mean()))
        if shave:
            output, original = output[shave:-shave, shave:-shave], original[shave:-shave, shave:-shave]
        figures["psnr"].append(degradation.psnr(output[None], original[None]))
        figures["ssim"].append(float(tf.image.ssim(output, original, 1.0)))
        energies.append((laplacian_energy(output, hole), laplacian_energy(original, hole)))
    energies = np.array(energies)
    # Photographs: the mean of each one's ratio. Crops' holes may be flat (sky, shadow): the ratio of the sums.
    figures["detail"] = energies[:, 0] / energies[:, 1] if hole is None else energies[:, 0].sum() / energies[:, 1].sum()
    return {name: float(np.mean(values)) for name, values in figures.items()}


def superres(args, held_out, bank):
    """`(table rows, picture)` of the super-resolution methods on the held-out photographs."""
    low = [degradation.degrade(photo[None], degradation.Degradation(SCALE))[0] for photo in held_out]
    bicubic = [degradation.bicubic_upscale(image[None], SCALE)[0] for image in low]
    rows, outputs = {"bicubic": scores(bicubic, held_out)}, {"bicubic": bicubic}
    print("bicubic", rows["bicubic"], flush=True)
    config = os.path.join(CONFIGS, "esrgan_fashion_mnist.yaml")
    data = [f"data.source=npz:{bank}", "data.split=train", "data.patch_size=null", "train.num_samples=4"]
    for name, overrides in SUPERRES.items():
        pretrain = 0 if name == "pixel loss" else args.steps // 3
        model, seconds = train(config, SUPERRES_COMMON + data + overrides, args.steps, pretrain)
        outputs[name] = [model.translate(image[None])[0] for image in low]
        rows[name] = {**scores(outputs[name], held_out), "seconds": seconds}
        print(name, rows[name], flush=True)
    outputs["original"] = held_out
    side, picture = 96, []  # a 96x96 crop of each photograph's centre (rows), by method (columns)
    for index, photo in enumerate(held_out):
        top, left = (photo.shape[0] - side) // 2, (photo.shape[1] - side) // 2
        picture.extend(np.clip(outputs[name][index][top:top + side, left:left + side], 0, 1) for name in outputs)
    return rows, images.samples_picture(np.stack(picture), len(outputs))


def inpainting(args, held_out, bank):
    """`(table rows, picture)` of the inpainting methods on random crops of the held-out photographs."""
    originals = random_crops(held_out, 500, seed=1)
    hole = np.asarray(masks.center_mask(CROP, CROP, 0.5))
    mean_fill = originals * (1 - hole) + hole * originals.mean()
    rows, outputs = {"mean pixel": scores(mean_fill, originals, 0, hole)}, {"mean pixel": mean_fill}
    print("mean pixel", rows["mean pixel"], flush=True)
    config = os.path.join(CONFIGS, "inpainting_fashion_mnist.yaml")
    data = [f"data.source=npz:{bank}", "data.split=train", "model.generator.dilations=[2, 4, 8]",
            "train.num_samples=4"]
    for name, overrides in INPAINTING.items():
        model, seconds = train(config, INPAINTING_COMMON + data + overrides, args.steps)
        outputs[name] = model.translate(originals)
        rows[name] = {**scores(outputs[name], originals, 0, hole), "seconds": seconds}
        print(name, rows[name], flush=True)
    outputs["original"] = originals
    shown = 6
    holed = originals[:shown] * (1 - hole)
    picture = np.stack([holed, *(np.clip(values[:shown], 0, 1) for values in outputs.values())], 1)
    return rows, images.samples_picture(picture.reshape(-1, CROP, CROP, 1), len(outputs) + 1)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--parts", default="superres,inpainting")
    parser.add_argument("--steps", type=int, default=1500)
    parser.add_argument("--crops", type=int, default=6000)
    parser.add_argument("--photos", help="a folder with scikit-image's sample photographs (default: its own)")
    parser.add_argument("--out", default=os.path.join(ROOT, "docs"))
    args = parser.parse_args()
    directory = args.photos or photos_directory()
    held_out = [luminance(os.path.join(directory, name)) for name in HELD_OUT]
    crops = random_crops([luminance(os.path.join(directory, name)) for name in TRAINING], args.crops)
    os.makedirs(args.out, exist_ok=True)
    json_path = os.path.join(args.out, "restoration_photos.json")
    result = {}
    if os.path.isfile(json_path):
        with open(json_path) as stream:
            result = json.load(stream)
    result.update({"held_out": HELD_OUT, "training": TRAINING})
    setting = (f"({time.strftime('%Y-%m-%d')}, 2 CPU cores, `--steps {args.steps}`): on the luminance of "
               f"{len(HELD_OUT)} held-out photographs ({', '.join(HELD_OUT)}), after training on {args.crops} random "
               f"{CROP}x{CROP} crops of {len(TRAINING)} others (scikit-image's sample images). Detail: mean squared "
               "Laplacian over the originals' (1 = the photographs' fine detail).")
    with tempfile.TemporaryDirectory() as scratch:
        bank = os.path.join(scratch, "crops.npz")
        np.savez(bank, x=np.round(crops * 255).astype(np.uint8))
        for part in args.parts.split(","):
            if part == "superres":
                rows, picture = superres(args, held_out, bank)
                text = (f"Super-resolution x4 {setting}\n\n{table(rows, ['psnr', 'ssim', 'detail'])}\n\n"
                        "![a crop of each held-out photograph: bicubic, pixel loss, SRGAN, ESRGAN, original]"
                        "(restoration_photos.png)\n")
                name, markers = "restoration_photos.png", ("<!-- photos -->", "<!-- /photos -->")
            elif part == "inpainting":
                rows, picture = inpainting(args, held_out, bank)
                text = (f"Inpainting of a centred 32x32 hole in 500 random 64x64 crops {setting}\n\n"
                        f"{table(rows, ['psnr', 'ssim', 'l1_hole', 'detail'])}\n\n"
                        "![crops of held-out photographs: holed input, mean pixel, L1 only, GAN, original]"
                        "(restoration_photos_inpainting.png)\n")
                name, markers = "restoration_photos_inpainting.png", ("<!-- photos-inpainting -->",
                                                                      "<!-- /photos-inpainting -->")
            else:
                raise SystemExit(f"--parts: unknown part {part!r} (superres, inpainting)")
            result[part] = {"steps": args.steps, "crops": args.crops, "rows": rows}
            images.save_png(picture, os.path.join(args.out, name))
            write_tables(os.path.join(args.out, "restoration.md"), text, *markers)
            with open(json_path, "w") as stream:
                json.dump(result, stream, indent=1)
    print(json.dumps(result))


if __name__ == "__main__":
    main()
