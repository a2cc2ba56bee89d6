"""StackGAN's pieces (issue 19, first part): conditioning augmentation and its KL term, the matching-aware
discriminator loss, and captioned images (Fashion-MNIST with measured attributes; folders with a captions file)."""
import keras
import numpy as np
import pytest
import tensorflow as tf

from tests.conftest import needs_fashion_mnist
from tfgan_impl import captions, losses, networks, text
from tfgan_impl.errors import DataError
from tfgan_impl.stackgan import conditioning_augmentation_kl

RNG = np.random.default_rng(0)


def test_the_kl_term_is_the_closed_form_and_its_monte_carlo_estimate():
    mu = RNG.normal(size=(4, 6))
    log_sigma = RNG.normal(scale=0.5, size=(4, 6))
    kl = conditioning_augmentation_kl(tf.constant(mu, tf.float32), tf.constant(log_sigma, tf.float32)).numpy()
    sigma = np.exp(log_sigma)
    closed = np.sum(np.log(1.0 / sigma) + (sigma ** 2 + mu ** 2) / 2 - 0.5, axis=1)  # float64
    np.testing.assert_allclose(kl, closed, rtol=1e-5)
    # E_q[log q(c) - log p(c)] by sampling: the definition, not the formula
    samples = mu[0] + sigma[0] * RNG.normal(size=(400_000, 6))
    log_q = -0.5 * np.sum(((samples - mu[0]) / sigma[0]) ** 2 + 2 * np.log(sigma[0]), axis=1)
    log_p = -0.5 * np.sum(samples ** 2, axis=1)
    assert abs(np.mean(log_q - log_p) - kl[0]) < 0.02 * max(1.0, kl[0])
    assert conditioning_augmentation_kl(tf.zeros((2, 6)), tf.zeros((2, 6))).numpy() == pytest.approx([0.0, 0.0])


def test_conditioning_augmentation_draws_c_with_mean_mu_and_deviation_sigma():
    layer = networks.ConditioningAugmentation(dim=3)
    embedding = np.repeat(RNG.normal(size=(1, 5)).astype("float32"), 100_000, axis=0)
    epsilon = RNG.normal(size=(100_000, 3)).astype("float32")
    c, mu, log_sigma = (value.numpy() for value in layer([embedding, epsilon]))
    np.testing.assert_allclose(c.mean(axis=0), mu[0], atol=0.02 * np.exp(log_sigma[0]).max() + 1e-3)
    np.testing.assert_allclose(c.std(axis=0), np.exp(log_sigma[0]), rtol=0.02)
    again = layer([embedding[:4], epsilon[:4]])[0].numpy()
    np.testing.assert_allclose(again, c[:4], rtol=1e-6, atol=1e-6)  # a function of its inputs (4 rows or 100,000)
    # gradients reach the moments through the sample (the reparameterization trick)
    with tf.GradientTape() as tape:
        total = tf.reduce_sum(layer([embedding[:4], epsilon[:4]])[0])
    assert all(float(tf.reduce_max(tf.abs(g))) > 0 for g in tape.gradient(total, layer.trainable_weights))
    restored = keras.layers.deserialize(keras.layers.serialize(layer))
    assert restored.dim == 3


def test_the_matching_aware_loss_counts_mismatched_text_as_fake():
    def scripted(probability):
        return tf.fill([3, 1], float(np.log(probability / (1 - probability))))

    loss = losses.matching_aware_discriminator_loss(scripted(0.9), scripted(0.2), scripted(0.4)).numpy()
    expected = -(np.log(0.9) + 0.5 * (np.log(1 - 0.2) + np.log(1 - 0.4)))
    np.testing.assert_allclose(loss, [expected] * 3, rtol=1e-5)
    # a discriminator that ignores the text (mismatched judged as real) pays for it
    ignores = losses.matching_aware_discriminator_loss(scripted(0.9), scripted(0.9), scripted(0.4)).numpy()
    assert np.all(ignores > loss + 0.5)


def items(brightness, width, size=28):
    """Scripted Fashion-MNIST-like items: a centred block of `width` columns at `brightness`."""
    image = np.zeros((size, size, 1), np.float32)
    left = (size - width) // 2
    image[4:24, left:left + width] = brightness
    return image


def test_captions_say_the_class_and_the_measured_attributes():
    images = np.stack([items(0.3, 8), items(0.9, 8), items(0.3, 20), items(0.9, 20)] * 2)
    labels = np.array([2] * 4 + [9] * 4)
    scale = captions.AttributeScale.measure(images, labels, num_classes=10)
    light, wide = scale.attributes(images, labels)
    np.testing.assert_array_equal(light, [False, True, False, True] * 2)
    np.testing.assert_array_equal(wide, [False, False, True, True] * 2)
    written = captions.fashion_captions(images, labels, scale, per_image=3, seed=1)
    assert len(written) == 8 and all(len(set(texts)) == 3 for texts in written)  # three phrasings each
    for texts, is_light, is_wide, label in zip(written, light, wide, labels):
        for written_text in texts:
            words = written_text.replace(",", "").split()
            assert captions.FASHION_NOUNS[label] in written_text
            assert captions.BRIGHTNESS_WORDS[int(is_light)] in words
            assert captions.BRIGHTNESS_WORDS[1 - int(is_light)] not in words
            assert captions.WIDTH_WORDS[int(is_wide)] in words and captions.WIDTH_WORDS[1 - int(is_wide)] not in words
    assert written == captions.fashion_captions(images, labels, scale, per_image=3, seed=1)  # seeded
    with pytest.raises(ValueError, match="per_image: expected 1 to 6"):
        captions.fashion_captions(images, labels, scale, per_image=7)


@needs_fashion_mnist
def test_attributes_split_every_class_of_fashion_mnist_in_halves():
    from tfgan_impl import data

    source = data.load_source("fashion_mnist", "train")
    images, labels = data.to_unit_interval(source.images[:5000]), source.labels[:5000]
    scale = captions.AttributeScale.measure(images, labels, num_classes=10)
    light, wide = scale.attributes(images, labels)
    for label in range(10):
        assert 0.4 < light[labels == label].mean() < 0.6, (label, light[labels == label].mean())
        assert 0.4 < wide[labels == label].mean() < 0.6, (label, wide[labels == label].mean())
    # the words mean what they say: light items are brighter than dark ones of their class
    for measure, above in ((captions.brightness, light), (captions.width, wide)):
        values = measure(images)
        assert all(values[(labels == c) & above].mean() > 1.05 * values[(labels == c) & ~above].mean()
                   for c in range(10))


def test_a_folder_with_a_captions_file_is_a_source(tmp_path):
    from tfgan_impl import images as images_module

    for name in ("a.png", "b.png"):
        images_module.save_png(RNG.integers(0, 256, (8, 8, 3), dtype=np.uint8), str(tmp_path / name))
    (tmp_path / "captions.txt").write_text("a.png\ta red bird\nb.png\ta blue bird\na.png\ta bird, red\n\n")
    images, texts = captions.load_caption_folder(str(tmp_path))
    assert images.shape == (2, 8, 8, 3) and texts == [["a red bird", "a bird, red"], ["a blue bird"]]
    (tmp_path / "captions.txt").write_text("a.png\ta red bird\nb.png a blue bird\n")
    with pytest.raises(DataError, match=r"captions.txt:2: expected FILE<TAB>caption"):
        captions.load_caption_folder(str(tmp_path))
    (tmp_path / "captions.txt").write_text("a.png\ta red bird\nc.png\ta cat\n")
    with pytest.raises(DataError, match="captions of c.png, which is not an image"):
        captions.load_caption_folder(str(tmp_path))
    (tmp_path / "captions.txt").write_text("a.png\ta red bird\n")
    with pytest.raises(DataError, match=r"b.png: no caption in"):
        captions.load_caption_folder(str(tmp_path))
    with pytest.raises(DataError, match="no such captions file"):
        captions.load_caption_folder(str(tmp_path), str(tmp_path / "missing.txt"))


def test_the_contrastive_matching_loss_is_the_symmetric_cross_entropy():
    from tfgan_impl import text

    images = tf.math.l2_normalize(tf.constant(RNG.normal(size=(3, 4)), tf.float32), axis=1)
    texts = tf.math.l2_normalize(tf.constant(RNG.normal(size=(3, 4)), tf.float32), axis=1)
    loss = text.contrastive_matching_loss(images, texts, temperature=0.5).numpy()
    logits = images.numpy() @ texts.numpy().T / 0.5

    def cross_entropy(rows):
        return -np.array([row[i] - np.log(np.exp(row).sum()) for i, row in enumerate(rows)])

    np.testing.assert_allclose(loss, 0.5 * (cross_entropy(logits) + cross_entropy(logits.T)), rtol=1e-5)
    matched = text.contrastive_matching_loss(images, images, temperature=0.05).numpy()
    assert np.all(matched < loss)  # pairs that match best cost least


def test_the_caption_encoder_reads_strings_and_survives_saving(tmp_path):
    from tfgan_impl import text

    vocabulary = text.vocabulary_of([["a dark coat", "a light, wide coat"], ["a narrow bag"]])
    assert vocabulary == sorted(["a", "bag", "coat", "dark", "light", "narrow", "wide"])
    encoder = text.caption_encoder(vocabulary, embedding_dim=8)
    embeddings = encoder(tf.constant(["a dark coat", "A DARK COAT!", "a zebra coat"])).numpy()
    assert embeddings.shape == (3, 8)
    np.testing.assert_allclose(np.linalg.norm(embeddings, axis=1), 1.0, rtol=1e-5)
    np.testing.assert_allclose(embeddings[0], embeddings[1], atol=1e-6)  # case and punctuation do not matter
    path = str(tmp_path / "encoder.keras")
    encoder.save(path)
    restored = keras.saving.load_model(path)
    np.testing.assert_allclose(restored(tf.constant(["a dark coat", "a zebra coat"])).numpy(), embeddings[[0, 2]],
                               atol=1e-6)


@pytest.mark.slow
@needs_fashion_mnist
def test_the_text_encoder_learns_class_and_attributes_from_captioned_fashion_mnist():
    """Trained for 3 passes on 3,000 captioned training images, the caption encoder finds held-out images of the
    class a caption names, and its "light" and "dark" ("wide" and "narrow") captions order the images of a class by
    brightness (width)."""
    from tfgan_impl import data, text

    source = data.load_source("fashion_mnist", "train")
    images, labels = data.to_unit_interval(source.images[:3000]), source.labels[:3000]
    scale = captions.AttributeScale.measure(images, labels, num_classes=10)
    written = captions.fashion_captions(images, labels, scale, per_image=3)
    keras.utils.set_random_seed(0)
    matcher = text.TextImageMatcher(text.caption_encoder(text.vocabulary_of(written), embedding_dim=32),
                                    text.image_encoder((28, 28, 1), embedding_dim=32, filters=16))
    matcher.compile(optimizer=keras.optimizers.Adam(2e-3))
    history = matcher.fit(text.matching_dataset(images, written, 64), epochs=3, verbose=0, shuffle=False)
    assert history.history["loss"][-1] < 0.8 * history.history["loss"][0]

    test = data.load_source("fashion_mnist", "test")
    held_out, held_labels = data.to_unit_interval(test.images[:1000]), test.labels[:1000]
    image_embeddings = matcher.image_encoder(held_out * 2.0 - 1.0).numpy()
    queries = [captions.caption(label, True, True) for label in range(10)]
    similarities = matcher.caption_encoder(tf.constant(queries)).numpy() @ image_embeddings.T  # [10, 1000]
    top = np.argsort(-similarities, axis=1)[:, :20]
    precision = np.mean([np.mean(held_labels[top[label]] == label) for label in range(10)])
    assert precision > 0.75, precision  # chance: 0.1 (0.90 when written)
    for measure, pair in ((captions.brightness, ((True, False), (False, False))),
                          (captions.width, ((False, True), (False, False)))):
        values, agreements = measure(held_out), []
        for label in range(10):
            more, less = matcher.caption_encoder(tf.constant([captions.caption(label, *pair[0]),
                                                              captions.caption(label, *pair[1])])).numpy()
            mine = held_labels == label
            agreements.append(np.corrcoef(image_embeddings[mine] @ (more - less), values[mine])[0, 1])
        # brightness: 0.90 when written
        assert np.mean(agreements) > 0.5, (measure.__name__, agreements)


def tiny_stackgan(stage="stage1", two_stages=True, kl_weight=1.0):
    from tfgan_impl.stackgan import StackGAN

    keras.utils.set_random_seed(0)
    model = StackGAN(
        networks.stage1_generator(8, 6, (8, 8, 1), condition_dim=4, filters=4),
        networks.stackgan_discriminator((8, 8, 1), 6, filters=4, text_dim=4, name="stage1_discriminator"),
        networks.stage2_generator((8, 8, 1), (16, 16, 1), 6, condition_dim=4, filters=4, num_residual=1)
        if two_stages else None,
        networks.stackgan_discriminator((16, 16, 1), 6, filters=4, text_dim=4, name="stage2_discriminator")
        if two_stages else None,
        latent_dim=8, kl_weight=kl_weight, stage=stage)
    for network in (model.stage1_generator, model.stage1_discriminator, model.stage2_generator,
                    model.stage2_discriminator):
        if network is not None:
            networks.synchronize_batch_norm(network)
    model.compile(d_optimizer=keras.optimizers.SGD(0.05), g_optimizer=keras.optimizers.SGD(0.05))
    return model


def text_batches(count=16, batch=8):
    rng = np.random.default_rng(1)  # its own seed: the module's RNG depends on which tests ran before
    images = rng.uniform(-1, 1, (count, 16, 16, 1)).astype("float32")
    embeddings = rng.normal(size=(count, 6)).astype("float32")
    return tf.data.Dataset.from_tensor_slices((images, embeddings, np.roll(embeddings, 1, axis=0))).batch(batch)


def snapshot(model, names):
    return {name: [w.numpy().copy() for w in getattr(model, name).weights] for name in names}


def changed(before, model):
    return {name for name, weights in before.items()
            if any(not np.array_equal(w, v.numpy()) for w, v in zip(weights, getattr(model, name).weights))}


NETWORKS = ("stage1_generator", "stage1_discriminator", "stage2_generator", "stage2_discriminator")


@pytest.mark.parametrize("stage, trained", [("stage1", {"stage1_generator", "stage1_discriminator"}),
                                            ("stage2", {"stage2_generator", "stage2_discriminator"}),
                                            ("joint", set(NETWORKS))])
def test_each_stage_setting_trains_its_networks_and_leaves_the_others(stage, trained):
    """Stage-II trains on a frozen Stage-I (weights and batch-norm statistics unchanged), as the paper does."""
    model = tiny_stackgan(stage)
    before = snapshot(model, NETWORKS)
    history = model.fit(text_batches(), epochs=1, verbose=0)
    assert changed(before, model) == trained
    assert history.history["kl"][0] > 0 and history.history["d_mismatched"][0] > 0
    assert int(model.steps.numpy()) == 2


def test_the_kl_weight_and_the_mismatched_term_enter_the_losses():
    data = next(iter(text_batches()))
    model = tiny_stackgan("joint")
    without = tiny_stackgan("joint", kl_weight=0.0)
    with_kl, kl = model.generator_loss(data), None
    kl = float(with_kl.metrics["kl"])
    np.testing.assert_allclose(float(with_kl.metrics["g_loss"]) - float(without.generator_loss(data).metrics["g_loss"]),
                               kl, rtol=1e-4)  # same networks and noise: the difference is lambda x KL
    images, embeddings, _ = data
    # matched text as the "mismatched" one: the loss the discriminator pays for telling them apart changes
    same = model.discriminator_loss((images, embeddings, embeddings)).metrics["d_loss"]
    assert abs(float(same) - float(model.discriminator_loss(data).metrics["d_loss"])) > 1e-4


def test_set_stage_switches_the_step_and_refuses_what_the_model_cannot_do():
    model = tiny_stackgan("stage1")
    model.fit(text_batches(), epochs=1, verbose=0)
    before = snapshot(model, NETWORKS)
    model.set_stage("stage2")
    model.fit(text_batches(), epochs=1, verbose=0)
    assert changed(before, model) == {"stage2_generator", "stage2_discriminator"}
    with pytest.raises(ValueError, match="stage: expected one of stage1, stage2, joint"):
        model.set_stage("stage3")
    with pytest.raises(ValueError, match="stage: 'joint' needs Stage-II networks"):
        tiny_stackgan("stage1", two_stages=False).set_stage("joint")


def test_the_model_saves_and_generates_the_same_images(tmp_path):
    model = tiny_stackgan("joint")
    model.fit(text_batches(), epochs=1, verbose=0)
    embeddings = np.random.default_rng(2).normal(size=(3, 6)).astype("float32")
    images = model.generate_from_embeddings(embeddings, seed=3)
    assert images.shape == (3, 16, 16, 1) and 0 <= images.min() and images.max() <= 1
    assert model.generate_from_embeddings(embeddings, seed=3, stage=0).shape == (3, 8, 8, 1)
    assert not np.array_equal(images, model.generate_from_embeddings(embeddings, seed=4))
    with pytest.raises(ValueError, match=r"embeddings: expected \[n, 6\], got \[3, 5\]"):
        model.generate_from_embeddings(embeddings[:, :5])
    with pytest.raises(ValueError, match="precomputed embeddings and has no text encoder"):
        model.generate_from_text(["a dark bag"])
    path = str(tmp_path / "stackgan.keras")
    model.save(path)
    restored = keras.saving.load_model(path)
    assert restored.stage == "joint"
    np.testing.assert_allclose(restored.generate_from_embeddings(embeddings, seed=3), images, atol=1e-6)


def test_the_text_encoder_travels_with_the_model_and_draws_from_captions(tmp_path):
    from tfgan_impl.stackgan import StackGAN

    model = tiny_stackgan("joint")
    encoder = text.caption_encoder(["dark", "light", "bag"], embedding_dim=6, word_dim=4)
    with_text = StackGAN.from_config({**model.get_config(), "text_encoder": keras.saving.serialize_keras_object(
        encoder)})
    with_text.set_weights([*model.get_weights(), *encoder.get_weights()])
    captions = ["a dark bag", "a light bag"]
    images = with_text.generate_from_text(captions, seed=1)
    np.testing.assert_allclose(images, model.generate_from_embeddings(encoder(tf.constant(captions)), seed=1),
                               atol=1e-6)
    path = str(tmp_path / "stackgan.keras")
    with_text.save(path)
    np.testing.assert_allclose(keras.saving.load_model(path).generate_from_text(captions, seed=1), images, atol=1e-6)
    with pytest.raises(ValueError, match="text_encoder: gives embeddings of 5, the generators take 6"):
        StackGAN.from_config({**model.get_config(), "text_encoder": keras.saving.serialize_keras_object(
            text.caption_encoder(["bag"], embedding_dim=5))})
