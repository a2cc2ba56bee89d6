"""Classifier score, the Inception Score with any classifier (Salimans et al. 2016, arXiv:1606.03498, sec. 4).

score = exp(E_x KL(p(y|x) || p(y))). Since E_x KL = E_x sum_y p(y|x) log p(y|x) - sum_y p(y) log p(y), with
p(y) = E_x p(y|x), two running sums give the exact score over a stream of logits.
"""
import numpy as np


def _log_softmax(logits):
    logits = np.asarray(logits, np.float64)
    shifted = logits - logits.max(axis=1, keepdims=True)
    return shifted - np.log(np.exp(shifted).sum(axis=1, keepdims=True))


class RunningClassifierScore:
    """Accumulates logits batch by batch; `result()` is the classifier score of everything seen."""

    def __init__(self):
        self.count = 0
        self._probability_sum = None
        self._negative_entropy_sum = 0.0

    def update(self, logits):
        """Adds a batch of logits `[n, num_classes]`."""
        log_p = _log_softmax(logits)
        p = np.exp(log_p)
        self._probability_sum = p.sum(0) if self._probability_sum is None else self._probability_sum + p.sum(0)
        self._negative_entropy_sum += float((p * log_p).sum())
        self.count += len(p)

    def result(self):
        """The classifier score (1 for a constant prediction, up to the number of classes)."""
        if self.count == 0:
            raise ValueError("no logits were given")
        marginal = self._probability_sum / self.count
        log_marginal = np.log(np.where(marginal > 0, marginal, 1.0))
        return float(np.exp(self._negative_entropy_sum / self.count - (marginal * log_marginal).sum()))


def classifier_score_from_logits(logits):
    """Classifier score of an array of logits `[n, num_classes]`; agrees with TF-GAN's `classifier_score_from_logits`."""
    running = RunningClassifierScore()
    running.update(logits)
    return running.result()
