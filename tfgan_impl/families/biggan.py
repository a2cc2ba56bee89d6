"""The family `biggan`: BigGAN (Brock et al. 2019, arXiv:1809.11096) on `tfgan_impl.biggan.BigGAN` and the
networks of `tfgan_impl.networks.biggan`."""
import dataclasses
import functools

from tfgan_impl import families
from tfgan_impl.adversarial import check_non_negative
from tfgan_impl.biggan import BigGAN
from tfgan_impl.errors import ConfigError
from tfgan_impl.families import Family, _noise, option
from tfgan_impl.samplers import NoiseSampler


@dataclasses.dataclass
class BigGANOptions(_noise.NoiseOptions):
    standing_statistics: int = option(16)  # batches re-estimating the sampling generator's batch-norm statistics
    orthogonal_regularization: float = option(1e-4, section="train")  # beta of eq. 3 on the generator's weights


def validate(config):
    _noise.validate(config)
    if config.options.update != "alternating":
        raise ConfigError(f"train.update: biggan alternates its updates, got {config.options.update!r}")
    families.check("model", check_non_negative, standing_statistics=config.options.standing_statistics)
    families.check("train", check_non_negative, orthogonal_regularization=config.options.orthogonal_regularization)


def build(config, info, extras):
    generator, discriminator = _noise.build_networks(config, info, extras, conditioning="input",
                                                     conditional_generator=True)
    return BigGAN(generator, discriminator, num_classes=info["num_classes"],
                  standing_statistics=config.options.standing_statistics, **_noise.model_options(config))


def compile_options(config):
    options = _noise.compile_options(config)
    options.pop("update")  # alternating, as validated; compile configs stay as ConditionalGAN's
    return {**options, "orthogonal_regularization": config.options.orthogonal_regularization}


FAMILY = Family("biggan", BigGANOptions, training_data=functools.partial(_noise.training_data, with_labels=True),
                build=build, sampler=NoiseSampler, compile_options=compile_options, validate=validate)
