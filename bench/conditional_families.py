"""Benchmark: BigGAN against the conditional GAN and ACGAN on Fashion-MNIST at 32x32, same wall-clock budget.

Each config trains with each seed as `bench/image_families.py` trains them (`tfgan-impl train`, Fashion-MNIST resized
to 32x32, `--jobs` processes at a time with one TensorFlow thread each, interrupted after `--minutes`). Then each
run is scored in the Fashion-MNIST domain classifier's features (trained once, 3 epochs): FCD of 10,000 samples
(the classes in turn), and per requested class (`evaluation.class_fidelity`, 1,000 samples a class) the
classifier's accuracy and the intra-class FCD averaged over the classes. BigGAN runs are also scored along the
truncation curve (thresholds 2.0, 1.0, 0.5), written as `truncation.png`. Prints a table and writes
`results.json`.

    python bench/conditional_families.py [--minutes 15] [--seeds 0,1] [--jobs 2] [CONFIG ...]

The default configs: configs/biggan_fashion_mnist.yaml, configs/cgan_fashion_mnist.yaml,
configs/acgan_fashion_mnist.yaml. Needs Debian's dataset-fashion-mnist.
"""
import json
import os
import sys

sys.path.insert(0, os.path.dirname(__file__))
from image_families import IMAGE_SIZE, ROOT, parse_arguments, train_all  # noqa: E402

DEFAULT_CONFIGS = [os.path.join(ROOT, "configs", name) for name in
                   ("biggan_fashion_mnist.yaml", "cgan_fashion_mnist.yaml", "acgan_fashion_mnist.yaml")]
THRESHOLDS = (2.0, 1.0, 0.5)


def score(run_dir, classifier, truncation=None):
    from tfgan_impl import evaluation, rundir

    model = rundir.load_run(run_dir)
    figures = evaluation.class_fidelity(model, classifier, "fashion_mnist", num_per_class=1000,
                                        truncation=truncation, image_size=IMAGE_SIZE)
    if truncation is None:
        evaluator = evaluation.Evaluator("fashion_mnist", ["fcd"], classifier=classifier, image_size=IMAGE_SIZE)
        figures["fcd"] = evaluator(evaluation.generator_chunks(model, 10_000, seed=1))["fcd"]
    return figures, hasattr(model, "truncated")


def plot_truncation(curves, path, size=(320, 220), margin=40):
    """Line charts of intra-class FCD and class accuracy against the threshold, drawn with PIL (no plotting
    library is a dependency): one panel per figure, one line per run, no truncation at the left."""
    from PIL import Image, ImageDraw

    colours = [(31, 119, 180), (255, 127, 14), (44, 160, 44), (214, 39, 40)]
    picture = Image.new("RGB", (2 * size[0], size[1] + 20 * len(curves)), "white")
    draw = ImageDraw.Draw(picture)
    xs = sorted({point[0] for points in curves.values() for point in points}, reverse=True)
    for panel, (index, title) in enumerate(((1, "intra-class FCD"), (2, "class accuracy"))):
        left, width, height = panel * size[0] + margin, size[0] - 1.5 * margin, size[1] - 2 * margin
        values = [point[index] for points in curves.values() for point in points]
        low, high = min(values), max(values) + 1e-9

        def position(x, y):
            return (left + width * xs.index(x) / max(len(xs) - 1, 1), margin + height * (1 - (y - low) / (high - low)))

        draw.rectangle([left, margin, left + width, margin + height], outline="black")
        draw.text((left, 8), title, fill="black")
        draw.text((left - margin + 2, margin - 6), f"{high:.2f}", fill="black")
        draw.text((left - margin + 2, margin + height - 6), f"{low:.2f}", fill="black")
        for x in xs:
            draw.text((position(x, low)[0] - 8, margin + height + 4), "none" if x > 2.5 else f"{x:g}", fill="black")
        for colour, points in zip(colours * 4, curves.values()):
            draw.line([position(x, y[index - 1]) for x, *y in points], fill=colour, width=2)
    for row, (colour, label) in enumerate(zip(colours * 4, curves)):
        draw.text((margin, size[1] + 20 * row), label, fill=colour)
    picture.save(path)


def main():
    args = parse_arguments(__doc__.splitlines()[0], DEFAULT_CONFIGS, "conditional_families")
    runs, trained, classifier = train_all(args)
    print(f"{args.minutes:g} minutes of training each, {args.jobs} runs at a time (one thread each); FCD of 10,000 "
          "samples, class accuracy and intra-class FCD of 1,000 samples per class, at 32x32")
    print("config | seed | steps | FCD | intra-class FCD | class accuracy")
    rows, curves = [], {}
    for (config, seed, out), (seconds, epochs) in zip(runs, trained):
        figures, truncates = score(out, classifier)
        name = os.path.basename(config)
        rows.append({"config": name, "seed": seed, "epochs": epochs, "steps": epochs * args.steps_per_epoch,
                     **figures})
        print(f"{name} | {seed} | {epochs * args.steps_per_epoch} | {figures['fcd']:.2f} | "
              f"{figures['intra_fcd']:.2f} | {figures['class_accuracy']:.3f}")
        if truncates:
            points = [(3.0, figures["intra_fcd"], figures["class_accuracy"])]  # 3.0 stands for no truncation
            for threshold in THRESHOLDS:
                truncated, _ = score(out, classifier, truncation=threshold)
                points.append((threshold, truncated["intra_fcd"], truncated["class_accuracy"]))
                rows[-1][f"truncated_{threshold}"] = truncated
                print(f"  truncated at {threshold}: intra-class FCD {truncated['intra_fcd']:.2f}, "
                      f"class accuracy {truncated['class_accuracy']:.3f}")
            curves[f"{name} seed {seed}"] = points
    with open(os.path.join(args.out, "results.json"), "w") as stream:
        json.dump(rows, stream, indent=1, default=float)
    if curves:
        plot_truncation(curves, os.path.join(args.out, "truncation.png"))


if __name__ == "__main__":
    main()
