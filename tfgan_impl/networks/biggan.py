"""BigGAN's networks (Brock et al. 2019, arXiv:1809.11096, appendix B, fig. 15 and table 4): a ResNet generator
with class-conditional batch normalization fed by a shared class embedding and chunks of a hierarchical z, a ResNet
discriminator with projection conditioning (Miyato & Koyama 2018), self-attention blocks (SAGAN, Zhang et al.
2019), spectral normalization in both and orthogonal initialization.

The architectures follow the authors' BigGAN-PyTorch (`G_arch`, `D_arch`) resolution by resolution, so that the
128x128 networks at `channels=96` have the paper's sizes (70.4M and 88.0M parameters for 1,000 classes).
"""
import math

import keras
from keras import ops

from tfgan_impl.networks.layers import BatchNormalization, NearestUpSampling2D

# Channel multipliers of the authors' architectures, by resolution: the generator's block i maps
# generator[i] * channels to generator[i + 1] * channels; the discriminator's block i outputs
# discriminator[i] * channels and halves the resolution for the first `downsamplings` blocks.
ARCHITECTURES = {
    32: {"generator": [4, 4, 4, 4], "discriminator": [4, 4, 4, 4], "downsamplings": 2},
    64: {"generator": [16, 16, 8, 4, 2], "discriminator": [1, 2, 4, 8, 16], "downsamplings": 4},
    128: {"generator": [16, 16, 8, 4, 2, 1], "discriminator": [1, 2, 4, 8, 16, 16], "downsamplings": 5},
    256: {"generator": [16, 16, 8, 8, 4, 2, 1], "discriminator": [1, 2, 4, 8, 8, 16, 16], "downsamplings": 6},
    512: {"generator": [16, 16, 8, 8, 4, 2, 1, 1], "discriminator": [1, 1, 2, 4, 8, 8, 16, 16], "downsamplings": 7},
}
BOTTOM_WIDTH = 4  # the generator starts from 4x4


def _architecture(image_shape):
    image_shape = [int(d) for d in image_shape]
    if len(image_shape) != 3 or image_shape[0] != image_shape[1] or image_shape[0] not in ARCHITECTURES:
        raise ValueError(f"image_shape: BigGAN's architectures are square images of "
                         f"{', '.join(str(r) for r in ARCHITECTURES)} pixels, got {image_shape}")
    return image_shape, ARCHITECTURES[image_shape[0]]


def _check_attention(attention, resolutions):
    if attention is None:  # the paper's place, when the network has it
        return [64] if 64 in resolutions else []
    attention = [int(r) for r in ([attention] if isinstance(attention, (int, float)) else attention)]
    wrong = [r for r in attention if r not in resolutions]
    if wrong:
        raise ValueError(f"attention: resolutions must be among the blocks' outputs {sorted(set(resolutions))}, "
                         f"got {wrong}")
    return attention


def _spectral(layer, spectral_norm):
    return keras.layers.SpectralNormalization(layer) if spectral_norm else layer


@keras.saving.register_keras_serializable(package="tfgan_impl")
class ConditionalBatchNormalization(keras.layers.Layer):
    """Batch normalization whose gain and bias come from a conditioning vector (BigGAN, sec. 3 and appendix B:
    `x_hat * (1 + gain(c)) + bias(c)`, with `c` the shared class embedding joined to a chunk of z); without a
    conditioning input, plain batch normalization with learned gain and bias (the generator's output layer).

    It can also re-estimate its moving statistics ("standing statistics", BigGAN appendix C.1):
    `accumulate_standing_statistics` sets `standing_count`, and each call with a count n normalizes with the batch's
    moments and moves the stored statistics to the mean of the n batches seen, whatever the `training` flag (so
    spectral normalization's power iteration, which runs in training mode, is left alone).

    Args:
        conditional: whether the layer takes `[x, condition]` (else `x`).
        spectral_norm: spectrally normalize the gain and bias projections (the paper's generator does).
        momentum, epsilon: of the batch normalization (PyTorch's momentum 0.1 is Keras's 0.9).
    """

    def __init__(self, conditional=True, spectral_norm=True, momentum=0.9, epsilon=1e-5, **kwargs):
        super().__init__(**kwargs)
        self.conditional = bool(conditional)
        self.spectral_norm = bool(spectral_norm)
        self.momentum = float(momentum)
        self.epsilon = float(epsilon)
        self.standing_count = 0
        # Keras's layer: `networks.synchronize_batch_norm` finds it and makes its statistics global.
        self.normalization = BatchNormalization(
            momentum=self.momentum, epsilon=self.epsilon, center=not self.conditional, scale=not self.conditional,
            name="normalization")
        self.gain = self.bias = None

    def build(self, input_shape):
        x_shape = input_shape[0] if self.conditional else input_shape
        self.normalization.build(x_shape)
        if self.conditional:
            channels = int(x_shape[-1])
            self.gain = _spectral(keras.layers.Dense(channels, use_bias=False, kernel_initializer="orthogonal",
                                                     name="gain"), self.spectral_norm)
            self.bias = _spectral(keras.layers.Dense(channels, use_bias=False, kernel_initializer="orthogonal",
                                                     name="bias"), self.spectral_norm)
            self.gain.build(input_shape[1])
            self.bias.build(input_shape[1])

    def call(self, inputs, training=None):
        x, condition = inputs if self.conditional else (inputs, None)
        if self.standing_count:
            normalized = self._accumulate(x)
        else:
            normalized = self.normalization(x, training=training)
        if not self.conditional:
            return normalized
        gain = self.gain(condition, training=training)[:, None, None, :]
        bias = self.bias(condition, training=training)[:, None, None, :]
        return normalized * ops.cast(1.0 + gain, normalized.dtype) + ops.cast(bias, normalized.dtype)

    def _accumulate(self, x):
        layer = self.normalization
        values = ops.cast(x, "float32")
        mean, variance = ops.moments(values, axes=[0, 1, 2])
        weight = 1.0 / float(self.standing_count)  # the n-th batch's share of the mean over n batches
        layer.moving_mean.assign(layer.moving_mean + weight * (mean - layer.moving_mean))
        layer.moving_variance.assign(layer.moving_variance + weight * (variance - layer.moving_variance))
        normalized = (values - mean) * ops.rsqrt(variance + self.epsilon)
        if layer.scale:
            normalized = normalized * layer.gamma + layer.beta
        return ops.cast(normalized, x.dtype)

    def compute_output_shape(self, input_shape):
        return input_shape[0] if self.conditional else input_shape

    def get_config(self):
        return {**super().get_config(), "conditional": self.conditional, "spectral_norm": self.spectral_norm,
                "momentum": self.momentum, "epsilon": self.epsilon}


@keras.saving.register_keras_serializable(package="tfgan_impl")
class SelfAttention(keras.layers.Layer):
    """The self-attention (non-local) block of SAGAN (Zhang et al. 2019, arXiv:1805.08318, sec. 3, eqs. 1-3) as
    BigGAN uses it: 1x1 projections f (C/8), g (C/8, max-pooled 2x2) and h (C/2, max-pooled 2x2), attention
    beta = softmax over the pooled positions of f(x)_i . g(x)_j, output o = v(sum_j beta_ij h(x)_j) (1x1, back to
    C), and y = x + gamma o with gamma learned from 0.

    Args:
        spectral_norm: spectrally normalize the four projections (both BigGAN networks do).
    """

    def __init__(self, spectral_norm=True, **kwargs):
        super().__init__(**kwargs)
        self.spectral_norm = bool(spectral_norm)
        self.query = self.key = self.value = self.output_projection = None

    def build(self, input_shape):
        channels = int(input_shape[-1])
        if channels % 8 or input_shape[1] % 2 or input_shape[2] % 2:
            raise ValueError(f"attention: needs channels divisible by 8 and an even size, got input {input_shape}")

        def projection(filters, name):
            return _spectral(keras.layers.Conv2D(filters, 1, use_bias=False, kernel_initializer="orthogonal",
                                                 name=name), self.spectral_norm)

        self.query, self.key = projection(channels // 8, "query"), projection(channels // 8, "key")
        self.value, self.output_projection = projection(channels // 2, "value"), projection(channels, "output")
        for layer in (self.query, self.key, self.value):
            layer.build(input_shape)
        self.output_projection.build((*input_shape[:-1], channels // 2))
        self.gamma = self.add_weight(name="gamma", shape=(), initializer="zeros")

    def call(self, x, training=None):
        height, width, channels = x.shape[1:]
        positions, pooled = height * width, height * width // 4
        query = ops.reshape(self.query(x, training=training), (-1, positions, channels // 8))
        key = ops.reshape(ops.max_pool(self.key(x, training=training), 2, 2), (-1, pooled, channels // 8))
        value = ops.reshape(ops.max_pool(self.value(x, training=training), 2, 2), (-1, pooled, channels // 2))
        attention = ops.softmax(ops.matmul(query, ops.transpose(key, (0, 2, 1))), axis=-1)
        attended = ops.reshape(ops.matmul(attention, value), (-1, height, width, channels // 2))
        return x + ops.cast(self.gamma, x.dtype) * self.output_projection(attended, training=training)

    def compute_output_shape(self, input_shape):
        return input_shape

    def get_config(self):
        return {**super().get_config(), "spectral_norm": self.spectral_norm}


@keras.saving.register_keras_serializable(package="tfgan_impl")
class LatentChunks(keras.layers.Layer):
    """Splits z into `num_chunks` equal chunks: BigGAN's hierarchical latent space (sec. 4, "skip-z"), one chunk
    for the first layer and one for each residual block. Keras has no split layer."""

    def __init__(self, num_chunks, **kwargs):
        super().__init__(**kwargs)
        self.num_chunks = int(num_chunks)

    def call(self, z):
        return ops.split(z, self.num_chunks, axis=-1)

    def compute_output_shape(self, input_shape):
        return [(input_shape[0], input_shape[-1] // self.num_chunks)] * self.num_chunks

    def get_config(self):
        return {**super().get_config(), "num_chunks": self.num_chunks}


def _generator_block(x, condition, filters, spectral_norm, name):
    """BigGAN's up-sampling residual block (fig. 15b): CBN-ReLU-upsample-conv3x3-CBN-ReLU-conv3x3, plus an
    upsampled 1x1-conv shortcut."""
    def conv(size, label):
        return _spectral(keras.layers.Conv2D(filters, size, padding="same", kernel_initializer="orthogonal",
                                             name=f"{name}_{label}"), spectral_norm)

    h = keras.layers.ReLU()(ConditionalBatchNormalization(spectral_norm=spectral_norm,
                                                          name=f"{name}_bn1")([x, condition]))
    h = conv(3, "conv1")(NearestUpSampling2D()(h))  # the authors' F.interpolate
    h = keras.layers.ReLU()(ConditionalBatchNormalization(spectral_norm=spectral_norm,
                                                          name=f"{name}_bn2")([h, condition]))
    h = conv(3, "conv2")(h)
    shortcut = conv(1, "shortcut")(NearestUpSampling2D()(x))
    return keras.layers.Add()([h, shortcut])


def biggan_generator(latent_dim, image_shape, num_classes, channels=96, attention=None, shared_dim=128,
                     hierarchical=True, spectral_norm=True, output_activation="tanh"):
    """BigGAN's generator (Brock et al. 2019, table 4a and fig. 15a): z split into chunks (hierarchical latent),
    the first through a dense layer to 4x4, each of the others with the shared class embedding conditioning a
    residual block's batch normalizations; self-attention after the blocks at the `attention` resolutions; then
    BN-ReLU-conv3x3-tanh. Orthogonal initialization; spectral normalization of every layer but the embedding.

    Args:
        latent_dim: size of z; with `hierarchical`, a multiple of the number of blocks + 1.
        image_shape: `[R, R, C]` with R in `ARCHITECTURES` (32 to 512).
        num_classes: number of classes (>= 2).
        channels: the channel width multiplier `ch` (96 in the paper at 128x128).
        attention: output resolutions of the blocks followed by self-attention; by default 64 (the paper's) when
            a block has it, else none; `[]` for none.
        shared_dim: width of the shared class embedding (128).
        hierarchical: split z over the blocks; otherwise all of z feeds the dense layer and the embedding alone
            conditions the blocks.
        spectral_norm: spectrally normalize the generator's layers (the paper does).
        output_activation: `"tanh"` for data in [-1, 1].

    Returns:
        A Keras model of `[z, labels]` giving images `[batch, R, R, C]`.
    """
    (resolution, _, image_channels), architecture = _architecture(image_shape)
    multipliers = architecture["generator"]
    num_blocks = len(multipliers) - 1
    resolutions = [BOTTOM_WIDTH * 2 ** (i + 1) for i in range(num_blocks)]
    attention = _check_attention(attention, resolutions)
    if num_classes is None or int(num_classes) < 2:
        raise ValueError(f"num_classes: BigGAN is class-conditional; it needs at least 2 classes, got {num_classes}")
    latent_dim, channels = int(latent_dim), int(channels)
    slots = num_blocks + 1 if hierarchical else 1
    if latent_dim % slots:
        raise ValueError(f"latent_dim: a hierarchical z is split into {slots} equal chunks (one per block and one "
                         f"for the first layer); {latent_dim} is not a multiple of {slots}")
    z = keras.Input((latent_dim,), name="z")
    labels = keras.Input((), dtype="int32", name="labels")
    shared = keras.layers.Embedding(int(num_classes), int(shared_dim), embeddings_initializer="orthogonal",
                                    name="shared_embedding")(labels)
    chunks = LatentChunks(slots, name="latent_chunks")(z) if hierarchical else [z]
    width = multipliers[0] * channels
    h = _spectral(keras.layers.Dense(BOTTOM_WIDTH * BOTTOM_WIDTH * width, kernel_initializer="orthogonal",
                                     name="dense"), spectral_norm)(chunks[0])
    h = keras.layers.Reshape((BOTTOM_WIDTH, BOTTOM_WIDTH, width))(h)
    for index in range(num_blocks):
        condition = keras.layers.Concatenate()([shared, chunks[index + 1]]) if hierarchical else shared
        h = _generator_block(h, condition, multipliers[index + 1] * channels, spectral_norm, f"block{index}")
        if resolutions[index] in attention:
            h = SelfAttention(spectral_norm, name=f"attention{resolutions[index]}")(h)
    h = keras.layers.ReLU()(ConditionalBatchNormalization(conditional=False, name="output_bn")(h))
    outputs = _spectral(keras.layers.Conv2D(image_channels, 3, padding="same", kernel_initializer="orthogonal",
                                            name="output_conv"), spectral_norm)(h)
    outputs = keras.layers.Activation(output_activation, dtype="float32", name="images")(outputs)
    return keras.Model([z, labels], outputs, name="generator")


def _discriminator_block(x, filters, downsample, preactivation, name):
    """BigGAN's down-sampling residual block (fig. 15c, "wide": the hidden width is the output's):
    (ReLU)-conv3x3-ReLU-conv3x3(-avgpool), plus a 1x1-conv shortcut when the shape changes (before the pooling
    after a pre-activation, after it on the raw image, as the authors' `DBlock`)."""
    def conv(size, label):
        return keras.layers.SpectralNormalization(keras.layers.Conv2D(
            filters, size, padding="same", kernel_initializer="orthogonal", name=f"{name}_{label}"))

    h = keras.layers.ReLU()(x) if preactivation else x
    h = conv(3, "conv2")(keras.layers.ReLU()(conv(3, "conv1")(h)))
    if downsample:
        h = keras.layers.AveragePooling2D(2)(h)
    shortcut = x
    if downsample or int(x.shape[-1]) != filters:
        if preactivation:
            shortcut = conv(1, "shortcut")(shortcut)
            shortcut = keras.layers.AveragePooling2D(2)(shortcut) if downsample else shortcut
        else:
            shortcut = keras.layers.AveragePooling2D(2)(shortcut) if downsample else shortcut
            shortcut = conv(1, "shortcut")(shortcut)
    return keras.layers.Add()([h, shortcut])


def biggan_discriminator(image_shape, num_classes, channels=96, attention=None):
    """BigGAN's discriminator (Brock et al. 2019, table 4b and fig. 15c): residual blocks down to 4x4 (8x8 at 32),
    self-attention after the blocks at the `attention` resolutions, ReLU, global sum pooling, and the projection
    discriminator's output (Miyato & Koyama 2018, arXiv:1802.05637, eq. 3): `psi(h) + <embed(y), h>`. Spectral
    normalization everywhere, the class embedding included; orthogonal initialization.

    Args:
        image_shape: `[R, R, C]` with R in `ARCHITECTURES`.
        num_classes: number of classes (>= 2).
        channels: the channel width multiplier `ch`.
        attention: output resolutions of the blocks followed by self-attention; by default 64 when a block has
            it, else none.

    Returns:
        A Keras model of `[images, labels]` giving logits `[batch, 1]`; its layers `features` (the pooled h),
        `unconditional` (psi) and `class_embedding` are the projection's parts.
    """
    (resolution, _, _), architecture = _architecture(image_shape)
    multipliers, downsamplings = architecture["discriminator"], architecture["downsamplings"]
    resolutions = [resolution // 2 ** min(i + 1, downsamplings) for i in range(len(multipliers))]
    attention = _check_attention(attention, resolutions)
    if num_classes is None or int(num_classes) < 2:
        raise ValueError(f"num_classes: BigGAN is class-conditional; it needs at least 2 classes, got {num_classes}")
    images = keras.Input(tuple(int(d) for d in image_shape), name="images")
    labels = keras.Input((), dtype="int32", name="labels")
    h = images
    for index, multiplier in enumerate(multipliers):
        h = _discriminator_block(h, multiplier * int(channels), index < downsamplings, index > 0, f"block{index}")
        if resolutions[index] in attention and resolutions[index] not in resolutions[:index]:
            h = SelfAttention(name=f"attention{resolutions[index]}")(h)
    h = keras.layers.ReLU()(h)
    size = int(h.shape[1]) * int(h.shape[2])
    features = keras.layers.Rescaling(float(size), name="features")(keras.layers.GlobalAveragePooling2D()(h))
    unconditional = keras.layers.SpectralNormalization(keras.layers.Dense(
        1, kernel_initializer="orthogonal", name="unconditional_dense"), name="unconditional")(features)
    # The embedding as a dense map of one-hot labels: Keras's SpectralNormalization casts a wrapped layer's output
    # to its input's dtype, which turns an Embedding's vectors into the labels' integers.
    one_hot = keras.layers.CategoryEncoding(int(num_classes), output_mode="one_hot", name="one_hot")(labels)
    embedded = keras.layers.SpectralNormalization(keras.layers.Dense(
        int(features.shape[-1]), use_bias=False, kernel_initializer="orthogonal", name="embedding"),
        name="class_embedding")(one_hot)
    projection = keras.layers.Dot(axes=1, name="projection")([embedded, features])
    logits = keras.layers.Add(name="logits")([unconditional, projection])
    return keras.Model([images, labels], logits, name="discriminator")


def accumulate_standing_statistics(generator, batches):
    """Sets the moving statistics of every `ConditionalBatchNormalization` in `generator` to the mean of the batch
    statistics over `batches` (BigGAN appendix C.1, "standing statistics"; the authors'
    `accumulate_standing_stats`): the generator runs on each batch in inference mode (spectral normalization
    untouched) while those layers normalize by the batch's moments and accumulate them. Nothing else changes.

    Args:
        generator: a BigGAN generator.
        batches: an iterable of generator inputs (`[z, labels]`).

    Returns:
        The number of layers whose statistics were re-estimated.
    """
    layers = [layer for layer in generator._flatten_layers() if isinstance(layer, ConditionalBatchNormalization)]
    try:
        for count, inputs in enumerate(batches, start=1):
            for layer in layers:
                layer.standing_count = count
            generator(inputs, training=False)
    finally:
        for layer in layers:
            layer.standing_count = 0
    return len(layers)


def parameter_count(model):
    """The number of trainable parameters of `model` (the figure the paper's sizes count)."""
    return int(sum(math.prod(v.shape) for v in model.trainable_weights))
