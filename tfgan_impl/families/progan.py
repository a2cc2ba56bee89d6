"""The family `progan`: progressive growing of GANs (Karras et al. 2018, arXiv:1710.10196), on
`tfgan_impl.progan.ProgressiveGAN` and the networks of `tfgan_impl.networks.progan`."""
import dataclasses

from tfgan_impl import families
from tfgan_impl.errors import ConfigError
from tfgan_impl.families import Family, _noise, option
from tfgan_impl.progan import ProgressiveGAN
from tfgan_impl.samplers import NoiseSampler


@dataclasses.dataclass
class ProGANOptions(_noise.NoiseOptions):
    stage_images: int = option(600_000, section="train")  # real images per stabilization phase (paper: 800k)
    transition_images: int = option(600_000, section="train")  # real images per fade-in of a resolution
    initial_resolution: int = option(4, section="train")  # the resolution growth starts from


def schedule(config):
    options = config.options
    return dict(stage_images=options.stage_images, transition_images=options.transition_images,
                initial_resolution=options.initial_resolution)


def validate(config):
    _noise.validate(config)
    for kind in ("generator", "discriminator"):
        if getattr(config.model, kind)["name"] != "progan":
            raise ConfigError(f"model.{kind}.name: model.type progan needs the progan networks, got "
                              f"{getattr(config.model, kind)['name']!r}")
    families.check("train", ProgressiveGAN.check_schedule, **schedule(config))


def build(config, info, extras):
    generator, discriminator = _noise.build_networks(config, info, extras)
    return ProgressiveGAN(generator, discriminator, **_noise.model_options(config))


def compile_options(config):
    return {**_noise.compile_options(config), **schedule(config)}


FAMILY = Family("progan", ProGANOptions, training_data=_noise.training_data, build=build, sampler=NoiseSampler,
                compile_options=compile_options, validate=validate)
