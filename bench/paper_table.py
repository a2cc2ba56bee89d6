"""Benchmark: Table 1 of Goodfellow et al. 2014 (Parzen window log-likelihood of MNIST test images), ours beside it.

Two commands, each a sequence of `tfgan-impl train` processes (the user's own path), run `--jobs` at a time
with one TensorFlow thread pool thread each (two single-threaded runs use two cores better than one run does):

    python bench/paper_table.py scan CONFIG --seeds 0-9 --epochs 4
        The first epochs of many seeds: D's mean output on fakes, the sample diversity and the training-health
        verdict per epoch, and how many seeds stay healthy.

    python bench/paper_table.py table CONFIG [CONFIG ...] --seeds 0,1,2 [--epochs 25,50,100] [--on test]
        Trains each config with each seed (to each number of epochs in turn: a run resumes), draws 10,000 samples
        and scores them with the paper's protocol (parzen_ll.py: sigma chosen on 1,000 images of the last
        10,000 of `train`), beside FCD in an MNIST classifier's features and the nearest-neighbour ratio (a
        memorizing generator scores well on Parzen and badly there). `--on validation` scores on the other 9,000
        validation images, for choosing hyperparameters without looking at the test set; `--on test` is for the
        final figure only.

    python bench/paper_table.py truncation RUN_DIR [RUN_DIR ...] [--psis 1,0.9,0.8,0.7,0.6] [--on test]
        The truncation trick's trade (`tfgan-impl sample --truncation PSI`: z pulled toward 0): Parzen, FCD and
        NN ratio of each run's 10,000 samples at each psi, and on validation the psi the one-SE rule chooses.

    python bench/paper_table.py rejection RUN_DIR [RUN_DIR ...] [--percentiles none,50,80,90] [--on test]
        The same for discriminator rejection sampling (`model.rejection_percentile`, Azadi et al. 2019): samples
        the run's discriminator rates unlikely under the data are dropped; `none` is plain sampling.

    python bench/paper_table.py speckle RUN_DIR [RUN_DIR ...] [--thresholds 0.05,0.1,0.2]
        What Parzen windows charge for faint pixels: the validation score of a run's 10,000 samples as drawn and
        with every pixel below a threshold set to 0 (a diagnostic, not a method: no config does this).

MNIST: the IDX files of `--mnist` (default ../shared/datasets/mnist); the runs read it with `data.source=idx:DIR`.
"""
import argparse
import csv
import functools
import json
import os
import subprocess
import sys
import time
from concurrent import futures

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import numpy as np  # noqa: E402

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), ".."))
DEFAULT_MNIST = os.path.abspath(os.path.join(ROOT, "..", "shared", "datasets", "mnist"))
# Goodfellow et al. 2014, Table 1: Parzen window log-likelihood of MNIST test images (nats, mean +- SE).
PAPER_TABLE = (("DBN (Bengio et al. 2013)", 138, 2.0), ("Stacked CAE (Bengio et al. 2013)", 121, 1.6),
               ("Deep GSN (Bengio et al. 2014)", 214, 1.1), ("Adversarial nets (the paper)", 225, 2.0))
NUM_SAMPLES = 10_000
VALIDATION_START = 50_000  # the authors trained on the first 50,000 training images and validated on the rest
SIGMA_IMAGES = 1_000  # parzen_ll.py's limit_size: sigma is chosen on this many validation images


def seeds_of(text):
    """`0-9` or `0,3,5` -> a list of ints."""
    if "-" in text:
        first, last = text.split("-")
        return list(range(int(first), int(last) + 1))
    return [int(seed) for seed in text.split(",")]


def train(config, out, seed, epochs, mnist, overrides, threads=1):
    """One `tfgan-impl train` process (resuming `out` when it holds a run); returns its metrics rows."""
    command = [sys.executable, "-m", "tfgan_impl", "train", config, "--out", out, "--epochs", str(epochs),
               "--verbose", "2", "--set", f"seed={seed}", "--set", f"data.source=idx:{mnist}"]
    for override in overrides:
        command += ["--set", override]
    environment = dict(os.environ, TF_NUM_INTRAOP_THREADS=str(threads), TF_NUM_INTEROP_THREADS=str(threads),
                       OMP_NUM_THREADS=str(threads))
    os.makedirs(out, exist_ok=True)
    with open(os.path.join(out, "train.log"), "a") as log:
        result = subprocess.run(command, stdout=log, stderr=subprocess.STDOUT, env=environment, cwd=ROOT)
    rows = read_metrics(out)
    if result.returncode not in (0, 1):  # 1: the run itself failed (diverged or stopped unhealthy), reported below
        raise RuntimeError(f"{' '.join(command)} failed with code {result.returncode}; see {out}/train.log")
    return rows


def read_metrics(run_dir):
    path = os.path.join(run_dir, "metrics.csv")
    if not os.path.exists(path):
        return []
    with open(path) as stream:
        return list(csv.DictReader(stream))


def run_all(jobs, tasks):
    """Runs `(function, args)` tasks `jobs` at a time, returning their results in order."""
    with futures.ThreadPoolExecutor(max_workers=jobs) as pool:
        return [job.result() for job in [pool.submit(function, *args) for function, args in tasks]]


def scan(args):
    seeds = seeds_of(args.seeds)
    name = os.path.splitext(os.path.basename(args.config))[0]
    outs = {seed: os.path.join(args.out, f"scan_{name}{args.tag}", f"seed{seed}") for seed in seeds}
    started = time.time()
    results = run_all(args.jobs, [(train, (args.config, outs[seed], seed, args.epochs, args.mnist, args.set))
                                  for seed in seeds])
    print(f"{args.config} {' '.join(args.set)}: first {args.epochs} epochs of {len(seeds)} seeds "
          f"({time.time() - started:.0f} s, {args.jobs} at a time)")
    print("seed | " + " | ".join(f"epoch {e + 1}: d_fake, diversity" for e in range(args.epochs)) + " | healthy")
    healthy = 0
    for seed, rows in zip(seeds, results):
        cells = [f"{float(r['d_fake']):.4f}, {float(r.get('sample_diversity') or 'nan'):.2f}"
                 + ("" if float(r.get("healthy") or 1) else " !") for r in rows]
        ok = bool(rows) and len(rows) == args.epochs and float(rows[-1].get("healthy") or 1) == 1.0
        healthy += ok
        print(f"{seed} | " + " | ".join(cells) + f" | {'yes' if ok else 'no'}")
    print(f"healthy after epoch {args.epochs}: {healthy} of {len(seeds)} seeds")


def classifier_path(args):
    """An MNIST domain classifier for FCD, trained once (3 epochs) and kept in the output directory."""
    path = os.path.join(args.out, "mnist_classifier.keras")
    if not os.path.exists(path):
        from tfgan_impl.metrics import classifier as classifiers

        model, accuracy = classifiers.train_classifier(f"idx:{args.mnist}", epochs=3)
        model.save(path)
        print(f"MNIST classifier: test accuracy {accuracy:.4f} ({path})")
    return path


@functools.lru_cache(maxsize=None)
def parzen_references(mnist, on):
    """Read once per process: the training images, Parzen's sigma images (the first 1,000 validation images) and
    the scored images (the other 9,000 validation images, or the test set)."""
    from tfgan_impl import data

    train_images = data.to_unit_interval(data.load_source(f"idx:{mnist}", "train").images)
    validation = train_images[VALIDATION_START:]
    target = (data.to_unit_interval(data.load_source(f"idx:{mnist}", "test").images) if on == "test"
              else validation[SIGMA_IMAGES:])
    return train_images, validation[:SIGMA_IMAGES], target


@functools.lru_cache(maxsize=None)
def fcd_and_nn(mnist, classifier):
    """The FCD / NN-ratio evaluator with the real images' features, built once per process."""
    from tfgan_impl import evaluation

    return evaluation.Evaluator(f"idx:{mnist}", ["fcd", "nn"], classifier=classifier)


def score(run_dir, args, raw=False, truncation=None, rejection=False, model=None):
    """Samples 10,000 images from a run and scores them: Parzen (paper's protocol), FCD, NN ratio. `raw`: from the
    trained generator even when the run keeps a moving average (which `generate` uses); None if it keeps none.
    `truncation`: the same latent vectors pulled toward 0 by this psi (`tfgan-impl sample --truncation`).
    `rejection`: through `model.generate`, which applies discriminator rejection sampling when the model's
    `rejection_percentile` is set (its own latent streams, not the vectors above)."""
    from tfgan_impl import evaluation, metrics, rundir, sampling

    model = model or rundir.load(run_dir).model
    if raw and model.trained_generator is model.sampling_generator:
        return None
    z = model.latents(NUM_SAMPLES, seed=0)
    if truncation is not None:
        samples = sampling.truncated_samples(model, z, truncation)
    elif rejection:
        samples = model.generate(NUM_SAMPLES, seed=0)
    else:
        samples = model.generate_from(z, averaged=not raw)
    _, sigma_images, target = parzen_references(args.mnist, args.on)
    parzen = metrics.parzen_evaluation(samples, sigma_images, target)
    figures = fcd_and_nn(args.mnist, classifier_path(args))(evaluation.array_chunks(samples, NUM_SAMPLES))
    rows = read_metrics(run_dir)
    return {"parzen": parzen["log_likelihood"], "parzen_se": parzen["standard_error"], "sigma": parzen["sigma"],
            "fcd": figures["fcd"], "nn_ratio": figures["nn_median_ratio"],
            "nn_close": figures["nn_fraction_closer_than_test_p1"],
            "train_minutes": sum(float(r["epoch_seconds"]) for r in rows) / 60,
            "healthy_epochs": sum(float(r.get("healthy") or 1) for r in rows), "epochs": len(rows)}


def table(args):
    seeds = seeds_of(args.seeds)
    stages = [int(e) for e in args.epochs.split(",")]
    print("Goodfellow et al. 2014, Table 1 (MNIST, Parzen window log-likelihood of test images, nats):")
    for method, value, error in PAPER_TABLE:
        print(f"  {method:<36} {value} +- {error}")
    real = real_data_score(args)
    print(f"  {'real training images (' + str(NUM_SAMPLES) + ')':<36} {real:.1f} (this protocol, on {args.on})")
    print(f"\nours, scored on {args.on} ({'MNIST test set' if args.on == 'test' else 'validation images 51,000-60,000'})")
    print("config | seed | epochs | Parzen +- SE | sigma | FCD | NN ratio | train min | healthy epochs")
    results = {}
    for epochs in stages:
        tasks = [(train, (config, run_dir(args, config, seed), seed, epochs, args.mnist, args.set, args.threads))
                 for config in args.configs for seed in seeds]
        run_all(args.jobs, tasks)
        for config, seed, raw in [(c, s, r) for c in args.configs for r in (False, True) for s in seeds]:
            figures = score(run_dir(args, config, seed), args, raw=raw)
            if figures is None:
                continue
            name = os.path.basename(config) + (" (trained G, not its average)" if raw else "")
            results.setdefault((name, epochs), []).append(figures)
            print(f"{name} | {seed} | {epochs} | {figures['parzen']:.1f} +- "
                  f"{figures['parzen_se']:.1f} | {figures['sigma']:.3f} | {figures['fcd']:.2f} | "
                  f"{figures['nn_ratio']:.3f} | {figures['train_minutes']:.1f} | "
                  f"{figures['healthy_epochs']:.0f}/{figures['epochs']}", flush=True)
    print("\nmean over seeds (spread: standard deviation across seeds)")
    for (name, epochs), figures in results.items():
        parzen = np.array([f["parzen"] for f in figures])
        print(f"{name} | {epochs} epochs | Parzen {parzen.mean():.1f} (sd {parzen.std(ddof=1) if len(parzen) > 1 else 0:.1f}, "
              f"min {parzen.min():.1f}) | FCD {np.mean([f['fcd'] for f in figures]):.2f} | "
              f"NN ratio {np.mean([f['nn_ratio'] for f in figures]):.3f}")
    with open(os.path.join(args.out, f"table_{args.on}{args.tag}.json"), "w") as stream:
        json.dump({f"{c}@{e}": v for (c, e), v in results.items()}, stream, indent=1)


def speckle(args):
    from tfgan_impl import metrics, rundir

    _, sigma_images, target = parzen_references(args.mnist, "validation")
    thresholds = [0.0] + [float(t) for t in args.thresholds.split(",")]
    print("run | " + " | ".join(f"pixels < {t} set to 0: Parzen (sigma)" if t else "as drawn: Parzen (sigma)"
                                for t in thresholds))
    for path in args.runs:
        samples = rundir.load(path).model.generate(NUM_SAMPLES, seed=0)
        cells = []
        for threshold in thresholds:
            cleaned = np.where(samples < threshold, 0.0, samples) if threshold else samples
            figures = metrics.parzen_evaluation(cleaned, sigma_images, target)
            cells.append(f"{figures['log_likelihood']:.1f} ({figures['sigma']:.3f})")
        print(f"{path} | " + " | ".join(cells), flush=True)


def truncation(args):
    """Parzen, FCD and NN ratio of each run's samples at each psi; on validation, the psi of the one-standard-error
    rule (Hastie et al. 2009, sec. 7.10: the least truncation whose Parzen is within one SE of the best)."""
    psis = sorted((float(p) for p in args.psis.split(",")), reverse=True)  # from the least truncation
    sampling_scan(args, "psi", psis, lambda path, model, psi: score(path, args, truncation=psi, model=model))


def rejection(args):
    """The same for discriminator rejection sampling (Azadi et al. 2019): the percentile that sets DRS's gamma,
    `none` for plain sampling; the one-SE rule takes the least rejection within one SE of the best Parzen."""
    percentiles = [None if p == "none" else float(p) for p in args.percentiles.split(",")]
    percentiles.sort(key=lambda p: -1.0 if p is None else p)  # from the least rejection

    def figures(path, model, percentile):
        model.rejection_percentile = percentile  # `generate` draws through DRS when set
        return score(path, args, rejection=True, model=model)

    sampling_scan(args, "DRS percentile", percentiles, figures)


def sampling_scan(args, knob, values, figures_of):
    """Scores every run's samples at each value of a sampling knob (`values` ordered from the least departure
    from plain sampling); on validation, prints the one-SE choice per run and, for several runs, on their mean."""
    from tfgan_impl import rundir

    print(f"scored on {args.on}; run | {knob} | Parzen +- SE | sigma | FCD | NN ratio | closer than 1% of test")
    by_value = {value: [] for value in values}
    for path in args.runs:
        model = rundir.load(path).model
        for value in values:
            figures = figures_of(path, model, value)
            by_value[value].append(figures)
            print(f"{path} | {value} | {figures['parzen']:.1f} +- {figures['parzen_se']:.1f} | {figures['sigma']:.3f} | "
                  f"{figures['fcd']:.2f} | {figures['nn_ratio']:.3f} | {figures['nn_close']:.3f}", flush=True)
        print(f"{path} | one-SE choice: {knob} {one_se_choice([(v, runs[-1]) for v, runs in by_value.items()])}")
    if len(args.runs) > 1:  # one value for all runs: the rule on the mean over runs
        means = [(value, {key: np.mean([f[key] for f in runs]) for key in ("parzen", "parzen_se", "fcd")})
                 for value, runs in by_value.items()]
        for value, figures in means:
            print(f"mean of {len(args.runs)} runs | {value} | Parzen {figures['parzen']:.1f} | FCD {figures['fcd']:.2f}")
        print(f"mean of {len(args.runs)} runs | one-SE choice: {knob} {one_se_choice(means)}")


def one_se_choice(curve):
    """The first value of `curve`, a list of `(value, figures)` from the least departure from plain sampling, whose
    Parzen is within one standard error of the best value's."""
    best = max((figures for _, figures in curve), key=lambda figures: figures["parzen"])
    return next(value for value, figures in curve if figures["parzen"] >= best["parzen"] - best["parzen_se"])


def run_dir(args, config, seed):
    name = os.path.splitext(os.path.basename(config))[0]
    return os.path.join(args.out, f"table_{name}{args.tag}", f"seed{seed}")


def real_data_score(args):
    """The protocol's score of 10,000 real training images (the first 10,000): the ceiling of a perfect model."""
    from tfgan_impl import metrics

    train_images, sigma_images, target = parzen_references(args.mnist, args.on)
    return metrics.parzen_evaluation(train_images[:NUM_SAMPLES], sigma_images, target)["log_likelihood"]


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    commands = parser.add_subparsers(dest="command", required=True)
    speckle_command = commands.add_parser("speckle")
    speckle_command.add_argument("runs", nargs="+")
    speckle_command.add_argument("--thresholds", default="0.05,0.1,0.2")
    speckle_command.add_argument("--mnist", default=DEFAULT_MNIST, help="MNIST IDX directory")
    for name, knob, values in (("truncation", "--psis", "1,0.9,0.8,0.7,0.6"),
                               ("rejection", "--percentiles", "none,50,80,90")):
        command = commands.add_parser(name, help=f"Parzen, FCD and NN ratio against {knob[2:]}")
        command.add_argument("runs", nargs="+")
        command.add_argument(knob, default=values)
        command.add_argument("--on", choices=("validation", "test"), default="validation")
        command.add_argument("--mnist", default=DEFAULT_MNIST, help="MNIST IDX directory")
        command.add_argument("--out", default=os.path.join(ROOT, "bench", "out", "paper_table"))
    for name in ("scan", "table"):
        command = commands.add_parser(name)
        command.add_argument("configs" if name == "table" else "config", nargs="+" if name == "table" else None)
        command.add_argument("--seeds", default="0-9" if name == "scan" else "0,1,2")
        command.add_argument("--epochs", default="4" if name == "scan" else "100")
        command.add_argument("--jobs", type=int, default=2, help="training processes at a time")
        command.add_argument("--threads", type=int, default=1, help="TensorFlow threads of each training process")
        command.add_argument("--set", action="append", default=[], help="config override for every run")
        command.add_argument("--mnist", default=DEFAULT_MNIST, help="MNIST IDX directory")
        command.add_argument("--out", default=os.path.join(ROOT, "bench", "out", "paper_table"))
        command.add_argument("--tag", default="", help="suffix of the run directories (e.g. for --set variants)")
        if name == "table":
            command.add_argument("--on", choices=("validation", "test"), default="validation")
    args = parser.parse_args()
    if args.command == "speckle":
        return speckle(args)
    if args.command == "scan":
        args.epochs = int(args.epochs)
    os.makedirs(args.out, exist_ok=True)
    {"scan": scan, "table": table, "truncation": truncation, "rejection": rejection}[args.command](args)


if __name__ == "__main__":
    main()
