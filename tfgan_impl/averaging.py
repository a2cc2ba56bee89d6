"""Moving averages of a network's weights kept beside it: the generator's (Karras et al. 2018, sec. A.1; Yazici et
al. 2019) and the semi-supervised classifier's (Salimans et al. 2016's evaluation, after Polyak & Juditsky 1992)."""
import keras
import tensorflow as tf


def frozen_copy(network):
    """A non-trainable clone of `network` holding its current weights: the average's starting point."""
    clone = keras.models.clone_model(network)
    clone.set_weights(network.get_weights())
    clone.trainable = False
    return clone


def average_weights(average, network, decay, strategy):
    """average <- decay * average + (1 - decay) * network for `network`'s trainable weights; its other weights
    (batch-norm statistics, fixed scales) are copied, as in StyleGAN's training loop. Call in a replica context
    of `strategy`; `decay` may be a scalar tensor."""

    def update(strategy, pairs):
        for average_weight, weight, trainable in pairs:
            strategy.extended.update(
                average_weight.value, lambda a, w, t=trainable: a.assign(decay * a + (1.0 - decay) * w if t else w),
                args=(weight.value,), group=False)

    trainable = {id(w) for w in network.trainable_weights}
    pairs = [(a, w, id(w) in trainable) for a, w in zip(average.weights, network.weights)]
    tf.__internal__.distribute.interim.maybe_merge_call(update, strategy, pairs)
