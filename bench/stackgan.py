"""Benchmark: StackGAN on captioned Fashion-MNIST: does it draw what the captions say, and what does Stage-II add?

Trains `configs/stackgan_fashion_mnist.yaml` (or scores `--run`, a run directory of it), then, for Stage-I's
images (16x16) and Stage-II's (32x32) of the same run:
- text-following (`evaluation.text_following`): for every class and every pair of attributes, samples drawn for
  captions saying them; the class accuracy of a Fashion-MNIST domain classifier on them (chance 0.1), and for
  brightness and width the fraction of classes whose "light" ("wide") samples measure above their "dark"
  ("narrow") ones, with the mean gap;
- FCD against the test split at that stage's resolution, of samples drawn for the test images' own captions
  (written on the training images' attribute scale), in the domain classifier's features.
Writes `docs/stackgan.json`, the table between the `<!-- bench -->` markers of `docs/stackgan.md`, and
`docs/stackgan_samples.png` (a row per caption: real-size Stage-I samples upscaled, then Stage-II's).

    python bench/stackgan.py [--epochs 10] [--run RUN_DIR] [--classifier PATH.keras] [--out docs]

Needs Debian's dataset-fashion-mnist. About half an hour on 2 CPU cores with the shipped config's 10 epochs.
"""
import argparse
import json
import os
import sys
import tempfile
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), ".."))
sys.path.insert(0, ROOT)

import numpy as np  # noqa: E402

from tfgan_impl import captions, data, evaluation, images, rundir, sampling, training  # noqa: E402
from tfgan_impl import config as config_module  # noqa: E402
from tfgan_impl.metrics import classifier as classifiers  # noqa: E402

CONFIG = os.path.join(ROOT, "configs", "stackgan_fashion_mnist.yaml")
SHOWN = [f"a {brightness}, {width} {noun}" for noun in ("t-shirt", "pair of trousers", "dress", "sandal", "bag",
                                                         "ankle boot")
         for brightness, width in (("dark", "narrow"), ("light", "wide"))]


def fcd_per_stage(model, classifier, info, num, seed=0):
    """FCD of each stage's samples for the first `num` test images' captions against the test split."""
    test = data.load_source("fashion_mnist", "test")
    unit = data.to_unit_interval(test.images[:num])
    scale = captions.AttributeScale(**{key: tuple(value) for key, value in info["attribute_scale"].items()})
    written = [row[0] for row in captions.fashion_captions(unit, test.labels[:num], scale, per_image=1, seed=seed)]
    embeddings = model.encode(written)
    figures = []
    for stage in range(len(model.stage_generators)):
        drawn = np.concatenate([model.generate_from_embeddings(embeddings[start:start + 500], seed=seed + start,
                                                               stage=stage) for start in range(0, num, 500)])
        evaluator = evaluation.Evaluator("fashion_mnist", ["fcd"], classifier=classifier,
                                         image_size=list(drawn.shape[1:3]))
        figures.append({"resolution": int(drawn.shape[1]),
                        "fcd": evaluator(evaluation.array_chunks(drawn, num))["fcd"]})
    return figures


def table(result):
    lines = ["| stage | resolution | class accuracy | brightness agreement (gap) | width agreement (gap) | FCD |",
             "| --- | --- | --- | --- | --- | --- |"]
    for name, figures in result["stages"].items():
        lines.append(f"| {name} | {figures['resolution']}x{figures['resolution']} | {figures['class_accuracy']:.2f} "
                     f"| {figures['brightness_agreement']:.1f} ({figures['brightness_gap']:+.3f}) "
                     f"| {figures['width_agreement']:.1f} ({figures['width_gap']:+.3f}) | {figures['fcd']:.1f} |")
    return "\n".join(lines)


def write_section(path, text, begin="<!-- bench -->", end="<!-- /bench -->"):
    with open(path) as stream:
        page = stream.read()
    if begin not in page:
        page += f"\n{begin}\n{end}\n"
    head, _, rest = page.partition(begin)
    _, _, tail = rest.partition(end)
    images.write_text(path, f"{head}{begin}\n{text}{end}{tail}")


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, help="override train.epochs (the config's: 10)")
    parser.add_argument("--run", help="score this run directory instead of training one")
    parser.add_argument("--classifier", help="a Fashion-MNIST domain classifier (.keras); by default one is trained "
                        "(3 epochs)")
    parser.add_argument("--per-caption", type=int, default=16)
    parser.add_argument("--fcd-num", type=int, default=2000)
    parser.add_argument("--out", default=os.path.join(ROOT, "docs"))
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as scratch:
        classifier = args.classifier
        if classifier is None:
            model, accuracy = classifiers.train_classifier("fashion_mnist", epochs=3)
            classifier = os.path.join(scratch, "classifier.keras")
            model.save(classifier)
            print(f"domain classifier: test accuracy {accuracy:.3f}", flush=True)
        run, seconds = args.run, None
        if run is None:
            run = os.path.join(scratch, "run")
            overrides = [] if args.epochs is None else [f"train.epochs={args.epochs}"]
            started = time.time()
            training.train(config_module.load(CONFIG, overrides), run, verbose=2)
            seconds = time.time() - started
        loaded = rundir.load(run)
        model, info = loaded.model, loaded.info
        fcds = fcd_per_stage(model, classifier, info, args.fcd_num)
        stages = {}
        for index, name in enumerate(["Stage-I", "Stage-II"][:len(model.stage_generators)]):
            following = evaluation.text_following(model, classifier, per_caption=args.per_caption, stage=index)
            stages[name] = {**fcds[index], **following}
        result = {"date": time.strftime("%Y-%m-%d"), "epochs": loaded.config.train.epochs,
                  "steps": int(model.steps.numpy()), "training_seconds": seconds,
                  "text_match_accuracy": info.get("text_match_accuracy"), "stages": stages}
        picture = os.path.join(args.out, "stackgan_samples.png")
        sampling.write_text_samples(model, 6, 0, picture, captions=SHOWN, stages=True)
    with open(os.path.join(args.out, "stackgan.json"), "w") as stream:
        json.dump(result, stream, indent=1)
    trained = "" if seconds is None else f", {seconds / 60:.0f} minutes"
    text = (f"`configs/stackgan_fashion_mnist.yaml`, {result['epochs']} epochs ({result['steps']} updates{trained} "
            f"on 2 CPU cores, {result['date']}); class accuracy by a domain classifier (chance 0.10), attribute "
            "agreement over the 10 classes (gap in the attribute's units), FCD of samples for the test images' "
            f"captions at each stage's resolution (`python bench/stackgan.py`):\n\n{table(result)}\n\n"
            "![a row per caption (dark/narrow and light/wide t-shirt, trousers, dress, sandal, bag, ankle boot): six "
            "Stage-I samples upscaled, then the same six from Stage-II](stackgan_samples.png)\n")
    write_section(os.path.join(args.out, "stackgan.md"), text)
    print(json.dumps(result))


if __name__ == "__main__":
    main()
