"""Weight normalization with data-dependent initialization (Salimans & Kingma 2016, arXiv:1602.07868), the
parameterization of Salimans et al. 2016's semi-supervised MNIST discriminator. Keras 3 has no weight-normalized
layer (tf.keras's lived in tensorflow-addons), hence this one."""
import keras
import tensorflow as tf


@keras.saving.register_keras_serializable(package="tfgan_impl")
class WeightNormDense(keras.layers.Layer):
    """A dense layer whose weights are w = g v / ||v|| per output unit (Salimans & Kingma 2016, eq. 2).

    `initialize(inputs)` sets g and b so that the pre-activations of that batch have zero mean and unit variance
    per unit (sec. 3, data-dependent initialization); until then g = 1 and b = 0.

    Args:
        units: output units.
        activation: applied after the bias.
        kernel_stddev: standard deviation of v's normal initialization (the authors' 0.05; their MNIST code's 0.1).
            With Adam the steps of v have a fixed size, so this sets how fast the direction v / ||v|| turns.
        train_scale: whether g trains; if not, g keeps the value the data-dependent initialization gave it (the
            hidden layers of Salimans et al.'s MNIST discriminator, `train_scale=False` in their `nn.DenseLayer`).
    """

    def __init__(self, units, activation=None, kernel_stddev=0.05, train_scale=True, **kwargs):
        super().__init__(**kwargs)
        self.units = int(units)
        self.activation = keras.activations.get(activation)
        self.kernel_stddev = float(kernel_stddev)
        self.train_scale = bool(train_scale)

    def build(self, input_shape):
        self.v = self.add_weight(name="v", shape=(int(input_shape[-1]), self.units),
                                 initializer=keras.initializers.RandomNormal(stddev=self.kernel_stddev))
        self.g = self.add_weight(name="g", shape=(self.units,), initializer="ones", trainable=self.train_scale)
        self.bias = self.add_weight(name="bias", shape=(self.units,), initializer="zeros")

    def _normalized(self, inputs):
        return tf.matmul(inputs, self.v) / tf.norm(self.v, axis=0)

    def call(self, inputs):
        return self.activation(self._normalized(inputs) * self.g + self.bias)

    def initialize(self, inputs, scale=1.0):
        """Data-dependent initialization on a batch `[n, in]`: pre-activations get mean 0 and std `scale`."""
        mean, variance = tf.nn.moments(self._normalized(tf.convert_to_tensor(inputs, tf.float32)), axes=[0])
        factor = scale / tf.sqrt(variance + 1e-8)
        self.g.assign(factor)
        self.bias.assign(-mean * factor)

    def compute_output_shape(self, input_shape):
        return (*input_shape[:-1], self.units)

    def get_config(self):
        return {**super().get_config(), "units": self.units,
                "activation": keras.activations.serialize(self.activation), "kernel_stddev": self.kernel_stddev,
                "train_scale": self.train_scale}


def initialize_from_data(network, inputs):
    """Runs `inputs` through a Sequential `network` layer by layer (in training mode, noise layers on, as the
    authors' init pass), initializing every `WeightNormDense` from the batch it receives (Salimans & Kingma 2016,
    sec. 3). Returns how many layers were initialized."""
    if not isinstance(network, keras.Sequential):
        raise ValueError(f"initialize_from_data needs a keras.Sequential network, got {type(network).__name__} "
                         f"{network.name!r}")
    count = 0
    outputs = tf.convert_to_tensor(inputs, tf.float32)
    for layer in network.layers:
        if isinstance(layer, WeightNormDense):
            layer.initialize(outputs)
            count += 1
        outputs = layer(outputs, training=True)
    return count
