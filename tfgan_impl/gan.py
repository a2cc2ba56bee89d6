"""The GAN model: a `keras.Model` whose `train_step` is Algorithm 1 of Goodfellow et al. 2014."""
import functools
import random

import keras
import tensorflow as tf

if keras.backend.backend() != "tensorflow":
    raise ImportError(f"tfgan_impl needs the TensorFlow backend of Keras; KERAS_BACKEND is {keras.backend.backend()!r}")

from tfgan_impl import augment as augment_module
from tfgan_impl import averaging, distribute, noise, rejection
from tfgan_impl import losses as losses_module
from tfgan_impl import penalties as penalties_module
from tfgan_impl.adversarial import AdversarialModel, Phase, PhaseLoss
from tfgan_impl.batches import REAL_BATCHES_KEY, group_real_batches, pack, packed_shape, real_images_of
from tfgan_impl.samplers import NoiseSampler

__all__ = ["GAN", "REAL_BATCHES_KEY", "group_real_batches", "pack", "packed_shape", "real_images_of"]


@keras.saving.register_keras_serializable(package="tfgan_impl")
class GAN(AdversarialModel, NoiseSampler):
    """A generator and a discriminator trained adversarially with `fit` (Goodfellow et al. 2014, Algorithm 1).

    Calling the model on latent vectors runs the generator (its moving average when `ema_decay` is set). `compile`
    takes one optimizer per network, the loss by name (see `tfgan_impl.losses.LOSSES`), `d_steps` (the number k
    of discriminator updates per generator update, WGAN's n_critic), discriminator penalties and DiffAugment.
    One `fit` step is one generator update.

    A step is two phases, `discriminator` (run k times, each on its own real batch) then `generator`.
    Subclasses for conditional models (`tfgan_impl.conditional`) override the hooks `_split`, `_generate`,
    `_discriminate`, `_class_losses` and `_supervised_losses`; the update itself is written once, here.

    Args:
        generator: a Keras model mapping `[batch, latent_dim]` to samples.
        discriminator: a Keras model mapping samples to logits (`[batch, 1]` or any `[batch, ...]`); with
            `packing` m > 1, mapping inputs of `packed_shape(sample_shape, m)`.
        latent_dim: size of the latent vector z.
        seed: integer seed of the noise streams; `None` picks one at random (and records it).
        output_range: `(low, high)` interval of the generator's outputs, used to map samples to data units
            ([0, 1] for images); `None` when samples already are in data units (e.g. 2-D points).
        packing: m, the samples the discriminator judges together (PacGAN, Lin et al. 2018); 1 for a plain GAN.
        ema_decay: if set, keeps an exponential moving average of the generator's weights (Karras et al. 2018,
            sec. A.1; Yazici et al. 2019) in `ema_generator`, used for sampling and export.
        rejection_percentile: if set, `generate` draws through discriminator rejection sampling (Azadi et al.
            2019, `tfgan_impl.rejection`) with gamma at this percentile; exports serve the generator alone.
        latent_distribution: the prior p_z, `"normal"` (N(0, I)) or `"uniform"` (U(-sqrt 3, sqrt 3), the authors'
            MNIST set-up); see `tfgan_impl.noise.LATENT_DISTRIBUTIONS`.
    """

    METRICS = ("d_loss", "g_loss", "d_real", "d_fake", "d_penalty")

    def __init__(self, generator, discriminator, latent_dim, seed=None, output_range=(-1.0, 1.0), packing=1,
                 ema_decay=None, rejection_percentile=None, latent_distribution="normal", **kwargs):
        super().__init__(**kwargs)
        self.generator = generator
        self.discriminator = discriminator
        self.latent_dim = int(latent_dim)
        noise.check_distribution(latent_distribution)
        self.latent_distribution = latent_distribution
        self.seed = int(seed) if seed is not None else random.SystemRandom().randrange(2**31 - 1)
        self.output_range = None if output_range is None else tuple(float(v) for v in output_range)
        self.check_options(packing, ema_decay, rejection_percentile, conditional=self.num_classes is not None)
        self.packing = int(packing)
        self.ema_decay = None if ema_decay is None else float(ema_decay)
        self.rejection_percentile = None if rejection_percentile is None else float(rejection_percentile)
        self.loss_name = None
        self.d_steps = 1
        self.update = "alternating"
        self.penalties = {}
        self.label_smoothing = 0.0
        self.augment = ()
        if not self.generator.built:
            self.generator.build((None, self.latent_dim))
        # Keras's optimizer EMA (`use_ema`) overwrites the trained weights at the end of `fit`, which would
        # corrupt a resumed run; this keeps the average beside them instead.
        self.ema_generator = None if self.ema_decay is None else averaging.frozen_copy(self.generator)
        self.build()

    @staticmethod
    def check_options(packing=1, ema_decay=None, rejection_percentile=None, conditional=False):
        """The value rules of the constructor's options; raises `ValueError("OPTION: ...")` for the first broken one
        (configs report it under their key)."""
        if int(packing) < 1:
            raise ValueError(f"packing: expected a positive integer, got {packing!r}")
        if ema_decay is not None and not 0.0 < float(ema_decay) < 1.0:
            raise ValueError(f"ema_decay: expected a number strictly between 0 and 1, or null, got {ema_decay!r}")
        if rejection_percentile is not None and not (0.0 <= float(rejection_percentile) < 100.0
                                                     and int(packing) == 1 and not conditional):
            raise ValueError("rejection_percentile: expected null, or a percentile in [0, 100) for an unconditional "
                             f"GAN without packing, got {rejection_percentile!r} (packing {packing})")

    @classmethod
    def check_update(cls, update, d_steps=1):
        """The value rule of `configure`'s `update`; raises `ValueError("update: ...")`."""
        if update not in cls.UPDATES:
            raise ValueError(f"update: expected one of {', '.join(cls.UPDATES)}, got {update!r}")
        if update == "simultaneous" and int(d_steps) != 1:
            raise ValueError(f"update: simultaneous updates take one discriminator step per step, "
                             f"got d_steps {d_steps}")

    def build(self, input_shape=None):
        if not self.generator.built:
            self.generator.build((None, self.latent_dim))
        if not self.discriminator.built:
            sample_shape = self.generator.compute_output_shape((None, self.latent_dim))[1:]
            self.discriminator.build((None, *packed_shape(sample_shape, self.packing)))
        self.built = True

    @property
    def sampling_generator(self):
        """The generator used for samples and export: the moving average when `ema_decay` is set."""
        return self.ema_generator if self.ema_generator is not None else self.generator

    @property
    def trained_generator(self):
        """The generator the optimizer moves; `sampling_generator` is its moving average when `ema_decay` is set."""
        return self.generator

    def call(self, z, training=False):
        return self.sampling_generator(z, training=training)

    UPDATES = ("alternating", "simultaneous")

    def configure(self, loss="non_saturating", d_steps=1, penalties=None, label_smoothing=0.0, augment=None,
                  update="alternating"):
        """The training options of `compile(d_optimizer, g_optimizer, **options)`.

        Args:
            loss: name of a loss pair in `tfgan_impl.losses.LOSSES`: `"minimax"` (eq. 1), `"non_saturating"`
                (the paper's practical choice), `"least_squares"`, `"wasserstein"` or `"hinge"`.
            d_steps: k, the discriminator updates per generator update (Algorithm 1; WGAN's n_critic), each on its
                own real batch when `fit` is given a `tf.data.Dataset` (other inputs reuse one batch k times).
            penalties: `{name: weight}` of discriminator penalties from `tfgan_impl.penalties.PENALTIES`, e.g.
                `{"gradient_penalty": 10.0}` (WGAN-GP's lambda) or `{"r1": 10.0}` (R1's gamma).
            label_smoothing: one-sided label smoothing of the discriminator's real targets (minimax losses only).
            augment: DiffAugment policy, names from `tfgan_impl.augment.POLICIES`, applied to real and generated
                images before every discriminator call.
            update: `"alternating"` (Algorithm 1: the generator's update sees the discriminator just updated)
                or `"simultaneous"` (the authors' code, goodfeli/adversarial `AdversaryCost2`: one forward pass,
                the same dropout masks, both networks stepped from gradients at the same point; needs d_steps 1).

        Returns:
            The options as a dict.
        """
        if int(d_steps) < 1:
            raise ValueError(f"d_steps must be a positive integer, got {d_steps!r}")
        self.check_update(update, d_steps)
        self.loss_pair = losses_module.get(loss)
        self.discriminator_loss_fn, self.generator_loss_fn = self.loss_pair.discriminator, self.loss_pair.generator
        if label_smoothing:
            if self.discriminator_loss_fn is not losses_module.minimax_discriminator_loss:
                raise ValueError(f"label_smoothing applies to the minimax and non_saturating losses, not {loss!r}")
            self.discriminator_loss_fn = functools.partial(losses_module.minimax_discriminator_loss,
                                                           label_smoothing=float(label_smoothing))
        penalties = dict(penalties or {})
        for name, weight in penalties.items():
            if name not in penalties_module.PENALTIES:
                raise ValueError(f"unknown penalty {name!r}; expected one of {sorted(penalties_module.PENALTIES)}")
            if float(weight) < 0:
                raise ValueError(f"penalty {name!r} needs a non-negative weight, got {weight!r}")
        self.penalties = {name: float(weight) for name, weight in penalties.items()}
        self.label_smoothing = float(label_smoothing)
        self.augment = augment_module.check_policy(augment)
        self.loss_name = loss
        self.d_steps = int(d_steps)
        self.update = update
        options = {"loss": self.loss_name, "d_steps": self.d_steps, "penalties": dict(self.penalties),
                   "label_smoothing": self.label_smoothing, "augment": list(self.augment)}
        if update != "alternating":  # compile configs of alternating models stay as tfgan_impl 0.1.0 wrote them
            options["update"] = update
        return options

    def reports(self, name):
        return name != "d_penalty" or bool(self.penalties)

    @property
    def d_fake_is_probability(self):
        return self.loss_name is not None and self.loss_pair.outputs_are_logits

    def phases(self):
        """Algorithm 1 of Goodfellow et al. 2014: k discriminator updates, each on its own real batch, then one
        generator update (on the last of them, which conditional models take their labels from); or, with
        `update="simultaneous"`, one joint phase."""
        if self.update == "simultaneous":
            return [Phase("adversarial", {"d_optimizer": self.DISCRIMINATORS, "g_optimizer": self.GENERATORS},
                          None, self.simultaneous_loss)]
        return [Phase("discriminator", self.DISCRIMINATORS, "d_optimizer", self.discriminator_loss,
                      inputs=lambda data, carried: self._real_batches(data)),
                Phase("generator", self.GENERATORS, "g_optimizer", self.generator_loss,
                      inputs=lambda data, carried: self._real_batches(data)[-1:])]

    def end_step(self, carried):
        if self.ema_generator is not None:
            self._update_ema()

    def sample_latent(self, local_batch_size, counter, stream):
        """Draws z ~ p_z for this replica from the named training stream keyed by `(seed, counter)`.

        The global batch of noise is drawn identically on every replica and each keeps its own slice, so no
        two replicas share a z and the noise of a step does not depend on the number of replicas. Keying by
        the optimizer's iteration counter makes a resumed run draw the noise the uninterrupted run would.

        Args:
            local_batch_size: rows of z for this replica.
            counter: an integer tensor that advances every update (an optimizer's `iterations`).
            stream: a name from `tfgan_impl.noise.TRAINING_STREAMS`.

        Returns:
            A float32 tensor `[local_batch_size, latent_dim]`.
        """
        replica_id, num_replicas = distribute.replica_position()
        z = noise.draw_latents([num_replicas, local_batch_size, self.latent_dim],
                               noise.training_seed(self.seed, counter, stream), self.latent_distribution)
        return z[replica_id]

    def _replica_seed(self, counter, stream):
        replica_id, _ = distribute.replica_position()
        return tf.random.experimental.stateless_fold_in(noise.training_seed(self.seed, counter, stream), replica_id)

    # Hooks of conditional subclasses: unconditional models ignore labels.
    def _split(self, data):
        """The images (and labels, `None` here) of a dataset element."""
        return real_images_of(data), None

    def _generate(self, z, labels, training):
        return self.generator(z, training=training)

    def _discriminate(self, inputs, labels, training):
        """`(adversarial_logits, class_logits or None)` of discriminator inputs."""
        return self.discriminator(inputs, training=training), None

    def _float32_logits(self, inputs, labels, training):
        # Under mixed precision the networks compute in half precision; losses and sigmoids need float32.
        logits, class_logits = self._discriminate(inputs, labels, training)
        return tf.cast(logits, tf.float32), None if class_logits is None else tf.cast(class_logits, tf.float32)

    def _class_losses(self, real_class_logits, fake_class_logits, labels):
        """Per-example auxiliary losses of the discriminator and of the generator, and their figures; none here.
        `real_class_logits` is `None` in the generator's phase."""
        return 0.0, 0.0, {}

    def _supervised_losses(self, real):
        """Per-example discriminator losses on labelled data carried beside the batch, and their figures."""
        return [], {}

    def _discriminator_inputs(self, samples, counter, stream):
        """What the discriminator sees of samples: DiffAugment (when compiled with it), then PacGAN packing."""
        if self.augment:
            samples = augment_module.diff_augment(samples, self.augment, self._replica_seed(counter, stream))
        return pack(samples, self.packing)

    def _penalty(self, real_inputs, fake_inputs, labels, real_logits=None):
        if not self.penalties:
            return 0.0
        counter = self.d_optimizer.iterations
        replica_id, num_replicas = distribute.replica_position()
        batch = tf.shape(real_inputs)[0]
        alpha = tf.random.stateless_uniform(
            [num_replicas, batch], seed=noise.training_seed(self.seed, counter, "penalty_interpolation"))[replica_id]

        def discriminator_fn(inputs):
            return self._float32_logits(inputs, labels, training=True)[0]

        total = 0.0
        for name, weight in self.penalties.items():
            total += weight * penalties_module.PENALTIES[name](discriminator_fn, real_inputs, fake_inputs, alpha,
                                                               real_outputs=real_logits)
        return total

    def _output_summaries(self, real_logits, fake_logits):
        """`d_real` and `d_fake`: D's mean probability of "real" (or mean critic value, for losses of scores)."""
        def summary(logits):
            logits = tf.cast(logits, tf.float32)
            return tf.reduce_mean(tf.sigmoid(logits) if self.loss_pair.outputs_are_logits else logits)

        return {"d_real": summary(real_logits), "d_fake": summary(fake_logits)}

    def discriminator_loss(self, real):
        """The discriminator's phase on one real batch: its adversarial loss (plus the variants' class, penalty
        and supervised terms) against fresh samples of the generator."""
        losses, metrics, _, _ = self._discriminator_pass(real, self.d_optimizer.iterations, "discriminator_latents",
                                                         detach_fakes=True)
        return PhaseLoss(losses, metrics)

    def _discriminator_pass(self, real, counter, latent_stream, detach_fakes):
        """The discriminator's loss terms and figures on one real batch against fresh samples drawn from
        `latent_stream`; also the fakes' logits and the generator's class loss, which a simultaneous update
        takes from this same pass."""
        real_images, labels = self._split(real)
        z = self.sample_latent(tf.shape(real_images)[0], counter, latent_stream)
        fake_images = tf.cast(self._generate(z, labels, training=True), real_images.dtype)
        if detach_fakes:
            fake_images = tf.stop_gradient(fake_images)
        real_inputs = self._discriminator_inputs(real_images, counter, "augment_real")
        fake_inputs = self._discriminator_inputs(fake_images, counter, "augment_fake_for_discriminator")
        real_logits, real_class_logits = self._float32_logits(real_inputs, labels, training=True)
        fake_logits, fake_class_logits = self._float32_logits(fake_inputs, labels, training=True)
        adversarial = self.discriminator_loss_fn(real_logits, fake_logits)
        class_loss, g_class_loss, class_metrics = self._class_losses(real_class_logits, fake_class_logits, labels)
        penalty = self._penalty(real_inputs, tf.stop_gradient(fake_inputs), labels, real_logits)
        supervised, supervised_metrics = self._supervised_losses(real)
        metrics = {"d_loss": tf.reduce_mean(adversarial + class_loss),
                   **self._output_summaries(real_logits, fake_logits), **class_metrics, **supervised_metrics}
        if self.penalties:
            metrics["d_penalty"] = tf.reduce_mean(penalty)
        return [adversarial + class_loss + penalty, *supervised], metrics, fake_logits, g_class_loss

    def generator_loss(self, real):
        """The generator's phase: its adversarial loss (plus a class loss) on fresh samples, judged by the
        discriminator as updated in this step."""
        real_images, labels = self._split(real)
        counter = self.g_optimizer.iterations
        z = self.sample_latent(tf.shape(real_images)[0], counter, "generator_latents")
        fake_inputs = self._discriminator_inputs(self._generate(z, labels, training=True), counter,
                                                 "augment_fake_for_generator")
        fake_logits, fake_class_logits = self._float32_logits(fake_inputs, labels, training=True)
        _, class_loss, _ = self._class_losses(None, fake_class_logits, labels)
        per_example_loss = self.generator_loss_fn(fake_logits) + class_loss
        return PhaseLoss(per_example_loss, {"g_loss": tf.reduce_mean(per_example_loss)})

    def simultaneous_loss(self, real):
        """Both networks' losses from one forward pass, as the authors' code computes them (goodfeli/adversarial,
        `AdversaryCost2`): the generator's loss is taken on the very logits (dropout masks included) of the
        discriminator's loss on the fakes, and both are differentiated before either network moves."""
        d_losses, metrics, fake_logits, g_class_loss = self._discriminator_pass(
            real, self.g_optimizer.iterations, "generator_latents", detach_fakes=False)
        g_loss = self.generator_loss_fn(fake_logits) + g_class_loss
        return PhaseLoss({"d_optimizer": d_losses, "g_optimizer": g_loss},
                         {**metrics, "g_loss": tf.reduce_mean(g_loss)})

    def _update_ema(self):
        averaging.average_weights(self.ema_generator, self.generator, self.ema_decay, self.distribute_strategy)

    def _real_batches(self, data):
        if isinstance(data, dict) and REAL_BATCHES_KEY in data:
            stacked = data[REAL_BATCHES_KEY]
            return [tf.nest.map_structure(lambda t, i=i: t[:, i], stacked) for i in range(self.d_steps)]
        return [data] * self.d_steps

    def test_step(self, data):
        """Reports the adversarial losses on held-out real data without updating either network."""
        real_images, labels = self._split(data)
        z = self.sample_latent(tf.shape(real_images)[0], self.g_optimizer.iterations, "evaluation_latents")
        real_logits, _ = self._float32_logits(pack(real_images, self.packing), labels, training=False)
        fake_images = self._generate(z, labels, training=False)
        fake_logits, _ = self._float32_logits(pack(fake_images, self.packing), labels, training=False)
        self._track({"d_loss": tf.reduce_mean(self.discriminator_loss_fn(real_logits, fake_logits)),
                     "g_loss": tf.reduce_mean(self.generator_loss_fn(fake_logits)),
                     **self._output_summaries(real_logits, fake_logits)})
        return self._logs()

    def fit(self, x=None, y=None, **kwargs):
        """`keras.Model.fit`, feeding each of the `d_steps` discriminator updates its own real batch.

        Args:
            x: a batched `tf.data.Dataset` of images or `(images, labels)`, or anything `keras.Model.fit`
                accepts (then the `d_steps` updates of one step share a batch).
            y: unused by unconditional GANs; passed through.
            **kwargs: passed to `keras.Model.fit` (`epochs`, `steps_per_epoch`, `callbacks`, ...).

        Returns:
            The `History` of `keras.Model.fit`.
        """
        if isinstance(x, tf.data.Dataset) and self.d_steps > 1:
            x = group_real_batches(x, self.d_steps)
        return super().fit(x, y, **kwargs)

    def generate(self, num, seed=0, batch_size=256, stream=0, labels=None):
        """As `NoiseSampler.generate`; through discriminator rejection sampling when `rejection_percentile` is set."""
        if self.rejection_percentile is not None and labels is None:
            return rejection.rejection_sample(self, num, seed, stream, self.rejection_percentile,
                                              batch_size=max(int(batch_size), 2))
        return super().generate(num, seed=seed, batch_size=batch_size, stream=stream, labels=labels)

    def get_config(self):
        return {
            **super().get_config(),
            "latent_dim": self.latent_dim,
            "seed": self.seed,
            "output_range": None if self.output_range is None else list(self.output_range),
            "packing": self.packing,
            "ema_decay": self.ema_decay,
            "rejection_percentile": self.rejection_percentile,
            **({"latent_distribution": self.latent_distribution} if self.latent_distribution != "normal" else {}),
        }
