"""The family `cgan`: the conditional GAN of Mirza & Osindero 2014, labels into both networks."""
import functools

from tfgan_impl.conditional import ConditionalGAN
from tfgan_impl.families import Family, _noise
from tfgan_impl.samplers import NoiseSampler


def build(config, info, extras):
    generator, discriminator = _noise.build_networks(config, info, extras, conditioning="input",
                                                     conditional_generator=True)
    return ConditionalGAN(generator, discriminator, num_classes=info["num_classes"], **_noise.model_options(config))


FAMILY = Family("cgan", _noise.NoiseOptions, training_data=functools.partial(_noise.training_data, with_labels=True),
                build=build, sampler=NoiseSampler, compile_options=_noise.compile_options, validate=_noise.validate)
