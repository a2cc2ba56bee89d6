"""Sentence embeddings of captions for text-to-image GANs: a small text encoder trained with an image encoder on a
matching objective, in place of the char-CNN-RNN embeddings StackGAN consumed precomputed (Reed et al. 2016,
"Learning Deep Representations of Fine-Grained Visual Descriptions").

The objective is the symmetric contrastive loss of a batch's image-caption pairs (InfoNCE as CLIP uses it,
Radford et al. 2021, arXiv:2103.00020, fig. 3): each image must pick its own caption among the batch's, and each
caption its own image. The encoder takes raw strings (Keras's `TextVectorization` inside the model), so a saved
text encoder and the exports built on it take captions as they are written.
"""
import keras
import numpy as np
import tensorflow as tf

from tfgan_impl import distribute, pipelines


def caption_encoder(vocabulary, embedding_dim=128, word_dim=64, max_words=16):
    """Captions (strings) to unit-length sentence embeddings: words (lower-cased, punctuation stripped) ->
    embeddings -> their mean over the caption's words -> a dense layer.

    A mean of word vectors rather than a recurrent network: the captions are short and their meaning here is
    in which words they hold; it also exports to every format the generator does.

    Args:
        vocabulary: the words it knows (others map to one out-of-vocabulary token).
        embedding_dim: size of the sentence embedding.
        word_dim: size of the word embeddings.
        max_words: words read per caption.

    Returns:
        A Keras model from `[batch]` strings to `[batch, embedding_dim]`.
    """
    captions = keras.Input((), dtype="string", name="captions")
    words = keras.layers.TextVectorization(vocabulary=list(vocabulary), output_sequence_length=int(max_words),
                                           name="words")(captions)
    vectors = keras.layers.Embedding(len(vocabulary) + 2, int(word_dim), mask_zero=True, name="word_vectors")(words)
    pooled = keras.layers.GlobalAveragePooling1D(name="mean_of_words")(vectors)
    embedding = keras.layers.Dense(int(embedding_dim), name="sentence")(
        keras.layers.Dense(2 * int(embedding_dim), activation="relu")(pooled))
    return keras.Model(captions, keras.layers.UnitNormalization(name="unit")(embedding), name="caption_encoder")


def image_encoder(image_shape, embedding_dim=128, filters=32):
    """Images (in [-1, 1]) to unit-length embeddings: two strided convolutions and a dense layer; the partner the
    caption encoder learns to match, discarded after training."""
    images = keras.Input(tuple(image_shape), name="images")
    x = images
    for multiple in (1, 2):
        x = keras.layers.Conv2D(filters * multiple, 4, strides=2, padding="same")(x)
        x = keras.layers.LeakyReLU(0.2)(x)
    x = keras.layers.Dense(int(embedding_dim))(keras.layers.Flatten()(x))
    return keras.Model(images, keras.layers.UnitNormalization()(x), name="image_encoder")


def vocabulary_of(captions, max_tokens=None):
    """The sorted words of captions (lists of strings, or strings), as the encoder's `TextVectorization`
    splits them; with `max_tokens`, only the most frequent ones."""
    flat = [text for texts in captions for text in ([texts] if isinstance(texts, str) else texts)]
    layer = keras.layers.TextVectorization(max_tokens=None if max_tokens is None else int(max_tokens) + 2)
    layer.adapt(tf.constant(flat))
    return sorted(word for word in layer.get_vocabulary() if word not in ("", "[UNK]"))


def contrastive_matching_loss(image_embeddings, caption_embeddings, temperature=0.1):
    """The symmetric InfoNCE loss of matched pairs (CLIP, Radford et al. 2021, fig. 3): the cross-entropy of
    each image's similarities to the batch's captions against its own caption, and of each caption's to the
    images, averaged. Embeddings are unit length; per example, `[batch]`."""
    logits = tf.matmul(tf.cast(image_embeddings, tf.float32), tf.cast(caption_embeddings, tf.float32),
                       transpose_b=True) / temperature
    labels = tf.range(tf.shape(logits)[0])
    by_image = tf.nn.sparse_softmax_cross_entropy_with_logits(labels=labels, logits=logits)
    by_caption = tf.nn.sparse_softmax_cross_entropy_with_logits(labels=labels, logits=tf.transpose(logits))
    return 0.5 * (by_image + by_caption)


@keras.saving.register_keras_serializable(package="tfgan_impl")
class TextImageMatcher(keras.Model):
    """The caption encoder and an image encoder trained together with `fit` on `(images, captions)` batches
    (`contrastive_matching_loss`); `caption_encoder` is what text-to-image GANs keep."""

    def __init__(self, caption_encoder, image_encoder, temperature=0.1, **kwargs):
        super().__init__(**kwargs)
        self.caption_encoder, self.image_encoder = caption_encoder, image_encoder
        self.temperature = float(temperature)
        self.loss_tracker = keras.metrics.Mean(name="loss")
        self.accuracy_tracker = keras.metrics.Mean(name="match_accuracy")

    @property
    def metrics(self):
        return [self.loss_tracker, self.accuracy_tracker]

    def call(self, inputs, training=False):
        images, captions = inputs
        return self.image_encoder(images, training=training), self.caption_encoder(captions, training=training)

    def _matching(self, data, training):
        images, captions = data
        image_embeddings, caption_embeddings = self((images, captions), training=training)
        loss = contrastive_matching_loss(image_embeddings, caption_embeddings, self.temperature)
        similarities = tf.matmul(image_embeddings, caption_embeddings, transpose_b=True)
        picked = tf.argmax(similarities, axis=1, output_type=tf.int32)
        accuracy = tf.reduce_mean(tf.cast(picked == tf.range(tf.shape(picked)[0]), tf.float32))
        return loss, accuracy

    def train_step(self, data):
        with tf.GradientTape() as tape:
            loss, accuracy = self._matching(data, training=True)
            scaled = distribute.scale_to_global_batch(loss)  # the same step under any number of replicas
        variables = self.trainable_variables
        self.optimizer.apply_gradients(zip(tape.gradient(scaled, variables), variables))
        self.loss_tracker.update_state(loss)
        self.accuracy_tracker.update_state(accuracy)
        return {metric.name: metric.result() for metric in self.metrics}

    def test_step(self, data):
        loss, accuracy = self._matching(data, training=False)
        self.loss_tracker.update_state(loss)
        self.accuracy_tracker.update_state(accuracy)
        return {metric.name: metric.result() for metric in self.metrics}

    def get_config(self):
        return {**super().get_config(), "temperature": self.temperature,
                "caption_encoder": keras.saving.serialize_keras_object(self.caption_encoder),
                "image_encoder": keras.saving.serialize_keras_object(self.image_encoder)}

    @classmethod
    def from_config(cls, config):
        config = dict(config)
        for key in ("caption_encoder", "image_encoder"):
            config[key] = keras.saving.deserialize_keras_object(config[key])
        return cls(**config)


def matching_dataset(images, captions, batch_size, seed=0):
    """Batches of `(images in [-1, 1], captions)`: every caption of every image once per pass, shuffled (an image
    with k captions comes k times).

    Args:
        images: `[n, H, W, C]` in [0, 1].
        captions: `n` lists of strings.
        batch_size: pairs per batch.
        seed: seed of the shuffle.
    """
    owners = np.array([index for index, texts in enumerate(captions) for _ in texts], np.int64)
    texts = np.array([text for texts in captions for text in texts], dtype=str)
    images = tf.constant(np.asarray(images, np.float32) * 2.0 - 1.0)
    dataset = tf.data.Dataset.from_tensor_slices((owners, texts)).shuffle(len(texts), seed=seed)
    dataset = dataset.map(lambda owner, text: (tf.gather(images, owner), text)).batch(batch_size, drop_remainder=True)
    return pipelines.with_pipeline_options(dataset, shard_by_data=False)
