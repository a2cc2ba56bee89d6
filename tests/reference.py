"""TF-GAN's reference implementations, loaded by file path.

`import tensorflow_gan` fails on TensorFlow >= 2.16 (it imports `tf.estimator`), but the loss and metric files
run when loaded alone under stub parent packages.
"""
import functools
import importlib.util
import os
import sys
import types


@functools.cache
def _tfgan_root():
    spec = importlib.util.find_spec("tensorflow_gan")
    if spec is None:
        raise ImportError("tensorflow-gan is not installed (pip install -e .[test])")
    return spec.submodule_search_locations[0]


def _load(module_name, relative_path):
    if module_name in sys.modules:
        return sys.modules[module_name]
    root = _tfgan_root()
    parts = module_name.split(".")
    for depth in range(1, len(parts)):
        package = ".".join(parts[:depth])
        if package not in sys.modules:
            stub = types.ModuleType(package)
            stub.__path__ = [os.path.join(root, *parts[1:depth])]
            sys.modules[package] = stub
    spec = importlib.util.spec_from_file_location(module_name, os.path.join(root, relative_path))
    module = importlib.util.module_from_spec(spec)
    sys.modules[module_name] = module
    spec.loader.exec_module(module)
    setattr(sys.modules[".".join(parts[:-1])], parts[-1], module)
    return module


def tfgan_losses():
    """TF-GAN's `python/losses/losses_impl.py`."""
    _load("tensorflow_gan.python.contrib_utils", "python/contrib_utils.py")
    return _load("tensorflow_gan.python.losses.losses_impl", "python/losses/losses_impl.py")


def tfgan_classifier_metrics():
    """TF-GAN's `python/eval/classifier_metrics.py` (with `eval_utils.py`)."""
    _load("tensorflow_gan.python.eval.eval_utils", "python/eval/eval_utils.py")
    return _load("tensorflow_gan.python.eval.classifier_metrics", "python/eval/classifier_metrics.py")
