"""Layers the networks need that Keras does not ship."""
import keras
import tensorflow as tf


@keras.saving.register_keras_serializable(package="tfgan_impl")
class Maxout(keras.layers.Layer):
    """Maxout units (Goodfellow et al. 2013, arXiv:1302.4389, eq. 1): the max over `num_pieces` affine pieces.

    Keras has no maxout layer; this is a `Dense` of `units * num_pieces` followed by a max over the pieces.

    Args:
        units: number of maxout units (outputs).
        num_pieces: affine pieces per unit.
        kernel_initializer, bias_initializer: initializers of the underlying dense layer.
        kernel_constraint: constraint of its kernel (e.g. `WeightClip`).
    """

    def __init__(self, units, num_pieces, kernel_initializer="glorot_uniform", bias_initializer="zeros",
                 kernel_constraint=None, **kwargs):
        super().__init__(**kwargs)
        self.units = int(units)
        self.num_pieces = int(num_pieces)
        self.kernel_initializer = keras.initializers.get(kernel_initializer)
        self.bias_initializer = keras.initializers.get(bias_initializer)
        self.kernel_constraint = keras.constraints.get(kernel_constraint)
        self.dense = keras.layers.Dense(self.units * self.num_pieces, kernel_initializer=self.kernel_initializer,
                                        bias_initializer=self.bias_initializer,
                                        kernel_constraint=self.kernel_constraint, name="pieces")

    def build(self, input_shape):
        self.dense.build(input_shape)

    def call(self, inputs):
        pieces = self.dense(inputs)
        pieces = keras.ops.reshape(pieces, (-1, self.units, self.num_pieces))
        return keras.ops.max(pieces, axis=-1)

    def compute_output_shape(self, input_shape):
        return (input_shape[0], self.units)

    def get_config(self):
        return {
            **super().get_config(),
            "units": self.units,
            "num_pieces": self.num_pieces,
            "kernel_initializer": keras.initializers.serialize(self.kernel_initializer),
            "bias_initializer": keras.initializers.serialize(self.bias_initializer),
            "kernel_constraint": keras.constraints.serialize(self.kernel_constraint),
        }


@keras.saving.register_keras_serializable(package="tfgan_impl")
class WeightClip(keras.constraints.Constraint):
    """Clips every weight to [-clip_value, clip_value] after each update: WGAN's Lipschitz constraint
    (Arjovsky et al. 2017, Algorithm 1, line 7, c = 0.01). Keras ships no clipping constraint.

    Args:
        clip_value: c, the bound on each weight's magnitude.
    """

    def __init__(self, clip_value=0.01):
        self.clip_value = float(clip_value)

    def __call__(self, weights):
        return keras.ops.clip(weights, -self.clip_value, self.clip_value)

    def get_config(self):
        return {"clip_value": self.clip_value}


@keras.saving.register_keras_serializable(package="tfgan_impl")
class MinibatchStdDev(keras.layers.Layer):
    """Minibatch standard deviation (Karras et al. 2018, arXiv:1710.10196, sec. 3): appends one feature holding
    the average standard deviation of the features across a group of examples, so the discriminator can see
    a lack of variety. Keras has no such layer.

    Each group of `group_size` consecutive examples (the whole batch when it does not divide evenly) shares the
    value. Works on feature vectors `[batch, d]` (appends a column) and images `[batch, H, W, C]` (appends a map).

    Args:
        group_size: examples per group.
        epsilon: added to the variance before the square root.
    """

    def __init__(self, group_size=4, epsilon=1e-8, **kwargs):
        super().__init__(**kwargs)
        self.group_size = int(group_size)
        self.epsilon = float(epsilon)

    def call(self, inputs):
        batch = tf.shape(inputs)[0]
        group = tf.where(batch % self.group_size == 0, self.group_size, batch)
        grouped = tf.reshape(tf.cast(inputs, tf.float32), tf.concat([[group, -1], tf.shape(inputs)[1:]], axis=0))
        _, variance = tf.nn.moments(grouped, axes=[0])  # [batch / group, ...]: group j holds rows i % (batch / group) == j
        per_group = tf.reduce_mean(tf.reshape(tf.sqrt(variance + self.epsilon), [tf.shape(variance)[0], -1]), axis=1)
        per_example = tf.tile(per_group, [group])
        feature = tf.reshape(per_example, [-1] + [1] * (inputs.shape.rank - 1))
        feature = tf.broadcast_to(feature, tf.concat([tf.shape(inputs)[:-1], [1]], axis=0))
        return tf.concat([inputs, tf.cast(feature, inputs.dtype)], axis=-1)

    def compute_output_shape(self, input_shape):
        return (*input_shape[:-1], None if input_shape[-1] is None else input_shape[-1] + 1)

    def get_config(self):
        return {**super().get_config(), "group_size": self.group_size, "epsilon": self.epsilon}


class LatentToImageShapes:
    """`input_shape` `(None, latent_dim)` and `output_shape` `(None, H, W, C)` of a subclassed generator of
    `latent_dim` noise to `image_shape` images, as a functional model reports them (exports and samplers read them;
    a subclassed `keras.Model` has no static shapes of its own)."""

    @property
    def input_shape(self):
        return (None, self.latent_dim)

    @property
    def output_shape(self):
        return (None, *self.image_shape)


@keras.saving.register_keras_serializable(package="tfgan_impl")
class NearestUpSampling2D(keras.layers.Layer):
    """2x nearest-neighbour up-sampling (each pixel becomes a 2x2 block) by a broadcast and a reshape, which keep
    every shape static. Keras's `UpSampling2D` repeats, which TFLite's converter cannot follow (its convolutions
    then need TF Select ops), and `tf.image.resize`'s gradient has no XLA kernel on CPU."""

    def call(self, x):
        height, width, channels = x.shape[1:]
        blocks = x[:, :, None, :, None, :] * keras.ops.ones((1, 1, 2, 1, 2, 1), dtype=x.dtype)
        return keras.ops.reshape(blocks, (-1, 2 * height, 2 * width, channels))

    def compute_output_shape(self, input_shape):
        batch, height, width, channels = input_shape
        return (batch, 2 * height, 2 * width, channels)


def static_channels(images):
    """The channels of `images`, static when they are known (a traced signature may leave them open)."""
    return images.shape[-1] if images.shape[-1] is not None else tf.shape(images)[-1]


@keras.saving.register_keras_serializable(package="tfgan_impl")
class NearestUpsampling(keras.layers.Layer):
    """Doubles the height and width by nearest neighbours. Keras's `UpSampling2D` repeats rows and columns, which
    loses the channels of images of any size in the TFLite converter, and XLA cannot differentiate a nearest
    resize: stacked copies, reshaped with the channels stated, do both."""

    def call(self, inputs):
        shape, channels = tf.shape(inputs), static_channels(inputs)
        columns = tf.reshape(tf.stack([inputs, inputs], axis=3), tf.stack([shape[0], shape[1], 2 * shape[2],
                                                                           channels]))
        return tf.reshape(tf.stack([columns, columns], axis=2), tf.stack([shape[0], 2 * shape[1], 2 * shape[2],
                                                                          channels]))

    def compute_output_shape(self, input_shape):
        doubled = lambda size: None if size is None else 2 * size  # noqa: E731
        return (input_shape[0], doubled(input_shape[1]), doubled(input_shape[2]), input_shape[3])


@keras.saving.register_keras_serializable(package="tfgan_impl")
class BatchNormalization(keras.layers.BatchNormalization):
    """Batch normalization (Ioffe & Szegedy 2015, arXiv:1502.03167, Algorithm 1) whose training pass is one kernel.

    Keras 3's layer builds the moments and the normalization from about ten separate ops each way (no fused
    kernel on any backend); a quarter of the default DCGAN step's op time on CPU went to them (docs/benchmarks.md).
    In training, on TensorFlow, with the channels last, no mask, no renormalization and no synchronization across
    replicas, this layer runs TensorFlow's `FusedBatchNormV3` instead: the same outputs, gradients and moving
    statistics to float32 rounding. Everything else (inference, exports, configs, weights and their names) is
    Keras's layer unchanged.
    """

    def call(self, inputs, training=None, mask=None):
        rank = len(inputs.shape)
        if (not (training and self.trainable) or mask is not None or self.renorm
                or getattr(self, "synchronized", False) or rank not in (2, 3, 4) or self.axis % rank != rank - 1
                or keras.backend.backend() != "tensorflow"):
            return super().call(inputs, training=training, mask=mask)
        channels = inputs.shape[-1]
        # Keras computes in float32 at least (float16 moments overflow); so does the fused kernel here.
        x = tf.cast(inputs, keras.backend.result_type(inputs.dtype, "float32"))
        x4 = x if rank == 4 else tf.reshape(x, [-1, 1, 1 if rank == 2 else tf.shape(x)[1], channels])
        gamma = tf.cast(self.gamma, x.dtype) if self.scale else tf.ones([channels], x.dtype)
        beta = tf.cast(self.beta, x.dtype) if self.center else tf.zeros([channels], x.dtype)
        y, mean, variance = tf.compat.v1.nn.fused_batch_norm(x4, gamma, beta, epsilon=self.epsilon,
                                                             data_format="NHWC", is_training=True)
        # The kernel returns the Bessel-corrected variance; Keras's moving average takes the biased one.
        count = tf.cast(tf.size(x4) // channels, variance.dtype)
        variance = variance * (count - 1.0) / count
        self.moving_mean.assign(tf.cast(self.moving_mean, x.dtype) * self.momentum + mean * (1.0 - self.momentum))
        self.moving_variance.assign(
            tf.cast(self.moving_variance, x.dtype) * self.momentum + variance * (1.0 - self.momentum))
        y = y if rank == 4 else tf.reshape(y, tf.shape(inputs))
        return tf.cast(y, self.compute_dtype)
