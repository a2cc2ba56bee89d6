"""The GAN model: a `keras.Model` whose `train_step` is Algorithm 1 of Goodfellow et al. 2014."""
import random

import keras
import tensorflow as tf

if keras.backend.backend() != "tensorflow":
    raise ImportError(f"tfgan_impl needs the TensorFlow backend of Keras; KERAS_BACKEND is {keras.backend.backend()!r}")

from tfgan_impl import losses as losses_module

# Key under which `GAN.fit` hands `d_steps` stacked real batches to `train_step`.
REAL_BATCHES_KEY = "real_batches"


def group_real_batches(dataset, d_steps):
    """Groups `d_steps` consecutive batches of `dataset` into one element for a single `train_step`.

    Algorithm 1 of Goodfellow et al. 2014 draws a fresh real minibatch for each of its k discriminator
    updates. Batches are stacked on axis 1 (`[batch, d_steps, ...]`) so that `tf.distribute` still splits
    the batch axis across replicas.

    Args:
        dataset: a batched `tf.data.Dataset` of images or `(images, labels)`.
        d_steps: number of discriminator updates per generator update.

    Returns:
        A dataset of `{"real_batches": ...}` elements, one per generator update.
    """

    def stack(*element):
        element = element[0] if len(element) == 1 else element
        swapped = tf.nest.map_structure(
            lambda t: tf.transpose(t, [1, 0] + list(range(2, t.shape.rank))), element)
        return {REAL_BATCHES_KEY: swapped}

    return dataset.batch(d_steps, drop_remainder=True).map(stack)


def real_images_of(data):
    """The images of a dataset element: the element itself, or the first item of `(images, labels[, ...])`."""
    images, _, _ = keras.utils.unpack_x_y_sample_weight(data)
    return images


def _replica_position():
    context = tf.distribute.get_replica_context()
    if context is None:  # cross-replica context: a single stream of data
        return 0, 1
    return context.replica_id_in_sync_group, context.num_replicas_in_sync


@keras.saving.register_keras_serializable(package="tfgan_impl")
class GAN(keras.Model):
    """A generator and a discriminator trained adversarially with `fit` (Goodfellow et al. 2014, Algorithm 1).

    Calling the model on latent vectors runs the generator. `compile` takes one optimizer per network, the
    loss by name (see `tfgan_impl.losses.LOSSES`) and `d_steps`, the number k of discriminator updates per
    generator update. One `fit` step is one generator update.

    Args:
        generator: a Keras model mapping `[batch, latent_dim]` to samples.
        discriminator: a Keras model mapping samples to logits (`[batch, 1]` or any `[batch, ...]`).
        latent_dim: size of the standard-normal latent vector z.
        seed: integer seed of the latent noise stream; `None` picks one at random (and records it).
        output_range: `(low, high)` interval of the generator's outputs, used to map samples to data units
            ([0, 1] for images); `None` when samples already are in data units (e.g. 2-D points).
    """

    def __init__(self, generator, discriminator, latent_dim, seed=None, output_range=(-1.0, 1.0), **kwargs):
        super().__init__(**kwargs)
        self.generator = generator
        self.discriminator = discriminator
        self.latent_dim = int(latent_dim)
        self.seed = int(seed) if seed is not None else random.SystemRandom().randrange(2**31 - 1)
        self.output_range = None if output_range is None else tuple(float(v) for v in output_range)
        self.d_loss_tracker = keras.metrics.Mean(name="d_loss")
        self.g_loss_tracker = keras.metrics.Mean(name="g_loss")
        self.d_real_tracker = keras.metrics.Mean(name="d_real")
        self.d_fake_tracker = keras.metrics.Mean(name="d_fake")
        self.loss_name = None
        self.d_steps = 1
        self.build()

    def build(self, input_shape=None):
        if not self.generator.built:
            self.generator.build((None, self.latent_dim))
        if not self.discriminator.built:
            self.discriminator.build(self.generator.compute_output_shape((None, self.latent_dim)))
        self.built = True

    def call(self, z, training=False):
        return self.generator(z, training=training)

    def compile(self, d_optimizer, g_optimizer, loss="non_saturating", d_steps=1, **kwargs):
        """Configures adversarial training.

        Args:
            d_optimizer: optimizer (instance, name or config dict) of the discriminator.
            g_optimizer: optimizer of the generator.
            loss: name of a loss pair in `tfgan_impl.losses.LOSSES`, e.g. `"minimax"` (eq. 1) or
                `"non_saturating"` (the paper's practical choice).
            d_steps: k, the discriminator updates per generator update (Algorithm 1), each on its own real
                batch when `fit` is given a `tf.data.Dataset` (other inputs reuse one batch k times).
            **kwargs: passed to `keras.Model.compile` (`jit_compile`, `steps_per_execution`, `run_eagerly`).
        """
        if int(d_steps) < 1:
            raise ValueError(f"d_steps must be a positive integer, got {d_steps!r}")
        self.d_optimizer = keras.optimizers.get(d_optimizer)
        self.g_optimizer = keras.optimizers.get(g_optimizer)
        if self.d_optimizer is self.g_optimizer:
            raise ValueError("d_optimizer and g_optimizer must be two optimizer instances, got the same one twice")
        self.discriminator_loss_fn, self.generator_loss_fn = losses_module.get(loss)
        self.loss_name = loss
        self.d_steps = int(d_steps)
        # Keras reports and checkpoints `model.optimizer`; the generator's counts one `fit` step per update.
        super().compile(optimizer=self.g_optimizer, auto_scale_loss=False, **kwargs)
        self._compile_kwargs = dict(kwargs)

    @property
    def metrics(self):
        return [self.d_loss_tracker, self.g_loss_tracker, self.d_real_tracker, self.d_fake_tracker]

    def sample_latent(self, local_batch_size, counter, stream):
        """Draws z ~ N(0, I) for this replica from a stateless stream keyed by `(seed, counter, stream)`.

        The global batch of noise is drawn identically on every replica and each keeps its own slice, so no
        two replicas share a z and the noise of a step does not depend on the number of replicas. Keying by
        the optimizer's iteration counter makes a resumed run draw the noise the uninterrupted run would.

        Args:
            local_batch_size: rows of z for this replica.
            counter: an integer tensor that advances every update (an optimizer's `iterations`).
            stream: a small integer separating the discriminator's and generator's draws.

        Returns:
            A float32 tensor `[local_batch_size, latent_dim]`.
        """
        replica_id, num_replicas = _replica_position()
        seed = tf.stack([tf.constant(self.seed, tf.int64), tf.cast(counter, tf.int64) * 4 + stream])
        z = tf.random.stateless_normal([num_replicas, local_batch_size, self.latent_dim], seed=seed)
        return z[replica_id]

    def _scale(self, per_example_loss):
        # Sum over the replica's batch divided by the global batch: gradients summed across replicas then
        # equal the single-device mean, so the step does not grow with the number of replicas.
        _, num_replicas = _replica_position()
        global_batch_size = tf.cast(tf.shape(per_example_loss)[0] * num_replicas, tf.float32)
        return tf.reduce_sum(per_example_loss) / global_batch_size

    def _discriminator_step(self, real_images):
        batch_size = tf.shape(real_images)[0]
        z = self.sample_latent(batch_size, self.d_optimizer.iterations, stream=0)
        fake_images = self.generator(z, training=True)
        with tf.GradientTape() as tape:
            real_logits = self.discriminator(real_images, training=True)
            fake_logits = self.discriminator(fake_images, training=True)
            per_example_loss = self.discriminator_loss_fn(real_logits, fake_logits)
            loss = self._scale(per_example_loss)
        variables = self.discriminator.trainable_variables
        self.d_optimizer.apply_gradients(zip(tape.gradient(loss, variables), variables))
        self.d_loss_tracker.update_state(tf.reduce_mean(per_example_loss))
        self.d_real_tracker.update_state(tf.reduce_mean(tf.sigmoid(tf.cast(real_logits, tf.float32))))
        self.d_fake_tracker.update_state(tf.reduce_mean(tf.sigmoid(tf.cast(fake_logits, tf.float32))))

    def _generator_step(self, batch_size):
        z = self.sample_latent(batch_size, self.g_optimizer.iterations, stream=1)
        with tf.GradientTape() as tape:
            fake_logits = self.discriminator(self.generator(z, training=True), training=True)
            per_example_loss = self.generator_loss_fn(fake_logits)
            loss = self._scale(per_example_loss)
        variables = self.generator.trainable_variables
        self.g_optimizer.apply_gradients(zip(tape.gradient(loss, variables), variables))
        self.g_loss_tracker.update_state(tf.reduce_mean(per_example_loss))

    def _real_batches(self, data):
        if isinstance(data, dict) and REAL_BATCHES_KEY in data:
            stacked = data[REAL_BATCHES_KEY]
            return [tf.nest.map_structure(lambda t, i=i: t[:, i], stacked) for i in range(self.d_steps)]
        return [data] * self.d_steps

    def train_step(self, data):
        """One generator update after `d_steps` discriminator updates (Goodfellow et al. 2014, Algorithm 1)."""
        real_batches = self._real_batches(data)
        for real in real_batches:
            self._discriminator_step(real_images_of(real))
        self._generator_step(tf.shape(real_images_of(real_batches[-1]))[0])
        return {m.name: m.result() for m in self.metrics}

    def test_step(self, data):
        """Reports the training metrics on held-out real data without updating either network."""
        real_images = real_images_of(data)
        z = self.sample_latent(tf.shape(real_images)[0], self.g_optimizer.iterations, stream=2)
        real_logits = self.discriminator(real_images, training=False)
        fake_logits = self.discriminator(self.generator(z, training=False), training=False)
        self.d_loss_tracker.update_state(tf.reduce_mean(self.discriminator_loss_fn(real_logits, fake_logits)))
        self.g_loss_tracker.update_state(tf.reduce_mean(self.generator_loss_fn(fake_logits)))
        self.d_real_tracker.update_state(tf.reduce_mean(tf.sigmoid(tf.cast(real_logits, tf.float32))))
        self.d_fake_tracker.update_state(tf.reduce_mean(tf.sigmoid(tf.cast(fake_logits, tf.float32))))
        return {m.name: m.result() for m in self.metrics}

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
        if not self.compiled:
            raise RuntimeError("call GAN.compile(d_optimizer=..., g_optimizer=...) before fit()")
        if isinstance(x, tf.data.Dataset):
            kwargs.setdefault("shuffle", False)  # a dataset shuffles itself; Keras warns otherwise
            if self.d_steps > 1:
                x = group_real_batches(x, self.d_steps)
        return super().fit(x, y, **kwargs)

    def _maybe_symbolic_build(self, iterator=None, data_batch=None):
        # Keras peeks at a batch and reduces it eagerly here, which breaks under MultiWorkerMirroredStrategy
        # (keras-team/keras#20585); a GAN needs no data to build: networks are built and optimizers are
        # built on their own variables inside the strategy's scope.
        with self.distribute_strategy.scope():
            self.build_optimizers()

    def build_optimizers(self):
        """Creates both optimizers' slot variables (needed before loading optimizer state)."""
        if not self.d_optimizer.built:
            self.d_optimizer.build(self.discriminator.trainable_variables)
        if not self.g_optimizer.built:
            self.g_optimizer.build(self.generator.trainable_variables)

    def generate(self, num, seed=0, batch_size=256, stream=0):
        """Draws `num` samples in data units: images in [0, 1], other data in the data set's coordinates.

        Args:
            num: number of samples.
            seed: integer seed; the same seed gives the same samples.
            batch_size: generator batch size.
            stream: a second integer key, to draw independent chunks under one seed.

        Returns:
            A float32 numpy array `[num, ...]`.
        """
        z = tf.random.stateless_normal([int(num), self.latent_dim], seed=[int(seed), int(stream)])
        samples = self.generator.predict(z, batch_size=batch_size, verbose=0)
        return self.to_data_units(samples)

    def to_data_units(self, samples):
        """Maps generator outputs from `output_range` to [0, 1]; identity when `output_range` is None."""
        if self.output_range is None:
            return samples
        low, high = self.output_range
        return keras.ops.convert_to_numpy(
            keras.ops.clip((samples - low) / (high - low), 0.0, 1.0)).astype("float32")

    def get_config(self):
        return {
            **super().get_config(),
            "generator": keras.saving.serialize_keras_object(self.generator),
            "discriminator": keras.saving.serialize_keras_object(self.discriminator),
            "latent_dim": self.latent_dim,
            "seed": self.seed,
            "output_range": None if self.output_range is None else list(self.output_range),
        }

    @classmethod
    def from_config(cls, config):
        config = dict(config)
        config["generator"] = keras.saving.deserialize_keras_object(config["generator"])
        config["discriminator"] = keras.saving.deserialize_keras_object(config["discriminator"])
        return cls(**config)

    def get_compile_config(self):
        if not self.compiled:
            return {}
        return {
            "d_optimizer": keras.saving.serialize_keras_object(self.d_optimizer),
            "g_optimizer": keras.saving.serialize_keras_object(self.g_optimizer),
            "loss": self.loss_name,
            "d_steps": self.d_steps,
            **self._compile_kwargs,
        }

    def compile_from_config(self, config):
        config = dict(config)
        config["d_optimizer"] = keras.saving.deserialize_keras_object(config["d_optimizer"])
        config["g_optimizer"] = keras.saving.deserialize_keras_object(config["g_optimizer"])
        self.compile(**config)
        self.build_optimizers()
