"""Errors a user can fix: the CLI prints them as one line and exits with code 2."""


class UserError(Exception):
    """A mistake in what the user supplied (a file, a config value, a flag); the message names the culprit."""


class ConfigError(UserError, ValueError):
    """A config file or override that does not validate: unknown key, wrong type or value out of range."""


class DataError(UserError, ValueError):
    """A data source that cannot be read as asked: missing, corrupt, empty or inconsistent."""


class OutputError(UserError, OSError):
    """An output that cannot be written (a full disk, a read-only or missing place); the message names the path.
    What was written before it (the last complete checkpoint) is left intact."""


class DivergenceError(RuntimeError):
    """Training produced a non-finite loss; the message names the step and the loss."""


class UnhealthyTrainingError(DivergenceError):
    """Training stopped because the run failed (the discriminator won outright or the generator collapsed) and
    the config asked to stop (`train.health: stop`); the message names the epoch and the failure."""
