"""StackGAN (Zhang et al. 2017, arXiv:1612.03242): text-to-image synthesis in two stages, with conditioning
augmentation and the matching-aware discriminator of GAN-CLS (`losses.matching_aware_discriminator_loss`)."""
import keras
import tensorflow as tf

from tfgan_impl import distribute, noise
from tfgan_impl import losses as losses_module
from tfgan_impl.adversarial import AdversarialModel, Phase, PhaseLoss, check_non_negative
from tfgan_impl.samplers import TextSampler


def conditioning_augmentation_kl(mu, log_sigma):
    """KL(N(mu, diag(sigma^2)) || N(0, I)) per example, StackGAN's regularizer of conditioning augmentation
    (Zhang et al. 2017, eq. 2, added to the generator's loss with weight lambda in eq. 6):
    `sum_i (mu_i^2 + sigma_i^2 - 1) / 2 - log sigma_i`. (The authors' code averages over the dimensions
    instead of summing, which is this divided by N_g.)

    Args:
        mu, log_sigma: `[batch, N_g]` from `networks.ConditioningAugmentation`.

    Returns:
        `[batch]`.
    """
    mu, log_sigma = tf.cast(mu, tf.float32), tf.cast(log_sigma, tf.float32)
    return tf.reduce_sum(0.5 * (tf.square(mu) + tf.exp(2.0 * log_sigma) - 1.0) - log_sigma, axis=-1)


STAGES = ("stage1", "stage2", "joint")


def _replica_draw(shape, seed):
    """Standard normal draws `[local batch, ...]` for this replica: the global batch is drawn alike on every
    replica and each keeps its slice, so a step's noise does not depend on the number of replicas."""
    replica_id, num_replicas = distribute.replica_position()
    return tf.random.stateless_normal([num_replicas, *shape], seed)[replica_id]


@keras.saving.register_keras_serializable(package="tfgan_impl")
class StackGAN(AdversarialModel, TextSampler):
    """StackGAN (Zhang et al. 2017): a Stage-I GAN draws low-resolution images from text embeddings and noise, a
    Stage-II GAN turns them and the text into high-resolution images; both discriminators judge image and text
    with the matching-aware loss of GAN-CLS (`losses.matching_aware_discriminator_loss`), and both generators
    add the KL term of their conditioning augmentation (eq. 6: L_G = log(1 - D(G(z, c), phi_t)) +
    lambda KL, here with the non-saturating form of the first term, as the authors' code).

    `stage` chooses the step: `"stage1"` trains Stage-I; `"stage2"` trains Stage-II on the outputs of a frozen
    Stage-I (the paper's schedule: Stage-I first, then Stage-II); `"joint"` trains both at once, each
    discriminator on its resolution (as StackGAN++, Zhang et al. 2018, trains its tree of stages). `set_stage`
    switches between epochs.

    Trains with `fit` on `(images, embeddings, mismatched embeddings)` batches: images at the final resolution in
    `output_range` (Stage-I's real images are them downscaled), each with its text's embedding and another
    example's (made by the data pipeline, so that the mismatches do not depend on the number of replicas).

    It draws images for text as a `TextSampler`: from captions through `text_encoder` (kept with the model, never
    trained by it) or from embeddings.

    Args:
        stage1_generator: `[z, embedding, epsilon] -> [images, mu, log_sigma]` (`networks.stage1_generator`).
        stage1_discriminator: `[images, embedding] -> logits` (`networks.stackgan_discriminator`).
        stage2_generator, stage2_discriminator: Stage-II's networks, or None for a Stage-I model.
        latent_dim: size of z.
        kl_weight: lambda of eq. 6 (1 in the paper).
        stage: one of `STAGES`.
        seed: the key of the model's noise streams.
        output_range: `(low, high)` of the images.
        text_encoder: captions (strings) to embeddings (`tfgan_impl.text.caption_encoder`), or None.
    """

    METRICS = ("d_loss", "g_loss", "kl", "d_real", "d_mismatched", "d_fake")

    def __init__(self, stage1_generator, stage1_discriminator, stage2_generator=None, stage2_discriminator=None,
                 latent_dim=100, kl_weight=1.0, stage="stage1", seed=0, output_range=(-1.0, 1.0), text_encoder=None,
                 **kwargs):
        super().__init__(**kwargs)
        if (stage2_generator is None) != (stage2_discriminator is None):
            raise ValueError("stage2_generator and stage2_discriminator: give both or neither")
        check_non_negative(kl_weight=kl_weight)
        self.stage1_generator, self.stage1_discriminator = stage1_generator, stage1_discriminator
        self.stage2_generator, self.stage2_discriminator = stage2_generator, stage2_discriminator
        two = stage2_generator is not None
        self.GENERATORS = ("stage1_generator", "stage2_generator") if two else ("stage1_generator",)
        self.DISCRIMINATORS = ("stage1_discriminator", "stage2_discriminator") if two else ("stage1_discriminator",)
        self.latent_dim, self.kl_weight = int(latent_dim), float(kl_weight)
        self.seed, self.output_range = int(seed), tuple(float(v) for v in output_range)
        self.condition_dim = int(stage1_generator.inputs[2].shape[-1])
        self.embedding_dim = int(stage1_generator.inputs[1].shape[-1])
        self.text_encoder = text_encoder
        if text_encoder is not None and int(text_encoder.output_shape[-1]) != self.embedding_dim:
            raise ValueError(f"text_encoder: gives embeddings of {text_encoder.output_shape[-1]}, the generators "
                             f"take {self.embedding_dim}")
        self.noise_shapes = {"z": [self.latent_dim], "epsilon": [2, self.condition_dim]}
        object.__setattr__(self, "_stage_generators", None)  # views of the networks, not layers of their own
        self.stage = None
        self.set_stage(stage)
        self.built = True

    def set_stage(self, stage):
        """Chooses what the step trains (`STAGES`); `fit` traces its step anew."""
        if stage not in STAGES:
            raise ValueError(f"stage: expected one of {', '.join(STAGES)}, got {stage!r}")
        if stage != "stage1" and self.stage2_generator is None:
            raise ValueError(f"stage: {stage!r} needs Stage-II networks")
        if stage != self.stage:
            self.stage = stage
            self.train_function = None
            self._phase_functions = {}

    @property
    def final_generator(self):
        """The generator whose images the model gives: Stage-II's, when the model has one."""
        return self.stage2_generator or self.stage1_generator

    def call(self, inputs, training=False):
        """`[z, embeddings, epsilon]` (epsilon `[batch, 2, condition_dim]`: one per stage) to the final images."""
        z, embeddings, epsilon = inputs
        low = self.stage1_generator([z, embeddings, epsilon[:, 0]], training=training)[0]
        if self.stage2_generator is None:
            return low
        return self.stage2_generator([low, embeddings, epsilon[:, 1]], training=training)[0]

    def phases(self):
        if self.stage == "stage1":
            d_networks, g_networks = ("stage1_discriminator",), ("stage1_generator",)
        elif self.stage == "stage2":
            d_networks, g_networks = ("stage2_discriminator",), ("stage2_generator",)
        else:
            d_networks, g_networks = self.DISCRIMINATORS, self.GENERATORS
        return [Phase("discriminator", d_networks, "d_optimizer", self.discriminator_loss),
                Phase("generator", g_networks, "g_optimizer", self.generator_loss)]

    @staticmethod
    def _triple(data):
        if not isinstance(data, (tuple, list)) or len(data) != 3:
            raise ValueError("StackGAN trains on (images, embeddings, mismatched embeddings) batches")
        return data

    def _fakes(self, embeddings, stream):
        """`{stage name: generated images}` of the stages the step trains, and their summed KL `[batch]`."""
        batch = tf.shape(embeddings)[0]
        z = _replica_draw([batch, self.latent_dim], noise.training_seed(self.seed, self.steps, stream))
        epsilon = [_replica_draw([batch, self.condition_dim], noise.model_draw_seed(self.seed, self.steps,
                                                                                    f"epsilon_{stream}", index))
                   for index in range(2)]
        train_stage1 = self.stage != "stage2"
        low, mu, log_sigma = self.stage1_generator([z, embeddings, epsilon[0]], training=train_stage1)
        fakes, kl = {}, tf.zeros([batch])
        if train_stage1:
            fakes["stage1"], kl = low, conditioning_augmentation_kl(mu, log_sigma)
        if self.stage != "stage1":
            high, mu, log_sigma = self.stage2_generator([tf.stop_gradient(low) if not train_stage1 else low,
                                                         embeddings, epsilon[1]], training=True)
            fakes["stage2"], kl = high, kl + conditioning_augmentation_kl(mu, log_sigma)
        return fakes, kl

    def _reals(self, images):
        """`{stage name: real images}` at each stage's resolution."""
        reals = {"stage2": images} if self.stage2_generator is not None else {}
        size = self.stage1_discriminator.inputs[0].shape[1:3]
        reals["stage1"] = (images if list(images.shape[1:3]) == list(size)
                           else tf.cast(tf.image.resize(images, size, method="area"), images.dtype))
        return reals

    def discriminator_loss(self, data):
        """The matching-aware loss of each trained stage's discriminator, summed."""
        images, embeddings, mismatched = self._triple(data)
        fakes, _ = self._fakes(embeddings, "discriminator_latents")
        reals, total, figures = self._reals(images), 0.0, {}
        for stage, fake in fakes.items():
            discriminator = getattr(self, f"{stage}_discriminator")
            real_logits = discriminator([reals[stage], embeddings], training=True)
            mismatched_logits = discriminator([reals[stage], mismatched], training=True)
            fake_logits = discriminator([tf.stop_gradient(fake), embeddings], training=True)
            total += losses_module.matching_aware_discriminator_loss(real_logits, mismatched_logits, fake_logits)
            figures = {"d_real": tf.reduce_mean(tf.sigmoid(real_logits)),
                       "d_mismatched": tf.reduce_mean(tf.sigmoid(mismatched_logits)),
                       "d_fake": tf.reduce_mean(tf.sigmoid(fake_logits))}  # the last (highest) stage's
        return PhaseLoss(total, {"d_loss": tf.reduce_mean(total), **figures})

    def generator_loss(self, data):
        """Each trained stage's non-saturating loss against its discriminator, plus lambda x the KL terms."""
        _, embeddings, _ = self._triple(data)
        fakes, kl = self._fakes(embeddings, "generator_latents")
        adversarial = tf.add_n([losses_module.non_saturating_generator_loss(
            getattr(self, f"{stage}_discriminator")([fake, embeddings], training=True)) for stage, fake in fakes.items()])
        total = adversarial + self.kl_weight * kl
        return PhaseLoss(total, {"g_loss": tf.reduce_mean(total), "kl": tf.reduce_mean(kl)})

    @property
    def stage_generators(self):
        """`[embeddings, z, epsilon] -> images` of Stage-I and, with Stage-II networks, of Stage-II."""
        if self._stage_generators is None:
            embeddings = keras.Input((self.embedding_dim,), name="embeddings")
            z, epsilon = keras.Input((self.latent_dim,), name="z"), keras.Input((2, self.condition_dim), name="epsilon")
            first = SelectNoise(0)(epsilon)
            outputs = [self.stage1_generator([z, embeddings, first])[0]]
            if self.stage2_generator is not None:
                outputs.append(self.stage2_generator([outputs[0], embeddings, SelectNoise(1)(epsilon)])[0])
            object.__setattr__(self, "_stage_generators", [keras.Model([embeddings, z, epsilon], output, name=f"stage{index + 1}_sampler")
                                                           for index, output in enumerate(outputs)])
        return self._stage_generators

    @property
    def sampling_generator(self):
        """`[embeddings, z, epsilon] -> images` of the final stage."""
        return self.stage_generators[-1]

    def get_config(self):
        networks = {name: None if getattr(self, name) is None else keras.saving.serialize_keras_object(getattr(self, name))
                    for name in ("stage1_generator", "stage1_discriminator", "stage2_generator", "stage2_discriminator")}
        return {**super().get_config(), **networks, "latent_dim": self.latent_dim, "kl_weight": self.kl_weight,
                "stage": self.stage, "seed": self.seed, "output_range": list(self.output_range),
                "text_encoder": None if self.text_encoder is None
                else keras.saving.serialize_keras_object(self.text_encoder)}

    @classmethod
    def from_config(cls, config):
        config = dict(config)
        for name in ("stage1_generator", "stage1_discriminator", "stage2_generator", "stage2_discriminator",
                     "text_encoder"):
            if config.get(name) is not None:
                config[name] = keras.saving.deserialize_keras_object(config[name])
        return cls(**config)


@keras.saving.register_keras_serializable(package="tfgan_impl")
class SelectNoise(keras.layers.Layer):
    """The `index`-th stage's epsilon of a `[batch, stages, N_g]` noise input."""

    def __init__(self, index, **kwargs):
        super().__init__(**kwargs)
        self.index = int(index)

    def call(self, epsilon):
        return epsilon[:, self.index]

    def compute_output_shape(self, input_shape):
        return (input_shape[0], input_shape[-1])

    def get_config(self):
        return {**super().get_config(), "index": self.index}


class StageSchedule(keras.callbacks.Callback):
    """The paper's schedule of a two-stage StackGAN: Stage-I for the first `stage2_epoch` epochs, then Stage-II on
    the frozen Stage-I (`StackGAN.set_stage` at each epoch's start, so a resumed run takes up the right stage)."""

    def __init__(self, stage2_epoch):
        super().__init__()
        self.stage2_epoch = int(stage2_epoch)

    def on_epoch_begin(self, epoch, logs=None):
        stage = "stage1" if epoch < self.stage2_epoch else "stage2"
        if stage != self.model.stage:
            self.model.set_stage(stage)
            self.model.make_train_function()  # fit calls the model's train function of the moment at every step
