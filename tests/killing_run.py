"""Runs `tfgan-impl ARGS...` and dies (`os._exit(137)`, as under SIGKILL: no cleanup runs) at the COUNT-th atomic
write whose destination contains PATTERN, after the temporary file is written and before its rename: the worst
moment for a checkpoint or a sample picture. Used by tests/test_cli.py.

    python tests/killing_run.py PATTERN COUNT ARGS...
"""
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(__file__), ".."))

from tfgan_impl import cli  # noqa: E402

PATTERN, COUNT = sys.argv[1], int(sys.argv[2])
_replace = os.replace
_seen = 0


def dying_replace(source, destination, *args, **kwargs):
    global _seen
    if PATTERN in str(destination):
        _seen += 1
        if _seen == COUNT:
            os._exit(137)
    return _replace(source, destination, *args, **kwargs)


os.replace = dying_replace
sys.exit(cli.main(sys.argv[3:]))
