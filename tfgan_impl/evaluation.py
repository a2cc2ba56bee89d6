"""Scoring a generator or a file of samples against a data set with the metrics of `tfgan_impl.metrics`.

Metric names, as in `tfgan-impl evaluate --metrics`:
    fcd, kcd, score  Frechet distance, kernel distance and classifier score in a domain classifier's space;
    fid, kid, is     the same with InceptionV3 (ImageNet weights supplied by path);
    parzen           the Parzen-window log-likelihood protocol of Goodfellow et al. 2014;
    pr               precision and recall (k = 3) in the domain classifier's feature space;
    nn               nearest-training-image distances of samples vs test images (memorization);
    modes            mode coverage of 2-D samples on the `ring8`/`grid25` mixtures, from the first 2,500 samples.
Real references: the `test` split; Parzen's sigma is chosen on 1,000 examples from the last 10,000 of `train`.
"""
import numpy as np

from tfgan_impl import data as data_module
from tfgan_impl import metrics, sampling
from tfgan_impl.errors import UserError
from tfgan_impl.metrics import classifier as classifiers

CLASSIFIER_METRICS = ("fcd", "kcd", "score", "pr")
INCEPTION_METRICS = ("fid", "kid", "is")
SAMPLE_METRICS = ("parzen", "nn", "modes")
METRICS = CLASSIFIER_METRICS + INCEPTION_METRICS + SAMPLE_METRICS
PARZEN_VALIDATION = 1000  # the paper's parzen_ll.py limit_size
MODE_SAMPLES = 2500  # the sample count VEEGAN and PacGAN report mode coverage for


def parse_metrics(text):
    """Splits `fcd,kcd,...` into names, refusing unknown ones with the list of known ones."""
    names = [name.strip() for name in text.split(",") if name.strip()] if isinstance(text, str) else list(text)
    unknown = [name for name in names if name not in METRICS]
    if unknown or not names:
        raise UserError(f"--metrics: unknown metric {unknown[0] if unknown else '(none)'!r}; "
                        f"choose from {','.join(METRICS)}")
    return names


def generator_chunks(gan, num, seed=0, chunk_size=1000, truncation=None):
    """Yields `num` samples of a GAN in data units, `chunk_size` at a time, from independent noise streams;
    `truncation`: the same latent vectors through the model's truncation trick (`sampling.truncated_samples`)."""
    for index, start in enumerate(range(0, num, chunk_size)):
        size = min(chunk_size, num - start)
        if truncation is None:
            yield gan.generate(size, seed=seed, stream=index + 1)
        else:
            labels = None if gan.num_classes is None else np.arange(size) % gan.num_classes
            yield sampling.truncated_samples(gan, gan.latents(size, seed, index + 1), truncation, labels)


def array_chunks(samples, num, chunk_size=1000):
    """Yields the first `num` rows of an array (a memory-mapped `.npy` works) `chunk_size` at a time."""
    for start in range(0, min(num, len(samples)), chunk_size):
        yield np.asarray(samples[start:min(start + chunk_size, num)], np.float32)


class _FeatureSpace:
    """One extractor with the real test set's features, moments and logits computed once."""

    def __init__(self, extractor, real_images):
        self.extractor = extractor
        self.real_features, real_logits = extractor(real_images)
        self.real_moments = metrics.RunningMoments()
        self.real_moments.update(self.real_features)
        self.real_score = metrics.classifier_score_from_logits(real_logits)


class Evaluator:
    """Precomputes everything about the real data once; calling it scores a stream of samples.

    Args:
        data: a data source string (its `test` split is the reference).
        metric_names: names from `METRICS`.
        classifier: a domain classifier (`.keras` path or model) for fcd, kcd, score and pr.
        inception_weights: path of InceptionV3 ImageNet weights for fid, kid and is.
        data_dir: TFDS data directory.
        kernel_block_size: examples per KID block.
        image_size: `[height, width]` the real images are resized to, as a run's `data.image_size` resized
            its training images (a domain classifier of another size sees both resized to its own).
    """

    def __init__(self, data, metric_names, classifier=None, inception_weights=None, data_dir=None,
                 kernel_block_size=1000, image_size=None):
        self.metric_names = parse_metrics(metric_names)
        self.kernel_block_size = int(kernel_block_size)
        needs_classifier = any(name in CLASSIFIER_METRICS for name in self.metric_names)
        if needs_classifier and classifier is None:
            raise UserError("fcd, kcd, score and pr need a domain classifier: pass --classifier PATH "
                            "(make one with 'tfgan-impl train-classifier SOURCE --out PATH')")
        if "modes" in self.metric_names and data not in data_module.MIXTURES:
            raise UserError(f"modes needs a 2-D mixture as --data ({' or '.join(data_module.MIXTURES)}), got {data!r}")
        self.mixture = data if data in data_module.MIXTURES else None
        test = data_module.load_source(data, "test", data_dir)
        if test.images is None:
            test = _materialize(test)
        self.data_name = test.name
        self.real_test = _resized(data_module.to_unit_interval(test.images), image_size)
        self.spaces = {}
        if needs_classifier:
            self.spaces["classifier"] = _FeatureSpace(classifiers.classifier_extractor(classifier), self.real_test)
        if any(name in INCEPTION_METRICS for name in self.metric_names):
            self.spaces["inception"] = _FeatureSpace(classifiers.inception_extractor(inception_weights),
                                                     self.real_test)
        self.real_train = None
        if "parzen" in self.metric_names or "nn" in self.metric_names:
            train = data_module.load_source(data, "train", data_dir)
            self.real_train = _resized(data_module.to_unit_interval((train if train.images is not None
                                                                     else _materialize(train)).images), image_size)

    def __call__(self, chunks):
        """Scores samples in data units given as an iterable of arrays.

        Returns:
            A flat dict of figures (standard errors beside the figures whose method gives one).
        """
        running = {space: (metrics.RunningMoments(), metrics.RunningKernelDistance(self.kernel_block_size),
                           metrics.RunningClassifierScore(), []) for space in self.spaces}
        kept, count = [], 0
        for chunk in chunks:
            if chunk.shape[1:] != self.real_test.shape[1:]:
                raise UserError(f"samples of shape {list(chunk.shape[1:])} do not match {self.data_name} "
                                f"examples of shape {list(self.real_test.shape[1:])}")
            if not np.all(np.isfinite(chunk)):
                raise UserError("samples must be finite")
            if chunk.ndim == 4 and (chunk.min() < 0.0 or chunk.max() > 1.0):
                raise UserError("samples must be images in [0, 1] (data units, as 'tfgan-impl sample' writes)")
            for name, space in self.spaces.items():
                moments, kernel, score, features = running[name]
                chunk_features, chunk_logits = space.extractor(chunk)
                moments.update(chunk_features)
                kernel.update(real=space.real_features[count:count + len(chunk)], fake=chunk_features)
                score.update(chunk_logits)
                if "pr" in self.metric_names and name == "classifier":
                    features.append(chunk_features)
            if any(name in SAMPLE_METRICS for name in self.metric_names):
                kept.append(chunk)
            count += len(chunk)
        if count < 2:
            raise UserError(f"at least 2 samples are needed, got {count}")
        figures = {"num_samples": count}
        for name, (prefix_fd, prefix_kd, prefix_score) in (("classifier", ("fcd", "kcd", "score")),
                                                            ("inception", ("fid", "kid", "is"))):
            if name not in self.spaces:
                continue
            space, (moments, kernel, score, features) = self.spaces[name], running[name]
            if prefix_fd in self.metric_names:
                figures[prefix_fd] = metrics.frechet_distance(space.real_moments.mean, space.real_moments.covariance,
                                                              moments.mean, moments.covariance)
            if prefix_kd in self.metric_names:
                figures[prefix_kd], figures[f"{prefix_kd}_standard_error"] = kernel.result()
            if prefix_score in self.metric_names:
                figures[prefix_score] = score.result()
                figures[f"{prefix_score}_real_data"] = space.real_score
            if name == "classifier" and "pr" in self.metric_names:
                figures.update(metrics.precision_recall(space.real_features, np.concatenate(features)))
        if kept:
            samples = np.concatenate(kept)
            if "parzen" in self.metric_names:
                validation = self.real_train[-10_000:][:PARZEN_VALIDATION]
                parzen = metrics.parzen_evaluation(samples, validation, self.real_test)
                figures.update({f"parzen_{key}": value for key, value in parzen.items()})
            if "nn" in self.metric_names:
                memorization = metrics.memorization(samples, self.real_train, self.real_test)
                figures.update({f"nn_{key}": value for key, value in memorization.items()})
            if "modes" in self.metric_names:
                coverage = metrics.mode_coverage(samples[:MODE_SAMPLES], self.mixture)
                figures.update({"modes_covered": coverage["modes_covered"], "modes_num": coverage["num_modes"],
                                "modes_high_quality_fraction": coverage["high_quality_fraction"],
                                "modes_kl": coverage["mode_kl"]})
        return figures


def class_fidelity(gan, classifier, data, num_per_class=500, seed=0, truncation=None, image_size=None,
                   data_dir=None):
    """How well a class-conditional generator draws the classes asked of it, in a domain classifier's terms: the
    classifier's accuracy on samples of each requested class (Odena et al. 2017, sec. 4.1, with Inception) and
    the intra-class Frechet distance (Miyato & Koyama 2018, sec. 5.1: the distance between one class's samples and
    that class's real test images, averaged over classes).

    Args:
        gan: a trained class-conditional model (`num_classes` set).
        classifier: a domain classifier (`.keras` path or model) of the data's classes.
        data: the data source; its `test` split, with labels, is the reference.
        num_per_class: samples drawn of each class.
        seed: seed of the latent vectors (class k draws stream k + 1).
        truncation: the truncation trick's value, for models that offer it (`gan.truncated`).
        image_size: `[height, width]` the real images are resized to, as the run's `data.image_size`.
        data_dir: TFDS data directory.

    Returns:
        `{"class_accuracy", "intra_fcd", "class_accuracies": [per class], "class_fcds": [per class]}`.
    """
    if gan.num_classes is None:
        raise UserError("class fidelity needs a class-conditional model (cgan, acgan, biggan)")
    if truncation is not None and not hasattr(gan, "truncated"):
        raise UserError(f"--truncation: this model ({type(gan).__name__}) has no truncation trick")
    test = data_module.load_source(data, "test", data_dir)
    if test.images is None:
        test = _materialize(test)
    if test.labels is None or test.num_classes != gan.num_classes:
        raise UserError(f"{test.name}: class fidelity needs labelled test data of the model's {gan.num_classes} "
                        f"classes, got {test.num_classes or 'no'} classes")
    extractor = classifiers.classifier_extractor(classifier)
    real_features, _ = extractor(_resized(data_module.to_unit_interval(test.images), image_size))
    accuracies, distances = [], []
    for label in range(gan.num_classes):
        if truncation is None:
            samples = gan.generate(num_per_class, seed=seed, stream=label + 1, labels=[label] * num_per_class)
        else:
            z = gan.latents(num_per_class, seed=seed, stream=label + 1)
            samples = gan.to_data_units(np.asarray(gan.truncated(z, float(truncation),
                                                                 labels=[label] * num_per_class)))
        features, logits = extractor(samples)
        accuracies.append(float(np.mean(np.argmax(logits, axis=-1) == label)))
        real = real_features[np.asarray(test.labels) == label]
        distances.append(metrics.frechet_distance_from_activations(real, features))
    return {"class_accuracy": float(np.mean(accuracies)), "intra_fcd": float(np.mean(distances)),
            "class_accuracies": accuracies, "class_fcds": distances}


def text_following(model, classifier, per_caption=16, seed=0, stage=None, phrasings=2):
    """How well a text-to-image model trained on captioned Fashion-MNIST (`tfgan_impl.captions`) draws what its
    captions say: for every class and every pair of attributes (dark or light, narrow or wide), samples drawn for
    captions saying them, scored by a domain classifier of the classes and by the attributes measured on them.

    Args:
        model: a trained `TextSampler` with a text encoder.
        classifier: a Fashion-MNIST domain classifier (`.keras` path or model), which judges samples at its size.
        per_caption: samples drawn for each caption.
        seed: seed of the noise.
        stage: a stage's images (an index of `model.stage_generators`) instead of the final ones.
        phrasings: captions written for each class and attributes, in the first `phrasings` wordings.

    Returns:
        `{"class_accuracy", "class_accuracies": [per class], "brightness_agreement", "width_agreement",
        "brightness_gap", "width_gap"}`: an attribute's agreement is the fraction of classes whose samples for
        captions saying "light" ("wide") measure higher than those for "dark" ("narrow"); its gap is the mean of
        that difference over classes (`captions.brightness`, `captions.width` units).
    """
    from tfgan_impl import captions

    extractor = classifiers.classifier_extractor(classifier)
    accuracies, gaps = [], {"brightness": [], "width": []}
    for label in range(len(captions.FASHION_NOUNS)):
        grid = [(light, wide, phrasing) for light in (False, True) for wide in (False, True)
                for phrasing in range(phrasings)]
        written = [captions.caption(label, light, wide, phrasing) for light, wide, phrasing in grid]
        samples = model.generate_from_text(np.repeat(written, per_caption).tolist(), seed=seed + label, stage=stage)
        _, logits = extractor(samples)  # at the classifier's size
        accuracies.append(float(np.mean(np.argmax(logits, axis=1) == label)))
        attributes = np.repeat(np.array(grid, bool)[:, :2], per_caption, axis=0)
        for index, name in enumerate(("brightness", "width")):
            values = getattr(captions, name)(samples)
            gaps[name].append(float(values[attributes[:, index]].mean() - values[~attributes[:, index]].mean()))
    return {"class_accuracy": float(np.mean(accuracies)), "class_accuracies": accuracies,
            **{f"{name}_agreement": float(np.mean(np.array(values) > 0)) for name, values in gaps.items()},
            **{f"{name}_gap": float(np.mean(values)) for name, values in gaps.items()}}


def _resized(images, image_size, batch=1000):
    """Images resized to `image_size` as training data is (`data.make_dataset`: bilinear, antialiased)."""
    if image_size is None or images.ndim != 4 or list(images.shape[1:3]) == list(image_size):
        return images
    import tensorflow as tf

    return np.concatenate([tf.image.resize(images[start:start + batch], image_size, antialias=True).numpy()
                           for start in range(0, len(images), batch)])


def _materialize(source):
    # TFDS sets are read into memory once: the metrics compare against every real example.
    images, labels = [], []
    for image, label in source.tfds_dataset.as_numpy_iterator():
        images.append(image)
        labels.append(label)
    return data_module.Source(source.name, len(images), images=np.stack(images), labels=np.asarray(labels),
                              has_labels=source.has_labels, num_classes=source.num_classes)
