"""Scaling out: choosing a `tf.distribute` strategy, the chief's role, state broadcast and mixed precision.

Every model's step is replica-count invariant by construction (`AdversarialModel.run_phase`); this module picks
the strategy a run trains under (`train.strategy`), says which worker writes the run directory, and sets the Keras dtype
policy (`train.precision`) the networks are built with.
"""
import contextlib
import json
import os

import keras
import numpy as np
import tensorflow as tf

from tfgan_impl.errors import UserError

STRATEGIES = ("auto", "default", "mirrored", "multi_worker", "tpu")
PRECISIONS = ("float32", "mixed_float16", "mixed_bfloat16")


def make_strategy(name="auto", tpu=None):
    """The `tf.distribute.Strategy` called `name`.

    Args:
        name: `"auto"` (mirrored over all GPUs when more than one is visible, else the default strategy),
            `"default"` (one device), `"mirrored"` (all local GPUs, or all logical CPUs), `"multi_worker"`
            (`MultiWorkerMirroredStrategy`: the cluster comes from `TF_CONFIG`, or from Slurm's environment when
            `TF_CONFIG` is unset and `SLURM_JOB_ID` is set) or `"tpu"` (`TPUStrategy`).
        tpu: the TPU's name or address for `TPUClusterResolver` (`None` or `"local"` on a TPU VM).

    Returns:
        The strategy. Create it first thing in a program: multi-worker and TPU strategies configure the
        runtime, which is frozen once TensorFlow has run an op.
    """
    if name not in STRATEGIES:
        raise UserError(f"train.strategy: expected one of {', '.join(STRATEGIES)}, got {name!r}")
    if name == "auto":
        name = resolve_auto()
    if name == "default":
        return tf.distribute.get_strategy()
    if name == "mirrored":
        if not tf.config.list_logical_devices("GPU"):
            # CPU devices gain nothing from collectives, whose replicas can pair all-reduces in different orders
            # (synchronized batch norm aborts with a shape mismatch); one reduction device cannot.
            return tf.distribute.MirroredStrategy(cross_device_ops=tf.distribute.ReductionToOneDevice())
        return tf.distribute.MirroredStrategy()
    if name == "multi_worker":
        try:
            return tf.distribute.MultiWorkerMirroredStrategy(cluster_resolver=_cluster_resolver())
        except RuntimeError as error:
            if "program startup" not in str(error):
                raise
            raise UserError("train.strategy multi_worker: the strategy must be created before TensorFlow runs any "
                            "op; call tfgan_impl.distribute.make_strategy first thing") from None
    try:
        resolver = tf.distribute.cluster_resolver.TPUClusterResolver(tpu=tpu or "local")
        tf.config.experimental_connect_to_cluster(resolver)
        tf.tpu.experimental.initialize_tpu_system(resolver)
    except (ValueError, RuntimeError, OSError, tf.errors.OpError) as error:  # OSError: no GCE metadata server
        message = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
        raise UserError(f"train.strategy tpu: no TPU {tpu or 'on this machine'!r} ({message})") from None
    return tf.distribute.TPUStrategy(resolver)


def resolve_auto():
    """What `auto` means on this machine: `mirrored` when more than one GPU is visible, else `default`."""
    return "mirrored" if len(tf.config.list_logical_devices("GPU")) > 1 else "default"


def _cluster_resolver():
    if os.environ.get("TF_CONFIG"):
        try:
            cluster = json.loads(os.environ["TF_CONFIG"])["cluster"]
        except (ValueError, KeyError, TypeError):
            raise UserError("TF_CONFIG: expected JSON with a 'cluster' and a 'task' "
                            "(https://www.tensorflow.org/guide/distributed_training#TF_CONFIG)") from None
        if not cluster:
            raise UserError("TF_CONFIG: the cluster is empty")
        return tf.distribute.cluster_resolver.TFConfigClusterResolver()
    if os.environ.get("SLURM_JOB_ID"):
        return tf.distribute.cluster_resolver.SlurmClusterResolver()
    raise UserError("train.strategy multi_worker: set TF_CONFIG on every worker (or run under Slurm); "
                    "see docs/distributed.md")


def replica_position():
    """`(replica id, number of replicas)` of the running replica; `(0, 1)` outside a replica context."""
    context = tf.distribute.get_replica_context()
    if context is None:  # cross-replica context: a single stream of data
        return 0, 1
    return context.replica_id_in_sync_group, context.num_replicas_in_sync


def scale_to_global_batch(per_example_loss):
    """Sum of a replica's per-example losses divided by the global batch size.

    Gradients summed across N replicas then equal the single-device gradient of the mean, so the step does not
    grow with N (a per-replica mean would take N times too large a step; Keras's own `train_step` scales its
    loss the same way).
    """
    _, num_replicas = replica_position()
    global_batch_size = tf.cast(tf.shape(per_example_loss)[0] * num_replicas, tf.float32)
    return tf.reduce_sum(tf.cast(per_example_loss, tf.float32)) / global_batch_size


def global_batch_mean(values, axis=None):
    """The mean of `values` `[batch, ...]` over the global batch: across replicas (which hold equal shares) when
    run in a replica of several, differentiable; the batch's own mean otherwise. `axis` as `tf.reduce_mean`'s
    (`0`: one mean per feature)."""
    local = tf.reduce_mean(tf.cast(values, tf.float32), axis=axis)
    context = tf.distribute.get_replica_context()
    if context is None or context.num_replicas_in_sync == 1:
        return local
    return context.all_reduce(tf.distribute.ReduceOp.MEAN, local)


def in_multi_worker_mode(strategy):
    """Whether `strategy` spans several workers (processes), which then must all run the same collectives."""
    return (isinstance(strategy, tf.distribute.MultiWorkerMirroredStrategy)
            and strategy.extended._in_multi_worker_mode())


def is_chief(strategy):
    """Whether this worker writes the run directory (samples, logs, checkpoints, exports): always, unless
    it is a non-chief worker of a multi-worker cluster."""
    return strategy.extended.should_checkpoint


def broadcast_from_first_replica(strategy, values):
    """Every worker's copy of `values` (tensors or variables) as held by global replica 0, on the chief.

    After the chief restores a checkpoint that other workers cannot read (each has its own disk), this makes
    them rejoin from the same state. One all-reduce carries all values: replica 0 contributes them, every other
    replica zeros; float64 holds every float32 and every integer below 2**53 exactly.

    Returns:
        A list of numpy arrays in the dtypes and shapes of `values`.
    """
    values = [tf.convert_to_tensor(v) for v in values]
    if not in_multi_worker_mode(strategy) or not values:
        return [v.numpy() for v in values]
    flat = tf.concat([tf.reshape(tf.cast(v, tf.float64), [-1]) for v in values], axis=0)

    def replica_fn():
        context = tf.distribute.get_replica_context()
        first = tf.cast(tf.equal(context.replica_id_in_sync_group, 0), tf.float64)
        return context.all_reduce(tf.distribute.ReduceOp.SUM, flat * first)

    summed = strategy.experimental_local_results(strategy.run(tf.function(replica_fn)))[0].numpy()
    sizes = [int(np.prod(v.shape)) for v in values]
    pieces = np.split(summed, np.cumsum(sizes)[:-1])
    return [piece.reshape(v.shape).astype(v.dtype.as_numpy_dtype) for piece, v in zip(pieces, values)]


def sync_variables(strategy, variables):
    """Sets `variables` on every worker to the chief's values (see `broadcast_from_first_replica`)."""
    variables = list(variables)
    for variable, value in zip(variables, broadcast_from_first_replica(strategy, variables)):
        variable.assign(value)


@contextlib.contextmanager
def precision(policy):
    """Builds the networks created inside under the Keras dtype policy `policy` (Micikevicius et al. 2018).

    `"mixed_float16"` and `"mixed_bfloat16"` compute in half precision and keep float32 weights; the GAN computes
    its losses from float32 logits and, under float16, scales both networks' losses (`GAN.compile`).
    """
    if policy not in PRECISIONS:
        raise UserError(f"train.precision: expected one of {', '.join(PRECISIONS)}, got {policy!r}")
    previous = keras.config.dtype_policy()
    keras.config.set_dtype_policy(policy)
    try:
        yield
    finally:
        keras.config.set_dtype_policy(previous)
