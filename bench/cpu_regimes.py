"""Benchmark: images/second per process on CPU, Keras plain step, `GAN.fit` and PyTorch eager, over many processes.

Issue 22: on shared 2-core machines TensorFlow processes fall into a fast and a half-speed regime for their whole
life. One process says nothing about which regime a setting lands in, so this driver starts `--processes` fresh
processes of each kind in alternation (plain, fit, torch, plain, fit, torch, ...), each timing `--steps` steps
after a warm-up, and reports per kind the median, fastest and slowest images/s. Each worker also records its CPU
seconds per wall second (cores used), the machine's steal time (`/proc/stat`: time the hypervisor gave another
guest) and the CPU seconds of each of its threads by name (`/proc/self/task/*/stat`), so that a slow process
shows whether it lost a core to the host, to a sleeping thread pool or to a thread doing the work alone.

The networks and the step are `bench/train_step.py`'s (DCGAN at 28x28, batch 128, Adam 2e-4 / 0.5), written
once more for PyTorch (an optional benchmark-only dependency: `pip install torch==2.13.0+cpu`, never a dependency of
the package). Environment settings to compare go in `--env` (e.g. `--env TF_NUM_INTEROP_THREADS=1`), applied to
the TensorFlow workers; `--variant LABEL:NAME=VALUE` defines a setting for kinds written `KIND@LABEL` only (e.g.
`--kinds fit,fit@caller,torch --variant caller:TF_ONEDNN_THREADPOOL_USE_CALLER_THREAD=1`), so that a setting and
the defaults alternate in one run. `--pipeline library` (the default) feeds both TensorFlow kinds batches under the options of
the library's pipelines (tf.data autotuning off); `--pipeline tf_default` under TensorFlow's defaults, as a
keras.io script would (autotuning on: the cause of the slow regime, docs/benchmarks.md).

Kinds: `plain`, `fit`, `fit_xla` (XLA), `fit_keras_bn` (`GAN.fit` with Keras's unfused batch normalization in
place of the library's fused one), `torch`.

    python bench/cpu_regimes.py [--processes 10] [--steps 60] [--kinds plain,fit,torch] [--pipeline library]
                                [--env NAME=VALUE ...] [--variant LABEL:NAME=VALUE ...]
    python bench/cpu_regimes.py --worker KIND [--pipeline P]   (one process; prints one JSON line)

Prints one JSON object, then a one-line summary per kind.
"""
import argparse
import json
import os
import subprocess
import sys
import time

BATCH, LATENT, FILTERS = 128, 100, 32


def cpu_times():
    """The machine's (busy, steal) jiffies and this process's threads' CPU jiffies by thread name."""
    with open("/proc/stat") as stream:
        fields = [int(v) for v in stream.readline().split()[1:]]
    busy, steal = sum(fields[:3]) + sum(fields[5:7]), fields[7] if len(fields) > 7 else 0
    threads = {}
    for task in os.listdir("/proc/self/task"):
        try:
            with open(f"/proc/self/task/{task}/stat") as stream:
                text = stream.read()
        except OSError:
            continue
        name = text[text.index("(") + 1:text.rindex(")")]
        values = text[text.rindex(")") + 2:].split()
        threads[f"{name}:{task}"] = int(values[11]) + int(values[12])  # utime + stime
    return busy, steal, threads


def keras_step(kind, pipeline):
    """A function running `n` steps of the Keras plain step or of `GAN.fit` (`fit_xla`: with XLA; `fit_keras_bn`:
    with Keras's batch normalization instead of the library's fused one)."""
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    sys.path.insert(0, os.path.dirname(__file__))
    import keras
    from common import default_dcgan, random_image_batches
    from train_step import PlainGAN, networks_pair

    dataset = random_image_batches(BATCH, library_options=pipeline == "library").prefetch(2)
    if kind == "fit_keras_bn":  # the library's networks with Keras's own (unfused) batch normalization
        from tfgan_impl.networks import BatchNormalization

        BatchNormalization.call = keras.layers.BatchNormalization.call
    if kind == "plain":
        model = PlainGAN(*networks_pair(LATENT, FILTERS), LATENT)
        model.compile(keras.optimizers.Adam(2e-4, 0.5), keras.optimizers.Adam(2e-4, 0.5))
    else:
        model = default_dcgan(FILTERS, LATENT, **({"jit_compile": True} if kind == "fit_xla" else {}))
    return lambda n: model.fit(dataset, epochs=1, steps_per_epoch=n, verbose=0)


def torch_step():
    """The same networks and step in PyTorch eager (its default threads: one per core)."""
    import torch
    from torch import nn

    torch.manual_seed(0)
    generator = nn.Sequential(
        nn.Linear(LATENT, 7 * 7 * 2 * FILTERS, bias=False), nn.BatchNorm1d(7 * 7 * 2 * FILTERS), nn.ReLU(),
        nn.Unflatten(1, (2 * FILTERS, 7, 7)),
        nn.ConvTranspose2d(2 * FILTERS, FILTERS, 4, 2, 1, bias=False), nn.BatchNorm2d(FILTERS), nn.ReLU(),
        nn.ConvTranspose2d(FILTERS, 1, 4, 2, 1), nn.Tanh())
    discriminator = nn.Sequential(
        nn.Conv2d(1, FILTERS, 4, 2, 1), nn.LeakyReLU(0.2),
        nn.Conv2d(FILTERS, 2 * FILTERS, 4, 2, 1, bias=False), nn.BatchNorm2d(2 * FILTERS), nn.LeakyReLU(0.2),
        nn.Flatten(), nn.Linear(7 * 7 * 2 * FILTERS, 1))
    d_optimizer = torch.optim.Adam(discriminator.parameters(), 2e-4, betas=(0.5, 0.999), eps=1e-7)
    g_optimizer = torch.optim.Adam(generator.parameters(), 2e-4, betas=(0.5, 0.999), eps=1e-7)
    loss = nn.BCEWithLogitsLoss()
    batches = torch.rand(8, BATCH, 1, 28, 28) * 2 - 1
    ones, zeros = torch.ones(BATCH, 1), torch.zeros(BATCH, 1)

    def steps(n):
        for index in range(n):
            real = batches[index % 8]
            fake = generator(torch.randn(BATCH, LATENT)).detach()
            d_loss = loss(discriminator(real), ones) + loss(discriminator(fake), zeros)
            d_optimizer.zero_grad()
            d_loss.backward()
            d_optimizer.step()
            g_loss = loss(discriminator(generator(torch.randn(BATCH, LATENT))), ones)
            g_optimizer.zero_grad()
            g_loss.backward()
            g_optimizer.step()

    return steps


def worker(kind, steps, pipeline):
    run = torch_step() if kind == "torch" else keras_step(kind, pipeline)
    run(10)  # trace, warm up
    busy0, steal0, threads0 = cpu_times()
    start, cpu_start = time.perf_counter(), time.process_time()
    run(steps)
    wall, cpu = time.perf_counter() - start, time.process_time() - cpu_start
    busy1, steal1, threads1 = cpu_times()
    ticks = os.sysconf("SC_CLK_TCK")
    used = {name: (value - threads0.get(name, 0)) / ticks for name, value in threads1.items()}
    busiest = sorted(((round(v, 2), name) for name, v in used.items() if v > 0.01 * wall), reverse=True)[:8]
    print(json.dumps({"kind": kind, "images_per_second": steps * BATCH / wall, "ms_per_step": 1000 * wall / steps,
                      "cores_used": cpu / wall, "steal_seconds": (steal1 - steal0) / ticks,
                      "machine_busy_seconds": (busy1 - busy0) / ticks, "wall_seconds": wall,
                      "busiest_threads": busiest}))


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--worker", choices=["plain", "fit", "fit_xla", "fit_keras_bn", "torch"])
    parser.add_argument("--processes", type=int, default=10)
    parser.add_argument("--steps", type=int, default=60)
    parser.add_argument("--kinds", default="plain,fit,torch")
    parser.add_argument("--pipeline", choices=["library", "tf_default"], default="library")
    parser.add_argument("--env", action="append", default=[], help="NAME=VALUE for the TensorFlow workers")
    parser.add_argument("--variant", action="append", default=[],
                        help="LABEL:NAME=VALUE, a setting for the kinds written KIND@LABEL")
    args = parser.parse_args()
    if args.worker:
        return worker(args.worker, args.steps, args.pipeline)
    kinds = args.kinds.split(",")
    settings = dict(item.split("=", 1) for item in args.env)
    variants = {}
    for item in args.variant:
        label, setting = item.split(":", 1)
        variants.setdefault(label, {}).update([setting.split("=", 1)])
    results = {kind: [] for kind in kinds}
    for _ in range(args.processes):
        for kind in kinds:
            base, _, label = kind.partition("@")
            env = {**os.environ, **(settings if base != "torch" else {}), **variants.get(label, {})}
            out = subprocess.run([sys.executable, __file__, "--worker", base, "--steps", str(args.steps),
                                  "--pipeline", args.pipeline], env=env,
                                 capture_output=True, text=True, check=True).stdout
            results[kind].append(json.loads(out.strip().splitlines()[-1]))
    import statistics

    summary = {}
    for kind, runs in results.items():
        rates = sorted(run["images_per_second"] for run in runs)
        summary[kind] = {"median": statistics.median(rates), "fastest": rates[-1], "slowest": rates[0],
                         "images_per_second": [round(r) for r in (run["images_per_second"] for run in runs)]}
    print(json.dumps({"settings": settings, "variants": variants, "pipeline": args.pipeline, "steps": args.steps, "summary": summary, "runs": results}, indent=1))
    for kind, figures in summary.items():
        print(f"{kind}: median {figures['median']:.0f}, fastest {figures['fastest']:.0f}, slowest "
              f"{figures['slowest']:.0f} images/s over {len(results[kind])} processes "
              f"({' '.join(map(str, figures['images_per_second']))})")


if __name__ == "__main__":
    main()
