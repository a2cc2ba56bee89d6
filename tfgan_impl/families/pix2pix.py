"""The family `pix2pix`: image-to-image translation on pairs (Isola et al. 2017)."""
import dataclasses
import functools

from tfgan_impl import paired
from tfgan_impl.families import Family, _translation, option
from tfgan_impl.samplers import Translator
from tfgan_impl.translation import Pix2Pix


@dataclasses.dataclass
class Pix2PixOptions(_translation.TranslationOptions):
    l1_weight: float = option(100.0, section="train")  # lambda, the weight of the L1 distance to the target


def pairs(config, split):
    """The `(inputs, targets)` arrays in [0, 1] of the config's pair source, in its direction."""
    return _translation.load_images(config, split, paired.load_pairs)


training_data = functools.partial(_translation.training_data, loader=paired.load_pairs,
                                  make_dataset=paired.make_paired_dataset, paired=True)


def build(config, info, extras):
    input_shape, target_shape = info["input_shape"], info["sample_shape"]
    generator = _translation.build_network(config, "generator", {"image_shape": input_shape,
                                                                 "output_channels": target_shape[-1]})
    discriminator = _translation.build_network(config, "discriminator", {
        "image_shape": input_shape, "target_channels": target_shape[-1], "conditional": True})
    return Pix2Pix(generator, discriminator, l1_weight=config.options.l1_weight, output_range=config.model.output_range)


FAMILY = Family("pix2pix", Pix2PixOptions, training_data=training_data, build=build, sampler=Translator,
                validate=_translation.validate)
