"""The `tfgan-impl` command: a thin layer over `tfgan_impl.training` for configs and run directories.

User mistakes (a missing file, a bad config or flag, bad data) print one line on stderr and exit with code 2;
a diverged run exits with code 1.
"""
import argparse
import os
import sys

from tfgan_impl.errors import DivergenceError, UserError  # plain Python: importing it starts no TensorFlow


def _start_tensorflow(start):
    """Imports TensorFlow and runs `start` (which starts its devices), with stderr muted unless
    TF_CPP_MIN_LOG_LEVEL is set; returns what `start` returns.

    TensorFlow prints start-up lines (oneDNN, CUDA probing) to stderr before its log level applies, and they
    would bury the one-line errors of this command.
    """
    if "TF_CPP_MIN_LOG_LEVEL" in os.environ:
        return start()
    os.environ["TF_CPP_MIN_LOG_LEVEL"] = "2"
    sys.stderr.flush()
    saved = os.dup(2)
    try:
        with open(os.devnull, "w") as devnull:
            os.dup2(devnull.fileno(), 2)
            return start()
    finally:
        os.dup2(saved, 2)
        os.close(saved)


def _list_devices():
    import tensorflow as tf

    tf.config.list_logical_devices()


class _Parser(argparse.ArgumentParser):
    def error(self, message):
        print(f"{self.prog}: error: {message}", file=sys.stderr)
        sys.exit(2)


def _train(args):
    overrides = list(args.set)
    if args.epochs is not None:
        overrides.append(f"train.epochs={args.epochs}")
    if args.steps_per_epoch is not None:
        overrides.append(f"train.steps_per_epoch={args.steps_per_epoch}")
    for key in ("strategy", "tpu", "precision"):
        if getattr(args, key) is not None:
            overrides.append(f"train.{key}={getattr(args, key)}")
    strategy = _start_tensorflow(lambda: _strategy_of(args.config, overrides))
    from tfgan_impl import config as config_module
    from tfgan_impl import distribute, training

    config = config_module.load(args.config, overrides)
    run_dir = args.out or os.path.join("runs", os.path.splitext(os.path.basename(args.config))[0])
    # Keras's progress bar redraws in place: to a file or a pipe it is megabytes of redraws, so one line an epoch.
    verbose = args.verbose if args.verbose is not None else (1 if sys.stdout.isatty() else 2)
    training.train(config, run_dir, verbose=verbose, strategy=strategy)
    if distribute.is_chief(strategy):
        print(f"run directory: {run_dir}")
    return 0


def _strategy_of(config_path, overrides):
    """The config's strategy, created first: multi-worker and TPU strategies configure TensorFlow's runtime,
    which validating the config (it builds optimizers) would start."""
    from tfgan_impl import config as config_module
    from tfgan_impl import distribute

    train_section = config_module.read(config_path, overrides).get("train")
    train_section = train_section if isinstance(train_section, dict) else {}
    name, tpu = train_section.get("strategy", "auto"), train_section.get("tpu")
    if name not in distribute.STRATEGIES:  # reported with the file's name by the config's validation
        name = "default"
    strategy = distribute.make_strategy(name, None if tpu is None else str(tpu))
    _list_devices()  # starts the devices here, where their start-up lines are muted
    return strategy


def _sample(args):
    from tfgan_impl import rundir, sampling
    from tfgan_impl.samplers import TextSampler, Translator

    labels = None
    if args.labels is not None:
        try:
            labels = [int(label) for label in args.labels.split(",")]
        except ValueError:
            raise UserError(f"--labels {args.labels!r}: expected comma-separated class ids, e.g. 0,1,2") from None
    model = rundir.load_run(args.run_dir)
    if isinstance(model, TextSampler) or args.text or args.embeddings is not None or args.stages:
        return _sample_text(model, args)
    translator = isinstance(model, Translator)
    if translator or args.input is not None or args.inverse or args.masks is not None or args.tile is not None:
        if not translator:
            raise UserError(f"--input: {args.run_dir} generates from noise; only translator runs take input images")
        if args.input is None:
            raise UserError(f"{args.run_dir} is a translator: give --input IMAGE_OR_DIR and --out DIR")
        if args.inverse and not model.has_inverse:
            raise UserError(f"--inverse: {args.run_dir} translates one way only (only translators with an inverse, "
                            "e.g. CycleGAN, go back)")
        count = sampling.translate_files(model, args.input, args.out, inverse=args.inverse,
                                         maps={"masks": args.masks}, tile=args.tile)
        print(f"wrote {count} translations to {args.out}")
        return 0
    count = sampling.write_samples(model, args.num, args.seed, args.out, labels=labels, interpolate=args.interpolate,
                                   steps=args.steps, truncation=args.truncation, mix=args.mix)
    print(f"wrote {count} samples to {args.out}")
    return 0


def _sample_text(model, args):
    import numpy as np

    from tfgan_impl import sampling
    from tfgan_impl.samplers import TextSampler

    if not isinstance(model, TextSampler):
        raise UserError(f"--text: {args.run_dir} does not draw from text; only text-to-image runs (stackgan) do")
    embeddings = None
    if args.embeddings is not None:
        try:
            embeddings = np.load(args.embeddings, allow_pickle=False)
        except FileNotFoundError:
            raise UserError(f"--embeddings {args.embeddings}: no such file") from None
        except (OSError, ValueError) as error:
            raise UserError(f"--embeddings {args.embeddings}: not a readable .npy array ({error})") from None
    count = sampling.write_text_samples(model, args.num, args.seed, args.out, captions=args.text or None,
                                        embeddings=embeddings, stages=args.stages)
    print(f"wrote {count} samples to {args.out}")
    return 0


def _evaluate(args):
    import json

    import numpy as np

    from tfgan_impl import evaluation, images, rundir
    from tfgan_impl.samplers import NoiseSampler

    metric_names = evaluation.parse_metrics(args.metrics)
    if args.samples.endswith(".npy"):
        if args.data is None:
            raise UserError("--data: needed to evaluate a .npy file of samples (e.g. --data fashion_mnist)")
        try:
            samples = np.load(args.samples, mmap_mode="r", allow_pickle=False)
        except FileNotFoundError:
            raise UserError(f"{args.samples}: no such file") from None
        except (OSError, ValueError) as error:
            raise UserError(f"{args.samples}: not a readable .npy array ({error})") from None
        if args.truncation is not None:
            raise UserError(f"--truncation: {args.samples} holds samples already drawn; it applies to a run directory")
        chunks = evaluation.array_chunks(samples, args.num)
        data, image_size = args.data, None
    else:
        run = rundir.load(args.samples)
        if not isinstance(run.model, NoiseSampler):
            raise UserError(f"{args.samples}: a {type(run.model).__name__} run; the sample metrics score generators "
                            "of noise (write its samples with 'sample ... --out FILE.npy' and evaluate that file)")
        data, image_size = args.data or run.config.data.source, run.config.data.image_size
        chunks = evaluation.generator_chunks(run.model, args.num, seed=args.seed, truncation=args.truncation)
    evaluator = evaluation.Evaluator(data, metric_names, classifier=args.classifier,
                                     inception_weights=args.inception_weights, image_size=image_size)
    figures = {"data": evaluator.data_name, **evaluator(chunks)}
    text = json.dumps(figures, indent=1)
    if args.json:
        images.write_text(args.json, text + "\n")
    print(text)
    return 0


def _train_classifier(args):
    from tfgan_impl import images
    from tfgan_impl.metrics import classifier

    if not args.out.endswith(".keras"):
        raise UserError(f"--out {args.out}: the classifier file must end in .keras")
    model, accuracy = classifier.train_classifier(args.source, epochs=args.epochs, seed=args.seed,
                                                  verbose=args.verbose)
    images.write_atomically(args.out, model.save)
    print(f"test accuracy: {accuracy:.4f}")
    print(f"wrote {args.out}")
    return 0


def _export(args):
    from tfgan_impl import export, rundir

    run = rundir.load(args.run_dir)
    class_names = run.info.get("class_names")
    metadata = {"config": run.config.to_dict(), **({"class_names": class_names} if class_names else {})}
    path = export.EXPORTERS[args.format](run.model, args.out, version=args.version, metadata=metadata)
    print(f"exported {path}")
    return 0


def make_parser():
    """The argument parser of `tfgan-impl` and its subcommands."""
    parser = _Parser(prog="tfgan-impl", description="Train and sample generative adversarial networks.")
    commands = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)

    train = commands.add_parser("train", help="train the GAN of a config; rerun to resume")
    train.add_argument("config", help="YAML config file, e.g. configs/dcgan_fashion_mnist.yaml")
    train.add_argument("--out", help="run directory (default: runs/CONFIG_NAME)")
    train.add_argument("--epochs", type=int, help="override train.epochs")
    train.add_argument("--steps-per-epoch", type=int, help="override train.steps_per_epoch")
    train.add_argument("--strategy", help="override train.strategy: auto, default, mirrored, multi_worker "
                       "(cluster from TF_CONFIG or Slurm) or tpu; see docs/distributed.md")
    train.add_argument("--tpu", help="override train.tpu: the TPU's name or address (strategy tpu)")
    train.add_argument("--precision", help="override train.precision: float32, mixed_float16 or mixed_bfloat16")
    train.add_argument("--set", action="append", default=[], metavar="KEY=VALUE",
                       help="override any config value, e.g. --set train.d_steps=2 (repeatable)")
    train.add_argument("--verbose", type=int, choices=(0, 1, 2),
                       help="Keras progress output: 0 none, 1 a progress bar, 2 one line an epoch (default: 1 on a "
                       "terminal, 2 when the output is a file or a pipe)")
    train.set_defaults(handler=_train)

    sample = commands.add_parser("sample", help="draw samples from a trained run")
    sample.add_argument("run_dir", help="run directory written by 'train'")
    sample.add_argument("--num", type=int, default=64, help="number of samples")
    sample.add_argument("--seed", type=int, default=0, help="seed of the latent vectors")
    sample.add_argument("--out", required=True, help="output file: .png (picture) or .npy (float32 array)")
    sample.add_argument("--labels", help="conditional runs: comma-separated class ids; --num samples of each, a row each")
    sample.add_argument("--interpolate", nargs="?", const="slerp", choices=("slerp", "linear"),
                        help="draw --num rows of --steps samples along paths between random latents (default slerp)")
    sample.add_argument("--steps", type=int, default=8, help="samples per interpolation path")
    sample.add_argument("--truncation", type=float, metavar="VALUE",
                        help="the truncation trick: stylegan2's psi (1: none, 0: the mean image), biggan's threshold "
                             "on |z| (values beyond it resampled), for the other noise models psi times z")
    sample.add_argument("--mix", type=int, metavar="LAYER",
                        help="style-mixing runs (stylegan2): a grid of --num sources by --num destinations, each "
                             "cell the source's layers before LAYER and the destination's from it on")
    sample.add_argument("--text", action="append", default=[], metavar="CAPTION",
                        help="text-to-image runs: a caption to draw --num samples of, a row each (repeatable)")
    sample.add_argument("--embeddings", metavar="FILE.npy",
                        help="text-to-image runs: sentence embeddings [rows, E] to draw from instead of --text")
    sample.add_argument("--stages", action="store_true",
                        help="text-to-image runs: show each stage's images side by side (StackGAN's Stage-I, II)")
    sample.add_argument("--input", help="translator runs: an image file or a directory of images to translate "
                        "(--out is then a directory)")
    sample.add_argument("--inverse", action="store_true", help="CycleGAN runs: translate from B to A")
    sample.add_argument("--masks", metavar="FILE_OR_DIR",
                        help="inpainting runs: hole masks for --input (white = hole), a file of each image's name in "
                             "a directory or one file for all, of the images' size (default: a centred hole)")
    sample.add_argument("--tile", type=int, metavar="PIXELS",
                        help="fully convolutional translators (super-resolution): translate large images in tiles "
                             "of this many input pixels, overlapping by a quarter, with no seams")
    sample.set_defaults(handler=_sample)

    evaluate = commands.add_parser("evaluate", help="score a run or a .npy file of samples (prints JSON)")
    evaluate.add_argument("samples", metavar="RUN_DIR|SAMPLES.npy", help="a run directory or a .npy of samples in [0, 1]")
    evaluate.add_argument("--data", help="reference data source (default: the run's data.source)")
    evaluate.add_argument("--metrics", default="fcd,kcd,score,parzen,pr,nn",
                          help="comma-separated: fcd,kcd,score,fid,kid,is,parzen,pr,nn,modes")
    evaluate.add_argument("--num", type=int, default=10_000, help="number of samples (the Parzen protocol's 10,000)")
    evaluate.add_argument("--seed", type=int, default=0, help="seed of the latent vectors")
    evaluate.add_argument("--truncation", type=float, metavar="VALUE",
                          help="score samples drawn with the truncation trick (as 'sample --truncation')")
    evaluate.add_argument("--classifier", help="domain classifier .keras file (for fcd, kcd, score, pr)")
    evaluate.add_argument("--inception-weights", help="InceptionV3 ImageNet weights .h5 (for fid, kid, is)")
    evaluate.add_argument("--json", help="also write the figures to this file")
    evaluate.set_defaults(handler=_evaluate)

    train_classifier = commands.add_parser("train-classifier", help="train a domain classifier for fcd/kcd/score")
    train_classifier.add_argument("source", help="labelled data source, e.g. fashion_mnist")
    train_classifier.add_argument("--out", required=True, help="output .keras file")
    train_classifier.add_argument("--epochs", type=int, default=3, help="training epochs")
    train_classifier.add_argument("--seed", type=int, default=0, help="seed")
    train_classifier.add_argument("--verbose", type=int, choices=(0, 1, 2), default=1, help="Keras progress output")
    train_classifier.set_defaults(handler=_train_classifier)

    export = commands.add_parser("export", help="export the generator as a versioned SavedModel for TF Serving")
    export.add_argument("run_dir", help="run directory written by 'train'")
    export.add_argument("--format", choices=("saved_model", "tflite", "onnx"), default="saved_model",
                        help="saved_model (TF Serving), tflite (float32 and float16 files) or onnx (needs tf2onnx)")
    export.add_argument("--out", required=True, help="model base directory; versions go in OUT/<N>/")
    export.add_argument("--version", type=int, help="version number (default: one more than the largest present)")
    export.set_defaults(handler=_export)
    return parser


def main(argv=None):
    """Entry point of the `tfgan-impl` command; returns the exit code."""
    args = make_parser().parse_args(argv)
    try:
        if args.handler is not _train:  # training starts TensorFlow itself, with its strategy
            _start_tensorflow(_list_devices)
        return args.handler(args)
    except UserError as error:
        print(f"tfgan-impl: error: {error}", file=sys.stderr)
        return 2
    except DivergenceError as error:
        print(f"tfgan-impl: {error}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("tfgan-impl: interrupted; run the same command again to resume from the last checkpoint",
              file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
