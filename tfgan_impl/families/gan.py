"""The family `gan`: an unconditional GAN (Goodfellow et al. 2014) and its variants of loss, penalty, packing
(PacGAN), moving average and rejection sampling."""
import dataclasses
import typing

from tfgan_impl.errors import ConfigError
from tfgan_impl import families
from tfgan_impl.families import Family, _noise, option
from tfgan_impl.gan import GAN
from tfgan_impl.samplers import NoiseSampler


@dataclasses.dataclass
class GANOptions(_noise.NoiseOptions):
    packing: int = option(1)  # PacGAN: samples the discriminator judges together
    rejection_percentile: typing.Optional[float] = option(None)  # samples through discriminator rejection sampling


def validate(config):
    options = config.options
    families.check("model", GAN.check_options, packing=options.packing, ema_decay=options.ema_decay,
                   rejection_percentile=options.rejection_percentile)
    _noise.validate(config)
    if config.data.batch_size % options.packing:
        raise ConfigError(f"data.batch_size: {config.data.batch_size} is not divisible by model.packing "
                          f"({options.packing})")


def build(config, info, extras):
    generator, discriminator = _noise.build_networks(config, info, extras, packing=config.options.packing)
    return GAN(generator, discriminator, packing=config.options.packing,
               rejection_percentile=config.options.rejection_percentile, **_noise.model_options(config))


FAMILY = Family("gan", GANOptions, training_data=_noise.training_data, build=build, sampler=NoiseSampler,
                compile_options=_noise.compile_options, validate=validate)
