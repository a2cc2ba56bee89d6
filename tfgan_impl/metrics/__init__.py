"""Evaluation metrics as functions of activations, logits or samples, independent of training.

Each accumulates over batches where the method allows (`RunningMoments`, `RunningKernelDistance`,
`RunningClassifierScore`), so large sample counts never sit in memory at once.
"""
from tfgan_impl.metrics.classifier_score import RunningClassifierScore, classifier_score_from_logits
from tfgan_impl.metrics.frechet import RunningMoments, frechet_distance, frechet_distance_from_activations
from tfgan_impl.metrics.kernel import RunningKernelDistance, kernel_distance_from_activations
from tfgan_impl.metrics.modes import mode_coverage
from tfgan_impl.metrics.neighbors import memorization, nearest_distances, precision_recall
from tfgan_impl.metrics.parzen import parzen_evaluation, parzen_log_likelihoods

__all__ = ["RunningClassifierScore", "classifier_score_from_logits", "RunningMoments", "frechet_distance",
           "frechet_distance_from_activations", "RunningKernelDistance", "kernel_distance_from_activations", "mode_coverage",
           "memorization", "nearest_distances", "precision_recall", "parzen_evaluation", "parzen_log_likelihoods"]
