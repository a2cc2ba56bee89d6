"""Nearest-neighbour metrics: precision and recall of distributions, and a memorization check.

Precision/recall follow Kynkaanniemi et al. 2019 ("Improved Precision and Recall Metric for Assessing
Generative Models", arXiv:1904.06991, sec. 2): each set's manifold is the union of balls reaching each point's
k-th nearest neighbour in the same set; precision is the fraction of generated points inside the real
manifold, recall the fraction of real points inside the generated one. Distances are computed in blocks.
"""
import numpy as np

from tfgan_impl.metrics.parzen import squared_distances


def _flat(array):
    # float32 halves the cost of the distance blocks; nearest-neighbour decisions do not need float64.
    array = np.asarray(array, np.float32)
    return array.reshape(len(array), -1)


def _distances(queries, reference, reference_norms):
    return np.sqrt(squared_distances(queries, reference, reference_norms))


def _blocks(queries, reference, batch_size):
    reference_norms = (reference ** 2).sum(1)
    for start in range(0, len(queries), batch_size):
        yield start, _distances(queries[start:start + batch_size], reference, reference_norms)


def kth_neighbor_radii(points, k=3, batch_size=1000):
    """Distance from each point to its k-th nearest other point of the same set."""
    points = _flat(points)
    if len(points) <= k:
        raise ValueError(f"k-NN radii need more than k={k} points, got {len(points)}")
    radii = np.empty(len(points), np.float32)
    for start, distances in _blocks(points, points, batch_size):
        radii[start:start + len(distances)] = np.partition(distances, k, axis=1)[:, k]  # index 0 is the point itself
    return radii


def _coverage(queries, reference, radii, batch_size):
    inside = np.zeros(len(queries), bool)
    for start, distances in _blocks(queries, reference, batch_size):
        inside[start:start + len(distances)] = np.any(distances <= radii[None, :], axis=1)
    return float(inside.mean())


def precision_recall(real_features, fake_features, k=3, batch_size=1000):
    """Improved precision and recall (Kynkaanniemi et al. 2019) with k-NN manifolds.

    Args:
        real_features: `[n, d]` features of real examples.
        fake_features: `[m, d]` features of generated examples.
        k: neighbour whose distance sets each ball's radius (the paper uses 3).
        batch_size: queries per distance block.

    Returns:
        A dict with `precision` and `recall` in [0, 1].
    """
    real, fake = _flat(real_features), _flat(fake_features)
    return {
        "precision": _coverage(fake, real, kth_neighbor_radii(real, k, batch_size), batch_size),
        "recall": _coverage(real, fake, kth_neighbor_radii(fake, k, batch_size), batch_size),
    }


def nearest_distances(queries, reference, batch_size=1000):
    """Euclidean distance from each query to its nearest reference point."""
    queries, reference = _flat(queries), _flat(reference)
    nearest = np.empty(len(queries), np.float32)
    for start, distances in _blocks(queries, reference, batch_size):
        nearest[start:start + len(distances)] = distances.min(axis=1)
    return nearest


def memorization(samples, train, test, batch_size=1000):
    """Compares how close generated samples and held-out test examples come to the training set.

    A generator that copies training examples puts its samples much nearer to the training set than unseen
    real data is; a ratio of medians well below 1 is the warning sign.

    Args:
        samples: generated examples.
        train: training examples.
        test: held-out examples of the same distribution.
        batch_size: queries per distance block.

    Returns:
        A dict: median nearest-train distances of samples and of test examples, their ratio, and the fraction
        of samples nearer to the training set than the closest 1% of test examples are.
    """
    sample_distances = nearest_distances(samples, train, batch_size)
    test_distances = nearest_distances(test, train, batch_size)
    threshold = np.percentile(test_distances, 1)
    return {
        "sample_to_train_median": float(np.median(sample_distances)),
        "test_to_train_median": float(np.median(test_distances)),
        "median_ratio": float(np.median(sample_distances) / max(np.median(test_distances), 1e-12)),
        "fraction_closer_than_test_p1": float(np.mean(sample_distances < threshold)),
    }
