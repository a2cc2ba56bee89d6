"""Benchmark: what the variants' papers claim, measured here (issue 23; verdicts in docs/claims.md).

    python bench/claims.py sgan [--data mnist|fashion_mnist] [--seeds 0,1] [--epochs N] [--jobs 2]
                                [--set KEY=VALUE ... --tag _NAME]
        Salimans et al. 2016 (sec. 5): the semi-supervised GAN with feature matching classifies better than the
        same network trained on its labels alone. MNIST: configs/sgan_mnist.yaml (100 labels in all, the paper's
        0.93% +- 0.07 error); Fashion-MNIST: the same config, networks and 100 labels in all on Fashion-MNIST
        (`data.source=fashion_mnist`). Each seed runs bench/semi_supervised.py (the GAN through `training.train`,
        then the labels-only baseline: same network, labelled examples, optimizer and updates) in its own process,
        one thread each. The GAN's run is kept in bench/out/claims/sgan_DATA/seedN/run: a longer `--epochs`
        resumes it (a 300-epoch run can be taken in several sittings); the baseline is trained anew each time.
        `--set` overrides the config for every run, kept apart in bench/out/claims/sgan_DATA_NAME by `--tag _NAME`.
    python bench/claims.py dcgan-features [--seeds 0] [--epochs N] [--train-images 10000] [--base-filters 32]
        Radford et al. 2015 (sec. 5.1): a trained DCGAN discriminator's features are good for classification. A
        linear probe (`tfgan_impl.probes`) on the frozen features of configs/dcgan_fashion_mnist.yaml's
        discriminator after training, against the same probe on raw pixels and on the same network untrained;
        `--base-filters` widens both networks.

    python bench/claims.py stability [--seeds 0,...,7] [--epochs 5]
        Radford et al. 2015: DCGAN is "stable to train in most settings compared to GANs": the fraction of seeds
        whose runs stay healthy (`TrainingHealth`) and the spread of FCD, DCGAN against the 2014 MLP GAN
        (configs/gan_mnist.yaml's set-up) on Fashion-MNIST, same epochs.
    python bench/claims.py lsgan [--seeds 0,1,2] [--epochs 5]
        Mao et al. 2017: least squares gives better images and more stable training than the sigmoid cross
        entropy: least squares, non-saturating and minimax on the DCGAN networks, with and without batch norm in
        the generator (the paper's harder set-up): FCD mean and spread, fraction of healthy seeds.
    python bench/claims.py acgan [--seeds 0,1,2] [--epochs 5]
        Odena et al. 2017: the auxiliary classifier gives better samples: ACGAN against the conditional GAN and
        the unconditional DCGAN, same networks and epochs: FCD, class accuracy of samples, intra-class FCD.
    python bench/claims.py wgan [--seeds 0,1] [--epochs 20] [--steps-per-epoch 100]
        Arjovsky et al. 2017, sec. 4.2: the critic's Wasserstein estimate correlates with sample quality, the
        non-saturating GAN's losses do not: rank correlation of each epoch's loss with that epoch's FCD.
    python bench/claims.py sgan-samples [--seeds 0,1] [--epochs 5]
        Odena 2016: the semi-supervised GAN's generator gives better samples, sooner, than a plain GAN with the
        same networks: FCD after every epoch, and the updates each needs to reach the plain GAN's final FCD.
    python bench/claims.py arithmetic [--seeds 0,1]
        Radford et al. 2015, sec. 6.3: vector arithmetic on latents: for classes A != B, a latent whose sample
        the domain classifier calls B, plus (average latent of A - average latent of B), gives a sample of A in
        what fraction of cases. Uses the DCGAN runs of `stability`.

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


def run_semi_supervised(config, overrides, out, baseline_epochs=None):
    """bench/semi_supervised.py in a one-thread process; returns its JSON result and the seconds it took."""
    os.makedirs(out, exist_ok=True)
    command = [sys.executable, os.path.join(ROOT, "bench", "semi_supervised.py"), config, "--out", out,
               "--run-dir", os.path.join(out, "run")]
    if baseline_epochs:
        command += ["--baseline-epochs", str(baseline_epochs)]
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
    else:  # the same networks, labels and budget on the harder data set (100 labels in all)
        config = os.path.join(ROOT, "configs", "sgan_mnist.yaml")
        base = ["data.source=fashion_mnist"]
    if args.epochs:
        base.append(f"train.epochs={args.epochs}")
    base += args.set
    seeds = [int(seed) for seed in args.seeds.split(",")]
    out = os.path.join(OUT, f"sgan_{args.data}{args.tag}")
    with futures.ThreadPoolExecutor(max_workers=args.jobs) as pool:
        results = list(pool.map(lambda seed: run_semi_supervised(config, base + [f"seed={seed}"],
                                                                 os.path.join(out, f"seed{seed}"),
                                                                 args.baseline_epochs), seeds))
    print(f"{args.data}: {os.path.basename(config)} {' '.join(base)}; {args.jobs} runs at a time, one thread each; "
          f"{machine()}")
    print("seed | labels | epochs | GAN test accuracy (last / best epoch) | labels only (last / best, epochs) | "
          "difference (last) | minutes")
    rows = []
    for seed, (result, seconds) in zip(seeds, results):
        gan, alone = result["sgan_test_accuracy"], result["supervised_only_test_accuracy"]
        rows.append({"seed": seed, **result, "seconds": seconds})
        print(f"{seed} | {result['labels_per_class'] * 10} | {result['epochs']} | {gan[-1]:.4f} / {max(gan):.4f} | "
              f"{alone[-1]:.4f} / {max(alone):.4f}, {len(alone)} | {100 * (gan[-1] - alone[-1]):+.2f} points | {seconds / 60:.1f}")
    # one file per seeds and length: runs of other seeds or epochs, often concurrent, must not overwrite it
    name = f"results_seeds{'_'.join(map(str, seeds))}_epochs{args.epochs or 'config'}.json"
    with open(os.path.join(out, name), "w") as stream:
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
    width = [f"model.{network}.base_filters={args.base_filters}" for network in ("generator", "discriminator")]
    for seed in [int(seed) for seed in args.seeds.split(",")]:
        out = os.path.join(OUT, "dcgan_features", f"base{args.base_filters}_epochs{args.epochs}", f"seed{seed}")
        config = config_module.load(config_path, [f"seed={seed}", f"train.epochs={args.epochs}", *width])
        training.seed_everything(config)  # the run's own initialization (the probe reseeds the global RNG)
        untrained = builder.build_model(config, {"sample_shape": [28, 28, 1]}).discriminator
        rows.append({"features": f"untrained discriminator, seed {seed}",
                     **probe(lambda images: probes.discriminator_features(untrained, images))})
        started = time.time()
        if not os.path.exists(os.path.join(out, "run.json")):
            subprocess.run([sys.executable, "-m", "tfgan_impl", "train", config_path, "--out", out, "--verbose", "2",
                            "--set", f"seed={seed}", "--set", f"train.epochs={args.epochs}",
                            *[arg for setting in width for arg in ("--set", setting)]], cwd=ROOT, check=True,
                           stdout=subprocess.DEVNULL)
        trained = rundir.load_run(out).discriminator
        rows.append({"features": f"trained discriminator ({args.epochs} epochs), seed {seed}",
                     "train_seconds": time.time() - started,
                     **probe(lambda images: probes.discriminator_features(trained, images))})
    print(f"Fashion-MNIST: a linear probe (softmax, L2 1e-3, {args.probe_steps} Adam steps of 256) fit on "
          f"{args.train_images} training images, scored on the 10,000 test images; discriminator features: every "
          f"block's activations max-pooled to 4x4 (dcgan_fashion_mnist.yaml, base_filters {args.base_filters}); "
          f"{machine()}")
    print("features | dimensions | train accuracy | test accuracy")
    for row in rows:
        print(f"{row['features']} | {row['dimensions']} | {row['train_accuracy']:.4f} | {row['test_accuracy']:.4f}")
    os.makedirs(os.path.join(OUT, "dcgan_features"), exist_ok=True)
    with open(os.path.join(OUT, "dcgan_features", f"results_base{args.base_filters}_epochs{args.epochs}_"
                           f"images{args.train_images}_seeds{args.seeds.replace(',', '-')}.json"), "w") as stream:
        json.dump(rows, stream, indent=1)


def variant_runs(args, variants, curve=False):
    sys.path.insert(0, os.path.dirname(__file__))
    import variants as variants_module

    seeds = [int(seed) for seed in args.seeds.split(",")]
    return variants_module.run_all(variants, seeds, OUT, args.epochs, jobs=args.jobs,
                                   steps_per_epoch=getattr(args, "steps_per_epoch", None), curve=curve)


def spread(values):
    """`mean +- sd (min-max)` of per-seed figures."""
    import numpy as np

    values = np.asarray(values, float)
    return f"{values.mean():.2f} +- {values.std(ddof=1) if len(values) > 1 else 0.0:.2f} " \
           f"({values.min():.2f}-{values.max():.2f})"


def healthy_at_end(result):
    return result["epochs"][-1].get("healthy", 1.0) == 1.0


def healthy_throughout(result):
    return all(epoch.get("healthy", 1.0) == 1.0 for epoch in result["epochs"])


def print_runs(title, grouped, extra=()):
    """One row per run and one per variant: health, D's output on fakes, diversity, FCD (and `extra` scores)."""
    print(title)
    print("variant | seed | healthy (every epoch / last) | D(G(z)) last epoch | sample diversity last epoch | "
          "FCD | " + " | ".join(extra) + (" | " if extra else "") + "minutes")
    for variant, results in grouped.items():
        for result in results:
            last = result["epochs"][-1]
            print(f"{variant} | {result['seed']} | {'yes' if healthy_throughout(result) else 'no'} / "
                  f"{'yes' if healthy_at_end(result) else 'no'} | {last.get('d_fake', float('nan')):.3f} | "
                  f"{last.get('sample_diversity', float('nan')):.3f} | {result['fcd']:.2f} | "
                  + "".join(f"{result[key]:.3f} | " if key in result else "- | " for key in extra)
                  + f"{result['train_seconds'] / 60:.1f}")
    print("variant | seeds | healthy every epoch | healthy at the end | FCD mean +- sd (min-max) | "
          + " | ".join(extra))
    for variant, results in grouped.items():
        print(f"{variant} | {len(results)} | {sum(map(healthy_throughout, results))}/{len(results)} | "
              f"{sum(map(healthy_at_end, results))}/{len(results)} | {spread([r['fcd'] for r in results])} | "
              + " | ".join(spread([r[key] for r in results]) if key in results[0] else "-" for key in extra))


def write_results(name, grouped):
    os.makedirs(OUT, exist_ok=True)
    with open(os.path.join(OUT, f"{name}.json"), "w") as stream:
        json.dump(grouped, stream, indent=1)


def stability(args):
    grouped = variant_runs(args, ["dcgan", "gan2014"])
    print_runs(f"Fashion-MNIST, {args.epochs} epochs each: DCGAN (dcgan_fashion_mnist.yaml) against the 2014 MLP GAN "
               f"(gan_mnist.yaml on Fashion-MNIST); FCD of 10,000 samples; {args.jobs} runs at a time, one thread "
               f"each; {machine()}", grouped)
    write_results("stability", grouped)


def lsgan(args):
    grouped = variant_runs(args, ["lsgan", "dcgan", "minimax", "lsgan_nobn", "dcgan_nobn", "minimax_nobn"])
    print_runs(f"Fashion-MNIST, DCGAN networks, {args.epochs} epochs each; dcgan = non-saturating; *_nobn: no batch "
               f"norm in the generator; FCD of 10,000 samples; {args.jobs} runs at a time, one thread each; "
               f"{machine()}", grouped)
    write_results("lsgan", grouped)


def acgan(args):
    grouped = variant_runs(args, ["acgan", "cgan", "dcgan"])
    print_runs(f"Fashion-MNIST, DCGAN networks, {args.epochs} epochs each; FCD of 10,000 samples, class accuracy "
               f"and intra-class FCD of 1,000 samples a class; {machine()}", grouped,
               extra=("class_accuracy", "intra_fcd"))
    write_results("acgan", grouped)


def rank_correlation(first, second):
    """Spearman's rank correlation (no ties expected among these floats)."""
    import numpy as np

    ranks = [np.argsort(np.argsort(np.asarray(values, float))) for values in (first, second)]
    return float(np.corrcoef(*ranks)[0, 1])


def wgan(args):
    import numpy as np

    grouped = variant_runs(args, ["wgan", "dcgan"], curve=True)
    print(f"Fashion-MNIST, DCGAN networks, {args.epochs} epochs of {args.steps_per_epoch} generator steps; after "
          f"every epoch FCD of 2,000 samples; Spearman correlation over the epochs; {machine()}")
    print("variant | seed | loss | correlation with FCD | correlation of epoch-to-epoch changes | "
          "FCD first -> last epoch")
    rows = []
    for variant, results in grouped.items():
        for result in results:
            fcd = [epoch["fcd"] for epoch in result["epochs"]]
            # The critic's loss is f(G(z)) - f(x): minus the Wasserstein estimate.
            losses = ({"Wasserstein estimate (-d_loss)": [-epoch["d_loss"] for epoch in result["epochs"]]}
                      if variant == "wgan" else
                      {"d_loss": [epoch["d_loss"] for epoch in result["epochs"]],
                       "g_loss": [epoch["g_loss"] for epoch in result["epochs"]]})
            for name, values in losses.items():
                correlation = rank_correlation(values, fcd)
                # Both fall as training goes on; the changes say whether the loss follows quality beyond that trend.
                changes = rank_correlation(np.diff(values), np.diff(fcd))
                rows.append({"variant": variant, "seed": result["seed"], "loss": name, "correlation": correlation,
                             "change_correlation": changes})
                print(f"{variant} | {result['seed']} | {name} | {correlation:+.2f} | {changes:+.2f} | "
                      f"{fcd[0]:.1f} -> {fcd[-1]:.1f}")
    write_results("wgan", {"rows": rows, "runs": grouped})


def sgan_samples(args):
    import numpy as np

    grouped = variant_runs(args, ["sgan", "gan_sgan_networks"], curve=True)
    curves = {variant: np.array([[epoch["fcd"] for epoch in r["epochs"]] for r in results])
              for variant, results in grouped.items()}
    target = float(np.mean(curves["gan_sgan_networks"][:, -1]))
    print(f"Fashion-MNIST, sgan_fashion_mnist.yaml's networks, batches and optimizers for both, {args.epochs} epochs "
          f"of 600 updates; FCD of 2,000 samples after every epoch (mean over seeds {args.seeds}); final FCD of "
          f"10,000; {machine()}")
    print("variant | FCD per epoch | final FCD (10,000) | epochs to reach the plain GAN's final FCD "
          f"({target:.1f}) per seed")
    for variant, curve in curves.items():
        reached = [next((index + 1 for index, value in enumerate(row) if value <= target), None) for row in curve]
        print(f"{variant} | {' '.join(f'{value:.1f}' for value in curve.mean(axis=0))} | "
              f"{spread([r['fcd'] for r in grouped[variant]])} | {reached}")
    write_results("sgan_samples", grouped)


def arithmetic(args, per_class_probe=20_000, examples=100, confidence=0.9):
    """Radford et al. 2015, sec. 6.3, on classes: z_B + (mean z of A - mean z of B) should draw an A."""
    import numpy as np

    from tfgan_impl import rundir
    from tfgan_impl.metrics import classifier as classifiers

    grouped = variant_runs(args, ["dcgan"])
    extractor = classifiers.classifier_extractor(os.path.join(OUT, "fashion_mnist_classifier.keras"))
    rows = []
    for result in grouped["dcgan"]:
        model = rundir.load_run(os.path.join(OUT, f"epochs{args.epochs}", "dcgan", f"seed{result['seed']}"))
        z = np.asarray(model.latents(per_class_probe, seed=7))
        _, logits = extractor(model.generate_from(z))
        probabilities = np.exp(logits - logits.max(axis=1, keepdims=True))
        probabilities /= probabilities.sum(axis=1, keepdims=True)
        classes, confident = probabilities.argmax(axis=1), probabilities.max(axis=1) >= confidence
        means = {c: z[confident & (classes == c)].mean(axis=0) for c in range(10)
                 if np.sum(confident & (classes == c)) >= 10}
        rng = np.random.default_rng(result["seed"])
        for method in ("class means", "3 exemplars (the paper's)", "control: random direction, class means' length"):
            hits, kept = [], []
            for source in means:
                pool = np.flatnonzero(confident & (classes == source))
                chosen = z[rng.choice(pool, min(examples, len(pool)), replace=False)]
                for target in means:
                    if target == source:
                        continue
                    direction = means[target] - means[source]
                    if method.startswith("3 exemplars"):  # Radford et al. average three exemplars of each concept
                        direction = (z[rng.choice(np.flatnonzero(confident & (classes == target)), 3)].mean(0)
                                     - z[rng.choice(pool, 3)].mean(0))
                    elif method.startswith("control"):  # does any step that long leave the class?
                        random = rng.normal(size=direction.shape)
                        direction = random * np.linalg.norm(direction) / np.linalg.norm(random)
                    _, moved = extractor(model.generate_from((chosen + direction).astype("float32")))
                    hits.append(float(np.mean(np.argmax(moved, axis=1) == target)))
                    kept.append(float(np.mean(np.argmax(moved, axis=1) == source)))
            rows.append({"seed": result["seed"], "method": method, "classes": len(means),
                         "pairs": len(hits), "target_fraction": float(np.mean(hits)),
                         "source_fraction": float(np.mean(kept)),
                         "worst_pair": float(np.min(hits)), "best_pair": float(np.max(hits))})
    print(f"Fashion-MNIST DCGAN runs of `stability` ({args.epochs} epochs); {per_class_probe} latents classified by "
          f"the domain classifier (confidence >= {confidence}); {examples} latents of each source class moved by "
          f"the difference of the target's and the source's latent means; chance 0.1; {machine()}")
    print("seed | direction from | classes | pairs | samples now of the target class | still of the source class | "
          "worst / best pair")
    for row in rows:
        print(f"{row['seed']} | {row['method']} | {row['classes']} | {row['pairs']} | {row['target_fraction']:.3f} | "
              f"{row['source_fraction']:.3f} | {row['worst_pair']:.2f} / {row['best_pair']:.2f}")
    write_results("arithmetic", rows)


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
    command.add_argument("--set", action="append", default=[], help="KEY=VALUE config override for every run")
    command.add_argument("--tag", default="", help="suffix of the runs' directory (for --set variants)")
    command.add_argument("--baseline-epochs", type=int, default=None,
                         help="the labels-only baseline's epochs (default: the GAN's; it levels off within a few)")
    command.set_defaults(run=sgan)
    command = commands.add_parser("dcgan-features")
    command.add_argument("--seeds", default="0")
    command.add_argument("--epochs", type=int, default=5)
    command.add_argument("--train-images", type=int, default=10_000)
    command.add_argument("--probe-steps", type=int, default=2000)
    command.add_argument("--base-filters", type=int, default=32)
    command.set_defaults(run=dcgan_features)
    for name, run, seeds, epochs in (("stability", stability, "0,1,2,3,4,5,6,7", 5),
                                     ("lsgan", lsgan, "0,1,2", 5), ("acgan", acgan, "0,1,2", 5),
                                     ("wgan", wgan, "0,1", 20), ("sgan-samples", sgan_samples, "0,1", 5),
                                     ("arithmetic", arithmetic, "0,1", 5)):
        command = commands.add_parser(name)
        command.add_argument("--seeds", default=seeds)
        command.add_argument("--epochs", type=int, default=epochs)
        command.add_argument("--jobs", type=int, default=2)
        if name == "wgan":
            command.add_argument("--steps-per-epoch", type=int, default=100)
        command.set_defaults(run=run)
    args = parser.parse_args()
    args.run(args)


if __name__ == "__main__":
    main()
