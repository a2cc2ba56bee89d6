"""Running an experiment from a config: the run directory, its model, its callbacks, training and resume.

A run directory holds `config.yaml` (the resolved config), `run.json` (the data's sample shape),
`metrics.csv`, `logs/` (TensorBoard), `samples/epoch_NNN.png` and `checkpoints/`. Training into a directory
that already has checkpoints resumes from the latest one.
"""
import inspect
import json
import os
import shutil
import tempfile

import keras
import numpy as np
import tensorflow as tf

from tfgan_impl import callbacks as callbacks_module
from tfgan_impl import config as config_module
from tfgan_impl import data, distribute, images, latent, networks, paired
from tfgan_impl.batches import packed_shape, real_images_of
from tfgan_impl.conditional import ACGAN, ConditionalGAN
from tfgan_impl.errors import DivergenceError, OutputError, UserError
from tfgan_impl.gan import GAN
from tfgan_impl.semi_supervised import IMAGES, SemiSupervisedGAN, make_semi_supervised_dataset
from tfgan_impl.translation import CycleGAN, Pix2Pix

RUN_INFO = "run.json"
# train.* keys a resumed run may change: how long and how it trains, not what it trains.
RESUMABLE_CHANGES = ("epochs", "steps_per_epoch", "strategy", "tpu", "jit_compile", "steps_per_execution")


MODEL_CLASSES = {"gan": GAN, "cgan": ConditionalGAN, "acgan": ACGAN, "sgan": SemiSupervisedGAN}
DISCRIMINATOR_CONDITIONING = {"gan": None, "cgan": "input", "acgan": "auxiliary", "sgan": "classes"}


def _builder_args(builder, derived):
    names = inspect.signature(builder).parameters
    return {name: value for name, value in derived.items() if name in names}


def build_gan(config, sample_shape, marginals=None, num_classes=None):
    """Builds the GAN a config describes, for samples of `sample_shape`.

    Args:
        config: a validated `Config`.
        sample_shape: shape of one data example after preprocessing, e.g. `[28, 28, 1]` or `[2]`.
        marginals: the data's per-output means in [0, 1], for a generator option `output_bias: marginals`.
        num_classes: the data's number of classes, needed by the types that use labels (cgan, acgan, sgan).

    Returns:
        An uncompiled `GAN` (a `ConditionalGAN`, `ACGAN` or `SemiSupervisedGAN` for the other types), its
        networks built under the dtype policy `train.precision`. Call it inside the strategy's scope.
    """
    with distribute.precision(config.train.precision):
        gan = _build_gan(config, sample_shape, marginals, num_classes)
    if config.train.synchronized_batch_norm:
        for network in (gan.generator, gan.discriminator):
            networks.synchronize_batch_norm(network)
    return gan


def _build_gan(config, sample_shape, marginals, num_classes):
    model = config.model
    uses_labels = model.type != "gan"
    if uses_labels and (num_classes is None or num_classes < 2):
        raise UserError(f"model.type {model.type!r} needs labelled data of at least 2 classes; "
                        f"{config.data.source} has {num_classes or 'no'} classes")
    sample_shape = [int(d) for d in sample_shape]
    labels = {"num_classes": num_classes} if uses_labels else {}
    derived = {
        "generator": {"latent_dim": model.latent_dim, "output_shape": sample_shape, "image_shape": sample_shape,
                      **(labels if model.type != "sgan" else {})},
        "discriminator": {"input_shape": packed_shape(sample_shape, model.packing),
                          "image_shape": packed_shape(sample_shape, model.packing), **labels,
                          **({"conditioning": DISCRIMINATOR_CONDITIONING[model.type]} if uses_labels else {})},
    }
    built = []
    for kind, registry in (("generator", networks.GENERATORS), ("discriminator", networks.DISCRIMINATORS)):
        spec = dict(getattr(model, kind))
        builder = registry[spec.pop("name")]
        if spec.get("output_bias") == "marginals":
            spec["output_bias"] = (networks.marginal_logits(marginals[None]) if marginals is not None
                                   else np.zeros(int(np.prod(sample_shape)), "float32")).tolist()
        arguments = _builder_args(builder, derived[kind])
        if "num_classes" in derived[kind] and "num_classes" not in arguments:
            raise UserError(f"model.{kind}: network {getattr(model, kind)['name']!r} cannot be conditioned on labels")
        try:
            built.append(builder(**arguments, **spec))
        except (ValueError, TypeError) as error:
            raise UserError(f"model.{kind}: {error}") from None
    generator, discriminator = built
    options = dict(latent_dim=model.latent_dim, seed=config.seed, output_range=model.output_range,
                   ema_decay=model.ema_decay)
    if uses_labels:
        return MODEL_CLASSES[model.type](generator, discriminator, num_classes=num_classes, **options)
    return GAN(generator, discriminator, packing=model.packing, rejection_percentile=model.rejection_percentile,
               **options)


def compile_gan(gan, config):
    """Compiles a GAN with the optimizers, loss, regularizers and schedule of `config.train`."""
    train = config.train
    extra = {"class_loss_weight": train.class_loss_weight} if isinstance(gan, ACGAN) else {}
    if isinstance(gan, SemiSupervisedGAN):
        extra = {"supervised_weight": train.supervised_weight}
    gan.compile(
        d_optimizer=config_module.make_optimizer(train.d_optimizer, "train.d_optimizer"),
        g_optimizer=config_module.make_optimizer(train.g_optimizer, "train.g_optimizer"),
        loss=train.loss, d_steps=train.d_steps, penalties=train.penalties, label_smoothing=train.label_smoothing,
        augment=train.augment, jit_compile=train.jit_compile, steps_per_execution=train.steps_per_execution, **extra)
    return gan


def prepare_run_dir(run_dir, config):
    """Creates or reopens a run directory; refuses one that holds a run of a different config.

    Only the length of training (`train.epochs`, `train.steps_per_epoch`) and how it runs (`RESUMABLE_CHANGES`:
    the strategy, e.g. resuming on more GPUs, and compilation) may change between a run and its resumption.
    """
    try:
        os.makedirs(run_dir, exist_ok=True)
    except OSError as error:
        raise OutputError(f"{run_dir}: cannot create the run directory ({error.strerror or error})") from None
    _remove_stale_temporaries(run_dir)
    stored_path = os.path.join(run_dir, "config.yaml")
    if os.path.exists(stored_path):
        stored = config_module.load(stored_path).to_dict()
        current = config.to_dict()
        for mapping in (stored, current):
            for key in RESUMABLE_CHANGES:
                mapping["train"].pop(key, None)
        if stored != current:
            raise UserError(f"{run_dir}: holds a run of a different config ({stored_path}); "
                            "choose another --out or delete the directory")
    images.write_atomically(stored_path, lambda temporary: config_module.dump(config, temporary))


def _remove_stale_temporaries(run_dir):
    """Deletes the `.tmp-*` files a killed write left behind (`images.write_atomically` names them so)."""
    for root, _, names in os.walk(run_dir):
        for name in names:
            if name.startswith(".tmp-"):
                os.remove(os.path.join(root, name))


def make_callbacks(run_dir, config, global_batch_size, grid_pairs=None):
    """The callbacks of a CLI run, loggers last so they see the throughput figures; translators show
    `grid_pairs` (inputs, targets) translated instead of samples from noise."""
    train, evaluate = config.train, config.evaluate
    evaluation = []
    if evaluate.metrics:
        evaluation.append(callbacks_module.Evaluate(
            config.data.source, evaluate.metrics, every=evaluate.every, num=evaluate.num,
            classifier=evaluate.classifier, inception_weights=evaluate.inception_weights, monitor=evaluate.monitor,
            mode=evaluate.mode, best_path=os.path.join(run_dir, "checkpoints", "best.weights.h5"), seed=config.seed))
    return [
        callbacks_module.Throughput(global_batch_size * train.d_steps),
        callbacks_module.TerminateOnDivergence(),
        callbacks_module.SampleGrid(os.path.join(run_dir, "samples"), every=train.sample_every,
                                    num=train.num_samples, seed=config.seed, log_dir=os.path.join(run_dir, "logs"))
        if grid_pairs is None else
        callbacks_module.TranslationGrid(os.path.join(run_dir, "samples"), *grid_pairs, every=train.sample_every,
                                         log_dir=os.path.join(run_dir, "logs")),
        *evaluation,
        callbacks_module.Checkpoint(os.path.join(run_dir, "checkpoints"), keep=train.keep_checkpoints),
        callbacks_module.MetricsCSV(os.path.join(run_dir, "metrics.csv")),
        callbacks_module.EpochScalars(os.path.join(run_dir, "logs")),
    ]


def seed_everything(config):
    """Seeds Python, NumPy and TensorFlow; with `train.deterministic`, also makes TensorFlow's ops deterministic."""
    keras.utils.set_random_seed(config.seed)
    if config.train.deterministic:
        tf.config.experimental.enable_op_determinism()


def train(config, run_dir, verbose="auto", strategy=None, callbacks=()):
    """Trains the GAN of `config` into `run_dir`, resuming from its latest checkpoint when there is one.

    Training runs under the strategy `train.strategy` (`tfgan_impl.distribute`). In a multi-worker cluster every
    worker runs this with the same config; only the chief writes `run_dir` (the others write to a temporary
    directory they delete, so that all run the same collectives), and the chief's checkpoint is broadcast to all
    workers on start, so a restarted worker rejoins from it even without a shared file system.

    Args:
        config: a validated `Config`.
        run_dir: the run directory.
        verbose: `keras.Model.fit` verbosity (non-chief workers are silent).
        strategy: the `tf.distribute.Strategy` to train under; by default `make_strategy(train.strategy)`, which
            for multi-worker and TPU strategies must run before TensorFlow runs any op.
        callbacks: extra Keras callbacks, run after the run directory's own.

    Returns:
        The trained `GAN`.

    Raises:
        UserError: bad data or a run directory of another config.
        DivergenceError: a loss became non-finite; the latest checkpoint is the last finite state.
    """
    if strategy is None:
        strategy = distribute.make_strategy(config.train.strategy, config.train.tpu)
    if distribute.is_chief(strategy):
        return _train(config, run_dir, strategy, verbose, chief=True, extra_callbacks=callbacks)
    scratch = tempfile.mkdtemp(prefix="tfgan-impl-worker-")
    try:
        return _train(config, scratch, strategy, verbose=0, chief=False, extra_callbacks=callbacks)
    finally:
        shutil.rmtree(scratch, ignore_errors=True)


def _training_data(config):
    """`(dataset, run information, marginals, grid pairs)` of a config: what `_train` feeds and records."""
    if config.model.type in config_module.TRANSLATORS:
        unpaired = config.model.type == "cyclegan"  # two domains, no pairs
        inputs, targets = (_domains if unpaired else _pairs)(config, config.data.split)
        make = paired.make_unpaired_dataset if unpaired else paired.make_paired_dataset
        dataset = make(inputs, targets, config.data.batch_size, output_range=config.model.output_range,
                       jitter=config.data.jitter, seed=config.seed, shuffle_buffer=config.data.shuffle_buffer)
        info = {"input_shape": list(inputs.shape[1:]), "sample_shape": list(targets.shape[1:]),
                "source": config.data.source, "num_classes": None}
        shown = min(config.train.num_samples, len(inputs))
        return dataset, info, None, (inputs[:shown], None if unpaired else targets[:shown])
    source = data.load_source(config.data.source, config.data.split, config.data.data_dir, config.data.image_size)
    conditional = config.model.type in ("cgan", "acgan")
    if config.model.type == "sgan":
        dataset, _ = make_semi_supervised_dataset(
            source, config.data.batch_size, config.data.labels_per_class, output_range=config.model.output_range,
            seed=config.seed, shuffle_buffer=config.data.shuffle_buffer)
        sample_shape = dataset.element_spec[IMAGES].shape[1:].as_list()
    else:
        dataset = data.make_dataset(
            source, config.data.batch_size, output_range=config.model.output_range,
            image_size=config.data.image_size, with_labels=conditional, shuffle_buffer=config.data.shuffle_buffer,
            seed=config.seed, cache=config.data.cache)
        if conditional:
            dataset = dataset.map(lambda images, labels: (images, tf.cast(labels, tf.int32)))
        sample_shape = real_images_of(dataset.element_spec).shape[1:].as_list()
    num_classes = source.num_classes if config.model.type != "gan" else None
    marginals = None
    if config.model.generator.get("output_bias") == "marginals" and source.images is not None:
        marginals = data.to_unit_interval(source.images).mean(axis=0)
    info = {"sample_shape": sample_shape, "source": source.name, "num_classes": num_classes,
            "class_names": source.class_names if num_classes else None}
    return dataset, info, marginals, None


def _pairs(config, split):
    inputs, targets = paired.load_pairs(config.data.source, split, config.data.data_dir, config.data.image_size)
    return (inputs, targets) if config.data.direction == "a_to_b" else (targets, inputs)


def _domains(config, split):
    images_a, images_b = paired.load_unpaired(config.data.source, split, config.data.data_dir, config.data.image_size)
    return (images_a, images_b) if config.data.direction == "a_to_b" else (images_b, images_a)


def build_model(config, info, marginals=None):
    """The uncompiled model of a config and its run information (`run.json`): a GAN or a translator."""
    if config.model.type in config_module.TRANSLATORS:
        return build_translator(config, info["input_shape"], info["sample_shape"])
    return build_gan(config, info["sample_shape"], marginals, info.get("num_classes"))


def build_translator(config, input_shape, target_shape):
    """The translator of a config (Pix2Pix or CycleGAN) for inputs of `input_shape` and targets, or the second
    domain's images, of `target_shape` ([H, W, C])."""
    input_shape, target_shape = [int(d) for d in input_shape], [int(d) for d in target_shape]
    cycle = config.model.type == "cyclegan"

    def build(kind, source_shape, result_shape):
        spec = dict(getattr(config.model, kind))
        registry = networks.GENERATORS if kind == "generator" else networks.DISCRIMINATORS
        builder = registry[spec.pop("name")]
        derived = ({"image_shape": source_shape, "output_channels": result_shape[-1]} if kind == "generator" else
                   {"image_shape": source_shape if not cycle else result_shape, "target_channels": result_shape[-1],
                    "conditional": not cycle})
        try:
            return builder(**_builder_args(builder, derived), **spec)
        except (ValueError, TypeError) as error:
            raise UserError(f"model.{kind}: {error}") from None

    with distribute.precision(config.train.precision):
        built = [build("generator", input_shape, target_shape), build("discriminator", input_shape, target_shape)]
        if cycle:  # F: B -> A and D_A
            built += [build("generator", target_shape, input_shape), build("discriminator", target_shape, input_shape)]
    train, output_range = config.train, config.model.output_range
    if cycle:
        model = CycleGAN(*built, cycle_weight=train.cycle_weight, identity_weight=train.identity_weight,
                         pool_size=train.pool_size, output_range=output_range, seed=config.seed)
    else:
        model = Pix2Pix(*built, l1_weight=train.l1_weight, output_range=output_range)
    if train.synchronized_batch_norm:
        for network in built:
            networks.synchronize_batch_norm(network)
    return model


def compile_model(model, config):
    """Compiles a GAN (`compile_gan`) or a translator with the optimizers and schedule of `config.train`."""
    if not isinstance(model, (Pix2Pix, CycleGAN)):
        return compile_gan(model, config)
    train = config.train
    model.compile(d_optimizer=config_module.make_optimizer(train.d_optimizer, "train.d_optimizer"),
                  g_optimizer=config_module.make_optimizer(train.g_optimizer, "train.g_optimizer"),
                  jit_compile=train.jit_compile, steps_per_execution=train.steps_per_execution)
    return model


def _train(config, run_dir, strategy, verbose, chief, extra_callbacks=()):
    seed_everything(config)
    dataset, info, marginals, grid_pairs = _training_data(config)
    if config.data.batch_size % strategy.num_replicas_in_sync:
        raise UserError(f"data.batch_size: the global batch {config.data.batch_size} does not split evenly over "
                        f"{strategy.num_replicas_in_sync} replicas")
    steps_per_epoch = _steps_per_epoch(config, dataset)
    # One endless, seeded stream of batches (a new shuffle order per pass), so that a resumed run can skip
    # exactly the batches the interrupted one consumed and see the data the uninterrupted run would have.
    if steps_per_epoch is not None:
        dataset = dataset.repeat()
    prepare_run_dir(run_dir, config)
    images.write_text(os.path.join(run_dir, RUN_INFO), json.dumps(info))
    with strategy.scope():
        gan = compile_model(build_model(config, info, marginals), config)
        gan.build_optimizers()  # creating variables is a collective step: every worker does it, in scope
    # Outside the scope: Keras's loader creates a reference optimizer, which only the chief would do in scope.
    initial_epoch = callbacks_module.restore_latest(gan, os.path.join(run_dir, "checkpoints"))
    if distribute.in_multi_worker_mode(strategy):
        initial_epoch = int(distribute.broadcast_from_first_replica(strategy, [initial_epoch])[0])
        distribute.sync_variables(strategy, state_variables(gan))
    if initial_epoch >= config.train.epochs:
        if chief:
            print(f"{run_dir}: already trained for {initial_epoch} epochs (train.epochs is {config.train.epochs})")
        return gan
    if initial_epoch and chief:
        print(f"{run_dir}: resuming after epoch {initial_epoch}")
    if steps_per_epoch is not None:
        dataset = dataset.skip(initial_epoch * steps_per_epoch * config.train.d_steps)
    callbacks = make_callbacks(run_dir, config, config.data.batch_size, grid_pairs) + list(extra_callbacks)
    accuracy = None
    if isinstance(gan, SemiSupervisedGAN):
        accuracy = _held_out_accuracy(config)
        callbacks.insert(3, accuracy)  # before the loggers, which then record test_accuracy
    gan.fit(dataset, epochs=config.train.epochs, initial_epoch=initial_epoch, steps_per_epoch=steps_per_epoch,
            callbacks=callbacks, verbose=verbose)
    divergence = callbacks[1].message
    if divergence:
        state = callbacks_module.latest_checkpoint(os.path.join(run_dir, "checkpoints"))
        kept = f"the last good checkpoint is after epoch {state['epoch']}" if state else "no checkpoint was kept"
        raise DivergenceError(f"{divergence}; {kept} ({os.path.join(run_dir, 'checkpoints')})")
    if accuracy is not None and accuracy.accuracy is not None and chief:
        print(f"classifier test accuracy: {accuracy.accuracy:.4f} ({len(accuracy.labels)} held-out images, "
              f"{config.data.labels_per_class} labels per class)")
    return gan


def _steps_per_epoch(config, dataset):
    """`train.steps_per_epoch`, or the generator updates of one pass over the data (each takes `d_steps`
    batches); `None` when the data's length is unknown (a TFDS set without cardinality), and epochs then end
    where the data does (a resumed run then sees the data in a new order)."""
    if config.train.steps_per_epoch:
        return config.train.steps_per_epoch
    batches = int(dataset.cardinality())
    if batches < 0:
        return None
    if batches < config.train.d_steps:
        raise UserError(f"data.batch_size: one pass over the data gives {batches} batches, fewer than "
                        f"train.d_steps ({config.train.d_steps})")
    return batches // config.train.d_steps


def state_variables(gan):
    """Every variable a checkpoint holds: both networks (and the moving average), both optimizers, metrics."""
    seen, variables = set(), []
    for variable in [*gan.variables, *gan.d_optimizer.variables, *gan.g_optimizer.variables]:
        if id(variable) not in seen:
            seen.add(id(variable))
            variables.append(variable)
    return variables


def _held_out_accuracy(config):
    """The semi-supervised GAN's test-accuracy callback on the source's `test` split."""
    test = data.load_source(config.data.source, "test", config.data.data_dir, config.data.image_size)
    if test.images is None or not test.has_labels:
        raise UserError(f"{config.data.source}: the semi-supervised GAN needs a labelled 'test' split to report "
                        "its classifier's accuracy")
    images_in_range = data.to_unit_interval(test.images)
    if config.model.output_range is not None:
        low, high = config.model.output_range
        images_in_range = images_in_range * (high - low) + low
    return callbacks_module.ClassifierAccuracy(images_in_range, test.labels)


def load_run(run_dir):
    """Rebuilds the GAN of a run directory from its config and latest checkpoint.

    Args:
        run_dir: a directory written by `train`.

    Returns:
        A compiled `GAN` with the latest checkpoint's weights.
    """
    config_path, info_path = os.path.join(run_dir, "config.yaml"), os.path.join(run_dir, RUN_INFO)
    for path in (config_path, info_path):
        if not os.path.exists(path):
            raise UserError(f"{run_dir}: not a run directory (no {os.path.basename(path)})")
    config = config_module.load(config_path)
    with open(info_path) as stream:
        info = json.load(stream)
    gan = compile_model(build_model(config, info), config)
    if callbacks_module.restore_latest(gan, os.path.join(run_dir, "checkpoints")) == 0:
        raise UserError(f"{run_dir}: no checkpoint yet (train for at least one epoch)")
    return gan


def _check_labels(gan, labels):
    if labels is None:
        return None
    if gan.num_classes is None:
        raise UserError("--labels: this run's generator is unconditional (model.type gan or sgan); it takes no labels")
    labels = [int(label) for label in labels]
    wrong = [label for label in labels if not 0 <= label < gan.num_classes]
    if wrong or not labels:
        raise UserError(f"--labels: class ids must lie in [0, {gan.num_classes - 1}], got {wrong or 'none'}")
    return labels


def write_samples(gan, num, seed, path, labels=None, interpolate=None, steps=8):
    """Writes samples in data units as a PNG picture (`.png`) or a float32 array (`.npy`), atomically.

    Args:
        gan: a trained GAN.
        num: samples; with `labels`, samples of each listed class (a row each); with `interpolate`, paths (rows).
        seed: seed of the latent vectors.
        path: output file.
        labels: class ids of a conditional GAN; by default conditional GANs draw all classes in turn.
        interpolate: `None`, `"slerp"` or `"linear"`: rows of `steps` samples along paths between random z.
        steps: samples per interpolation path.
    """
    if num <= 0:
        raise UserError(f"--num: expected a positive number of samples, got {num}")
    extension = os.path.splitext(path)[1].lower()
    if extension not in (".png", ".npy"):
        raise UserError(f"{path}: the output must end in .png or .npy")
    labels = _check_labels(gan, labels)
    columns = None
    if interpolate is not None:
        if steps < 2:
            raise UserError(f"--steps: an interpolation needs at least 2 steps, got {steps}")
        z = latent.interpolation_grid(gan.latent_dim, num, steps, seed=seed, spherical=interpolate == "slerp")
        row_labels = None
        if gan.num_classes is not None:
            row_labels = np.resize(labels if labels else np.arange(gan.num_classes), num)
            row_labels = np.repeat(row_labels, steps)
        samples, columns = gan.generate_from(z, labels=row_labels), steps
    elif labels is not None:
        z = gan.latents(num * len(labels), seed=seed)
        samples, columns = gan.generate_from(z, labels=np.repeat(labels, num)), num
    else:
        samples = gan.generate(num, seed=seed)
    if extension == ".npy":
        images.write_atomically(path, lambda temporary: np.save(temporary, np.asarray(samples, np.float32)))
    else:
        try:
            picture = images.samples_picture(samples, columns)
        except ValueError as error:
            raise UserError(f"{path}: {error}; write .npy instead") from None
        images.save_png(picture, path)
    return len(samples)


def translate_files(model, source, out_dir, inverse=False):
    """Translates an image file, or every PNG/JPEG of a directory, into PNGs of the same names in `out_dir`
    (with `inverse`, through a CycleGAN's B -> A generator).

    Images are resized to the model's input size and converted to its number of channels (grey <-> RGB).

    Returns:
        The number of images written.
    """
    if os.path.isdir(source):
        paths = [os.path.join(source, name) for name in paired._image_files(source)]
    elif os.path.isfile(source):
        paths = [source]
    else:
        raise UserError(f"--input {source}: no such file or directory")
    generator = model.inverse_generator if inverse else model.generator
    height, width, channels = generator.input_shape[1:]
    if os.path.exists(out_dir) and not os.path.isdir(out_dir):
        raise UserError(f"--out {out_dir}: translations go into a directory, and this is a file")
    for path in paths:
        image = tf.convert_to_tensor(paired._decode(path))
        if image.shape[-1] == 4:  # PNG alpha
            image = image[..., :3]
        if image.shape[-1] != channels:
            image = tf.image.rgb_to_grayscale(image) if channels == 1 else tf.image.grayscale_to_rgb(image)
        image = tf.image.resize(image, [height, width], antialias=True)
        translated = (model.translate(image.numpy()[None], inverse=True) if inverse
                      else model.translate(image.numpy()[None]))[0]
        name = os.path.splitext(os.path.basename(path))[0] + ".png"
        images.save_png(np.round(translated * 255.0).astype(np.uint8), os.path.join(out_dir, name))
    return len(paths)


def supervised_baseline(config, verbose=0):
    """Trains the semi-supervised GAN's classifier network alone on its labelled examples: the baseline the
    method must beat (Salimans et al. 2016, table 1, compare against the same network without the GAN).

    Same network (a fresh copy of the config's discriminator), labelled subset, optimizer, batch size and number
    of updates as the GAN run; the accuracy on the `test` split is measured after every epoch.

    Args:
        config: a validated `Config` of `model.type: sgan`.
        verbose: `fit` verbosity.

    Returns:
        A list of test accuracies, one per epoch.
    """
    seed_everything(config)
    source = data.load_source(config.data.source, config.data.split, config.data.data_dir, config.data.image_size)
    _, chosen = make_semi_supervised_dataset(source, config.data.batch_size, config.data.labels_per_class,
                                             output_range=config.model.output_range, seed=config.seed)
    labelled = data.Source("labelled", len(chosen), images=source.images[chosen], labels=source.labels[chosen],
                           has_labels=True, num_classes=source.num_classes)
    dataset = data.make_dataset(labelled, min(config.data.batch_size, len(chosen)),
                                output_range=config.model.output_range, with_labels=True, shuffle_buffer=len(chosen),
                                seed=config.seed).repeat()
    sample_shape = dataset.element_spec[0].shape[1:].as_list()
    classifier = build_gan(config, sample_shape, num_classes=source.num_classes).discriminator
    classifier.compile(optimizer=config_module.make_optimizer(config.train.d_optimizer, "train.d_optimizer"),
                       loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True))
    accuracy = _held_out_accuracy(config)
    steps = config.train.steps_per_epoch or source.num_examples // config.data.batch_size
    history = []
    for epoch in range(config.train.epochs):
        classifier.fit(dataset, epochs=epoch + 1, initial_epoch=epoch, steps_per_epoch=steps * config.train.d_steps,
                       shuffle=False, verbose=verbose)  # the dataset shuffles itself
        predictions = np.argmax(classifier.predict(accuracy.images, batch_size=256, verbose=0), axis=-1)
        history.append(float(np.mean(predictions == accuracy.labels)))
    return history
