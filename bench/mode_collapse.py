"""Benchmark: mode collapse on the 2-D mixtures `ring8` and `grid25` (VEEGAN, PacGAN), plain GAN against remedies.

Trains every listed config with every seed through `tfgan_impl.training.train` (exactly what `tfgan-impl train`
runs), draws 2,500 samples and scores them with `tfgan_impl.metrics.mode_coverage`. Writes a Markdown table
(mean and range over seeds) and a PNG of one seed's samples per config, and prints the table.

Usage: python bench/mode_collapse.py [--seeds 0 1 2] [--out docs] [CONFIG.yaml ...]
"""
import argparse
import json
import os
import tempfile
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import numpy as np  # noqa: E402

from tfgan_impl import config as config_module  # noqa: E402
from tfgan_impl import data, images, training  # noqa: E402
from tfgan_impl.metrics.modes import mode_coverage  # noqa: E402

ROOT = os.path.join(os.path.dirname(__file__), "..")
DEFAULT_CONFIGS = [os.path.join(ROOT, "configs", f"{name}.yaml")
                   for name in ("gan_ring8", "pacgan_ring8", "gan_grid25", "mbstd_grid25")]
PUBLISHED = ("PacGAN (Lin et al. 2018, table 2, grid25): plain GAN 17.3 modes / 94.8% high quality, "
             "PacGAN4 24.8 / 93.6% (their networks and schedule, not ours).")


def run(path, seed, work_dir):
    """Trains one config with one seed; returns its figures and samples."""
    config = config_module.load(path, [f"seed={seed}"])
    started = time.perf_counter()
    gan = training.train(config, os.path.join(work_dir, f"{os.path.basename(path)}-{seed}"), verbose=0)
    seconds = time.perf_counter() - started
    samples = gan.generate(2500, seed=1000 + seed)
    return {**mode_coverage(samples, config.data.source), "seconds": seconds}, samples, config.data.source


def summarize(values, percent=False):
    values = np.asarray(values, np.float64) * (100 if percent else 1)
    unit = "%" if percent else ""
    if values.min() == values.max():
        return f"{values.mean():.1f}{unit}"
    return f"{values.mean():.1f}{unit} ({values.min():.1f}-{values.max():.1f})"


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("configs", nargs="*", default=DEFAULT_CONFIGS)
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--out", default=os.path.join(ROOT, "docs"))
    args = parser.parse_args()
    rows, pictures, results = [], [], {}
    with tempfile.TemporaryDirectory() as work_dir:
        for path in args.configs:
            name = os.path.splitext(os.path.basename(path))[0]
            figures = []
            for seed in args.seeds:
                result, samples, mixture = run(path, seed, work_dir)
                figures.append(result)
                print(json.dumps({"config": name, "seed": seed, **result}), flush=True)
                if seed == args.seeds[0]:
                    centres, _ = data.mixture_centres(mixture)
                    pictures.append(images.scatter_plot(samples, size=192, reference=centres * 1.15))
            results[name] = figures
            modes = [f["modes_covered"] for f in figures]
            rows.append(f"| {name} | {summarize(modes)} / {figures[0]['num_modes']} | "
                        f"{summarize([f['high_quality_fraction'] for f in figures], percent=True)} | "
                        f"{summarize([f['mode_kl'] for f in figures])} | "
                        f"{sum(m == figures[0]['num_modes'] for m in modes)}/{len(modes)} | "
                        f"{np.mean([f['seconds'] for f in figures]):.0f} s |")
    table = "\n".join([
        f"Seeds {args.seeds}; 2,500 samples each; mean (min-max) over seeds.",
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
