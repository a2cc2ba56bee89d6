"""The family `acgan`: ACGAN (Odena et al. 2017), a generator of labels and a discriminator that also
classifies."""
import dataclasses
import functools

from tfgan_impl import families
from tfgan_impl.adversarial import check_non_negative
from tfgan_impl.conditional import ACGAN
from tfgan_impl.families import Family, _noise, option
from tfgan_impl.samplers import NoiseSampler


@dataclasses.dataclass
class ACGANOptions(_noise.NoiseOptions):
    class_loss_weight: float = option(1.0, section="train")  # the auxiliary class loss's weight in both updates


def validate(config):
    _noise.validate(config)
    families.check("train", check_non_negative, class_loss_weight=config.options.class_loss_weight)


def build(config, info, extras):
    generator, discriminator = _noise.build_networks(config, info, extras, conditioning="auxiliary",
                                                     conditional_generator=True)
    return ACGAN(generator, discriminator, num_classes=info["num_classes"], **_noise.model_options(config))


FAMILY = Family("acgan", ACGANOptions, training_data=functools.partial(_noise.training_data, with_labels=True),
                build=build, sampler=NoiseSampler, validate=validate,
                compile_options=lambda config: {**_noise.compile_options(config),
                                                "class_loss_weight": config.options.class_loss_weight})
