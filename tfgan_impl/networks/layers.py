"""Layers the networks need that Keras does not ship."""
import keras


@keras.saving.register_keras_serializable(package="tfgan_impl")
class Maxout(keras.layers.Layer):
    """Maxout units (Goodfellow et al. 2013, arXiv:1302.4389, eq. 1): the max over `num_pieces` affine pieces.

    Keras has no maxout layer; this is a `Dense` of `units * num_pieces` followed by a max over the pieces.

    Args:
        units: number of maxout units (outputs).
        num_pieces: affine pieces per unit.
        kernel_initializer, bias_initializer: initializers of the underlying dense layer.
    """

    def __init__(self, units, num_pieces, kernel_initializer="glorot_uniform", bias_initializer="zeros",
                 **kwargs):
        super().__init__(**kwargs)
        self.units = int(units)
        self.num_pieces = int(num_pieces)
        self.kernel_initializer = keras.initializers.get(kernel_initializer)
        self.bias_initializer = keras.initializers.get(bias_initializer)
        self.dense = keras.layers.Dense(self.units * self.num_pieces, kernel_initializer=self.kernel_initializer,
                                        bias_initializer=self.bias_initializer, name="pieces")

    def build(self, input_shape):
        self.dense.build(input_shape)

    def call(self, inputs):
        pieces = self.dense(inputs)
        pieces = keras.ops.reshape(pieces, (-1, self.units, self.num_pieces))
        return keras.ops.max(pieces, axis=-1)

    def compute_output_shape(self, input_shape):
        return (input_shape[0], self.units)

    def get_config(self):
        return {
            **super().get_config(),
            "units": self.units,
            "num_pieces": self.num_pieces,
            "kernel_initializer": keras.initializers.serialize(self.kernel_initializer),
            "bias_initializer": keras.initializers.serialize(self.bias_initializer),
        }
