"""Data units and a generator's `output_range`: the one place samples are mapped between them.

Data units are [0, 1] for images; a generator computes in `output_range` (e.g. [-1, 1] for a tanh output,
Radford et al. 2015, sec. 3). `None` means the data is used as it is (2-D points). The functions take numpy
arrays or tensors and return the same kind.
"""
import numpy as np
import tensorflow as tf


def to_unit_affine(output_range):
    """`(scale, offset)` with `unit = value * scale + offset` (for Keras `Rescaling` layers)."""
    low, high = output_range
    return 1.0 / (high - low), -low / (high - low)


def from_unit_affine(output_range):
    """`(scale, offset)` with `value = unit * scale + offset` (for Keras `Rescaling` layers)."""
    low, high = output_range
    return high - low, low


def from_unit_interval(values, output_range):
    """Maps values in [0, 1] to `output_range` (unchanged when it is `None`)."""
    if output_range is None:
        return values
    low, high = output_range
    return values * (high - low) + low


def to_unit_interval(values, output_range):
    """Maps values from `output_range` to [0, 1], clipped (unchanged when `output_range` is `None`)."""
    if output_range is None:
        return values
    low, high = output_range
    unit = (values - low) / (high - low)
    return tf.clip_by_value(unit, 0.0, 1.0) if tf.is_tensor(unit) else np.clip(unit, 0.0, 1.0)
