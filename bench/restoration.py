"""Benchmark: the image-restoration families on held-out Fashion-MNIST, distortion against perception.

Super-resolution x4 (7x7 -> 28x28): bicubic upscaling; the pixel-loss network (ESRGAN's RRDB generator,
`train.adversarial_weight 0`); SRGAN (SRResNet generator, non-saturating loss, weight 1e-3 after the pixel-loss
pretraining); ESRGAN (RRDB, relativistic average loss, weight 1e-3 after the same pretraining). Inpainting of a
centred 14x14 hole: the mean pixel; the L1-only completion network (`train.adversarial_weight 0`); the GAN
(weight 0.01). Each model trains its shipped config (narrowed as `--set` and the defaults below say) through
`tfgan_impl.training.train`, as `tfgan-impl train` does, for `--steps` updates. Scores on `--test-split`: PSNR
and SSIM (`tf.image.ssim`, window 7: the images are 28x28) against the originals, L1 in the hole for inpainting,
and FCD of the outputs in the domain classifier's features (trained once, 3 epochs, the README's figure).
Writes the tables of `docs/restoration.md` (between its markers; its prose stays), `docs/restoration.json` and `docs/restoration.png` (rows of test images: input,
each method, original).

    python bench/restoration.py [--steps 1500] [--test-split test[:2000]] [--out docs]

Needs Debian's dataset-fashion-mnist.
"""
import argparse
import json
import os
import tempfile
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402

from tfgan_impl import config as config_module  # noqa: E402
from tfgan_impl import degradation, evaluation, images, masks, training  # noqa: E402
from tfgan_impl.families import inpainting as inpainting_family  # noqa: E402
from tfgan_impl.families import superres as superres_family  # noqa: E402
from tfgan_impl.metrics import classifier as classifiers  # noqa: E402

ROOT = os.path.join(os.path.dirname(__file__), "..")
CONFIGS = os.path.join(ROOT, "configs")
# Sized as the learning tests are (2 RRDBs / SRResNet blocks of 16 channels; 16 filters); XLA as the configs say.
SUPERRES = {
    "pixel loss": ["train.adversarial_weight=0"],
    "SRGAN": ["model.generator={name: srresnet, filters: 16, num_blocks: 4}", "model.adversarial_loss=non_saturating"],
    "ESRGAN": [],
}
SUPERRES_COMMON = ["model.generator.num_blocks=2", "model.generator.filters=16", "model.generator.growth=8",
                   "model.discriminator.filters=16", "model.discriminator.dense_units=64",
                   "train.g_optimizer.learning_rate=0.0005", "train.d_optimizer.learning_rate=0.0005"]
INPAINTING = {"L1 only": ["train.adversarial_weight=0"], "GAN": ["train.adversarial_weight=0.01"]}
INPAINTING_COMMON = ["model.generator.filters=16", "model.discriminator.filters=16", "data.batch_size=16"]


def train(path, overrides, steps, pretrain=None):
    epochs = 5
    settings = [*overrides, f"train.epochs={epochs}", f"train.steps_per_epoch={steps // epochs}",
                f"train.sample_every={epochs}"]
    if pretrain is not None:
        settings.append(f"train.pretrain_steps={pretrain}")
    config = config_module.load(path, settings)
    started = time.perf_counter()
    with tempfile.TemporaryDirectory() as run_dir:
        model = training.train(config, run_dir, verbose=0)
    return model, time.perf_counter() - started


def scores(outputs, originals, evaluator, hole=None):
    outputs = np.clip(np.asarray(outputs, np.float32), 0.0, 1.0)
    figures = {"psnr": degradation.psnr(outputs, originals),
               "ssim": float(tf.reduce_mean(tf.image.ssim(outputs, originals, 1.0, filter_size=7))),
               "fcd": evaluator(evaluation.array_chunks(outputs, len(outputs)))["fcd"]}
    if hole is not None:
        figures["l1_hole"] = float(np.abs(outputs - originals)[:, hole[..., 0] > 0].mean())
    return figures


def table(rows, columns):
    lines = ["| method | " + " | ".join(columns) + " | training |", "| --- |" + " --- |" * (len(columns) + 1)]
    for name, figures in rows.items():
        cells = [f"{figures[c]:.3f}" if c in ("ssim", "l1_hole", "detail") else f"{figures[c]:.2f}" for c in columns]
        seconds = figures.get("seconds")
        lines.append(f"| {name} | " + " | ".join(cells) + f" | {'' if seconds is None else f'{seconds:.0f} s'} |")
    return "\n".join(lines)


def write_tables(path, tables, begin="<!-- tables -->", end="<!-- /tables -->"):
    """Puts `tables` between the markers of the page at `path` (its prose stays), or starts the page."""
    page = (f"# Image restoration: distortion against perception\n\n{begin}\n{end}\n\n"
            "![rows: input, bicubic, pixel loss, SRGAN, ESRGAN, original; then holed input, mean pixel, L1 only, GAN, "
            "original](restoration.png)\n")
    if os.path.isfile(path):
        with open(path) as stream:
            page = stream.read()
    head, _, rest = page.partition(begin)
    _, _, tail = rest.partition(end)
    images.write_text(path, f"{head}{begin}\n{tables}{end}{tail}")


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=1500)
    parser.add_argument("--test-split", default="test[:2000]")
    parser.add_argument("--out", default=os.path.join(ROOT, "docs"))
    parser.add_argument("--classifier", help="a domain classifier .keras file (default: train one, 3 epochs)")
    args = parser.parse_args()
    classifier = args.classifier
    if classifier is None:
        model, _ = classifiers.train_classifier("fashion_mnist", epochs=3)
        classifier = os.path.join(tempfile.mkdtemp(), "classifier.keras")
        model.save(classifier)
    evaluator = evaluation.Evaluator("fashion_mnist", ["fcd"], classifier=classifier)
    shown = 8

    superres_config = os.path.join(CONFIGS, "esrgan_fashion_mnist.yaml")
    low, high = superres_family.pairs(config_module.load(superres_config), args.test_split)
    bicubic = degradation.bicubic_upscale(low, 4)
    superres = {"bicubic": scores(bicubic, high, evaluator)}
    superres_pictures = [np.asarray(tf.image.resize(low[:shown], [28, 28], method="nearest")), bicubic[:shown]]
    for name, overrides in SUPERRES.items():
        pretrain = 0 if name == "pixel loss" else args.steps // 3
        model, seconds = train(superres_config, SUPERRES_COMMON + overrides, args.steps, pretrain)
        outputs = model.translate(low)
        superres[name] = {**scores(outputs, high, evaluator), "seconds": seconds}
        superres_pictures.append(outputs[:shown])
        print(name, superres[name], flush=True)
    superres_pictures.append(high[:shown])

    inpainting_config = os.path.join(CONFIGS, "inpainting_fashion_mnist.yaml")
    originals = inpainting_family.source_images(config_module.load(inpainting_config), args.test_split)
    hole = np.asarray(masks.center_mask(28, 28, 0.5))
    inpainting = {"mean pixel": scores(originals * (1 - hole) + hole * originals.mean(), originals, evaluator, hole)}
    inpainting_pictures = [inpainting_family.holed(originals[:shown], 0.5),
                           (originals * (1 - hole) + hole * originals.mean())[:shown]]
    for name, overrides in INPAINTING.items():
        model, seconds = train(inpainting_config, INPAINTING_COMMON + overrides, args.steps)
        outputs = model.translate(originals)
        inpainting[name] = {**scores(outputs, originals, evaluator, hole), "seconds": seconds}
        inpainting_pictures.append(outputs[:shown])
        print(name, inpainting[name], flush=True)
    inpainting_pictures.append(originals[:shown])

    os.makedirs(args.out, exist_ok=True)
    result = {"steps": args.steps, "test_split": args.test_split, "superres": superres, "inpainting": inpainting}
    with open(os.path.join(args.out, "restoration.json"), "w") as stream:
        json.dump(result, stream, indent=1)
    # Rows: super-resolution (input, bicubic, pixel, SRGAN, ESRGAN, original), then inpainting (input, mean,
    # L1 only, GAN, original, blank).
    blank = np.ones_like(originals[:shown])
    grid = [np.stack(superres_pictures, 1), np.stack(inpainting_pictures + [blank], 1)]
    picture = images.samples_picture(np.concatenate(grid).reshape(-1, 28, 28, 1), 6)
    images.save_png(picture, os.path.join(args.out, "restoration.png"))
    tables = (f"`python bench/restoration.py --steps {args.steps}` on {args.test_split} of Fashion-MNIST "
              f"({time.strftime('%Y-%m-%d')}, 2 CPU cores). FCD: Frechet distance in the domain classifier's "
              "features (lower is nearer the data).\n\n"
              f"## Super-resolution x4 (7x7 -> 28x28)\n\n{table(superres, ['psnr', 'ssim', 'fcd'])}\n\n"
              f"## Inpainting (a centred 14x14 hole)\n\n{table(inpainting, ['psnr', 'ssim', 'l1_hole', 'fcd'])}\n")
    write_tables(os.path.join(args.out, "restoration.md"), tables)
    print(json.dumps(result))


if __name__ == "__main__":
    main()
