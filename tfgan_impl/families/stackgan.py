"""The family `stackgan`: text-to-image synthesis in two stages (StackGAN, Zhang et al. 2017, arXiv:1612.03242) on
`tfgan_impl.stackgan.StackGAN`, the networks of `tfgan_impl.networks.stackgan`, and captions either encoded by a
text encoder trained at the run's start (`tfgan_impl.text`) or given as precomputed embeddings."""
import dataclasses
import os
import typing

import keras
import numpy as np
import tensorflow as tf

from tfgan_impl import captions as captions_module
from tfgan_impl import data as data_module
from tfgan_impl import families, networks, pipelines, ranges, text
from tfgan_impl.adversarial import check_non_negative
from tfgan_impl.errors import ConfigError, DataError, UserError
from tfgan_impl.families import Family, TrainingData, option
from tfgan_impl.samplers import TextSampler
from tfgan_impl.stackgan import STAGES, StackGAN, StageSchedule

SCHEDULES = ("sequential", *STAGES)
NETWORK_NAME = "stackgan"


@dataclasses.dataclass
class StackGANOptions:
    """Keys of `stackgan` configs."""

    text_embedding_dim: int = option(128)  # the trained text encoder's sentence embedding
    text_word_dim: int = option(64)
    text_max_words: int = option(16)
    text_vocabulary: int = option(10_000)  # the most frequent words kept
    captions: str = option("attributes", section="data")  # attributes, tfds, folder, or a captions file's path
    captions_per_image: int = option(3, section="data")  # attributes: captions written per image
    # .npy `[n, E]` or `[n, k, E]`, or .npz with `embeddings` (and `captions`): precomputed, no text encoder
    embeddings: typing.Optional[str] = option(None, section="data")
    kl_weight: float = option(1.0, section="train")  # lambda of eq. 6
    schedule: str = option("sequential", section="train")  # sequential (Stage-I, then Stage-II), stage1, stage2, joint
    stage2_epoch: typing.Optional[int] = option(None, section="train")  # sequential: Stage-II's first epoch
    text_epochs: int = option(3, section="train")  # the text encoder's epochs of the matching objective
    text_learning_rate: float = option(2e-3, section="train")


def validate(config):
    options, model = config.options, config.model
    for kind in ("generator", "discriminator"):
        name = getattr(model, kind).get("name")
        if name != NETWORK_NAME:
            raise ConfigError(f"model.{kind}.name: model.type stackgan builds StackGAN's networks: set "
                              f"{NETWORK_NAME!r}, got {name!r}")
    if model.output_range is None:
        raise ConfigError("model.output_range: model.type stackgan needs an image range, e.g. [-1, 1], not null")
    if config.evaluate.metrics:
        raise ConfigError("evaluate.metrics: the sample metrics score generators of noise; a text-to-image run is "
                          "scored on captions (bench/stackgan.py)")
    if options.schedule not in SCHEDULES:
        raise ConfigError(f"train.schedule: expected one of {', '.join(SCHEDULES)}, got {options.schedule!r}")
    if options.schedule != "stage1" and not two_stages(config):
        raise ConfigError(f"train.schedule: {options.schedule!r} trains Stage-II, and model.generator.stages is 1")
    train = config.train
    if train.loss != "non_saturating" or train.d_steps != 1 or train.penalties or train.augment or \
            train.label_smoothing:
        raise ConfigError("train: StackGAN trains with the non-saturating loss, one discriminator step, no penalties, "
                          "augmentation or label smoothing (train.loss, d_steps, penalties, augment, label_smoothing)")
    if options.stage2_epoch is not None and options.stage2_epoch < 1:  # beyond train.epochs: a later resume's
        raise ConfigError(f"train.stage2_epoch: expected an epoch of at least 1, got {options.stage2_epoch}")
    if options.embeddings is None and options.captions not in ("attributes", "tfds", "folder") \
            and not os.path.isfile(options.captions):
        raise ConfigError(f"data.captions: expected attributes, tfds, folder or a captions file, got "
                          f"{options.captions!r} (no such file)")
    if not 1 <= options.captions_per_image <= len(captions_module.PHRASINGS):
        raise ConfigError(f"data.captions_per_image: expected 1 to {len(captions_module.PHRASINGS)}, got "
                          f"{options.captions_per_image}")
    families.check("train", check_non_negative, kl_weight=options.kl_weight, text_epochs=options.text_epochs)


def two_stages(config):
    """Whether the config's generator has Stage-II."""
    return int(config.model.generator.get("stages", 2)) == 2


def stage2_epoch(config):
    """The first epoch of Stage-II in the sequential schedule (by default half the run's)."""
    return config.options.stage2_epoch or max(1, config.train.epochs // 2)


def load_embeddings(path, num_images):
    """Precomputed embeddings: `(embeddings [m, E] float32, owners [m] image indices, captions or None)`."""
    try:
        loaded = np.load(path, allow_pickle=False)
    except (OSError, ValueError) as error:
        raise DataError(f"data.embeddings: {path}: not a readable .npy or .npz file ({error})") from None
    written = None
    if isinstance(loaded, np.lib.npyio.NpzFile):
        if "embeddings" not in loaded.files:
            raise DataError(f"data.embeddings: {path}: no array 'embeddings' (it holds {', '.join(loaded.files)})")
        written = loaded["captions"] if "captions" in loaded.files else None
        loaded = loaded["embeddings"]
    if loaded.ndim == 2:
        loaded = loaded[:, None]
    if loaded.ndim != 3 or len(loaded) != num_images:
        raise DataError(f"data.embeddings: {path}: expected [{num_images}, E] or [{num_images}, captions, E] "
                        f"(one row per image of the source), got {list(loaded.shape)}")
    if written is not None and written.shape[:2] != loaded.shape[:2]:
        raise DataError(f"data.embeddings: {path}: 'captions' {list(written.shape)} does not match the embeddings' "
                        f"{list(loaded.shape[:2])}")
    owners = np.repeat(np.arange(num_images), loaded.shape[1])
    texts = None if written is None else [[str(t) for t in row] for row in written]
    return loaded.reshape(-1, loaded.shape[-1]).astype(np.float32), owners, texts


def train_text_encoder(config, images, written):
    """The caption encoder trained with an image encoder on the matching objective (`text.TextImageMatcher`) for
    `train.text_epochs` epochs; returns `(encoder, vocabulary, final match accuracy)`."""
    options = config.options
    vocabulary = text.vocabulary_of(written, max_tokens=options.text_vocabulary)
    keras.utils.set_random_seed(config.seed)
    encoder = text.caption_encoder(vocabulary, options.text_embedding_dim, options.text_word_dim,
                                   options.text_max_words)
    matcher = text.TextImageMatcher(encoder, text.image_encoder(images.shape[1:], options.text_embedding_dim))
    matcher.compile(optimizer=keras.optimizers.Adam(options.text_learning_rate))
    batch_size = min(config.data.batch_size, len(images))
    history = matcher.fit(text.matching_dataset(images.astype(np.float32) / 255.0, written, batch_size,
                                                seed=config.seed), epochs=max(options.text_epochs, 0), verbose=0,
                          shuffle=False)  # the dataset shuffles itself
    accuracy = history.history["match_accuracy"][-1] if options.text_epochs else None
    return encoder, vocabulary, accuracy


def make_dataset(images, embeddings, owners, batch_size, output_range, seed=0, shuffle=True):
    """Batches of `(images, embeddings, mismatched embeddings)`: every caption once per pass with its image (uint8
    `[n, H, W, C]`, scaled to `output_range`), and as the mismatched text another example's of the same batch
    (Reed et al. 2016), chosen on the global batch so that it does not depend on the number of replicas."""
    if batch_size > len(owners):
        raise UserError(f"data.batch_size: {batch_size} is larger than the data ({len(owners)} captions)")
    pixels = tf.constant(images)
    dataset = tf.data.Dataset.from_tensor_slices((owners.astype(np.int64), embeddings))
    if shuffle:
        dataset = dataset.shuffle(len(owners), seed=seed, reshuffle_each_iteration=True)
    dataset = dataset.batch(batch_size, drop_remainder=True)

    def assemble(owner, embedding):
        batch = ranges.from_unit_interval(tf.cast(tf.gather(pixels, owner), tf.float32) / 255.0, output_range)
        return batch, embedding, tf.roll(embedding, 1, axis=0)

    dataset = dataset.map(assemble, num_parallel_calls=pipelines.PARALLEL_CALLS)
    return pipelines.with_pipeline_options(dataset.prefetch(pipelines.PREFETCH_BATCHES), shard_by_data=False)


def training_data(config):
    options, data = config.options, config.data
    image_size = data.image_size
    captioned = None
    if options.embeddings is None:
        captioned = captions_module.load_captioned(data.source, options.captions, data.split, data.data_dir,
                                                   image_size, options.captions_per_image, seed=config.seed)
        images, written = captioned.images, captioned.captions
        encoder, vocabulary, accuracy = train_text_encoder(config, images, written)
        texts = [caption for row in written for caption in row]
        embeddings = np.concatenate([np.asarray(encoder(tf.constant(texts[start:start + 1024])), np.float32)
                                     for start in range(0, len(texts), 1024)])
        owners = np.array([index for index, row in enumerate(written) for _ in row])
        extras = {"text_encoder": encoder}
    else:
        source = data_module.load_source(data.source, data.split, data.data_dir, image_size)
        images = np.asarray(source.images)
        if images.dtype != np.uint8:
            images = np.asarray(np.round(data_module.to_unit_interval(images) * 255), np.uint8)
        embeddings, owners, written = load_embeddings(options.embeddings, len(images))
        vocabulary, accuracy, extras = None, None, {}
    if images.ndim != 4 or images.shape[1] != images.shape[2]:
        raise UserError(f"data.source {data.source}: StackGAN needs square images [n, H, H, C], got "
                        f"{list(images.shape[1:])} (set data.image_size)")
    dataset = make_dataset(images, embeddings, owners, data.batch_size, config.model.output_range, seed=config.seed,
                           shuffle=bool(data.shuffle_buffer))
    shown = min(8, len(images))
    picked = np.linspace(0, len(owners) - 1, shown).astype(int)  # captions spread over the data
    flat = None if written is None else [caption for row in written for caption in row]  # in the owners' order
    shown_texts = None if flat is None else [flat[i] for i in picked]
    info = {"sample_shape": [int(d) for d in images.shape[1:]], "source": data.source, "num_classes": None,
            "embedding_dim": int(embeddings.shape[-1]), "vocabulary": vocabulary, "text_match_accuracy": accuracy,
            "attribute_scale": None if captioned is None or captioned.scale is None
            else dataclasses.asdict(captioned.scale)}
    reference = images[owners[picked]].astype(np.float32) / 255.0
    return TrainingData(dataset, info, extras=extras,
                        captions=(shown_texts, embeddings[picked], reference))


def build(config, info, extras):
    options, model = config.options, config.model
    embedding_dim = int(info["embedding_dim"])
    generators = [g for g in networks.build("generator", model.generator, {
        "latent_dim": model.latent_dim, "sentence_dim": embedding_dim, "image_shape": info["sample_shape"]}) if g]
    discriminators = networks.build("discriminator", model.discriminator, {
        "image_shapes": [g.outputs[0].shape[1:] for g in generators], "sentence_dim": embedding_dim})
    encoder = None
    if info.get("vocabulary") is not None:
        encoder = text.caption_encoder(info["vocabulary"], options.text_embedding_dim, options.text_word_dim,
                                       options.text_max_words)
        trained = extras.get("text_encoder")
        if trained is not None:
            encoder.set_weights(trained.get_weights())
    return StackGAN(generators[0], discriminators[0], *(generators[1:] or [None]), discriminators[1],
                    latent_dim=model.latent_dim, kl_weight=options.kl_weight,
                    stage="stage1" if options.schedule == "sequential" else options.schedule, seed=config.seed,
                    output_range=model.output_range, text_encoder=encoder)


def callbacks(config):
    if config.options.schedule == "sequential" and two_stages(config):
        return [StageSchedule(stage2_epoch(config))]
    return []


FAMILY = Family("stackgan", StackGANOptions, training_data=training_data, build=build, sampler=TextSampler,
                validate=validate, callbacks=callbacks)
