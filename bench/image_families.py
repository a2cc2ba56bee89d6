"""Benchmark: StyleGAN2 and progressive growing against DCGAN on Fashion-MNIST at 32x32, same wall-clock budget.

Each config trains with each seed as a user would (`tfgan-impl train`, Fashion-MNIST resized to 32x32 by
`data.image_size`), `--jobs` processes at a time with one TensorFlow thread each, for `--minutes` of wall clock:
the process gets SIGINT when the budget is spent and the run keeps its last epoch's checkpoint (epochs are short,
`--steps-per-epoch`, so little is lost). Then 10,000 samples of each run are scored against the test split (also
resized to 32x32) in a Fashion-MNIST domain classifier's features (trained once, 3 epochs): FCD, KCD, precision
and recall. Prints one row per run and the mean per config, and writes a sample grid per run.

    python bench/image_families.py [--minutes 15] [--seeds 0,1] [--jobs 2] [CONFIG ...]

The default configs: configs/dcgan_fashion_mnist.yaml, configs/stylegan2_fashion_mnist.yaml,
configs/progan_fashion_mnist.yaml. Needs Debian's dataset-fashion-mnist.
"""
import argparse
import csv
import json
import os
import signal
import subprocess
import sys
import time
from concurrent import futures

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), ".."))
DEFAULT_CONFIGS = [os.path.join(ROOT, "configs", name) for name in
                   ("dcgan_fashion_mnist.yaml", "stylegan2_fashion_mnist.yaml", "progan_fashion_mnist.yaml")]
IMAGE_SIZE = [32, 32]


def train(config, out, seed, minutes, steps_per_epoch):
    """One `tfgan-impl train` process, interrupted after `minutes`; returns (seconds, epochs completed)."""
    command = [sys.executable, "-m", "tfgan_impl", "train", config, "--out", out, "--epochs", "100000",
               "--steps-per-epoch", str(steps_per_epoch), "--verbose", "2", "--set", f"seed={seed}",
               "--set", f"data.image_size={json.dumps(IMAGE_SIZE)}", "--set", "train.sample_every=1000000"]
    environment = dict(os.environ, TF_NUM_INTRAOP_THREADS="1", TF_NUM_INTEROP_THREADS="1", OMP_NUM_THREADS="1")
    os.makedirs(out, exist_ok=True)
    started = time.time()
    with open(os.path.join(out, "train.log"), "a") as log:
        # A shell's background job ignores SIGINT and its children inherit that: the budget's SIGINT must reach them.
        process = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT, env=environment, cwd=ROOT,
                                   preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
        try:
            process.wait(timeout=minutes * 60)
        except subprocess.TimeoutExpired:
            process.send_signal(signal.SIGINT)
            try:
                process.wait(timeout=120)
            except subprocess.TimeoutExpired:  # the run keeps its last complete epoch's checkpoint either way
                process.kill()
                process.wait()
    with open(os.path.join(out, "metrics.csv")) as stream:
        epochs = len(list(csv.DictReader(stream)))
    return time.time() - started, epochs


def score(run_dir, classifier):
    from tfgan_impl import evaluation, rundir, sampling

    model = rundir.load_run(run_dir)
    evaluator = evaluation.Evaluator("fashion_mnist", ["fcd", "kcd", "pr"], classifier=classifier,
                                     image_size=IMAGE_SIZE)
    figures = evaluator(evaluation.generator_chunks(model, 10_000, seed=1))
    sampling.write_samples(model, 64, 2, os.path.join(run_dir, "grid.png"))
    return figures


def parse_arguments(description, default_configs, out_name):
    """The arguments of a budgeted comparison of configs (this script's and `conditional_families.py`'s)."""
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("configs", nargs="*", default=default_configs)
    parser.add_argument("--minutes", type=float, default=15.0)
    parser.add_argument("--seeds", default="0,1")
    parser.add_argument("--jobs", type=int, default=2)
    parser.add_argument("--steps-per-epoch", type=int, default=100)
    parser.add_argument("--out", default=os.path.join(ROOT, "bench", "out", out_name))
    return parser.parse_args()


def train_all(args):
    """Trains every config with every seed, `args.jobs` at a time; returns `[(config, seed, run_dir)]`, the
    `(seconds, epochs)` of each, and the path of the domain classifier (trained once, 3 epochs)."""
    seeds = [int(seed) for seed in args.seeds.split(",")]
    runs = [(config, seed, os.path.join(args.out, os.path.splitext(os.path.basename(config))[0], f"seed{seed}"))
            for config in args.configs for seed in seeds]
    with futures.ThreadPoolExecutor(max_workers=args.jobs) as pool:
        trained = list(pool.map(lambda run: train(run[0], run[2], run[1], args.minutes, args.steps_per_epoch),
                                runs))
    from tfgan_impl.metrics import classifier as classifiers

    classifier = os.path.join(args.out, "fashion_mnist_classifier.keras")
    if not os.path.exists(classifier):
        model, accuracy = classifiers.train_classifier("fashion_mnist", epochs=3)
        model.save(classifier)
        print(f"domain classifier: test accuracy {accuracy:.4f}")
    return runs, trained, classifier


def main():
    args = parse_arguments(__doc__.splitlines()[0], DEFAULT_CONFIGS, "image_families")
    runs, trained, classifier = train_all(args)
    print(f"{args.minutes:g} minutes of training each, {args.jobs} runs at a time (one thread each); "
          "10,000 samples at 32x32 against the test split")
    print("config | seed | epochs | steps | FCD | KCD | precision | recall")
    rows = []
    for (config, seed, out), (seconds, epochs) in zip(runs, trained):
        figures = score(out, classifier)
        rows.append((os.path.basename(config), seed, epochs, figures))
        print(f"{os.path.basename(config)} | {seed} | {epochs} | {epochs * args.steps_per_epoch} | "
              f"{figures['fcd']:.2f} | {figures['kcd']:.4f} | {figures['precision']:.3f} | {figures['recall']:.3f}")
    with open(os.path.join(args.out, "results.json"), "w") as stream:
        json.dump([{"config": c, "seed": s, "epochs": e, **{k: float(v) for k, v in f.items()}}
                   for c, s, e, f in rows], stream, indent=1)


if __name__ == "__main__":
    main()
