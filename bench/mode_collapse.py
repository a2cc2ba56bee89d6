"""Benchmark: mode collapse on the 2-D mixtures `ring8` and `grid25` (VEEGAN, PacGAN), plain GAN against remedies.

Trains every listed config with every seed through `tfgan_impl.training.train` (exactly what `tfgan-impl train`
runs), draws 2,500 samples and scores them with `tfgan_impl.metrics.mode_coverage`. Writes a Markdown table
(mean and range over seeds) and a PNG of one seed's samples per config, and prints the table.

Usage: python bench/mode_collapse.py [--seeds 0 1 2] [--out docs] [CONFIG.yaml ...]
       python bench/mode_collapse.py --runs RUN_DIR... --name NAME [--out DIR]
The second form scores run directories already trained (say, one seed per process with
`tfgan-impl train CONFIG --set seed=N`) exactly as the first scores its own runs; it has no train times.
"""
import argparse
import json
import os
import tempfile
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import numpy as np  # noqa: E402

from tfgan_impl import config as config_module  # noqa: E402
from tfgan_impl import data, images, rundir, training  # noqa: E402
from tfgan_impl.metrics.modes import mode_coverage  # noqa: E402

ROOT = os.path.join(os.path.dirname(__file__), "..")
DEFAULT_CONFIGS = [os.path.join(ROOT, "configs", f"{name}.yaml")
                   for name in ("gan_ring8", "pacgan_ring8", "gan_grid25", "mbstd_grid25", "mbstd_r1_grid25")]
PUBLISHED = ("PacGAN (Lin et al. 2018, table 2, grid25): plain GAN 17.3 modes / 94.8% high quality, "
             "PacGAN4 24.8 / 93.6% (their networks and schedule, not ours).")


def run(path, seed, work_dir):
    """Trains one config with one seed; returns its figures and samples."""
    config = config_module.load(path, [f"seed={seed}"])
    started = time.perf_counter()
    gan = training.train(config, os.path.join(work_dir, f"{os.path.basename(path)}-{seed}"), verbose=0)
    seconds = time.perf_counter() - started
    return score(gan, config.data.source, seed, seconds)


def score(gan, mixture, seed, seconds):
    """Figures of 2,500 samples (seed `1000 + seed`); with rejection sampling on, also those of the generator
    alone on the same latent vectors (`without_rejection`)."""
    samples = gan.generate(2500, seed=1000 + seed)
    result = {**mode_coverage(samples, mixture), "seconds": seconds}
    if getattr(gan, "rejection_percentile", None) is not None:
        result["without_rejection"] = mode_coverage(gan.generate_from(gan.latents(2500, seed=1000 + seed)), mixture)
    return result, samples, mixture


def summarize(values, percent=False, digits=1):
    values = np.asarray(values, np.float64) * (100 if percent else 1)
    unit = "%" if percent else ""
    if values.min() == values.max():
        return f"{values.mean():.{digits}f}{unit}"
    return f"{values.mean():.{digits}f}{unit} ({values.min():.{digits}f}-{values.max():.{digits}f})"


def row(name, figures):
    """One Markdown table row: mean (range) over seeds."""
    modes = [f["modes_covered"] for f in figures]
    return (f"| {name} | {summarize(modes)} / {figures[0]['num_modes']} | "
            f"{summarize([f['high_quality_fraction'] for f in figures], percent=True)} | "
            f"{summarize([f['mode_kl'] for f in figures], digits=3)} | "
            f"{sum(m == figures[0]['num_modes'] for m in modes)}/{len(modes)} | "
            + (f"{np.mean([f['seconds'] for f in figures]):.0f} s |" if figures[0]["seconds"] is not None else "- |"))


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("configs", nargs="*", default=DEFAULT_CONFIGS)
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--out", default=os.path.join(ROOT, "docs"))
    parser.add_argument("--runs", nargs="+", help="score these trained run directories instead of training")
    parser.add_argument("--name", help="the table's name for --runs")
    args = parser.parse_args()
    if args.runs:
        args.configs, args.seeds = [args.name or os.path.basename(os.path.normpath(args.runs[0]))], [None]
    rows, pictures, results, seeds_seen = [], [], {}, []
    with tempfile.TemporaryDirectory() as work_dir:
        for path in args.configs:
            name = os.path.splitext(os.path.basename(path))[0]
            figures = []
            jobs = [(seed, None) for seed in args.seeds] if not args.runs else [(None, d) for d in args.runs]
            for seed, run_dir in jobs:
                if run_dir is None:
                    result, samples, mixture = run(path, seed, work_dir)
                else:
                    config = config_module.load(os.path.join(run_dir, "config.yaml"))
                    seed = config.seed
                    result, samples, mixture = score(rundir.load_run(run_dir), config.data.source, seed, None)
                figures.append(result)
                print(json.dumps({"config": name, "seed": seed, **result}), flush=True)
                seeds_seen.append(seed)
                if len(figures) == 1:  # the first seed's samples picture the config
                    centres, _ = data.mixture_centres(mixture)
                    pictures.append(images.scatter_plot(samples, size=192, reference=centres * 1.15))
            results[name] = figures
            if "without_rejection" in figures[0]:
                rows.append(row(f"{name}, generator alone", [{**f["without_rejection"], "seconds": f["seconds"]}
                                                             for f in figures]))
            rows.append(row(name, figures))
    table = "\n".join([
        f"Seeds {sorted(set(seeds_seen))}; 2,500 samples each; mean (min-max) over seeds.",
        "",
        "| config | modes covered | high-quality samples | KL(modes, uniform) | seeds with all modes | train time |",
        "|---|---|---|---|---|---|",
        *rows,
        "",
        PUBLISHED,
    ])
    print(table)
    os.makedirs(args.out, exist_ok=True)
    images.write_text(os.path.join(args.out, "mode_collapse.md"), table + "\n")
    images.write_text(os.path.join(args.out, "mode_collapse.json"), json.dumps(results, indent=1) + "\n")
    framed = [np.pad(picture, ((2, 2), (2, 2), (0, 0)), constant_values=96) for picture in pictures]
    images.save_png(images.image_grid(np.stack(framed).astype(np.float32) / 255.0,
                                      columns=len(framed) // 2 if len(framed) > 3 else len(framed)),
                    os.path.join(args.out, "mode_collapse.png"))


if __name__ == "__main__":
    main()
