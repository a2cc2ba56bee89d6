"""Mode coverage on 2-D Gaussian mixtures, as VEEGAN (Srivastava et al. 2017) and PacGAN (Lin et al. 2018) measure it.

A sample is high quality when it lies within 3 standard deviations of its nearest centre; a mode is covered when
at least 20 high-quality samples fall on it (for 2,500 samples); the KL divergence of the high-quality samples'
mode histogram from the uniform distribution measures how evenly the modes are covered.
"""
import numpy as np

from tfgan_impl.data import mixture_centres


def mode_coverage(samples, dataset, min_samples_per_mode=20, quality_stds=3.0):
    """Mode-collapse figures of 2-D samples against a mixture (`ring8` or `grid25`).

    Args:
        samples: `[n, 2]` points (the benchmark uses 2,500).
        dataset: the mixture's name.
        min_samples_per_mode: high-quality samples a mode needs to count as covered.
        quality_stds: distance to the nearest centre, in standard deviations, of a high-quality sample.

    Returns:
        A dict: `high_quality_fraction`, `modes_covered`, `num_modes`, `mode_kl` (KL of the high-quality
        samples' mode histogram from uniform; infinite when no sample is high quality).
    """
    samples = np.asarray(samples, np.float64)
    if samples.ndim != 2 or samples.shape[1] != 2:
        raise ValueError(f"mode coverage needs 2-D points [n, 2], got shape {list(samples.shape)}")
    centres, std = mixture_centres(dataset)
    distances = np.sqrt(((samples[:, None, :] - centres[None]) ** 2).sum(-1))
    nearest = distances.argmin(axis=1)
    high_quality = distances[np.arange(len(samples)), nearest] <= quality_stds * std
    counts = np.bincount(nearest[high_quality], minlength=len(centres))
    if counts.sum() == 0:
        kl = float("inf")
    else:
        histogram = counts / counts.sum()
        present = histogram > 0
        kl = float(np.sum(histogram[present] * np.log(histogram[present] * len(centres))))
    return {
        "high_quality_fraction": float(high_quality.mean()),
        "modes_covered": int(np.sum(counts >= min_samples_per_mode)),
        "num_modes": len(centres),
        "mode_kl": kl,
    }
