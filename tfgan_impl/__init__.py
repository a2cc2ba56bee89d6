"""tfgan_impl: generative adversarial networks for Keras 3 and TensorFlow, trained with `model.fit`.

Submodules load on first use, so `import tfgan_impl` (and the command's argument parsing) is fast.
"""
import importlib
import os

os.environ.setdefault("KERAS_BACKEND", "tensorflow")

__version__ = "0.1.0"
_SUBMODULES = ("augment", "builder", "callbacks", "checkpoints", "conditional", "config", "data", "errors", "families",
               "images", "latent", "losses", "networks", "noise", "penalties", "ranges", "rundir", "samplers",
               "sampling", "semi_supervised", "training")
_MODELS = {"GAN": "gan", "ConditionalGAN": "conditional", "ACGAN": "conditional",
           "SemiSupervisedGAN": "semi_supervised", "StyleGAN2": "stylegan2",
           "ProgressiveGAN": "progan", "BigGAN": "biggan"}
__all__ = [*_MODELS, *_SUBMODULES, "__version__"]


def __getattr__(name):
    if name in _MODELS:
        return getattr(importlib.import_module(f"tfgan_impl.{_MODELS[name]}"), name)
    if name in _SUBMODULES:
        return importlib.import_module(f"tfgan_impl.{name}")
    raise AttributeError(f"module 'tfgan_impl' has no attribute {name!r}")
