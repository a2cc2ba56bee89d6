"""The model of a config: its family builds it, under the config's precision; the config's optimizers compile it."""
from tfgan_impl import distribute, families, networks, optimizers


def build_model(config, info, extras=None):
    """Builds the uncompiled model a config describes, for the data a run recorded.

    Args:
        config: a validated `Config`.
        info: the run's data facts (`run.json`): `sample_shape`, `num_classes`, and `input_shape` for translators.
        extras: facts only the first build of a run has (e.g. `marginals`).

    Returns:
        The model of the config's family, its networks built under the dtype policy `train.precision` (and with
        synchronized batch normalization when `train.synchronized_batch_norm`). Call it inside the strategy's scope.
    """
    family = families.get(config.model.type)
    with distribute.precision(config.train.precision):
        model = family.build(config, info, extras or {})
    if config.train.synchronized_batch_norm:
        for name in model.GENERATORS + model.DISCRIMINATORS:
            networks.synchronize_batch_norm(getattr(model, name))
    return model


def compile_model(model, config):
    """Compiles a model with the optimizers and compilation of `config.train` and its family's training options."""
    train = config.train
    model.compile(d_optimizer=optimizers.make_optimizer(train.d_optimizer, "train.d_optimizer"),
                  g_optimizer=optimizers.make_optimizer(train.g_optimizer, "train.g_optimizer"),
                  jit_compile=train.jit_compile, steps_per_execution=train.steps_per_execution,
                  **families.get(config.model.type).compile_options(config))
    return model
