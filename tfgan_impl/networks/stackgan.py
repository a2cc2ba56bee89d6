"""StackGAN's networks (Zhang et al. 2017, "StackGAN: Text to Photo-realistic Image Synthesis with Stacked
Generative Adversarial Networks", arXiv:1612.03242)."""
import keras
import tensorflow as tf

from tfgan_impl.networks.layers import BatchNormalization, NearestUpsampling

MAX_LOG_SIGMA = 5.0


@keras.saving.register_keras_serializable(package="tfgan_impl")
class ConditioningAugmentation(keras.layers.Layer):
    """Conditioning augmentation (StackGAN sec. 3.1): a text embedding phi_t gives the mean mu(phi_t) and diagonal
    standard deviation sigma(phi_t) of a Gaussian, and the generator is conditioned on c = mu + sigma * epsilon,
    which smooths the conditioning manifold of the few captions a data set has.

    The noise epsilon ~ N(0, I) is an input, like z, so that the network is a function of its inputs: exports
    are deterministic and the model's seeded noise makes resumed runs draw the same values.

    Args:
        dim: N_g, the size of c (128 in the paper).

    Call arguments:
        inputs: `[embedding [batch, E], epsilon [batch, dim]]`.

    Returns:
        `(c, mu, log_sigma)`, each `[batch, dim]`; the KL term takes `mu` and `log_sigma`
        (`tfgan_impl.stackgan.conditioning_augmentation_kl`).
    """

    def __init__(self, dim=128, **kwargs):
        super().__init__(**kwargs)
        self.dim = int(dim)
        # One dense layer with a leaky ReLU to both halves, as the authors' code does.
        self.moments = keras.layers.Dense(2 * self.dim, name="moments")

    def build(self, input_shape):
        self.moments.build(input_shape[0])
        self.built = True

    def call(self, inputs):
        embedding, epsilon = inputs
        moments = tf.nn.leaky_relu(self.moments(embedding), 0.2)
        # Bounded (sigma <= e^5) so that a diverging step cannot overflow exp(2 log sigma) into a NaN KL term.
        mu, log_sigma = moments[:, :self.dim], tf.minimum(moments[:, self.dim:], MAX_LOG_SIGMA)
        return mu + tf.exp(log_sigma) * tf.cast(epsilon, mu.dtype), mu, log_sigma

    def compute_output_shape(self, input_shape):
        shape = (input_shape[0][0], self.dim)
        return shape, shape, shape

    def get_config(self):
        return {**super().get_config(), "dim": self.dim}


@keras.saving.register_keras_serializable(package="tfgan_impl")
class SpatialReplicate(keras.layers.Layer):
    """`[batch, D]` vectors replicated over the positions of a `[batch, H, W, C]` feature map, `[batch, H, W, D]`:
    how StackGAN joins text to image features (sec. 3.4, "spatially replicated")."""

    def call(self, inputs):
        vectors, features = inputs
        shape = tf.shape(features)
        return tf.tile(vectors[:, None, None, :], tf.stack([1, shape[1], shape[2], 1]))

    def compute_output_shape(self, input_shape):
        vectors, features = input_shape
        return (vectors[0], features[1], features[2], vectors[-1])


def _upsampling_block(x, filters):
    """StackGAN's upsampling: nearest-neighbour x2, 3x3 convolution, batch norm, ReLU (sec. 3.4); `NearestUpsampling`
    rather than `UpSampling2D`, which TFLite's converter fails on twice in a row."""
    x = NearestUpsampling()(x)
    x = keras.layers.Conv2D(filters, 3, padding="same", use_bias=False)(x)
    return keras.layers.ReLU()(BatchNormalization()(x))


def _residual_block(x, filters):
    y = keras.layers.Conv2D(filters, 3, padding="same", use_bias=False)(x)
    y = keras.layers.ReLU()(BatchNormalization()(y))
    y = BatchNormalization()(keras.layers.Conv2D(filters, 3, padding="same", use_bias=False)(y))
    return keras.layers.ReLU()(keras.layers.Add()([x, y]))


def _halvings(size, smallest=4):
    from tfgan_impl.networks.dcgan import _num_upsamplings

    count = _num_upsamplings(size)
    if count == 0 or size // 2 ** count < smallest - 1:
        raise ValueError(f"image size {size}: StackGAN's networks need an even size of at least 8")
    return count


def stage1_generator(latent_dim=100, embedding_dim=128, image_shape=(64, 64, 3), condition_dim=128, filters=64):
    """StackGAN's Stage-I generator (sec. 3.2 and 3.4): c_0 from conditioning augmentation, concatenated with z,
    a dense projection to the smallest feature map, then upsampling blocks to the low-resolution image (tanh).

    Args:
        latent_dim: size of z (100 in the paper).
        embedding_dim: size of the text embedding phi_t.
        image_shape: `[H, W, C]` of the Stage-I images (64x64 in the paper), square and even.
        condition_dim: N_g, the size of c_0 (128).
        filters: filters of the last block; each earlier block has twice its successor's.

    Returns:
        A Keras model of `[z, embedding, epsilon]` to `[images, mu, log_sigma]`.
    """
    size, channels = int(image_shape[0]), int(image_shape[-1])
    upsamplings = _halvings(size)
    start = size // 2 ** upsamplings
    z = keras.Input((int(latent_dim),), name="z")
    embedding = keras.Input((int(embedding_dim),), name="embedding")
    epsilon = keras.Input((int(condition_dim),), name="epsilon")
    c, mu, log_sigma = ConditioningAugmentation(condition_dim, name="conditioning_augmentation")([embedding, epsilon])
    width = int(filters) * 2 ** upsamplings
    x = keras.layers.Dense(start * start * width, use_bias=False)(keras.layers.Concatenate()([c, z]))
    x = keras.layers.Reshape((start, start, width))(keras.layers.ReLU()(BatchNormalization()(x)))
    for block in range(upsamplings):
        x = _upsampling_block(x, width // 2 ** (block + 1))
    images = keras.layers.Conv2D(channels, 3, padding="same", activation="tanh", dtype="float32", name="images")(x)
    return keras.Model([z, embedding, epsilon], [images, mu, log_sigma], name="stage1_generator")


def stage2_generator(low_shape=(64, 64, 3), image_shape=(256, 256, 3), embedding_dim=128, condition_dim=128,
                     filters=64, num_residual=2):
    """StackGAN's Stage-II generator (sec. 3.3 and 3.4): the Stage-I image encoded by strided convolutions to
    a small map, joined with its own c (a second conditioning augmentation, spatially replicated), residual
    blocks, then upsampling blocks to the high-resolution image, which corrects Stage-I's defects and adds
    detail.

    Args:
        low_shape, image_shape: `[H, W, C]` of the Stage-I and Stage-II images; the scale is a power of two.
        embedding_dim, condition_dim: as for `stage1_generator`.
        filters: filters of the encoder's first convolution; the joined map has 4 times as many.
        num_residual: residual blocks (4 in the paper).

    Returns:
        A Keras model of `[low-resolution images, embedding, epsilon]` to `[images, mu, log_sigma]`.
    """
    low_size, size, channels = int(low_shape[0]), int(image_shape[0]), int(image_shape[-1])
    scale = size // low_size
    if size % low_size or scale < 2 or scale & (scale - 1):
        raise ValueError(f"image_shape: Stage-II's size {size} must be a power-of-two multiple of Stage-I's "
                         f"{low_size}")
    halvings = 1 if low_size % 2 else min(2, _halvings(low_size))
    low = keras.Input(tuple(int(d) for d in low_shape), name="low_resolution")
    embedding = keras.Input((int(embedding_dim),), name="embedding")
    epsilon = keras.Input((int(condition_dim),), name="epsilon")
    c, mu, log_sigma = ConditioningAugmentation(condition_dim, name="conditioning_augmentation")([embedding, epsilon])
    x = keras.layers.ReLU()(keras.layers.Conv2D(int(filters), 3, padding="same")(low))
    width = int(filters)
    for _ in range(halvings):
        width *= 2
        x = keras.layers.Conv2D(width, 4, strides=2, padding="same", use_bias=False)(x)
        x = keras.layers.ReLU()(BatchNormalization()(x))
    x = keras.layers.Concatenate()([x, SpatialReplicate()([c, x])])
    x = keras.layers.Conv2D(width, 3, padding="same", use_bias=False)(x)
    x = keras.layers.ReLU()(BatchNormalization()(x))
    for _ in range(int(num_residual)):
        x = _residual_block(x, width)
    for _ in range(halvings + scale.bit_length() - 1):
        width = max(int(filters) // 2, width // 2)
        x = _upsampling_block(x, width)
    if x.shape[1] != size:  # an odd Stage-I size: the encoder's "same" padding rounded up
        x = keras.layers.Resizing(size, size, interpolation="nearest")(x)
    images = keras.layers.Conv2D(channels, 3, padding="same", activation="tanh", dtype="float32", name="images")(x)
    return keras.Model([low, embedding, epsilon], [images, mu, log_sigma], name="stage2_generator")


def stackgan_discriminator(image_shape=(64, 64, 3), embedding_dim=128, filters=64, text_dim=128, name=None):
    """StackGAN's discriminators (sec. 3.4): strided 4x4 convolutions (batch norm and LeakyReLU 0.2, none on the
    first) down to a map of side M_d <= 4; the text embedding compressed by a dense layer to N_d (`text_dim`),
    spatially replicated and concatenated; a 1x1 convolution and one logit: D judges image and text together,
    which the matching-aware loss needs.

    Args:
        image_shape: `[H, W, C]` of the images it judges.
        embedding_dim: size of the text embedding.
        filters: filters of the first convolution, doubled at each.
        text_dim: N_d (128 in the paper).
        name: the model's name.

    Returns:
        A Keras model of `[images, embedding]` to logits `[batch, 1]`.
    """
    images = keras.Input(tuple(int(d) for d in image_shape), name="images")
    embedding = keras.Input((int(embedding_dim),), name="embedding")
    x, width = images, int(filters)
    while x.shape[1] > 4:
        x = keras.layers.Conv2D(width, 4, strides=2, padding="same", use_bias=x is not images)(x)
        if x is not images and width != int(filters):
            x = BatchNormalization()(x)
        x = keras.layers.LeakyReLU(0.2)(x)
        width *= 2
    text = keras.layers.LeakyReLU(0.2)(keras.layers.Dense(int(text_dim))(embedding))
    x = keras.layers.Concatenate()([x, SpatialReplicate()([text, x])])
    x = keras.layers.Conv2D(width // 2, 1, use_bias=False)(x)
    x = keras.layers.LeakyReLU(0.2)(BatchNormalization()(x))
    logits = keras.layers.Dense(1, dtype="float32")(keras.layers.Flatten()(x))
    return keras.Model([images, embedding], logits, name=name or "stackgan_discriminator")


def stackgan_generator(latent_dim=100, sentence_dim=128, image_shape=(256, 256, 3), stages=2, stage1_size=None,
                       condition_dim=128, filters=64, stage2_filters=None, num_residual=2):
    """StackGAN's generators for images of `image_shape`: `(Stage-I, Stage-II)`, or `(Stage-I, None)` for one stage
    (Stage-I then draws at `image_shape`).

    Args:
        latent_dim, condition_dim: as for `stage1_generator`.
        sentence_dim: size of the text embedding (`stage1_generator`'s `embedding_dim`).
        image_shape: `[H, W, C]` of the final images.
        stages: 1 or 2.
        stage1_size: Stage-I's side with two stages; by default a quarter of the final side (the paper's 64 of 256).
        filters: Stage-I's `filters`.
        stage2_filters: Stage-II's `filters` (by default Stage-I's).
        num_residual: Stage-II's residual blocks.
    """
    size, channels = int(image_shape[0]), int(image_shape[-1])
    if int(stages) not in (1, 2):
        raise ValueError(f"stages: expected 1 or 2, got {stages}")
    if int(stages) == 1:
        return stage1_generator(latent_dim, sentence_dim, (size, size, channels), condition_dim, filters), None
    low = (int(stage1_size or size // 4),) * 2 + (channels,)
    return (stage1_generator(latent_dim, sentence_dim, low, condition_dim, filters),
            stage2_generator(low, (size, size, channels), sentence_dim, condition_dim,
                             filters if stage2_filters is None else stage2_filters, num_residual))


def stackgan_discriminators(image_shapes, sentence_dim=128, filters=64, text_dim=128):
    """A `stackgan_discriminator` per stage, for the images of each of `image_shapes` (lowest resolution first) and
    text embeddings of `sentence_dim`: `(Stage-I's, Stage-II's or None)`."""
    built = [stackgan_discriminator(shape, sentence_dim, filters, text_dim, name=f"stage{index + 1}_discriminator")
             for index, shape in enumerate(image_shapes)]
    return built[0], (built[1] if len(built) > 1 else None)
