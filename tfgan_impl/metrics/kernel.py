"""Kernel distance (KID): unbiased MMD^2 with the cubic polynomial kernel (Binkowski et al. 2018, arXiv:1801.01401).

k(x, y) = (x . y / dim + 1)^3. The estimate is averaged over blocks of samples, as TF-GAN does, which bounds
memory and gives a standard error from the spread of the block estimates.
"""
import numpy as np


def _block_mmd(real, fake):
    dim = real.shape[1]
    m, n = len(real), len(fake)
    k_rr = (real @ real.T / dim + 1) ** 3
    k_ff = (fake @ fake.T / dim + 1) ** 3
    k_rf = (real @ fake.T / dim + 1) ** 3
    return ((k_rr.sum() - np.trace(k_rr)) / (m * (m - 1)) + (k_ff.sum() - np.trace(k_ff)) / (n * (n - 1))
            - 2 * k_rf.mean())


def _block_bounds(count, num_blocks):
    # TF-GAN's split: the last `count % num_blocks` blocks hold one extra sample.
    base, extra = divmod(count, num_blocks)
    sizes = [base] * (num_blocks - extra) + [base + 1] * extra
    return np.concatenate([[0], np.cumsum(sizes)])


def _mean_and_standard_error(estimates):
    estimates = np.asarray(estimates, np.float64)
    if len(estimates) < 2:
        return float(estimates.mean()), float("nan")
    return float(estimates.mean()), float(np.sqrt(estimates.var(ddof=1) / len(estimates)))


def kernel_distance_from_activations(activations1, activations2, max_block_size=1024):
    """KID of two activation arrays `[n, dim]`, with its standard error over blocks.

    Agrees with TF-GAN's `kernel_classifier_distance_and_std_from_activations`.

    Args:
        activations1: real activations.
        activations2: generated activations.
        max_block_size: largest block; both arrays are split into the same number of blocks.

    Returns:
        `(kid, standard_error)`; the standard error is NaN with a single block.
    """
    real = np.asarray(activations1, np.float64)
    fake = np.asarray(activations2, np.float64)
    num_blocks = int(np.ceil(max(len(real), len(fake)) / max_block_size))
    real_bounds, fake_bounds = _block_bounds(len(real), num_blocks), _block_bounds(len(fake), num_blocks)
    estimates = [_block_mmd(real[real_bounds[i]:real_bounds[i + 1]], fake[fake_bounds[i]:fake_bounds[i + 1]])
                 for i in range(num_blocks)]
    return _mean_and_standard_error(estimates)


class RunningKernelDistance:
    """KID over a stream: each full block of real and of generated activations gives one estimate.

    Memory stays at one block per side. Fed `n = num_blocks * block_size` examples per side in the same
    order, it equals `kernel_distance_from_activations(..., max_block_size=block_size)`.

    Args:
        block_size: examples per block.
    """

    def __init__(self, block_size=1000):
        self.block_size = int(block_size)
        self._real, self._fake, self.estimates = [], [], []

    def _pending(self, parts):
        return sum(len(p) for p in parts)

    def update(self, real=None, fake=None):
        """Adds batches of real and/or generated activations `[n, dim]`."""
        for parts, batch in ((self._real, real), (self._fake, fake)):
            if batch is not None and len(batch):
                parts.append(np.asarray(batch, np.float64).reshape(len(batch), -1))
        while self._pending(self._real) >= self.block_size and self._pending(self._fake) >= self.block_size:
            real_block, self._real[:] = self._take(self._real)
            fake_block, self._fake[:] = self._take(self._fake)
            self.estimates.append(_block_mmd(real_block, fake_block))

    def _take(self, parts):
        stacked = np.concatenate(parts)
        return stacked[:self.block_size], [stacked[self.block_size:]]

    def result(self):
        """`(kid, standard_error)` over the completed blocks."""
        if not self.estimates:
            raise ValueError(f"KID needs at least one full block of {self.block_size} real and generated examples")
        return _mean_and_standard_error(self.estimates)
