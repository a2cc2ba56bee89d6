"""The family `cyclegan`: unpaired translation between two domains (Zhu et al. 2017)."""
import dataclasses
import functools

from tfgan_impl import paired
from tfgan_impl.families import Family, _translation, option
from tfgan_impl.samplers import Translator
from tfgan_impl.translation import CycleGAN


@dataclasses.dataclass
class CycleGANOptions(_translation.TranslationOptions):
    cycle_weight: float = option(10.0, section="train")  # lambda, the weight of cycle consistency
    identity_weight: float = option(0.5, section="train")  # the identity loss, relative to lambda
    pool_size: int = option(50, section="train")  # the history of generated images kept per domain


training_data = functools.partial(_translation.training_data, loader=paired.load_unpaired,
                                  make_dataset=paired.make_unpaired_dataset, paired=False)


def build(config, info, extras):
    shape_a, shape_b = info["input_shape"], info["sample_shape"]

    def translator(source, result):  # G: A -> B and D_B, or F: B -> A and D_A
        generator = _translation.build_network(config, "generator", {"image_shape": source,
                                                                     "output_channels": result[-1]})
        discriminator = _translation.build_network(config, "discriminator", {
            "image_shape": result, "target_channels": result[-1], "conditional": False})
        return generator, discriminator

    (generator, discriminator), (inverse_generator, inverse_discriminator) = (translator(shape_a, shape_b),
                                                                              translator(shape_b, shape_a))
    options = config.options
    return CycleGAN(generator, discriminator, inverse_generator, inverse_discriminator,
                    cycle_weight=options.cycle_weight, identity_weight=options.identity_weight,
                    pool_size=options.pool_size, output_range=config.model.output_range, seed=config.seed)


FAMILY = Family("cyclegan", CycleGANOptions, training_data=training_data, build=build, sampler=Translator,
                validate=_translation.validate)
