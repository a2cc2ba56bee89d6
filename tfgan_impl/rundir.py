"""Run directories: creating or reopening one for a config, its recorded facts, and loading its model back.

A run directory holds `config.yaml` (the resolved config), `run.json` (the data's facts its model is built
from), `metrics.csv`, `logs/` (TensorBoard), `samples/epoch_NNN.png` and `checkpoints/`.
"""
import json
import os
import typing

from tfgan_impl import builder, checkpoints, images
from tfgan_impl import config as config_module
from tfgan_impl.errors import OutputError, UserError

RUN_INFO = "run.json"
# train.* keys a resumed run may change: how long and how it trains, not what it trains.
RESUMABLE_CHANGES = ("epochs", "steps_per_epoch", "strategy", "tpu", "jit_compile", "steps_per_execution")


def prepare(run_dir, config):
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


def write_info(run_dir, info):
    """Records the data's facts (`TrainingData.info`) in `run.json`."""
    images.write_text(os.path.join(run_dir, RUN_INFO), json.dumps(info))


def read(run_dir):
    """`(config, info)` of a run directory.

    Raises:
        UserError: `run_dir` is not a run directory.
    """
    config_path, info_path = os.path.join(run_dir, "config.yaml"), os.path.join(run_dir, RUN_INFO)
    for path in (config_path, info_path):
        if not os.path.exists(path):
            raise UserError(f"{run_dir}: not a run directory (no {os.path.basename(path)})")
    with open(info_path) as stream:
        return config_module.load(config_path), json.load(stream)


class Run(typing.NamedTuple):
    """A run directory read back: its config, its data's facts and its model at the latest checkpoint."""

    config: typing.Any
    info: dict
    model: typing.Any


def load(run_dir):
    """Reads a run directory and rebuilds its model from the config and the latest checkpoint.

    Args:
        run_dir: a directory written by `tfgan_impl.training.train`.

    Returns:
        A `Run`; its model is compiled and has the latest checkpoint's weights.
    """
    config, info = read(run_dir)
    model = builder.compile_model(builder.build_model(config, info), config)
    if checkpoints.restore_latest(model, os.path.join(run_dir, "checkpoints")) == 0:
        raise UserError(f"{run_dir}: no checkpoint yet (train for at least one epoch)")
    return Run(config, info, model)


def load_run(run_dir):
    """The model of a run directory at its latest checkpoint (`load(run_dir).model`)."""
    return load(run_dir).model
