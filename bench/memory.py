"""Benchmark: resident memory over a long run (issue: a week-long run must not grow).

Trains `configs/dcgan_fashion_mnist.yaml` with small networks (base_filters 8) on all 60,000 Fashion-MNIST
images for 30 epochs through `tfgan_impl.training.train` (samples, checkpoints, CSV and TensorBoard logs every
epoch, as the command does) and records the process's resident set size after every epoch.
Usage: python bench/memory.py [--epochs 30] [--set KEY=VALUE ...]; prints JSON and writes docs/memory.md.
"""
import argparse
import json
import os
import tempfile

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import keras  # noqa: E402

from tfgan_impl import config as config_module  # noqa: E402
from tfgan_impl import images, training  # noqa: E402

ROOT = os.path.join(os.path.dirname(__file__), "..")


def resident_megabytes():
    with open("/proc/self/statm") as stream:
        pages = int(stream.read().split()[1])
    return pages * os.sysconf("SC_PAGE_SIZE") / 2**20


class ResidentMemory(keras.callbacks.Callback):
    def __init__(self):
        super().__init__()
        self.megabytes = []

    def on_epoch_end(self, epoch, logs=None):
        self.megabytes.append(round(resident_megabytes(), 1))


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=30)
    parser.add_argument("--set", action="append", default=[])
    parser.add_argument("--out", default=os.path.join(ROOT, "docs"))
    args = parser.parse_args()
    overrides = ["model.generator.base_filters=8", "model.discriminator.base_filters=8",
                 f"train.epochs={args.epochs}", *args.set]
    config = config_module.load(os.path.join(ROOT, "configs", "dcgan_fashion_mnist.yaml"), overrides)
    memory = ResidentMemory()
    with tempfile.TemporaryDirectory() as run_dir:
        training.train(config, run_dir, verbose=0, callbacks=[memory])
    after_5, last = memory.megabytes[min(4, len(memory.megabytes) - 1)], memory.megabytes[-1]
    result = {"epochs": args.epochs, "overrides": overrides, "rss_mb_per_epoch": memory.megabytes,
              "rss_mb_after_epoch_5": after_5, "rss_mb_at_end": last, "growth_mb": round(last - after_5, 1)}
    print(json.dumps(result))
    images.write_text(os.path.join(args.out, "memory.md"), "\n".join([
        "# Resident memory over a long run",
        "",
        f"`python bench/memory.py --epochs {args.epochs}`: DCGAN with base_filters 8 on the 60,000 Fashion-MNIST",
        "training images, batch 128, samples, checkpoints and logs every epoch, 2-core CPU, one run.",
        "",
        f"Resident set size after epoch 5: {after_5:.0f} MB; after epoch {args.epochs}: {last:.0f} MB "
        f"(growth {last - after_5:+.0f} MB; the target is under 100 MB).",
        "",
        "Per epoch (MB): " + ", ".join(f"{value:.0f}" for value in memory.megabytes),
        "",
    ]))


if __name__ == "__main__":
    main()
