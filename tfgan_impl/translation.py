"""Image-to-image translation: Pix2Pix on paired data (Isola et al. 2017, arXiv:1611.07004) and CycleGAN on
unpaired data (Zhu et al. 2017, arXiv:1703.10593)."""
import keras
import numpy as np
import tensorflow as tf

from tfgan_impl import distribute
from tfgan_impl import losses as losses_module
from tfgan_impl.adversarial import AdversarialModel


def _translate(model, generator, images, batch_size):
    low, high = model.output_range
    images = np.asarray(images, np.float32) * (high - low) + low
    outputs = [generator(images[start:start + batch_size], training=False)
               for start in range(0, len(images), batch_size)]
    return model.to_unit_interval(np.concatenate(outputs) if outputs else np.zeros((0,), np.float32))


@keras.saving.register_keras_serializable(package="tfgan_impl")
class Pix2Pix(AdversarialModel):
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

    def __init__(self, generator, discriminator, l1_weight=100.0, output_range=(-1.0, 1.0), **kwargs):
        super().__init__(**kwargs)
        self.generator = generator
        self.discriminator = discriminator
        if float(l1_weight) < 0:
            raise ValueError(f"l1_weight must be non-negative, got {l1_weight!r}")
        self.l1_weight = float(l1_weight)
        self.output_range = tuple(float(v) for v in output_range)
        self.d_loss_tracker = keras.metrics.Mean(name="d_loss")
        self.g_loss_tracker = keras.metrics.Mean(name="g_loss")
        self.g_adversarial_tracker = keras.metrics.Mean(name="g_adversarial")
        self.l1_tracker = keras.metrics.Mean(name="l1")
        self.d_real_tracker = keras.metrics.Mean(name="d_real")
        self.d_fake_tracker = keras.metrics.Mean(name="d_fake")
        self.build()

    def build(self, input_shape=None):
        image_shape = tuple(self.generator.input_shape[1:])
        output_shape = tuple(self.generator.output_shape[1:])
        if not self.discriminator.built:
            self.discriminator.build([(None, *image_shape), (None, *output_shape)])
        self.built = True

    def call(self, images, training=False):
        return self.generator(images, training=training)

    def compile(self, d_optimizer, g_optimizer, **kwargs):
        """Configures training: one optimizer per network (Adam, 2e-4, beta_1 0.5 in the paper, sec. 3.3);
        `**kwargs` go to `keras.Model.compile` (`jit_compile`, `steps_per_execution`)."""
        self._set_optimizers(d_optimizer, g_optimizer)
        super().compile(optimizer=self.g_optimizer, auto_scale_loss=False, **kwargs)
        self._compile_kwargs = dict(kwargs)

    @property
    def metrics(self):
        return [self.d_loss_tracker, self.g_loss_tracker, self.g_adversarial_tracker, self.l1_tracker,
                self.d_real_tracker, self.d_fake_tracker]

    @staticmethod
    def _pair(data):
        if not isinstance(data, (tuple, list)) or len(data) != 2:
            raise ValueError("Pix2Pix trains on (input images, target images) pairs")
        return data

    def _discriminator_gradients(self, sources, targets):
        """The discriminator's gradients on a batch of pairs, its mean loss and its logits."""
        outputs = self.generator(sources, training=True)
        with tf.GradientTape() as tape:
            real_logits = tf.cast(self.discriminator([sources, targets], training=True), tf.float32)
            fake_logits = tf.cast(self.discriminator([sources, outputs], training=True), tf.float32)
            d_per_example = 0.5 * losses_module.minimax_discriminator_loss(real_logits, fake_logits)
            d_loss = distribute.scale_to_global_batch(d_per_example)
        gradients = tape.gradient(self.d_optimizer.scale_loss(d_loss), self.discriminator.trainable_variables)
        return gradients, tf.reduce_mean(d_per_example), real_logits, fake_logits

    def _generator_gradients(self, sources, targets):
        """The generator's gradients and its mean loss, adversarial term and L1 term."""
        with tf.GradientTape() as tape:
            outputs = self.generator(sources, training=True)
            fake_logits = tf.cast(self.discriminator([sources, outputs], training=True), tf.float32)
            adversarial = losses_module.non_saturating_generator_loss(fake_logits)
            l1 = self._l1(targets, outputs)
            g_per_example = adversarial + self.l1_weight * l1
            g_loss = distribute.scale_to_global_batch(g_per_example)
        gradients = tape.gradient(self.g_optimizer.scale_loss(g_loss), self.generator.trainable_variables)
        return gradients, tf.reduce_mean(g_per_example), tf.reduce_mean(adversarial), tf.reduce_mean(l1)

    def train_step(self, data):
        """One discriminator and one generator update on a batch of pairs (Isola et al. 2017, eq. 4)."""
        sources, targets = self._pair(data)
        gradients, d_loss, real_logits, fake_logits = self._per_replica(self._discriminator_gradients)(
            sources, targets)
        self.d_optimizer.apply_gradients(zip(gradients, self.discriminator.trainable_variables))
        gradients, g_loss, adversarial, l1 = self._per_replica(self._generator_gradients)(sources, targets)
        self.g_optimizer.apply_gradients(zip(gradients, self.generator.trainable_variables))
        self.d_loss_tracker.update_state(d_loss)
        self.g_loss_tracker.update_state(g_loss)
        self.g_adversarial_tracker.update_state(adversarial)
        self.l1_tracker.update_state(l1)
        self.d_real_tracker.update_state(tf.reduce_mean(tf.sigmoid(real_logits)))
        self.d_fake_tracker.update_state(tf.reduce_mean(tf.sigmoid(fake_logits)))
        return self._logs()

    @staticmethod
    def _l1(targets, outputs):
        """Per-example mean absolute error, in the networks' units."""
        difference = tf.abs(tf.cast(targets, tf.float32) - tf.cast(outputs, tf.float32))
        return tf.reduce_mean(tf.reshape(difference, [tf.shape(difference)[0], -1]), axis=1)

    def test_step(self, data):
        """Held-out L1 of the translations (and the discriminator's view of them), without updates."""
        sources, targets = self._pair(data)
        outputs = self.generator(sources, training=False)
        real_logits = tf.cast(self.discriminator([sources, targets], training=False), tf.float32)
        fake_logits = tf.cast(self.discriminator([sources, outputs], training=False), tf.float32)
        adversarial = losses_module.non_saturating_generator_loss(fake_logits)
        l1 = self._l1(targets, outputs)
        self.d_loss_tracker.update_state(tf.reduce_mean(
            0.5 * losses_module.minimax_discriminator_loss(real_logits, fake_logits)))
        self.g_loss_tracker.update_state(tf.reduce_mean(adversarial + self.l1_weight * l1))
        self.g_adversarial_tracker.update_state(tf.reduce_mean(adversarial))
        self.l1_tracker.update_state(tf.reduce_mean(l1))
        self.d_real_tracker.update_state(tf.reduce_mean(tf.sigmoid(real_logits)))
        self.d_fake_tracker.update_state(tf.reduce_mean(tf.sigmoid(fake_logits)))
        return self._logs()

    def to_unit_interval(self, images):
        """Maps images from `output_range` to [0, 1], as numpy."""
        low, high = self.output_range
        return np.clip((keras.ops.convert_to_numpy(images).astype("float32") - low) / (high - low), 0.0, 1.0)

    def translate(self, images, batch_size=64):
        """Translates images given in [0, 1] (numpy `[n, H, W, C]`); returns the outputs in [0, 1]."""
        return _translate(self, self.generator, images, batch_size)

    def get_config(self):
        return {**super().get_config(), "l1_weight": self.l1_weight, "output_range": list(self.output_range)}



@keras.saving.register_keras_serializable(package="tfgan_impl")
class CycleGAN(AdversarialModel):
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

    def __init__(self, generator, discriminator, inverse_generator, inverse_discriminator, cycle_weight=10.0,
                 identity_weight=0.5, pool_size=50, output_range=(-1.0, 1.0), seed=0, **kwargs):
        super().__init__(**kwargs)
        self.generator, self.discriminator = generator, discriminator
        self.inverse_generator, self.inverse_discriminator = inverse_generator, inverse_discriminator
        for name, value in (("cycle_weight", cycle_weight), ("identity_weight", identity_weight),
                            ("pool_size", pool_size)):
            if float(value) < 0:
                raise ValueError(f"{name} must be non-negative, got {value!r}")
        self.cycle_weight, self.identity_weight = float(cycle_weight), float(identity_weight)
        self.pool_size, self.seed = int(pool_size), int(seed)
        self.output_range = tuple(float(v) for v in output_range)
        self.trackers = {name: keras.metrics.Mean(name=name) for name in (
            "d_loss", "g_loss", "g_adversarial", "cycle", "identity", "d_real", "d_fake")}
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

    def compile(self, d_optimizer, g_optimizer, **kwargs):
        """One optimizer for both discriminators, one for both generators (Adam 2e-4, beta_1 0.5 in the paper,
        with `tfgan_impl.schedules.ConstantThenLinearDecay`); `**kwargs` go to `keras.Model.compile`."""
        self._set_optimizers(d_optimizer, g_optimizer)
        super().compile(optimizer=self.g_optimizer, auto_scale_loss=False, **kwargs)
        self._compile_kwargs = dict(kwargs)

    @property
    def metrics(self):
        return list(self.trackers.values())

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

    def _generator_gradients(self, real_a, real_b):
        """Both generators' gradients, their translations of the batch, and the means of their loss terms."""
        l1 = Pix2Pix._l1
        with tf.GradientTape() as tape:
            fake_b = self.generator(real_a, training=True)
            fake_a = self.inverse_generator(real_b, training=True)
            logits_fake_b = tf.cast(self.discriminator(fake_b, training=True), tf.float32)
            logits_fake_a = tf.cast(self.inverse_discriminator(fake_a, training=True), tf.float32)
            adversarial = (losses_module.least_squares_generator_loss(logits_fake_b)
                           + losses_module.least_squares_generator_loss(logits_fake_a))
            cycle = (l1(real_a, self.inverse_generator(fake_b, training=True))
                     + l1(real_b, self.generator(fake_a, training=True)))
            identity = tf.zeros_like(cycle)
            if self.identity_weight:
                identity = (l1(real_b, self.generator(real_b, training=True))
                            + l1(real_a, self.inverse_generator(real_a, training=True)))
            g_per_example = adversarial + self.cycle_weight * (cycle + self.identity_weight * identity)
            g_loss = distribute.scale_to_global_batch(g_per_example)
        gradients = tape.gradient(self.g_optimizer.scale_loss(g_loss), self._variables(self.GENERATORS))
        means = [tf.reduce_mean(term) for term in (g_per_example, adversarial, cycle, identity)]
        return gradients, fake_a, fake_b, means

    def _discriminator_gradients(self, real_a, real_b, pooled_a, pooled_b):
        """Both discriminators' gradients, their mean loss, and the means of their logits on real and fake."""
        with tf.GradientTape() as tape:
            real_logits_b = tf.cast(self.discriminator(real_b, training=True), tf.float32)
            fake_logits_b = tf.cast(self.discriminator(pooled_b, training=True), tf.float32)
            real_logits_a = tf.cast(self.inverse_discriminator(real_a, training=True), tf.float32)
            fake_logits_a = tf.cast(self.inverse_discriminator(pooled_a, training=True), tf.float32)
            # Halved, as the paper slows the discriminators relative to the generators (sec. 4).
            d_per_example = 0.5 * (losses_module.least_squares_discriminator_loss(real_logits_b, fake_logits_b)
                                   + losses_module.least_squares_discriminator_loss(real_logits_a, fake_logits_a))
            d_loss = distribute.scale_to_global_batch(d_per_example)
        gradients = tape.gradient(self.d_optimizer.scale_loss(d_loss), self._variables(self.DISCRIMINATORS))

        def mean_of(*logits):
            return tf.reduce_mean(tf.concat([tf.reshape(value, [-1]) for value in logits], 0))

        return (gradients, tf.reduce_mean(d_per_example), mean_of(real_logits_a, real_logits_b),
                mean_of(fake_logits_a, fake_logits_b))

    def train_step(self, data):
        """Both generators' update, then both discriminators' (Zhu et al. 2017, eq. 3 with least squares)."""
        real_a, real_b = data
        gradients, fake_a, fake_b, (g_loss, adversarial, cycle, identity) = self._per_replica(
            self._generator_gradients)(real_a, real_b)
        self.g_optimizer.apply_gradients(zip(gradients, self._variables(self.GENERATORS)))
        # The pools are stateful and per replica: queried between the two compiled halves.
        pooled_b = self.query_pool("b", tf.cast(fake_b, real_b.dtype))
        pooled_a = self.query_pool("a", tf.cast(fake_a, real_a.dtype))
        gradients, d_loss, d_real, d_fake = self._per_replica(self._discriminator_gradients)(
            real_a, real_b, pooled_a, pooled_b)
        self.d_optimizer.apply_gradients(zip(gradients, self._variables(self.DISCRIMINATORS)))
        for name, value in (("d_loss", d_loss), ("g_loss", g_loss), ("g_adversarial", adversarial),
                            ("cycle", cycle), ("identity", identity), ("d_real", d_real), ("d_fake", d_fake)):
            self.trackers[name].update_state(value)
        return self._logs()

    to_unit_interval = Pix2Pix.to_unit_interval

    def translate(self, images, batch_size=64, inverse=False):
        """Translates images in [0, 1] from A to B (from B to A with `inverse`); returns them in [0, 1]."""
        return _translate(self, self.inverse_generator if inverse else self.generator, images, batch_size)

    def get_config(self):
        return {**super().get_config(), "cycle_weight": self.cycle_weight, "identity_weight": self.identity_weight,
                "pool_size": self.pool_size, "output_range": list(self.output_range), "seed": self.seed}
