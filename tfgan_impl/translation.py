"""Image-to-image translation: Pix2Pix on paired data (Isola et al. 2017, arXiv:1611.07004) and CycleGAN on
unpaired data (Zhu et al. 2017, arXiv:1703.10593)."""
import keras
import tensorflow as tf

from tfgan_impl import losses as losses_module
from tfgan_impl.adversarial import AdversarialModel, Phase, PhaseLoss, check_non_negative
from tfgan_impl.samplers import Translator


def l1_distance(targets, outputs):
    """Per-example mean absolute error `[batch]`, in the networks' units (Isola et al. 2017, eq. 3)."""
    difference = tf.abs(tf.cast(targets, tf.float32) - tf.cast(outputs, tf.float32))
    return tf.reduce_mean(tf.reshape(difference, [tf.shape(difference)[0], -1]), axis=1)


def _sigmoid_mean(*logits):
    return tf.reduce_mean(tf.sigmoid(tf.concat([tf.reshape(value, [-1]) for value in logits], 0)))


def _mean(*logits):
    return tf.reduce_mean(tf.concat([tf.reshape(value, [-1]) for value in logits], 0))


@keras.saving.register_keras_serializable(package="tfgan_impl")
class Pix2Pix(AdversarialModel, Translator):
    """A conditional GAN that translates images x to images y, trained on pairs with `fit`
    (Isola et al. 2017, eq. 4: G* = arg min_G max_D L_cGAN(G, D) + lambda L_L1(G)).

    Each step takes one discriminator update, with its loss halved (sec. 3.3), then one generator update
    against the updated discriminator, as the paper alternates them. The generator has no noise input: its
    dropout is the only randomness (sec. 3.1).

    Args:
        generator: a Keras model mapping images `[batch, H, W, C]` to images (e.g. `networks.unet_generator`).
        discriminator: a Keras model mapping `[inputs, outputs]` to logits of any shape `[batch, ...]`
            (e.g. `networks.patch_discriminator`, one logit per patch).
        l1_weight: lambda, the weight of the L1 distance to the target (100 in the paper).
        output_range: `(low, high)` of the images the networks see; `translate` maps outputs back to [0, 1].
    """

    METRICS = ("d_loss", "g_loss", "g_adversarial", "l1", "d_real", "d_fake")
    d_fake_is_probability = True  # the minimax loss of logits

    def __init__(self, generator, discriminator, l1_weight=100.0, output_range=(-1.0, 1.0), **kwargs):
        super().__init__(**kwargs)
        self.generator = generator
        self.discriminator = discriminator
        check_non_negative(l1_weight=l1_weight)
        self.l1_weight = float(l1_weight)
        self.output_range = tuple(float(v) for v in output_range)
        self.build()

    def build(self, input_shape=None):
        image_shape = tuple(self.generator.input_shape[1:])
        output_shape = tuple(self.generator.output_shape[1:])
        if not self.discriminator.built:
            self.discriminator.build([(None, *image_shape), (None, *output_shape)])
        self.built = True

    def call(self, images, training=False):
        return self.generator(images, training=training)

    def phases(self):
        """One discriminator update, then one generator update against it, on the same pairs (sec. 3.3)."""
        return [Phase("discriminator", self.DISCRIMINATORS, "d_optimizer", self.discriminator_loss),
                Phase("generator", self.GENERATORS, "g_optimizer", self.generator_loss)]

    @staticmethod
    def _pair(data):
        if not isinstance(data, (tuple, list)) or len(data) != 2:
            raise ValueError("Pix2Pix trains on (input images, target images) pairs")
        return data

    def discriminator_loss(self, data):
        """The discriminator's loss on a batch of pairs, halved as in the paper (sec. 3.3)."""
        sources, targets = self._pair(data)
        outputs = tf.stop_gradient(self.generator(sources, training=True))
        real_logits = tf.cast(self.discriminator([sources, targets], training=True), tf.float32)
        fake_logits = tf.cast(self.discriminator([sources, outputs], training=True), tf.float32)
        d_per_example = 0.5 * losses_module.minimax_discriminator_loss(real_logits, fake_logits)
        return PhaseLoss(d_per_example, {"d_loss": tf.reduce_mean(d_per_example),
                                         "d_real": _sigmoid_mean(real_logits), "d_fake": _sigmoid_mean(fake_logits)})

    def generator_loss(self, data):
        """The generator's loss: non-saturating adversarial term plus lambda times the L1 distance (eq. 4)."""
        sources, targets = self._pair(data)
        outputs = self.generator(sources, training=True)
        fake_logits = tf.cast(self.discriminator([sources, outputs], training=True), tf.float32)
        adversarial = losses_module.non_saturating_generator_loss(fake_logits)
        l1 = l1_distance(targets, outputs)
        g_per_example = adversarial + self.l1_weight * l1
        return PhaseLoss(g_per_example, {"g_loss": tf.reduce_mean(g_per_example),
                                         "g_adversarial": tf.reduce_mean(adversarial), "l1": tf.reduce_mean(l1)})

    def test_step(self, data):
        """Held-out L1 of the translations (and the discriminator's view of them), without updates."""
        sources, targets = self._pair(data)
        outputs = self.generator(sources, training=False)
        real_logits = tf.cast(self.discriminator([sources, targets], training=False), tf.float32)
        fake_logits = tf.cast(self.discriminator([sources, outputs], training=False), tf.float32)
        adversarial = losses_module.non_saturating_generator_loss(fake_logits)
        l1 = l1_distance(targets, outputs)
        self._track({"d_loss": tf.reduce_mean(0.5 * losses_module.minimax_discriminator_loss(real_logits, fake_logits)),
                     "g_loss": tf.reduce_mean(adversarial + self.l1_weight * l1),
                     "g_adversarial": tf.reduce_mean(adversarial), "l1": tf.reduce_mean(l1),
                     "d_real": _sigmoid_mean(real_logits), "d_fake": _sigmoid_mean(fake_logits)})
        return self._logs()

    def get_config(self):
        return {**super().get_config(), "l1_weight": self.l1_weight, "output_range": list(self.output_range)}



@keras.saving.register_keras_serializable(package="tfgan_impl")
class CycleGAN(AdversarialModel, Translator):
    """Unpaired translation between domains A and B (Zhu et al. 2017, arXiv:1703.10593, eq. 3): G: A -> B
    (`generator`) and F: B -> A (`inverse_generator`), judged by D_B (`discriminator`) and D_A
    (`inverse_discriminator`) with the least-squares losses (sec. 4), plus cycle consistency
    lambda (|F(G(a)) - a|_1 + |G(F(b)) - b|_1) and the identity loss 0.5 lambda (|G(b) - b|_1 + |F(a) - a|_1)
    (sec. 5.2). The discriminators see a history of `pool_size` generated images per domain (sec. 4, after
    Shrivastava et al. 2017): each new image is, once the pool is full, swapped with a stored one half the time.

    One `fit` step updates both generators (one optimizer) and then both discriminators (the other) on a batch of
    `(images_a, images_b)`, which need not correspond. The pools live in each replica's memory and are not
    checkpointed: a resumed run refills them.

    Args:
        generator, inverse_generator: Keras models A -> B and B -> A (e.g. `networks.resnet_translator`).
        discriminator, inverse_discriminator: Keras models of one domain's images, B and A, to logits
            (`networks.patch_discriminator(conditional=False, normalization="instance")`).
        cycle_weight: lambda (10 in the paper).
        identity_weight: the identity loss's weight relative to lambda (0.5 in the paper; 0 turns it off).
        pool_size: generated images kept per domain (50 in the paper; 0 turns the pool off).
        output_range: `(low, high)` of the images the networks see.
        seed: seed of the pool's random choices.
    """

    GENERATORS = ("generator", "inverse_generator")
    DISCRIMINATORS = ("discriminator", "inverse_discriminator")
    METRICS = ("d_loss", "g_loss", "g_adversarial", "cycle", "identity", "d_real", "d_fake")
    INVERSE = "inverse_generator"

    def __init__(self, generator, discriminator, inverse_generator, inverse_discriminator, cycle_weight=10.0,
                 identity_weight=0.5, pool_size=50, output_range=(-1.0, 1.0), seed=0, **kwargs):
        super().__init__(**kwargs)
        self.generator, self.discriminator = generator, discriminator
        self.inverse_generator, self.inverse_discriminator = inverse_generator, inverse_discriminator
        check_non_negative(cycle_weight=cycle_weight, identity_weight=identity_weight, pool_size=pool_size)
        self.cycle_weight, self.identity_weight = float(cycle_weight), float(identity_weight)
        self.pool_size, self.seed = int(pool_size), int(seed)
        self.output_range = tuple(float(v) for v in output_range)
        self.build()

    def build(self, input_shape=None):
        shapes = {"a": tuple(self.generator.input_shape[1:]), "b": tuple(self.inverse_generator.input_shape[1:])}
        for name, domain in (("discriminator", "b"), ("inverse_discriminator", "a")):
            if not getattr(self, name).built:
                getattr(self, name).build((None, *shapes[domain]))
        if self.pool_size:
            # Pools are per replica and outside checkpoints (see the class docstring), hence plain tf.Variables.
            self._pools = {domain: tf.Variable(tf.zeros((self.pool_size, *shape)), trainable=False,
                                               synchronization=tf.VariableSynchronization.ON_READ,
                                               aggregation=tf.VariableAggregation.ONLY_FIRST_REPLICA)
                           for domain, shape in (("a", shapes["a"]), ("b", shapes["b"]))}
            self._pool_counts = {domain: tf.Variable(0, dtype=tf.int32, trainable=False,
                                                     synchronization=tf.VariableSynchronization.ON_READ,
                                                     aggregation=tf.VariableAggregation.ONLY_FIRST_REPLICA)
                                 for domain in ("a", "b")}
        self.built = True

    def call(self, images, training=False):
        return self.generator(images, training=training)

    def query_pool(self, domain, images):
        """Images for the discriminator from a batch of generated ones and the history pool of `domain`
        (Shrivastava et al. 2017, sec. 2.3): until the pool is full, images are stored and returned; then each
        is returned, or with probability 1/2 swapped with a random stored image that is returned instead."""
        if not self.pool_size:
            return images
        pool, count = self._pools[domain], self._pool_counts[domain]
        batch = tf.shape(images)[0]
        seed = tf.stack([tf.constant(self.seed, tf.int64), tf.cast(self.g_optimizer.iterations, tf.int64) * 2
                         + (0 if domain == "a" else 1)])
        draws = tf.random.stateless_uniform([batch, 2], seed=seed)
        filled = count.read_value()
        # Free slots take the first images of the batch; a full pool swaps each image with probability 1/2.
        positions = filled + tf.range(batch)
        free = positions < self.pool_size
        swap = tf.logical_and(tf.logical_not(free), draws[:, 0] < 0.5)
        random_slots = tf.cast(draws[:, 1] * self.pool_size, tf.int32) % self.pool_size
        slots = tf.where(free, tf.minimum(positions, self.pool_size - 1), random_slots)
        pooled = pool.read_value()
        returned = tf.where(swap[:, None, None, None], tf.gather(pooled, slots), images)
        written = tf.logical_or(free, swap)
        # A whole-value assign: per-replica (ON_READ) variables have no scatter updates under tf.distribute.
        pool.assign(tf.tensor_scatter_nd_update(pooled, tf.boolean_mask(slots, written)[:, None],
                                                tf.boolean_mask(images, written)))
        count.assign(tf.minimum(filled + batch, self.pool_size))
        return returned

    def phases(self):
        """Both generators' update, then both discriminators' on the history pools (Zhu et al. 2017, eq. 3)."""
        return [Phase("generator", self.GENERATORS, "g_optimizer", self.generator_loss),
                Phase("discriminator", self.DISCRIMINATORS, "d_optimizer", self.discriminator_loss,
                      inputs=self._pooled)]

    def generator_loss(self, data):
        """Both generators' least-squares adversarial, cycle and identity terms; the translations are passed on."""
        real_a, real_b = data
        fake_b = self.generator(real_a, training=True)
        fake_a = self.inverse_generator(real_b, training=True)
        logits_fake_b = tf.cast(self.discriminator(fake_b, training=True), tf.float32)
        logits_fake_a = tf.cast(self.inverse_discriminator(fake_a, training=True), tf.float32)
        adversarial = (losses_module.least_squares_generator_loss(logits_fake_b)
                       + losses_module.least_squares_generator_loss(logits_fake_a))
        cycle = (l1_distance(real_a, self.inverse_generator(fake_b, training=True))
                 + l1_distance(real_b, self.generator(fake_a, training=True)))
        identity = tf.zeros_like(cycle)
        if self.identity_weight:
            identity = (l1_distance(real_b, self.generator(real_b, training=True))
                        + l1_distance(real_a, self.inverse_generator(real_a, training=True)))
        g_per_example = adversarial + self.cycle_weight * (cycle + self.identity_weight * identity)
        metrics = {name: tf.reduce_mean(term) for name, term in (
            ("g_loss", g_per_example), ("g_adversarial", adversarial), ("cycle", cycle), ("identity", identity))}
        return PhaseLoss(g_per_example, metrics, outputs={"fake_a": fake_a, "fake_b": fake_b})

    def _pooled(self, data, carried):
        # The pools are stateful and per replica: queried between the two compiled phases.
        real_a, real_b = data
        pooled_b = self.query_pool("b", tf.cast(carried["fake_b"], real_b.dtype))
        pooled_a = self.query_pool("a", tf.cast(carried["fake_a"], real_a.dtype))
        return [(real_a, real_b, pooled_a, pooled_b)]

    def discriminator_loss(self, inputs):
        """Both discriminators' least-squares losses, halved as the paper slows them down (sec. 4)."""
        real_a, real_b, pooled_a, pooled_b = inputs
        real_logits_b = tf.cast(self.discriminator(real_b, training=True), tf.float32)
        fake_logits_b = tf.cast(self.discriminator(pooled_b, training=True), tf.float32)
        real_logits_a = tf.cast(self.inverse_discriminator(real_a, training=True), tf.float32)
        fake_logits_a = tf.cast(self.inverse_discriminator(pooled_a, training=True), tf.float32)
        d_per_example = 0.5 * (losses_module.least_squares_discriminator_loss(real_logits_b, fake_logits_b)
                               + losses_module.least_squares_discriminator_loss(real_logits_a, fake_logits_a))
        return PhaseLoss(d_per_example, {"d_loss": tf.reduce_mean(d_per_example),
                                         "d_real": _mean(real_logits_a, real_logits_b),
                                         "d_fake": _mean(fake_logits_a, fake_logits_b)})

    def get_config(self):
        return {**super().get_config(), "cycle_weight": self.cycle_weight, "identity_weight": self.identity_weight,
                "pool_size": self.pool_size, "output_range": list(self.output_range), "seed": self.seed}
