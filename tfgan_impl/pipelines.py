"""Options every `tf.data` pipeline of the library carries, and arrays batched for `predict` under them.

tf.data's autotuning thread can hold up the destruction of an iterator by up to its current sleep (10 ms doubling
to 60 s, TensorFlow 2.21; measured in docs/benchmarks.md, "The half-speed regime"): the end of every `fit` and
`predict` waited on it in about half of the processes on a 2-core machine. The library's pipelines turn it off and
fix their parallelism and buffers instead, which the in-memory pipelines here need no more than.
"""
import contextlib
import os

import tensorflow as tf

# One parallel call per core this process may run on (the size of tf.data's own runner pool).
PARALLEL_CALLS = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)
PREFETCH_BATCHES = 2
_autotune = [False]  # what `with_pipeline_options` sets when not told; `autotuning` changes it


@contextlib.contextmanager
def autotuning(enabled):
    """Within the block, the library's pipelines are built with tf.data's autotuning `enabled` (config key
    `data.autotune`): for file pipelines on fast accelerators, where tuned buffers may pay for the stall."""
    previous, _autotune[0] = _autotune[0], bool(enabled)
    try:
        yield
    finally:
        _autotune[0] = previous


def with_pipeline_options(dataset, shard_by_data=True, autotune=None):
    """The dataset with tf.data's autotuning off (or `autotune`, or as `autotuning` says) and, with
    `shard_by_data`, a multi-worker sharding policy of DATA: every worker reads the same (identically seeded)
    batches and keeps its replicas' slices. In-memory sources have no files to shard by; TFDS sets keep AUTO, which
    shards by FILE when there are at least as many files as workers."""
    options = tf.data.Options()
    options.autotune.enabled = _autotune[0] if autotune is None else bool(autotune)
    if shard_by_data:
        options.experimental_distribute.auto_shard_policy = tf.data.experimental.AutoShardPolicy.DATA
    return dataset.with_options(options)


def prediction_batches(inputs, batch_size):
    """Model inputs (an array or a list of arrays, one row per example) as a dataset of batches for
    `keras.Model.predict`, under the library's options; Keras would build its own with autotuning on."""
    structure = tuple(inputs) if isinstance(inputs, (list, tuple)) else inputs
    dataset = tf.data.Dataset.from_tensor_slices((structure,)).batch(batch_size)  # 1-tuples: all of it is `x`
    return with_pipeline_options(dataset.prefetch(PREFETCH_BATCHES), shard_by_data=False)
