"""Benchmark: the semi-supervised GAN's classifier against the same network trained on the labels alone.

Runs `configs/sgan_fashion_mnist.yaml` (or CONFIG) through `tfgan_impl.training.train`, exactly as
`tfgan-impl train` does, then `supervised_baseline` with the same network, labelled examples,
optimizer and number of updates, and reports both test accuracies (the baseline's best epoch, to be fair to it).
Writes docs/semi_supervised.md. Usage: python bench/semi_supervised.py [CONFIG] [--set KEY=VALUE ...] [--out docs]
[--run-dir DIR] (a run kept in DIR resumes, so a long run can be taken in several sittings).
"""
import argparse
import csv
import json
import os
import tempfile

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

from tfgan_impl import config as config_module  # noqa: E402
import numpy as np  # noqa: E402

from tfgan_impl import data, images, training  # noqa: E402
from tfgan_impl.families import sgan as sgan_family  # noqa: E402

ROOT = os.path.join(os.path.dirname(__file__), "..")


def supervised_baseline(config, verbose=0, epochs=None):
    """Trains the semi-supervised GAN's classifier network alone on its labelled examples: the baseline the
    method must beat (Salimans et al. 2016, table 1, compare against the same network without the GAN).

    `families.sgan.labels_only_classifier`, fitted for as many updates as the GAN run makes; the accuracy on the
    `test` split is measured after every epoch.

    Args:
        config: a validated `Config` of `model.type: sgan`.
        verbose: `fit` verbosity.
        epochs: how many of the GAN run's epochs to match (default all of them).

    Returns:
        A list of test accuracies, one per epoch.
    """
    classifier, dataset = sgan_family.labels_only_classifier(config)
    accuracy = sgan_family.held_out_accuracy(config)
    steps = config.train.steps_per_epoch or (data.load_source(config.data.source, config.data.split,
                                                               config.data.data_dir).num_examples
                                             // config.data.batch_size)
    history = []
    for epoch in range(epochs or config.train.epochs):
        classifier.fit(dataset, epochs=epoch + 1, initial_epoch=epoch, steps_per_epoch=steps * config.train.d_steps,
                       shuffle=False, verbose=verbose)  # the dataset shuffles itself
        predictions = np.argmax(classifier.predict(accuracy.images, batch_size=256, verbose=0), axis=-1)
        history.append(float(np.mean(predictions == accuracy.labels)))
    return history


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("config", nargs="?", default=os.path.join(ROOT, "configs", "sgan_fashion_mnist.yaml"))
    parser.add_argument("--set", action="append", default=[])
    parser.add_argument("--out", default=os.path.join(ROOT, "docs"))
    parser.add_argument("--run-dir", default=None,
                        help="keep the GAN's run here and resume it (longer --set train.epochs=N continues it); "
                             "default: a temporary directory")
    parser.add_argument("--baseline-epochs", type=int, default=None,
                        help="train the labels-only baseline for this many of the GAN's epochs (default: as many; "
                             "it levels off within a few, so a 100-epoch GAN run need not pay for 100 more)")
    args = parser.parse_args()
    config = config_module.load(args.config, args.set)
    with tempfile.TemporaryDirectory() as scratch:
        run_dir = args.run_dir or scratch
        training.train(config, run_dir, verbose=0)
        with open(os.path.join(run_dir, "metrics.csv"), newline="") as stream:
            gan_accuracy = [float(row["test_accuracy"]) for row in csv.DictReader(stream)][:config.train.epochs]
    baseline = supervised_baseline(config, epochs=args.baseline_epochs)
    result = {"config": os.path.basename(args.config), "overrides": args.set,
              "labels_per_class": config.options.labels_per_class, "epochs": config.train.epochs,
              "baseline_epochs": len(baseline),
              "sgan_test_accuracy": gan_accuracy, "supervised_only_test_accuracy": baseline}
    print(json.dumps(result))
    table = "\n".join([
        f"{config.data.source}, {config.options.labels_per_class} labels per class, {config.train.epochs} epochs, "
        f"seed {config.seed} ({os.path.basename(args.config)} {' '.join(args.set)}).",
        "",
        "| classifier | test accuracy (last epoch) | best epoch |",
        "|---|---|---|",
        f"| semi-supervised GAN discriminator | {gan_accuracy[-1]:.4f} | {max(gan_accuracy):.4f} |",
        f"| same network, labelled examples only ({len(baseline)} epochs) | {baseline[-1]:.4f} | {max(baseline):.4f} |",
    ])
    print(table)
    os.makedirs(args.out, exist_ok=True)
    images.write_text(os.path.join(args.out, "semi_supervised.md"), table + "\n")


if __name__ == "__main__":
    main()
