"""Frechet distance between Gaussians fitted to activations (Heusel et al. 2017, arXiv:1706.08500, eq. 6).

FID uses InceptionV3 pool3 features; with a domain classifier's features the same formula gives "FCD", as
TF-GAN calls it. Statistics accumulate batch by batch in float64, so any number of samples fits in memory.
"""
import numpy as np


class RunningMoments:
    """Mean and unbiased covariance of a stream of activation batches, merged with Chan et al.'s formula.

    Args:
        dim: the activation size, or None to take it from the first batch.
    """

    def __init__(self, dim=None):
        self.count = 0
        self.mean = None if dim is None else np.zeros(dim)
        self._scatter = None if dim is None else np.zeros((dim, dim))

    def update(self, batch):
        """Adds a batch `[n, dim]` of activations."""
        batch = np.asarray(batch, np.float64).reshape(len(batch), -1)
        if len(batch) == 0:
            return
        if self.mean is None:
            self.mean, self._scatter = np.zeros(batch.shape[1]), np.zeros((batch.shape[1],) * 2)
        batch_mean = batch.mean(axis=0)
        centered = batch - batch_mean
        total = self.count + len(batch)
        delta = batch_mean - self.mean
        self._scatter += centered.T @ centered + np.outer(delta, delta) * self.count * len(batch) / total
        self.mean = self.mean + delta * len(batch) / total
        self.count = total

    @property
    def covariance(self):
        """The unbiased (n - 1) covariance."""
        if self.count < 2:
            raise ValueError(f"a covariance needs at least 2 samples, got {self.count}")
        return self._scatter / (self.count - 1)


def _sqrt_psd(matrix):
    # Symmetric square root through eigh, with negative round-off eigenvalues clipped to zero.
    values, vectors = np.linalg.eigh((matrix + matrix.T) / 2)
    return (vectors * np.sqrt(np.clip(values, 0, None))) @ vectors.T


def frechet_distance(mean1, covariance1, mean2, covariance2):
    """Frechet (2-Wasserstein) distance of two Gaussians: |m1 - m2|^2 + Tr(C1 + C2 - 2 (C1^1/2 C2 C1^1/2)^1/2).

    The trace of the square root is computed as TF-GAN's `trace_sqrt_product` does, through the symmetric
    matrix `C1^1/2 C2 C1^1/2`, which is numerically safer than `sqrtm(C1 C2)`.

    Args:
        mean1, covariance1: the first Gaussian (e.g. real activations).
        mean2, covariance2: the second Gaussian (e.g. generated activations).

    Returns:
        The distance, a float.
    """
    root1 = _sqrt_psd(np.asarray(covariance1, np.float64))
    trace_sqrt_product = np.trace(_sqrt_psd(root1 @ np.asarray(covariance2, np.float64) @ root1))
    mean_term = np.sum((np.asarray(mean1, np.float64) - np.asarray(mean2, np.float64)) ** 2)
    return float(mean_term + np.trace(covariance1) + np.trace(covariance2) - 2 * trace_sqrt_product)


def frechet_distance_from_activations(activations1, activations2):
    """Frechet distance of Gaussians fitted to two activation arrays `[n, dim]` (FID / FCD).

    Agrees with TF-GAN's `frechet_classifier_distance_from_activations`.
    """
    moments = []
    for activations in (activations1, activations2):
        running = RunningMoments()
        running.update(activations)
        moments.append(running)
    return frechet_distance(moments[0].mean, moments[0].covariance, moments[1].mean, moments[1].covariance)
