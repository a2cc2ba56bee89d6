"""The checkpoint store of a run: atomic weight files with optimizer state, `latest.json`, and restoring them.

A checkpoint is `epoch_NNNN.weights.h5` (`Model.save_weights`: networks, moving average, optimizers, metrics),
written under a temporary name and renamed; `latest.json` (epoch, file, step, dropout seed states) is replaced
only afterwards, so a kill at any moment leaves the previous checkpoint whole.
"""
import json
import os

import keras
import numpy as np

from tfgan_impl import images

LATEST = "latest.json"


def _weights_finite(model):
    return all(np.all(np.isfinite(keras.ops.convert_to_numpy(v))) for v in model.weights
               if np.issubdtype(np.dtype(v.dtype), np.floating))


def save(model, directory, epoch, keep=2):
    """Writes the checkpoint of `epoch` (epochs completed) and keeps the last `keep`.

    Returns:
        The weight file's name, or `None` when the weights are not finite (a diverged run is never saved).
    """
    if not _weights_finite(model):
        return None
    name = f"epoch_{epoch:04d}.weights.h5"
    images.write_atomically(os.path.join(directory, name), model.save_weights)
    state = {"epoch": epoch, "weights": name, "step": int(model.g_optimizer.iterations.numpy()),
             "seed_states": [state.numpy().tolist() for state in seed_states(model)]}
    images.write_text(os.path.join(directory, LATEST), json.dumps(state))
    kept = sorted(f for f in os.listdir(directory) if f.startswith("epoch_") and f.endswith(".weights.h5"))
    for stale in kept[:-keep]:
        os.remove(os.path.join(directory, stale))
    return name


def latest_checkpoint(directory):
    """The `latest.json` record of a checkpoint folder (`epoch`, `weights`, `step`, `seed_states`), or None when
    there is none."""
    path = os.path.join(directory, LATEST)
    if not os.path.exists(path):
        return None
    with open(path) as stream:
        return json.load(stream)


def restore_latest(model, directory):
    """Loads the latest checkpoint of `directory` into a compiled model.

    Args:
        model: a compiled model with the architecture the checkpoint was saved from.
        directory: checkpoint folder.

    Returns:
        The number of epochs the checkpoint had completed, 0 when there is no checkpoint.
    """
    state = latest_checkpoint(directory)
    if state is None:
        return 0
    model.build_optimizers()
    model.load_weights(os.path.join(directory, state["weights"]))
    saved = state.get("seed_states", [])
    variables = seed_states(model)
    if len(saved) == len(variables):
        for variable, value in zip(variables, saved):
            variable.assign(np.asarray(value, variable.dtype))
    return int(state["epoch"])


def seed_states(model):
    """The state variables of the layers' random seed generators (dropout), in layer order.

    `save_weights` leaves them out, so a resumed run would draw other dropout masks than the uninterrupted one;
    checkpoints carry them in `latest.json` instead.
    """
    return [generator.state for layer in model._flatten_layers()
            for generator in getattr(layer, "_seed_generators", [])]
