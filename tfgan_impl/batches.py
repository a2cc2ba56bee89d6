"""How data reaches the adversarial step: k real batches per generator update (Goodfellow et al. 2014,
Algorithm 1), the images of a labelled element, and PacGAN's packing of samples into one discriminator input."""
import keras
import tensorflow as tf

# Key under which `GAN.fit` hands `d_steps` stacked real batches to `train_step`.
REAL_BATCHES_KEY = "real_batches"


def group_real_batches(dataset, d_steps):
    """Groups `d_steps` consecutive batches of `dataset` into one element for a single `train_step`.

    Algorithm 1 of Goodfellow et al. 2014 draws a fresh real minibatch for each of its k discriminator
    updates. Batches are stacked on axis 1 (`[batch, d_steps, ...]`) so that `tf.distribute` still splits
    the batch axis across replicas.

    Args:
        dataset: a batched `tf.data.Dataset` of images or `(images, labels)`.
        d_steps: number of discriminator updates per generator update.

    Returns:
        A dataset of `{"real_batches": ...}` elements, one per generator update.
    """

    def stack(*element):
        element = element[0] if len(element) == 1 else element
        swapped = tf.nest.map_structure(
            lambda t: tf.transpose(t, [1, 0] + list(range(2, t.shape.rank))), element)
        return {REAL_BATCHES_KEY: swapped}

    return dataset.batch(d_steps, drop_remainder=True).map(stack)


def real_images_of(data):
    """The images of a dataset element: the element itself, or the first item of `(images, labels[, ...])`."""
    images, _, _ = keras.utils.unpack_x_y_sample_weight(data)
    return images


def packed_shape(sample_shape, packing):
    """Shape of one discriminator input when it sees `packing` samples at once (PacGAN, Lin et al. 2018, sec. 3):
    vectors are concatenated (`[d] -> [m * d]`), images stacked on channels (`[H, W, C] -> [H, W, m * C]`)."""
    sample_shape = [int(d) for d in sample_shape]
    return sample_shape[:-1] + [sample_shape[-1] * int(packing)]


def pack(samples, packing):
    """Groups consecutive samples `m` at a time into one discriminator input (PacGAN, Lin et al. 2018, sec. 3).

    Args:
        samples: `[batch, ...]`, batch divisible by `packing`.
        packing: m, samples per discriminator input.

    Returns:
        `[batch / m, ...]` inputs of shape `packed_shape(sample_shape, m)`.
    """
    if packing == 1:
        return samples
    message = f"packing={packing} needs a batch size divisible by {packing} on every replica"
    if samples.shape[0] is not None and samples.shape[0] % packing:
        raise ValueError(f"{message}, got a batch of {samples.shape[0]}")
    check = tf.debugging.assert_equal(tf.shape(samples)[0] % packing, 0, message=message)
    with tf.control_dependencies([check]):
        samples = tf.identity(samples)
    shape = tf.shape(samples)
    grouped = tf.reshape(samples, tf.concat([[-1, packing], shape[1:]], axis=0))
    rank = samples.shape.rank
    # Samples of a group become consecutive blocks of the last axis.
    grouped = tf.transpose(grouped, [0] + list(range(2, rank)) + [1, rank])
    return tf.reshape(grouped, tf.concat([[-1], shape[1:-1], [shape[-1] * packing]], axis=0))
