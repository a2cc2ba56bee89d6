"""The family `stylegan2`: StyleGAN2 (Karras et al. 2020, arXiv:1912.04958) with its regularizers, on
`tfgan_impl.stylegan2.StyleGAN2` and the networks of `tfgan_impl.networks.stylegan2`."""
import dataclasses
import typing

from tfgan_impl import families
from tfgan_impl.errors import ConfigError
from tfgan_impl.families import Family, _noise, option
from tfgan_impl.samplers import NoiseSampler
from tfgan_impl.stylegan2 import StyleGAN2


@dataclasses.dataclass
class StyleGAN2Options(_noise.NoiseOptions):
    style_mixing: float = option(0.9)  # probability of mixing two latents in a training batch
    w_average_beta: float = option(0.995)  # decay of the running mean of w (the truncation trick's centre)
    ema_half_life: typing.Optional[int] = option(None)  # images over which the generator's moving average halves
    r1_gamma: float = option(10.0, section="train")
    r1_interval: int = option(16, section="train")
    pl_weight: float = option(2.0, section="train")
    pl_interval: int = option(4, section="train")
    pl_batch_shrink: int = option(2, section="train")
    pl_decay: float = option(0.01, section="train")
    ada_p: float = option(0.0, section="train")  # ADA's augmentation probability at the start
    ada_target: typing.Optional[float] = option(None, section="train")  # r_t that p steers toward (0.6); null: p fixed
    ada_pipeline: typing.Union[str, typing.List[str]] = option("bgc", section="train")
    ada_interval: int = option(4, section="train")
    ada_speed_images: int = option(500_000, section="train")


def ema_decay(config):
    """The moving average's per-step decay: `ema_decay`, or 0.5 ** (batch / ema_half_life) (StyleGAN2-ADA's
    `ema_kimg`: the weight of a step's generator halves after `ema_half_life` images)."""
    options = config.options
    if options.ema_half_life is None:
        return options.ema_decay
    return 0.5 ** (config.data.batch_size / options.ema_half_life)


def validate(config):
    options = config.options
    _noise.validate(config)
    for kind in ("generator", "discriminator"):
        if getattr(config.model, kind)["name"] != "stylegan2":
            raise ConfigError(f"model.{kind}.name: model.type stylegan2 needs the stylegan2 networks, got "
                              f"{getattr(config.model, kind)['name']!r}")
    if options.update != "alternating":
        raise ConfigError(f"train.update: stylegan2 alternates its phases, got {options.update!r}")
    if config.train.d_steps != 1:
        raise ConfigError(f"train.d_steps: stylegan2 takes one discriminator step per step, got {config.train.d_steps}")
    if options.ema_half_life is not None:
        if options.ema_decay is not None:
            raise ConfigError("model.ema_half_life: set it or model.ema_decay, not both")
        if options.ema_half_life < 1:
            raise ConfigError(f"model.ema_half_life: expected a positive number of images, got {options.ema_half_life}")
    families.check("model", StyleGAN2.check_mixing, style_mixing=options.style_mixing,
                   w_average_beta=options.w_average_beta)
    families.check("train", StyleGAN2.check_regularizers, **regularizers(config))
    families.check("train", StyleGAN2.check_ada, **augmentation(config))
    if options.ada_p < 0:
        raise ConfigError(f"train.ada_p: expected 0 or more, got {options.ada_p}")


def regularizers(config):
    options = config.options
    return dict(r1_gamma=options.r1_gamma, r1_interval=options.r1_interval, pl_weight=options.pl_weight,
                pl_interval=options.pl_interval, pl_batch_shrink=options.pl_batch_shrink, pl_decay=options.pl_decay)


def augmentation(config):
    options = config.options
    return dict(ada_target=options.ada_target, ada_pipeline=options.ada_pipeline, ada_interval=options.ada_interval,
                ada_speed_images=options.ada_speed_images)


def build(config, info, extras):
    generator, discriminator = _noise.build_networks(config, info, extras)
    return StyleGAN2(generator, discriminator, style_mixing=config.options.style_mixing,
                     w_average_beta=config.options.w_average_beta, ada_p=config.options.ada_p,
                     **{**_noise.model_options(config), "ema_decay": ema_decay(config)})


def compile_options(config):
    options = _noise.compile_options(config)
    options.pop("update")  # StyleGAN2 alternates; its compile config stays as GAN's alternating ones
    return {**options, **regularizers(config), **augmentation(config)}


FAMILY = Family("stylegan2", StyleGAN2Options, training_data=_noise.training_data, build=build, sampler=NoiseSampler,
                compile_options=compile_options, validate=validate)
