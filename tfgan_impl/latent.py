"""Walking the latent space (Radford et al. 2015, sec. 6): interpolation between latent vectors and the latent
vectors of vector arithmetic, whose samples `GAN.generate_from` draws."""
import numpy as np


def lerp(start, end, fractions):
    """Linear interpolation `(1 - t) * start + t * end` for each t in `fractions`, `[len(fractions), latent_dim]`."""
    fractions = np.asarray(fractions, np.float64)[:, None]
    return ((1 - fractions) * np.asarray(start, np.float64) + fractions * np.asarray(end, np.float64)).astype("float32")


def slerp(start, end, fractions):
    """Spherical interpolation (Shoemake 1985), recommended for Gaussian latents by White 2016 (arXiv:1609.04468):
    the path keeps the norm that samples of N(0, I) typically have, where a straight line passes near the origin.

    Args:
        start, end: latent vectors `[latent_dim]`.
        fractions: positions along the path, 0 at `start` and 1 at `end`.

    Returns:
        float32 array `[len(fractions), latent_dim]`.
    """
    start, end = np.asarray(start, np.float64), np.asarray(end, np.float64)
    cosine = np.dot(start, end) / max(np.linalg.norm(start) * np.linalg.norm(end), 1e-12)
    angle = np.arccos(np.clip(cosine, -1.0, 1.0))
    if np.sin(angle) < 1e-6:  # (anti)parallel vectors: the arc is undefined, the line is as good
        return lerp(start, end, fractions)
    fractions = np.asarray(fractions, np.float64)[:, None]
    return ((np.sin((1 - fractions) * angle) * start + np.sin(fractions * angle) * end) / np.sin(angle)).astype("float32")


def interpolation_grid(latent_dim, rows, steps, seed=0, spherical=True, ends=None):
    """Latent vectors of an interpolation picture: `rows` paths of `steps` points between random pairs of z.

    Args:
        latent_dim: size of z.
        rows: number of paths.
        steps: points per path, ends included (at least 2).
        seed: seed of the end points drawn from N(0, I) when `ends` is not given.
        spherical: `slerp` when true, `lerp` otherwise.
        ends: `[2 * rows, latent_dim]` end points (pairs in turn), e.g. `model.latents(2 * rows, seed)` for a
            prior other than N(0, I).

    Returns:
        float32 array `[rows * steps, latent_dim]`, row by row.
    """
    if steps < 2:
        raise ValueError(f"an interpolation needs at least 2 steps, got {steps}")
    if ends is None:
        ends = np.random.default_rng(seed).standard_normal((rows, 2, latent_dim))
    ends = np.asarray(ends, np.float64).reshape(rows, 2, latent_dim)
    path = slerp if spherical else lerp
    fractions = np.linspace(0.0, 1.0, steps)
    return np.concatenate([path(start, end, fractions) for start, end in ends]).astype("float32")
