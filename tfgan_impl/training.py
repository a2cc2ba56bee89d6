"""Training a config into a run directory: its data, model and callbacks, `fit`, resume and divergence.

`train` resumes from the run directory's latest checkpoint when there is one (`tfgan_impl.rundir`).
"""
import os
import shutil
import tempfile

import keras
import tensorflow as tf
# The public API can enable op determinism but neither query nor disable it.
from tensorflow.python.framework import config as tf_framework_config

from tfgan_impl import builder, checkpoints, distribute, families, pipelines, rundir
from tfgan_impl import callbacks as callbacks_module
from tfgan_impl.errors import DivergenceError, UnhealthyTrainingError, UserError
from tfgan_impl.samplers import NoiseSampler


def make_callbacks(run_dir, config, global_batch_size, preview=None, reference=None, captions=None):
    """The callbacks of a run, loggers last so they see the throughput figures, the health check and the family's
    own callbacks; translators show `preview` (inputs, targets) translated instead of samples from noise, text
    samplers samples for `captions` (texts, embeddings, real images). `reference` (real samples in data units) is
    the health check's yardstick of diversity; translators use their preview's targets (or inputs), text samplers
    their captions' images."""
    train, evaluate = config.train, config.evaluate
    health, inputs = [], None
    if preview is not None:
        reference, inputs = (preview[1] if preview[1] is not None else preview[0]), preview[0]
    if captions is not None:
        reference, inputs = captions[2], captions[1]
    if train.health != "off" and reference is not None:
        health.append(callbacks_module.TrainingHealth(
            reference, inputs=inputs, action=train.health, num=min(train.num_samples, 64), seed=config.seed))
    samples, logs = os.path.join(run_dir, "samples"), os.path.join(run_dir, "logs")
    if captions is not None:
        grid = callbacks_module.TextGrid(samples, *captions, every=train.sample_every, seed=config.seed, log_dir=logs)
    elif preview is not None:
        grid = callbacks_module.TranslationGrid(samples, *preview, every=train.sample_every, log_dir=logs)
    else:
        grid = callbacks_module.SampleGrid(samples, every=train.sample_every, num=train.num_samples, seed=config.seed,
                                           log_dir=logs)
    evaluation = []
    if evaluate.metrics:
        evaluation.append(callbacks_module.Evaluate(
            config.data.source, evaluate.metrics, every=evaluate.every, num=evaluate.num,
            classifier=evaluate.classifier, inception_weights=evaluate.inception_weights, monitor=evaluate.monitor,
            mode=evaluate.mode, best_path=os.path.join(run_dir, "checkpoints", "best.weights.h5"), seed=config.seed,
            image_size=config.data.image_size))
    return [
        callbacks_module.Throughput(global_batch_size * train.d_steps),
        callbacks_module.TerminateOnDivergence(),
        grid,
        *evaluation,
        *health,
        *families.get(config.model.type).callbacks(config),
        callbacks_module.Checkpoint(os.path.join(run_dir, "checkpoints"), keep=train.keep_checkpoints),
        callbacks_module.MetricsCSV(os.path.join(run_dir, "metrics.csv")),
        callbacks_module.EpochScalars(os.path.join(run_dir, "logs")),
    ]


def seed_everything(config):
    """Seeds Python, NumPy and TensorFlow; with `train.deterministic`, also makes TensorFlow's ops deterministic
    and turns Grappler's arithmetic optimizer off (process-wide: `train` restores both when the run ends)."""
    keras.utils.set_random_seed(config.seed)
    if config.train.deterministic:
        tf.config.experimental.enable_op_determinism()
        # It orders the terms of sums by node names, which differ between models built in one process: an ESRGAN
        # run and its resumption in the same process differed in the last bits with it on.
        tf.config.optimizer.set_experimental_options({"arithmetic_optimization": False})


def train(config, run_dir, verbose="auto", strategy=None, callbacks=()):
    """Trains the model of `config` into `run_dir`, resuming from its latest checkpoint when there is one.

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
        The trained model.

    Raises:
        UserError: bad data or a run directory of another config.
        DivergenceError: a loss became non-finite; the latest checkpoint is the last finite state.
        UnhealthyTrainingError: with `train.health: stop`, the run failed (see `callbacks.TrainingHealth`).
    """
    if strategy is None:
        strategy = distribute.make_strategy(config.train.strategy, config.train.tpu)
    was_deterministic = tf_framework_config.is_op_determinism_enabled()
    graph_options = tf.config.optimizer.get_experimental_options()
    chief = distribute.is_chief(strategy)
    scratch = None if chief else tempfile.mkdtemp(prefix="tfgan-impl-worker-")
    try:
        return _train(config, scratch or run_dir, strategy, verbose if chief else 0, chief, extra_callbacks=callbacks)
    finally:
        # Op determinism outlasting the run would silently turn XLA off for every model compiled after it.
        if not was_deterministic:
            tf_framework_config.disable_op_determinism()
        tf.config.optimizer.set_experimental_options(
            {"arithmetic_optimization": graph_options.get("arithmetic_optimization", True), **graph_options})
        if scratch is not None:
            shutil.rmtree(scratch, ignore_errors=True)


def _train(config, run_dir, strategy, verbose, chief, extra_callbacks=()):
    seed_everything(config)
    with pipelines.autotuning(config.data.autotune):
        data = families.get(config.model.type).training_data(config)
    if config.data.batch_size % strategy.num_replicas_in_sync:
        raise UserError(f"data.batch_size: the global batch {config.data.batch_size} does not split evenly over "
                        f"{strategy.num_replicas_in_sync} replicas")
    dataset = data.dataset
    steps_per_epoch = _steps_per_epoch(config, dataset)
    # One endless, seeded stream of batches (a new shuffle order per pass), so that a resumed run can skip
    # exactly the batches the interrupted one consumed and see the data the uninterrupted run would have.
    if steps_per_epoch is not None:
        dataset = dataset.repeat()
    with strategy.scope():
        model = builder.compile_model(builder.build_model(config, data.info, data.extras), config)
        model.build_optimizers()  # creating variables is a collective step: every worker does it, in scope
    # After the build, which refuses networks that do not fit the data: a refused config leaves no run behind.
    rundir.prepare(run_dir, config)
    rundir.write_info(run_dir, data.info)
    # Outside the scope: Keras's loader creates a reference optimizer, which only the chief would do in scope.
    checkpoint_dir = os.path.join(run_dir, "checkpoints")
    initial_epoch = checkpoints.restore_latest(model, checkpoint_dir)
    if distribute.in_multi_worker_mode(strategy):
        initial_epoch = int(distribute.broadcast_from_first_replica(strategy, [initial_epoch])[0])
        distribute.sync_variables(strategy, state_variables(model))
    if initial_epoch >= config.train.epochs:
        if chief:
            print(f"{run_dir}: already trained for {initial_epoch} epochs (train.epochs is {config.train.epochs})")
        return model
    if initial_epoch and chief:
        print(f"{run_dir}: resuming after epoch {initial_epoch}")
    if steps_per_epoch is not None:
        dataset = dataset.skip(initial_epoch * steps_per_epoch * config.train.d_steps)
    # a family's own pipeline too
    dataset = pipelines.with_pipeline_options(dataset, shard_by_data=False, autotune=config.data.autotune)
    reference = None
    if data.reference is not None and isinstance(model, NoiseSampler):
        reference = model.to_data_units(data.reference)
    callbacks = (make_callbacks(run_dir, config, config.data.batch_size, data.preview, reference, data.captions)
                 + list(extra_callbacks))
    divergence = next(c for c in callbacks if isinstance(c, callbacks_module.TerminateOnDivergence))
    health = next((c for c in callbacks if isinstance(c, callbacks_module.TrainingHealth)), None)
    model.fit(dataset, epochs=config.train.epochs, initial_epoch=initial_epoch, steps_per_epoch=steps_per_epoch,
              callbacks=callbacks, verbose=verbose)
    if divergence.message:
        state = checkpoints.latest_checkpoint(checkpoint_dir)
        kept = f"the last good checkpoint is after epoch {state['epoch']}" if state else "no checkpoint was kept"
        raise DivergenceError(f"{divergence.message}; {kept} ({checkpoint_dir})")
    if health is not None and health.message:
        raise UnhealthyTrainingError(f"{health.message}; training stopped (train.health: stop); the checkpoint "
                                     f"of that epoch is in {checkpoint_dir}")
    return model


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


def state_variables(model):
    """Every variable a checkpoint holds: the networks (and the moving average), both optimizers, metrics."""
    seen, variables = set(), []
    for variable in [*model.variables, *model.d_optimizer.variables, *model.g_optimizer.variables]:
        if id(variable) not in seen:
            seen.add(id(variable))
            variables.append(variable)
    return variables
