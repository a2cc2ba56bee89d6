"""Benchmark: what the variants' papers claim, measured here (issue 23; verdicts in docs/claims.md).

    python bench/claims.py sgan [--data mnist|fashion_mnist] [--seeds 0,1] [--epochs N] [--jobs 2]
        Salimans et al. 2016 (sec. 5): the semi-supervised GAN with feature matching classifies better than the
        same network trained on its labels alone. MNIST: configs/sgan_mnist.yaml (100 labels in all, the paper's
        0.93% +- 0.07 error); Fashion-MNIST: configs/sgan_fashion_mnist.yaml with feature matching (100 labels per
        class). Each seed runs bench/semi_supervised.py (the GAN through `training.train`, then the labels-only
        baseline: same network, labelled examples, optimizer and updates) in its own process, one thread each.
    python bench/claims.py dcgan-features [--seeds 0] [--epochs N] [--train-images 10000]
        Radford et al. 2015 (sec. 5.1): a trained DCGAN discriminator's features are good for classification. A
        linear probe (`tfgan_impl.probes`) on the frozen features of configs/dcgan_fashion_mnist.yaml's
        discriminator after training, against the same probe on raw pixels and on the same network untrained.

Every subcommand prints a table (data, networks, budget, seeds, machine) and writes JSON under bench/out/claims/.
MNIST is read from --mnist-dir (default ../shared/datasets/mnist); Fashion-MNIST from Debian's package.
"""
import argparse
import json
import os
import subprocess
import sys
import time
from concurrent import futures

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), ".."))
OUT = os.path.join(ROOT, "bench", "out", "claims")
ONE_THREAD = {"TF_NUM_INTRAOP_THREADS": "1", "TF_NUM_INTEROP_THREADS": "1", "OMP_NUM_THREADS": "1"}


def run_semi_supervised(config, overrides, out):
    """bench/semi_supervised.py in a one-thread process; returns its JSON result and the seconds it took."""
    os.makedirs(out, exist_ok=True)
    command = [sys.executable, os.path.join(ROOT, "bench", "semi_supervised.py"), config, "--out", out]
    for override in overrides:
        command += ["--set", override]
    started = time.time()
    with open(os.path.join(out, "run.log"), "w") as log:
        result = subprocess.run(command, stdout=subprocess.PIPE, stderr=log, text=True, cwd=ROOT,
                                env=dict(os.environ, **ONE_THREAD), check=True)
    line = next(line for line in result.stdout.splitlines() if line.startswith("{"))
    return json.loads(line), time.time() - started


def sgan(args):
    if args.data == "mnist":
        config = os.path.join(ROOT, "configs", "sgan_mnist.yaml")
        base = [f"data.source=idx:{os.path.abspath(args.mnist_dir)}"]
    else:
        config = os.path.join(ROOT, "configs", "sgan_fashion_mnist.yaml")
        base = ["train.generator_objective=feature_matching"]
    if args.epochs:
        base.append(f"train.epochs={args.epochs}")
    seeds = [int(seed) for seed in args.seeds.split(",")]
    out = os.path.join(OUT, f"sgan_{args.data}")
    with futures.ThreadPoolExecutor(max_workers=args.jobs) as pool:
        results = list(pool.map(lambda seed: run_semi_supervised(config, base + [f"seed={seed}"],
                                                                 os.path.join(out, f"seed{seed}")), seeds))
    print(f"{args.data}: {os.path.basename(config)} {' '.join(base)}; {args.jobs} runs at a time, one thread each; "
          f"{machine()}")
    print("seed | labels | epochs | GAN test accuracy (last / best epoch) | labels only (last / best) | "
          "difference (last) | minutes")
    rows = []
    for seed, (result, seconds) in zip(seeds, results):
        gan, alone = result["sgan_test_accuracy"], result["supervised_only_test_accuracy"]
        rows.append({"seed": seed, **result, "seconds": seconds})
        print(f"{seed} | {result['labels_per_class'] * 10} | {result['epochs']} | {gan[-1]:.4f} / {max(gan):.4f} | "
              f"{alone[-1]:.4f} / {max(alone):.4f} | {100 * (gan[-1] - alone[-1]):+.2f} points | {seconds / 60:.1f}")
    with open(os.path.join(out, "results.json"), "w") as stream:
        json.dump(rows, stream, indent=1)


def dcgan_features(args):
    import numpy as np

    from tfgan_impl import builder, config as config_module, data, probes, rundir, training

    config_path = os.path.join(ROOT, "configs", "dcgan_fashion_mnist.yaml")
    train = data.load_source("fashion_mnist", "train")
    test = data.load_source("fashion_mnist", "test")
    rng = np.random.default_rng(0)
    chosen = np.sort(rng.choice(train.num_examples, args.train_images, replace=False))

    def scaled(images):
        return (data.to_unit_interval(images) * 2.0 - 1.0).astype("float32")  # the config's output range [-1, 1]

    train_images, test_images = scaled(train.images[chosen]), scaled(test.images)
    train_labels, test_labels = train.labels[chosen], test.labels

    def probe(features_of):
        train_features = features_of(train_images)
        return {"dimensions": int(train_features.shape[1]),
                **probes.linear_probe(train_features, train_labels, features_of(test_images), test_labels,
                                      steps=args.probe_steps)}

    rows = [{"features": "raw pixels", **probe(lambda images: images.reshape(len(images), -1))}]
    for seed in [int(seed) for seed in args.seeds.split(",")]:
        out = os.path.join(OUT, "dcgan_features", f"seed{seed}")
        config = config_module.load(config_path, [f"seed={seed}", f"train.epochs={args.epochs}"])
        training.seed_everything(config)  # the run's own initialization (the probe reseeds the global RNG)
        untrained = builder.build_model(config, {"sample_shape": [28, 28, 1]}).discriminator
        rows.append({"features": f"untrained discriminator, seed {seed}",
                     **probe(lambda images: probes.discriminator_features(untrained, images))})
        started = time.time()
        if not os.path.exists(os.path.join(out, "run.json")):
            subprocess.run([sys.executable, "-m", "tfgan_impl", "train", config_path, "--out", out, "--verbose", "2",
                            "--set", f"seed={seed}", "--set", f"train.epochs={args.epochs}"], cwd=ROOT, check=True,
                           stdout=subprocess.DEVNULL)
        trained = rundir.load_run(out).discriminator
        rows.append({"features": f"trained discriminator ({args.epochs} epochs), seed {seed}",
                     "train_seconds": time.time() - started,
                     **probe(lambda images: probes.discriminator_features(trained, images))})
    print(f"Fashion-MNIST: a linear probe (softmax, L2 1e-3, {args.probe_steps} Adam steps of 256) fit on "
          f"{args.train_images} training images, scored on the 10,000 test images; discriminator features: every "
          f"block's activations max-pooled to 4x4 (dcgan_fashion_mnist.yaml); {machine()}")
    print("features | dimensions | train accuracy | test accuracy")
    for row in rows:
        print(f"{row['features']} | {row['dimensions']} | {row['train_accuracy']:.4f} | {row['test_accuracy']:.4f}")
    os.makedirs(os.path.join(OUT, "dcgan_features"), exist_ok=True)
    with open(os.path.join(OUT, "dcgan_features", "results.json"), "w") as stream:
        json.dump(rows, stream, indent=1)


def machine():
    sys.path.insert(0, os.path.dirname(__file__))
    from common import machine as describe

    return describe()


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    commands = parser.add_subparsers(dest="command", required=True)
    command = commands.add_parser("sgan")
    command.add_argument("--data", choices=["mnist", "fashion_mnist"], default="mnist")
    command.add_argument("--seeds", default="0,1")
    command.add_argument("--epochs", type=int, default=None)
    command.add_argument("--jobs", type=int, default=2)
    command.add_argument("--mnist-dir", default=os.path.join(ROOT, "..", "shared", "datasets", "mnist"))
    command.set_defaults(run=sgan)
    command = commands.add_parser("dcgan-features")
    command.add_argument("--seeds", default="0")
    command.add_argument("--epochs", type=int, default=5)
    command.add_argument("--train-images", type=int, default=10_000)
    command.add_argument("--probe-steps", type=int, default=2000)
    command.set_defaults(run=dcgan_features)
    args = parser.parse_args()
    args.run(args)


if __name__ == "__main__":
    main()
