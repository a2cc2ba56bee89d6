"""Gaussian Parzen-window log-likelihood, the protocol of Goodfellow et al. 2014 (Table 1).

As in the authors' `parzen_ll.py` (goodfeli/adversarial): a Gaussian window of width sigma on each of 10,000
generated samples; sigma chosen from `logspace(-1, 0, 10)` by the mean log-likelihood of 1,000 validation
examples; the reported figure is the mean log-likelihood of the test set in nats with its standard error
`std / sqrt(n)`. Distances are computed in float64, a batch of queries at a time, with a log-sum-exp.
"""
import numpy as np

DEFAULT_SIGMAS = np.logspace(-1, 0, 10)


def _flat(array):
    array = np.asarray(array, np.float64)
    return array.reshape(len(array), -1)


def squared_distances(queries, centres, centre_norms):
    """Squared Euclidean distances `[n, m]` from the expansion |q|^2 + |c|^2 - 2 q.c, clipped at zero."""
    distances = (queries ** 2).sum(1)[:, None] + centre_norms[None, :] - 2.0 * queries @ centres.T
    return np.maximum(distances, 0.0)


def _log_mean_exp(values):
    peak = values.max(axis=1, keepdims=True)
    return peak[:, 0] + np.log(np.exp(values - peak).mean(axis=1))


def parzen_log_likelihoods(data, samples, sigmas, batch_size=100):
    """Log-likelihood of each data point under Parzen windows of each width in `sigmas`.

    log p(x) = log mean_i N(x; s_i, sigma^2 I) = log_mean_exp(-|x - s_i|^2 / (2 sigma^2)) - d log(sigma sqrt(2 pi)).

    Args:
        data: points `[n, ...]` to score (flattened), in the samples' units (images in [0, 1]).
        samples: generated samples `[m, ...]`, the window centres.
        sigmas: window widths; the distances are computed once for all of them.
        batch_size: data points per distance block (memory is `batch_size * m` float64 values).

    Returns:
        Array `[len(sigmas), n]` of log-likelihoods in nats.
    """
    data, centres = _flat(data), _flat(samples)
    if data.shape[1] != centres.shape[1]:
        raise ValueError(f"data has {data.shape[1]} values per example but samples have {centres.shape[1]}")
    sigmas = np.atleast_1d(np.asarray(sigmas, np.float64))
    centre_norms = (centres ** 2).sum(1)
    dim = data.shape[1]
    result = np.empty((len(sigmas), len(data)))
    for start in range(0, len(data), batch_size):
        distances = squared_distances(data[start:start + batch_size], centres, centre_norms)
        for index, sigma in enumerate(sigmas):
            result[index, start:start + batch_size] = (_log_mean_exp(-0.5 * distances / sigma ** 2)
                                                       - dim * np.log(sigma * np.sqrt(2 * np.pi)))
    return result


def parzen_evaluation(samples, validation, test, sigmas=DEFAULT_SIGMAS, batch_size=100):
    """The paper's protocol: choose sigma on `validation`, report the test log-likelihood and its standard error.

    Args:
        samples: generated samples (10,000 in the paper).
        validation: validation examples (the paper's script uses 1,000).
        test: test examples.
        sigmas: candidate widths.
        batch_size: data points per distance block.

    Returns:
        A dict: `log_likelihood` (mean over `test`, nats), `standard_error`, `sigma`, `validation_log_likelihood`.
    """
    validation_means = parzen_log_likelihoods(validation, samples, sigmas, batch_size).mean(axis=1)
    best = int(np.argmax(validation_means))
    sigma = float(np.atleast_1d(sigmas)[best])
    test_values = parzen_log_likelihoods(test, samples, [sigma], batch_size)[0]
    return {
        "log_likelihood": float(test_values.mean()),
        "standard_error": float(test_values.std() / np.sqrt(len(test_values))),
        "sigma": sigma,
        "validation_log_likelihood": float(validation_means[best]),
    }
