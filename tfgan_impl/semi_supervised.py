"""Semi-supervised GAN (Odena 2016, arXiv:1606.01583; Salimans et al. 2016, arXiv:1606.03498, sec. 5).

The discriminator is a K-class classifier; "real" is any of the K classes. Following Salimans et al., its K logits
l_1..l_K define D(x) = Z(x) / (Z(x) + 1) with Z(x) = sum_k exp(l_k), so the real/fake logit is logsumexp(l) and
no (K+1)-th output is needed. Unlabelled data trains it through the adversarial loss, a few labelled examples
through cross-entropy, and its class predictions are the classifier the method delivers.
"""
import keras
import numpy as np
import tensorflow as tf

from tfgan_impl import data as data_module
from tfgan_impl import averaging, distribute, pipelines
from tfgan_impl.adversarial import PhaseLoss, check_non_negative
from tfgan_impl.losses import feature_matching_loss
from tfgan_impl.gan import GAN

IMAGES, LABELLED_IMAGES, LABELS = "images", "labelled_images", "labels"
GENERATOR_IMAGES = "generator_images"  # feature matching's own unlabelled batch, when the dataset carries one
NOISE_LAYERS = (keras.layers.GaussianNoise, keras.layers.Dropout, keras.layers.GaussianDropout)


def labelled_subset(labels, per_class, seed=0):
    """Indices of `per_class` examples of each class, chosen at random with `seed` (the few labels of the method).

    Args:
        labels: integer labels of the whole training set.
        per_class: examples kept per class.
        seed: seed of the choice.

    Returns:
        A sorted int64 index array.
    """
    labels = np.asarray(labels)
    rng = np.random.default_rng(seed)
    chosen = []
    for label in np.unique(labels):
        members = np.flatnonzero(labels == label)
        if len(members) < per_class:
            raise ValueError(f"class {label} has {len(members)} examples, fewer than labels_per_class={per_class}")
        chosen.append(rng.choice(members, per_class, replace=False))
    return np.sort(np.concatenate(chosen))


def make_semi_supervised_dataset(source, batch_size, labels_per_class, output_range=(-1.0, 1.0), seed=0,
                                 shuffle_buffer=10_000, labelled_batch_size=None, generator_batch=False):
    """Batches of all training images (labels hidden) zipped with batches of the few labelled examples.

    Args:
        source: an opened in-memory labelled `tfgan_impl.data.Source` (IDX, npz, folder).
        batch_size: unlabelled images per batch.
        labels_per_class: labelled examples kept per class.
        output_range: the generator's output interval images are scaled to.
        seed: seed of the labelled subset and of the shuffling.
        shuffle_buffer: shuffle buffer of the unlabelled stream.
        labelled_batch_size: labelled examples per batch (default `batch_size`).
        generator_batch: also yield `"generator_images"`, a second batch of unlabelled images from a pass in
            another order, for the generator's feature matching (Salimans et al.'s code feeds it a second
            permutation of the training set, `trainx_unl2`).

    Returns:
        `(dataset, labelled_indices)`: a dataset of `{"images", "labelled_images", "labels"}` dicts (and
        `"generator_images"`), one pass over the unlabelled images per epoch, and the indices of the labelled
        examples in the training split.
    """
    if source.images is None or not source.has_labels:
        raise data_module.DataError(f"{source.name}: the semi-supervised GAN needs an in-memory labelled source "
                                    "(idx:, npz:, folder:, mnist, fashion_mnist)")
    chosen = labelled_subset(source.labels, labels_per_class, seed)
    unlabelled = data_module.make_dataset(source, batch_size, output_range=output_range, shuffle_buffer=shuffle_buffer,
                                          seed=seed)
    labelled_source = data_module.Source(f"{source.name} (labelled)", len(chosen), images=source.images[chosen],
                                         labels=source.labels[chosen], has_labels=True,
                                         num_classes=source.num_classes)
    labelled = data_module.make_dataset(labelled_source, min(labelled_batch_size or batch_size, len(chosen)),
                                        output_range=output_range, with_labels=True, shuffle_buffer=len(chosen),
                                        seed=seed).repeat()
    dataset = tf.data.Dataset.zip(unlabelled, labelled).map(
        lambda images, pair: {IMAGES: images, LABELLED_IMAGES: pair[0], LABELS: tf.cast(pair[1], tf.int32)})
    if generator_batch:
        another = data_module.make_dataset(source, batch_size, output_range=output_range,
                                           shuffle_buffer=shuffle_buffer, seed=None if seed is None else seed + 1)
        dataset = tf.data.Dataset.zip(dataset, another).map(lambda batch, images: {**batch, GENERATOR_IMAGES: images})
    return dataset, chosen


@keras.saving.register_keras_serializable(package="tfgan_impl")
class SemiSupervisedGAN(GAN):
    """A GAN whose discriminator is a K-class classifier (Salimans et al. 2016, sec. 5, eqs. 4-6).

    `fit` takes the dicts of `make_semi_supervised_dataset`. The discriminator minimizes the adversarial loss
    with logit logsumexp(l(x)) (L_unsupervised) plus `supervised_weight` times the cross-entropy of its K logits on
    the labelled batch (L_supervised); the generator's loss is the usual one on logsumexp(l(G(z))).

    Args:
        generator: a Keras model of z.
        discriminator: a Keras model mapping samples to K class logits (`conditioning="classes"`).
        latent_dim: size of z.
        num_classes: K.
        classifier_average: if set, a decay d in (0, 1): `classify` uses the average of the discriminator's
            weights over the run, each step's weights weighted by d^(steps since), the evaluation of Salimans et
            al. 2016's code (their rate 1e-4: d = 0.9999). The average is normalized (Adam's bias correction): it
            is a proper weighted mean from the first step on, where theirs starts at zero.
        **kwargs: `seed`, `output_range`, `ema_decay` and Keras options, as for `GAN`.
    """

    def __init__(self, generator, discriminator, latent_dim, num_classes, classifier_average=None, **kwargs):
        if int(kwargs.get("packing", 1)) != 1:
            raise ValueError("packing (PacGAN) is not available for the semi-supervised GAN")
        self.check_classifier_average(classifier_average)
        self.classifier_classes = int(num_classes)
        self.classifier_average = None if classifier_average is None else float(classifier_average)
        self.supervised_weight = 1.0
        self.generator_objective = "adversarial"
        self.average_discriminator = None
        super().__init__(generator, discriminator, latent_dim, **kwargs)

    def build(self, input_shape=None):
        super().build(input_shape)
        if self.classifier_average is not None and self.average_discriminator is None:
            self.average_discriminator = averaging.frozen_copy(self.discriminator)  # state is created in build

    @staticmethod
    def check_classifier_average(classifier_average):
        """The value rule of the constructor's `classifier_average`; raises `ValueError("classifier_average: ...")`."""
        if classifier_average is not None and not 0.0 < float(classifier_average) < 1.0:
            raise ValueError("classifier_average: expected a decay strictly between 0 and 1 (e.g. 0.9999), or null, "
                             f"got {classifier_average!r}")

    def end_step(self, carried):
        super().end_step(carried)
        if self.average_discriminator is not None:
            # Averaging from zero and dividing by 1 - d^n (n updates so far) is the running mean with rate
            # (1 - d) / (1 - d^n): the first update copies the weights, later ones weigh in as d^(n - k).
            decay = tf.constant(self.classifier_average, tf.float32)
            updates = tf.cast(self.d_optimizer.iterations // self.d_steps, tf.float32)
            averaging.average_weights(self.average_discriminator, self.discriminator,
                                      1.0 - (1.0 - decay) / (1.0 - tf.pow(decay, tf.maximum(updates, 1.0))),
                                      self.distribute_strategy)

    METRICS = GAN.METRICS + ("d_supervised_loss", "d_supervised_accuracy")
    GENERATOR_OBJECTIVES = ("adversarial", "feature_matching")

    def configure(self, supervised_weight=1.0, generator_objective="adversarial", **options):
        """As `GAN.configure`, with `supervised_weight`, the weight of the labelled cross-entropy, and
        `generator_objective`: `"adversarial"` (the compiled loss's generator term) or `"feature_matching"`
        (Salimans et al. 2016, sec. 3.1: match the mean features of the discriminator's last hidden layer, the
        objective of their semi-supervised results)."""
        check_non_negative(supervised_weight=supervised_weight)
        self.check_generator_objective(generator_objective, self.discriminator, options.get("update", "alternating"))
        self.supervised_weight = float(supervised_weight)
        self.generator_objective = generator_objective
        extra = {"generator_objective": generator_objective} if generator_objective != "adversarial" else {}
        return {**super().configure(**options), "supervised_weight": self.supervised_weight, **extra}

    @classmethod
    def check_generator_objective(cls, objective, discriminator=None, update="alternating"):
        """The value rule of `configure`'s `generator_objective`; raises `ValueError("generator_objective: ...")`."""
        if objective not in cls.GENERATOR_OBJECTIVES:
            raise ValueError(f"generator_objective: expected one of {', '.join(cls.GENERATOR_OBJECTIVES)}, "
                             f"got {objective!r}")
        if objective != "feature_matching":
            return
        if update != "alternating":
            raise ValueError(f"generator_objective: feature matching takes alternating updates, got {update!r}")
        if discriminator is not None and not (isinstance(discriminator, keras.Sequential)
                                              and len(discriminator.layers) >= 2):
            raise ValueError("generator_objective: feature matching needs a keras.Sequential discriminator whose "
                             f"last layer is the class head (as the library's networks build), got "
                             f"{type(discriminator).__name__} {discriminator.name!r}")

    def features(self, inputs, training=False):
        """f(x) of feature matching: the discriminator's activations below its class head (its last layer),
        taken before trailing noise or dropout layers, as the authors' code takes them (`layers[-3]`)."""
        layers = self.discriminator.layers[:-1]
        while layers and isinstance(layers[-1], NOISE_LAYERS):
            layers = layers[:-1]
        for layer in layers:
            inputs = layer(inputs, training=training)
        return tf.cast(tf.reshape(inputs, [tf.shape(inputs)[0], -1]), tf.float32)

    def generator_loss(self, real):
        """The generator's phase: the adversarial loss (`GAN.generator_loss`) or, with feature matching, the
        distance between the mean features of real images and of fresh samples (Salimans et al. 2016, sec. 3.1),
        the means taken over the global batch; the real images are the batch's `"generator_images"` when it
        carries them, else the discriminator's unlabelled batch of this step."""
        if self.generator_objective != "feature_matching":
            return super().generator_loss(real)
        if isinstance(real, dict) and GENERATOR_IMAGES in real:
            real_images = real[GENERATOR_IMAGES]
        else:
            real_images, _ = self._split(real)
        counter = self.g_optimizer.iterations
        z = self.sample_latent(tf.shape(real_images)[0], counter, "generator_latents")
        fake_inputs = self._discriminator_inputs(self._generate(z, None, training=True), counter,
                                                 "augment_fake_for_generator")
        real_inputs = self._discriminator_inputs(real_images, counter, "augment_real")
        real_features = tf.stop_gradient(self.features(real_inputs, training=True))
        fake_features = self.features(fake_inputs, training=True)
        # Each replica holds the whole loss on its rows; summed over the global batch it weighs 1/N per replica,
        # and the all-reduce's gradient brings every replica's share of the mean back (replica-count invariant).
        per_example = feature_matching_loss(real_features, fake_features,
                                            real_mean=distribute.global_batch_mean(real_features, axis=0),
                                            fake_mean=distribute.global_batch_mean(fake_features, axis=0))
        return PhaseLoss(per_example, {"g_loss": tf.reduce_mean(per_example)})

    def _split(self, data):
        if not isinstance(data, dict) or LABELLED_IMAGES not in data:
            return super()._split(data)  # evaluation on plain images
        return data[IMAGES], None

    def _discriminate(self, inputs, labels, training):
        class_logits = tf.cast(self.discriminator(inputs, training=training), tf.float32)
        return tf.reduce_logsumexp(class_logits, axis=-1, keepdims=True), class_logits

    def _supervised_losses(self, real):
        if not isinstance(real, dict) or LABELLED_IMAGES not in real:
            return [], {}
        class_logits = tf.cast(self.discriminator(real[LABELLED_IMAGES], training=True), tf.float32)
        labels = tf.cast(real[LABELS], tf.int32)
        per_example = tf.nn.sparse_softmax_cross_entropy_with_logits(labels=labels, logits=class_logits)
        accuracy = tf.reduce_mean(tf.cast(tf.equal(tf.argmax(class_logits, axis=-1, output_type=tf.int32), labels),
                                          tf.float32))
        return [self.supervised_weight * per_example], {"d_supervised_loss": tf.reduce_mean(per_example),
                                                         "d_supervised_accuracy": accuracy}

    def classify(self, images, batch_size=256):
        """Class predictions of the discriminator (its weights' average with `classifier_average`) for images in
        the generator's output range, `[n]` int."""
        network = self.average_discriminator if self.average_discriminator is not None else self.discriminator
        logits = network.predict(pipelines.prediction_batches(images, batch_size), verbose=0)
        return np.argmax(logits, axis=-1)

    def get_config(self):
        return {**super().get_config(), "num_classes": self.classifier_classes,
                **({"classifier_average": self.classifier_average} if self.classifier_average is not None else {})}
