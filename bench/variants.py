"""Runs of named variants over seeds for bench/claims.py: train as a user would, score, cache (issue 23).

A variant is a config and its overrides; `run_all` trains every (variant, seed) with `tfgan-impl train`, `jobs`
processes at a time with one TensorFlow thread each, then scores the run in another one-thread process: FCD of
10,000 samples in the Fashion-MNIST domain classifier's features (trained once, 3 epochs), and for conditional
models the class accuracy and intra-class FCD of 1,000 samples a class. The training log (`metrics.csv`: losses,
D's mean outputs, the training-health columns, and FCD of 2,000 samples after every epoch when `curve` is set) is
kept with the scores in the run's `result.json`; a run whose `result.json` exists is not trained again.

    python bench/variants.py score RUN_DIR --classifier PATH   (the scoring process; bench/claims.py calls it)
"""
import argparse
import csv
import json
import os
import subprocess
import sys
import time
from concurrent import futures

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), ".."))
ONE_THREAD = {"TF_NUM_INTRAOP_THREADS": "1", "TF_NUM_INTEROP_THREADS": "1", "OMP_NUM_THREADS": "1"}


def config_path(name):
    return os.path.join(ROOT, "configs", name)


# The variants the claims compare: every one on Fashion-MNIST 28x28 with the DCGAN networks (base_filters 32) of
# configs/dcgan_fashion_mnist.yaml unless its name says otherwise.
VARIANTS = {
    "dcgan": (config_path("dcgan_fashion_mnist.yaml"), []),
    # The 2014 set-up (maxout D, 1200-1200 MLP G, SGD with momentum, simultaneous updates) on the same data.
    "gan2014": (config_path("gan_mnist.yaml"), ["data.source=fashion_mnist", "data.split=train",
                                                "train.health=warn"]),
    "minimax": (config_path("dcgan_fashion_mnist.yaml"), ["train.loss=minimax"]),
    "lsgan": (config_path("lsgan_fashion_mnist.yaml"), []),
    # The LSGAN paper's harder set-up (Mao et al. 2017, sec. 4.2.2): no batch norm in the generator.
    "dcgan_nobn": (config_path("dcgan_fashion_mnist.yaml"), ["model.generator.batch_norm=false"]),
    "minimax_nobn": (config_path("dcgan_fashion_mnist.yaml"), ["train.loss=minimax",
                                                                "model.generator.batch_norm=false"]),
    "lsgan_nobn": (config_path("lsgan_fashion_mnist.yaml"), ["model.generator.batch_norm=false"]),
    "cgan": (config_path("cgan_fashion_mnist.yaml"), []),
    "acgan": (config_path("acgan_fashion_mnist.yaml"), []),
    "wgan": (config_path("wgan_fashion_mnist.yaml"), []),
    # The semi-supervised GAN and a plain GAN with the very same networks, batches and optimizers.
    "sgan": (config_path("sgan_fashion_mnist.yaml"), []),
    "gan_sgan_networks": (config_path("dcgan_fashion_mnist.yaml"), [
        "model.discriminator={name: dcgan, base_filters: 32, batch_norm: false, dropout: 0.3}",
        "data.batch_size=100"]),
}


def domain_classifier(out):
    """The Fashion-MNIST domain classifier every score uses (trained once, 3 epochs, seed 0), cached in `out`."""
    path = os.path.join(out, "fashion_mnist_classifier.keras")
    if not os.path.exists(path):
        os.makedirs(out, exist_ok=True)
        subprocess.run([sys.executable, "-m", "tfgan_impl", "train-classifier", "fashion_mnist", "--out", path,
                        "--epochs", "3", "--verbose", "0"], cwd=ROOT, check=True, stdout=subprocess.DEVNULL)
    return path


def read_log(run_dir):
    """`metrics.csv` as a list of `{column: float}`, one per epoch."""
    with open(os.path.join(run_dir, "metrics.csv")) as stream:
        return [{key: float(value) for key, value in row.items() if value not in ("", None)}
                for row in csv.DictReader(stream)]


def run_one(variant, seed, out, classifier, epochs, steps_per_epoch=None, curve=False):
    """Trains and scores one (variant, seed) unless its `result.json` exists; returns that result."""
    run_dir = os.path.join(out, variant, f"seed{seed}")
    result_path = os.path.join(run_dir, "result.json")
    if os.path.exists(result_path):
        with open(result_path) as stream:
            return json.load(stream)
    config, overrides = VARIANTS[variant]
    overrides = overrides + [f"seed={seed}", f"train.epochs={epochs}", "train.sample_every=1000000"]
    if steps_per_epoch:
        overrides.append(f"train.steps_per_epoch={steps_per_epoch}")
    if curve:
        overrides += ["evaluate.metrics=[fcd]", f"evaluate.classifier={classifier}", "evaluate.num=2000"]
    command = [sys.executable, "-m", "tfgan_impl", "train", config, "--out", run_dir, "--verbose", "2"]
    for override in overrides:
        command += ["--set", override]
    os.makedirs(run_dir, exist_ok=True)
    started = time.time()
    environment = dict(os.environ, **ONE_THREAD)
    with open(os.path.join(run_dir, "train.log"), "w") as log:
        subprocess.run(command, stdout=log, stderr=subprocess.STDOUT, cwd=ROOT, env=environment, check=True)
    seconds = time.time() - started
    subprocess.run([sys.executable, __file__, "score", run_dir, "--classifier", classifier], cwd=ROOT,
                   env=environment, check=True)
    with open(os.path.join(run_dir, "scores.json")) as stream:
        scores = json.load(stream)
    result = {"variant": variant, "seed": seed, "config": os.path.basename(config), "overrides": overrides,
              "train_seconds": seconds, "epochs": read_log(run_dir), **scores}
    with open(result_path, "w") as stream:
        json.dump(result, stream, indent=1)
    return result


def run_all(variants, seeds, out, epochs, jobs=2, steps_per_epoch=None, curve=False):
    """Every variant with every seed, `jobs` at a time, in `out/<budget>/<variant>/seed<N>`; returns
    `{variant: [result per seed]}`."""
    out = os.path.abspath(out)
    classifier = domain_classifier(out)
    out = os.path.join(out, f"epochs{epochs}" + (f"x{steps_per_epoch}" if steps_per_epoch else "")
                       + ("_curve" if curve else ""))
    runs = [(variant, seed) for variant in variants for seed in seeds]
    with futures.ThreadPoolExecutor(max_workers=jobs) as pool:
        results = list(pool.map(lambda run: run_one(run[0], run[1], out, classifier, epochs, steps_per_epoch,
                                                    curve), runs))
    grouped = {variant: [] for variant in variants}
    for (variant, _), result in zip(runs, results):
        grouped[variant].append(result)
    return grouped


def score(run_dir, classifier):
    """FCD of 10,000 samples (latent seed 1) and, for conditional models, class accuracy and intra-class FCD."""
    from tfgan_impl import evaluation, rundir

    model = rundir.load_run(run_dir)
    evaluator = evaluation.Evaluator("fashion_mnist", ["fcd"], classifier=classifier)
    scores = {"fcd": float(evaluator(evaluation.generator_chunks(model, 10_000, seed=1))["fcd"])}
    if model.num_classes is not None:  # class-conditional (the semi-supervised GAN samples unconditionally)
        fidelity = evaluation.class_fidelity(model, classifier, "fashion_mnist", num_per_class=1000, seed=1)
        scores.update(class_accuracy=fidelity["class_accuracy"], intra_fcd=fidelity["intra_fcd"])
    with open(os.path.join(run_dir, "scores.json"), "w") as stream:
        json.dump(scores, stream)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    commands = parser.add_subparsers(dest="command", required=True)
    command = commands.add_parser("score")
    command.add_argument("run_dir")
    command.add_argument("--classifier", required=True)
    args = parser.parse_args()
    score(args.run_dir, args.classifier)


if __name__ == "__main__":
    main()
