"""StyleGAN2's training (Karras et al. 2020, "Analyzing and Improving the Image Quality of StyleGAN",
arXiv:1912.04958), as the phases of the official training loop: the non-saturating logistic loss, style mixing
regularization (StyleGAN, Karras et al. 2019, sec. 3.1), lazy R1 on the discriminator (sec. 3.1), lazy
path-length regularization on the generator (sec. 3.2, eq. 4), a moving average of the generator, and the
running mean of w that the truncation trick pulls toward.

The networks are `tfgan_impl.networks.stylegan2`'s; the model is a `GAN` whose generator is a
`StyleGAN2Generator`, so sampling, evaluation, export and DiffAugment work as for every GAN.
"""
import keras
import tensorflow as tf

from tfgan_impl import ada, adversarial, distribute, noise, penalties
from tfgan_impl.adversarial import Phase, PhaseLoss
from tfgan_impl.gan import GAN


@keras.saving.register_keras_serializable(package="tfgan_impl")
class StyleGAN2(GAN):
    """A StyleGAN2 generator and discriminator trained with the paper's regularizers.

    A step is four phases, as in the official `training_loop.py`: `discriminator` (logistic loss), `r1` (every
    `r1_interval` steps, its loss times the interval), `generator` (non-saturating loss) and `path_length` (every
    `pl_interval` steps). Training generators mix styles: with probability `style_mixing` the per-layer latents
    from a cut-off layer on come from a second z (one cut-off per batch, uniform over the layers, as the official
    code draws it). The running mean of w (`generator.w_average`) moves by `1 - w_average_beta` of the batch
    mean each step.

    Args:
        generator: a `StyleGAN2Generator`.
        discriminator: a discriminator of its images (e.g. `stylegan2_discriminator`).
        latent_dim: size of z.
        style_mixing: probability of mixing two latents in a training batch (0.9 in the paper).
        w_average_beta: decay of the running mean of w (0.995).
        **kwargs: `GAN`'s options (`seed`, `output_range`, `ema_decay`, ...).
    """

    METRICS = GAN.METRICS + ("r1_penalty", "pl_penalty", "pl_mean", "real_sign", "ada_p")

    def __init__(self, generator, discriminator, latent_dim, style_mixing=0.9, w_average_beta=0.995, ada_p=0.0,
                 **kwargs):
        self.check_mixing(style_mixing, w_average_beta)
        if float(ada_p) < 0:
            raise ValueError(f"ada_p: expected 0 or more, got {ada_p!r}")
        self.initial_ada_p = float(ada_p)
        super().__init__(generator, discriminator, latent_dim, **kwargs)
        self.style_mixing = float(style_mixing)
        self.w_average_beta = float(w_average_beta)
        self.ada_target, self.ada_pipeline, self.ada_interval, self.ada_speed_images = None, "bgc", 4, 500_000
        self.r1_gamma, self.r1_interval = 0.0, 16
        self.pl_weight, self.pl_interval, self.pl_batch_shrink, self.pl_decay = 0.0, 4, 2, 0.01
        self._draws = 0
        self._batch_w = None

    @staticmethod
    def check_mixing(style_mixing=0.9, w_average_beta=0.995):
        """The value rules of the constructor's options; raises `ValueError("OPTION: ...")`."""
        if not 0.0 <= float(style_mixing) <= 1.0:
            raise ValueError(f"style_mixing: expected a probability in [0, 1], got {style_mixing!r}")
        if not 0.0 <= float(w_average_beta) < 1.0:
            raise ValueError(f"w_average_beta: expected a number in [0, 1), got {w_average_beta!r}")

    def build(self, input_shape=None):
        if not hasattr(self, "pl_mean"):  # state of the phases, checkpointed with the weights
            self.pl_mean = self.add_weight(name="pl_mean", shape=(), initializer="zeros", trainable=False,
                                           aggregation="only_first_replica")  # the path lengths' running mean a
            self.ada_p = self.add_weight(name="ada_p", shape=(), trainable=False, aggregation="only_first_replica",
                                         initializer=keras.initializers.Constant(self.initial_ada_p))
            self.ada_signs = self.add_weight(name="ada_signs", shape=(), initializer="zeros", trainable=False,
                                             aggregation="only_first_replica")  # sum of r_t terms this interval
        super().build(input_shape)

    @staticmethod
    def check_regularizers(r1_gamma=10.0, r1_interval=16, pl_weight=2.0, pl_interval=4, pl_batch_shrink=2,
                           pl_decay=0.01):
        """The value rules of `configure`'s regularizer options; raises `ValueError("OPTION: ...")`."""
        adversarial.check_non_negative(r1_gamma=r1_gamma, pl_weight=pl_weight)
        for name, value in (("r1_interval", r1_interval), ("pl_interval", pl_interval),
                            ("pl_batch_shrink", pl_batch_shrink)):
            if int(value) < 1:
                raise ValueError(f"{name}: expected a positive integer, got {value!r}")
        if not 0.0 < float(pl_decay) <= 1.0:
            raise ValueError(f"pl_decay: expected a number in (0, 1], got {pl_decay!r}")

    def configure(self, r1_gamma=10.0, r1_interval=16, pl_weight=2.0, pl_interval=4, pl_batch_shrink=2,
                  pl_decay=0.01, ada_target=None, ada_pipeline="bgc", ada_interval=4, ada_speed_images=500_000,
                  **gan_options):
        """The training options of `compile(d_optimizer, g_optimizer, **options)`.

        Args:
            r1_gamma: R1's gamma (Mescheder et al. 2018, eq. 9); 0 turns the phase off. The paper scales it with
                the resolution (10 at 1024x1024 for FFHQ; ADA's heuristic 0.0002 r^2 / batch).
            r1_interval: the R1 phase runs every this many steps (lazy regularization, sec. 3.1: 16).
            pl_weight: the path-length weight (2 in the official configs); 0 turns the phase off.
            pl_interval: the path-length phase runs every this many steps (4).
            pl_batch_shrink: the path-length phase's batch is the step's divided by this (2).
            pl_decay: the running mean a of eq. 4 moves by this fraction of the batch's mean length (0.01).
            ada_target: ADA's target of r_t = E[sign(D(x_real))] (0.6 in the paper): p, the probability of each
                augmentation (from the constructor's `ada_p`), moves toward it every `ada_interval` steps by
                sign(r_t - target) x images / `ada_speed_images`; `None` keeps p fixed (no augmentation at 0).
            ada_pipeline: the augmentations, a name of `tfgan_impl.ada.PIPELINES` ("bgc": the paper's) or a list
                of transformation names.
            ada_interval: steps between updates of p (4).
            ada_speed_images: images for p to change by 1 (500,000).
            **gan_options: `GAN.configure`'s (`loss`, `augment`, ...); the loss is the logistic one by default.

        Returns:
            The options as a dict.
        """
        self.check_regularizers(r1_gamma, r1_interval, pl_weight, pl_interval, pl_batch_shrink, pl_decay)
        self.check_ada(ada_target, ada_pipeline, ada_interval, ada_speed_images)
        options = super().configure(**gan_options)
        self.ada_target = None if ada_target is None else float(ada_target)
        self.ada_pipeline = ada_pipeline if isinstance(ada_pipeline, str) else list(ada_pipeline)
        self.ada_interval = int(ada_interval)
        self.ada_speed_images = int(ada_speed_images)
        self.r1_gamma, self.r1_interval = float(r1_gamma), int(r1_interval)
        self.pl_weight, self.pl_interval = float(pl_weight), int(pl_interval)
        self.pl_batch_shrink, self.pl_decay = int(pl_batch_shrink), float(pl_decay)
        return {**options, "r1_gamma": self.r1_gamma, "r1_interval": self.r1_interval, "pl_weight": self.pl_weight,
                "pl_interval": self.pl_interval, "pl_batch_shrink": self.pl_batch_shrink, "pl_decay": self.pl_decay,
                "ada_target": self.ada_target, "ada_pipeline": self.ada_pipeline, "ada_interval": self.ada_interval,
                "ada_speed_images": self.ada_speed_images}

    @staticmethod
    def check_ada(ada_target=None, ada_pipeline="bgc", ada_interval=4, ada_speed_images=500_000):
        """The value rules of `configure`'s ADA options; raises `ValueError("OPTION: ...")`."""
        if ada_target is not None and not 0.0 <= float(ada_target) <= 1.0:
            raise ValueError(f"ada_target: expected a number in [0, 1] or null, got {ada_target!r}")
        try:
            ada.transformations(ada_pipeline)
        except ValueError as error:
            raise ValueError(f"ada_pipeline: {error}") from None
        for name, value in (("ada_interval", ada_interval), ("ada_speed_images", ada_speed_images)):
            if int(value) < 1:
                raise ValueError(f"{name}: expected a positive integer, got {value!r}")

    @property
    def augments(self):
        """Whether ADA augments the discriminator's inputs: p adapts, or was set above 0."""
        return self.ada_target is not None or self.initial_ada_p > 0

    def reports(self, name):
        if name == "r1_penalty":
            return self.r1_gamma > 0
        if name in ("pl_penalty", "pl_mean"):
            return self.pl_weight > 0
        if name in ("real_sign", "ada_p"):
            return self.augments
        return super().reports(name)

    def phases(self):
        """Discriminator, lazy R1, generator, lazy path length (StyleGAN2-ADA's `training_loop.py` phases)."""
        discriminator, generator = super().phases()
        phases = [discriminator]
        if self.r1_gamma > 0:
            phases.append(Phase("r1", self.DISCRIMINATORS, "d_optimizer", self.r1_loss, interval=self.r1_interval))
        phases.append(generator)
        if self.pl_weight > 0:
            phases.append(Phase("path_length", self.GENERATORS, "g_optimizer", self.path_length_loss,
                                interval=self.pl_interval))
        return phases

    def train_step(self, data):
        self._draws = 0  # numbers the model's own draws within a step, in the order they are traced
        return super().train_step(data)

    def _draw_seed(self, name):
        self._draws += 1
        return noise.model_draw_seed(self.seed, self.steps, name, self._draws)

    # -- the generator in training: style mixing -----------------------------------------------------------------

    def training_ws(self, z):
        """The per-layer latents `[batch, num_ws, w_dim]` of a training batch: w = f(z) broadcast, and with
        probability `style_mixing` the layers from a random cut-off on taken from f(z2) of a second z2
        (style mixing regularization, StyleGAN sec. 3.1)."""
        generator = self.generator
        w = generator.mapping(z, training=True)
        self._batch_w = w
        ws = generator.broadcast(w)
        if self.style_mixing > 0:
            seed = self._draw_seed("style_mixing")
            cutoff = tf.random.stateless_uniform([], seed, 1, generator.num_ws, dtype=tf.int32)
            mixing = tf.random.stateless_uniform([], tf.random.experimental.stateless_fold_in(seed, 1)) < \
                self.style_mixing
            cutoff = tf.where(mixing, cutoff, generator.num_ws)
            replica_id, num_replicas = distribute.replica_position()
            other_z = noise.draw_latents([num_replicas, tf.shape(z)[0], self.latent_dim],
                                         tf.random.experimental.stateless_fold_in(seed, 2),
                                         self.latent_distribution)[replica_id]
            other_ws = generator.broadcast(generator.mapping(tf.cast(other_z, z.dtype), training=True))
            later = tf.range(generator.num_ws)[None, :, None] >= cutoff
            ws = tf.where(later, other_ws, ws)
        return ws

    def _generate(self, z, labels, training):
        if not training:
            return self.generator(z, training=False)
        return self.generator.synthesis(self.training_ws(z), training=True)

    def generator_loss(self, real):
        """`GAN.generator_loss`; it carries its batch's mean w to the end of the step (the running mean of w)."""
        result = super().generator_loss(real)
        w_mean = tf.reduce_mean(tf.cast(self._batch_w, tf.float32), axis=0)
        return PhaseLoss(result.losses, result.metrics, {"w_mean": tf.stop_gradient(w_mean)})

    # -- ADA ---------------------------------------------------------------------------------------------------

    def _discriminator_inputs(self, samples, counter, stream):
        if self.augments:  # ADA before what GAN adds (DiffAugment if compiled with it, packing)
            seed = tf.random.experimental.stateless_fold_in(self._replica_seed(counter, stream), 1)
            samples = ada.augment(samples, self.ada_p, seed, self.ada_pipeline)
        return super()._discriminator_inputs(samples, counter, stream)

    def _output_summaries(self, real_logits, fake_logits):
        summaries = super()._output_summaries(real_logits, fake_logits)
        if self.augments:  # r_t, ADA's overfitting heuristic (Karras et al. 2020b, sec. 3)
            summaries["real_sign"] = tf.reduce_mean(tf.sign(tf.cast(real_logits, tf.float32)))
        return summaries

    def discriminator_loss(self, real):
        """`GAN.discriminator_loss`; with ADA it carries r_t and the global batch to the end of the step."""
        result = super().discriminator_loss(real)
        if not self.augments:
            return result
        _, num_replicas = distribute.replica_position()
        images = tf.shape(self._split(real)[0])[0] * num_replicas
        return PhaseLoss(result.losses, result.metrics,
                         {"real_sign": result.metrics["real_sign"], "real_images": images})

    def _adapt_augmentation(self, carried):
        """ADA's update of p every `ada_interval` steps, from the mean r_t of the interval."""
        signs = self.ada_signs + tf.distribute.get_replica_context().all_reduce("MEAN", carried["real_sign"])
        due = tf.equal((self.steps + 1) % self.ada_interval, 0)
        images = tf.cast(carried["real_images"] * self.ada_interval, tf.float32)
        adjusted = ada.adjusted_probability(self.ada_p, signs / self.ada_interval, self.ada_target, images,
                                            self.ada_speed_images)
        self.ada_p.assign(tf.where(due, adjusted, self.ada_p))
        self.ada_signs.assign(tf.where(due, 0.0, signs))

    def end_step(self, carried):
        if self.augments:
            if self.ada_target is not None and "real_sign" in carried:
                self._adapt_augmentation(carried)
            self._track({"ada_p": self.ada_p})
        if "w_mean" in carried:
            batch_mean = tf.distribute.get_replica_context().all_reduce("MEAN", carried["w_mean"])
            average = self.generator.w_average
            average.assign(batch_mean + self.w_average_beta * (average - batch_mean))
        super().end_step(carried)

    # -- the lazy regularizers ---------------------------------------------------------------------------------

    def r1_loss(self, real):
        """R1 (Mescheder et al. 2018, eq. 9): gamma / 2 ||grad_x D(x)||^2 on real images, through the
        discriminator's augmentation as the official code differentiates it."""
        real_images, labels = self._split(real)
        counter = self.d_optimizer.iterations

        def discriminator_fn(images):
            inputs = self._discriminator_inputs(images, counter, "augment_real")
            return self._float32_logits(inputs, labels, training=True)[0]

        penalty = penalties.r1_penalty(discriminator_fn, real_images)
        return PhaseLoss(self.r1_gamma * penalty, {"r1_penalty": tf.reduce_mean(penalty)})

    def path_length_loss(self, real):
        """Path-length regularization (Karras et al. 2020, sec. 3.2, eq. 4): E[(||J_w^T y||_2 - a)^2] with y
        Gaussian images scaled by 1 / sqrt(H W), the norm averaged over the per-layer latents, and a the running
        mean of the lengths, on a batch `pl_batch_shrink` times smaller than the step's."""
        real_images, _ = self._split(real)
        batch = tf.maximum(tf.shape(real_images)[0] // self.pl_batch_shrink, 1)
        z = self.sample_latent(batch, self.g_optimizer.iterations, "generator_latents")
        ws = self.training_ws(z)
        y = tf.random.stateless_normal(tf.concat([[batch], self.generator.image_shape], 0),
                                       self._draw_seed("path_length_images"))
        lengths = path_lengths(lambda latents: self.generator.synthesis(latents, training=True), ws, y)
        batch_mean = tf.distribute.get_replica_context().all_reduce("MEAN", tf.stop_gradient(tf.reduce_mean(lengths)))
        pl_mean = self.pl_mean + self.pl_decay * (batch_mean - self.pl_mean)
        self.pl_mean.assign(pl_mean)
        penalty = tf.square(lengths - pl_mean)
        return PhaseLoss(self.pl_weight * penalty, {"pl_penalty": tf.reduce_mean(penalty), "pl_mean": pl_mean})

    # -- sampling ----------------------------------------------------------------------------------------------

    def truncated(self, z, psi):
        """Images of z with the truncation trick (StyleGAN, sec. 3.3): w pulled toward the running mean of w by
        psi (1: none; 0: the mean image), through the sampling generator (the moving average if kept)."""
        generator = self.sampling_generator
        ws = generator.broadcast(generator.mapping(z, training=False))
        return generator.synthesis(generator.truncate(ws, psi), training=False)

    def mixed(self, z_a, z_b, crossover):
        """Style mixing at sampling time (StyleGAN, sec. 3.1, fig. 3): the per-layer latents of `z_a` before
        layer `crossover`, those of `z_b` from it on (0: all of `z_b`'s; `num_ws`: all of `z_a`'s)."""
        generator = self.sampling_generator
        ws_a = generator.broadcast(generator.mapping(z_a, training=False))
        ws_b = generator.broadcast(generator.mapping(z_b, training=False))
        later = tf.range(generator.num_ws)[None, :, None] >= tf.cast(crossover, tf.int32)
        return generator.synthesis(tf.where(later, ws_b, ws_a), training=False)

    def serving_functions(self):
        """The signatures exports add (`tfgan_impl.export`): `truncated` (z, psi -> images), `mix` (z_a, z_b,
        crossover -> images) and `mapping` (z -> w), as `{name: (function, input specs)}`."""
        def latent(name):
            return tf.TensorSpec([None, self.latent_dim], tf.float32, name=name)

        def mapping(z):
            return {"w": tf.cast(self.sampling_generator.mapping(z, training=False), tf.float32)}

        return {"truncated": (self.truncated, [latent("z"), tf.TensorSpec([], tf.float32, name="psi")]),
                "mix": (self.mixed, [latent("z_a"), latent("z_b"), tf.TensorSpec([], tf.int32, name="crossover")]),
                "mapping": (mapping, [latent("z")])}

    def get_config(self):
        return {**super().get_config(), "style_mixing": self.style_mixing, "w_average_beta": self.w_average_beta,
                "ada_p": self.initial_ada_p}


def path_lengths(synthesis, ws, y):
    """||J_w^T y||_2 per example (Karras et al. 2020, sec. 3.2): the gradient of sum(g(w) * y / sqrt(H W)) with
    respect to the per-layer latents, its squared norm over w's features averaged over the layers, square-rooted,
    as the official `pl_lengths`.

    Args:
        synthesis: g, mapping `ws` `[batch, num_ws, w_dim]` to images `[batch, H, W, C]`.
        ws: the per-layer latents.
        y: standard normal images `[batch, H, W, C]` (the scaling by 1 / sqrt(H W) is done here).

    Returns:
        Lengths `[batch]`, differentiable with respect to g's weights.
    """
    with tf.GradientTape() as tape:
        tape.watch(ws)
        images = tf.cast(synthesis(ws), tf.float32)
        projected = tf.reduce_sum(images * tf.cast(y, tf.float32)) / float(images.shape[1] * images.shape[2]) ** 0.5
    gradients = tf.cast(tape.gradient(projected, ws), tf.float32)
    return tf.sqrt(tf.reduce_mean(tf.reduce_sum(tf.square(gradients), axis=2), axis=1))
