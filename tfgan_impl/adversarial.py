"""What every adversarial model here shares: two optimizers, and a `fit` that works under every strategy.

`keras.Model.fit` assumes one optimizer and one loss; the GANs and translators here update two networks with
two optimizers in their own `train_step`. This base class keeps that bookkeeping in one place and works around
three Keras 3.15 failures under `tf.distribute` (see the methods' comments).
"""
import keras
import tensorflow as tf

from tfgan_impl import distribute


class AdversarialModel(keras.Model):
    """A `keras.Model` trained by `fit` with a discriminator optimizer and a generator optimizer.

    Subclasses set `self.generator` and `self.discriminator` and write `train_step`; they call
    `_set_optimizers` from `compile` and return `self._logs()` from their steps. `model.optimizer` is the
    generator's, so Keras counts one `fit` step per generator update.
    """

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self._xla_per_replica = False
        self._xla_functions = {}

    def _set_optimizers(self, d_optimizer, g_optimizer):
        """Resolves both optimizers (instances, names or configs); networks computing in float16 get dynamic
        loss scaling on both, since float16 gradients underflow without it (Micikevicius et al. 2018,
        sec. 3.2); bfloat16's float32 exponent range needs none."""
        d_optimizer, g_optimizer = keras.optimizers.get(d_optimizer), keras.optimizers.get(g_optimizer)
        if d_optimizer is g_optimizer:
            raise ValueError("d_optimizer and g_optimizer must be two optimizer instances, got the same one twice")
        if self._computes_in_float16():
            d_optimizer, g_optimizer = (o if isinstance(o, keras.optimizers.LossScaleOptimizer)
                                        else keras.optimizers.LossScaleOptimizer(o) for o in (d_optimizer, g_optimizer))
        self.d_optimizer, self.g_optimizer = d_optimizer, g_optimizer

    def _computes_in_float16(self):
        return any(layer.dtype_policy.compute_dtype == "float16" for name in self.GENERATORS + self.DISCRIMINATORS
                   for layer in getattr(self, name)._flatten_layers())

    def fit(self, x=None, y=None, **kwargs):
        """`keras.Model.fit`; a `tf.data.Dataset` is taken as it is (it shuffles itself)."""
        if not self.compiled:
            raise RuntimeError(f"call {type(self).__name__}.compile(d_optimizer=..., g_optimizer=...) before fit()")
        if isinstance(x, tf.data.Dataset):
            kwargs.setdefault("shuffle", False)  # Keras warns that it cannot shuffle a dataset otherwise
        return super().fit(x, y, **kwargs)

    def _make_function(self, step_function):
        strategy = self.distribute_strategy
        self._xla_per_replica = bool(self.jit_compile) and isinstance(
            strategy, (tf.distribute.MirroredStrategy, tf.distribute.MultiWorkerMirroredStrategy))
        if (self.steps_per_execution == 1 and not self._xla_per_replica) or self.run_eagerly:
            return super()._make_function(step_function)
        # Keras 3.15's loop of several steps per call fails under every tf.distribute strategy ("You must feed a
        # value for placeholder tensor 'while/cond/Placeholder'"); this loop avoids its lazily typed Optional.
        if self.jit_compile and not self._xla_per_replica:
            step_function = tf.function(step_function, jit_compile=True)

        def one_step(data):  # inlined: a nested tf.function running the strategy fails inside the loop's cond
            outputs = strategy.run(step_function, args=(data,))
            return tf.nest.map_structure(lambda value: tf.reshape(strategy.reduce("MEAN", value, axis=None), []),
                                         outputs)

        @tf.function(reduce_retracing=True, jit_compile=False)
        def steps(iterator):
            outputs = one_step(iterator.get_next())
            for _ in tf.range(self.steps_per_execution - 1):
                optional = iterator.get_next_as_optional()
                if not optional.has_value():
                    break
                outputs = one_step(optional.get_value())
            return outputs

        def function(iterator):
            try:
                return steps(iterator)
            except tf.errors.OutOfRangeError:
                raise StopIteration from None

        return function

    def _maybe_symbolic_build(self, iterator=None, data_batch=None):
        # Keras peeks at a batch and reduces it eagerly here, which breaks under MultiWorkerMirroredStrategy
        # (keras-team/keras#20585); a GAN needs no data to build: networks are built and optimizers are
        # built on their own variables inside the strategy's scope.
        with self.distribute_strategy.scope():
            self.build_optimizers()

    # The networks each optimizer trains; CycleGAN trains two of each kind.
    GENERATORS = ("generator",)
    DISCRIMINATORS = ("discriminator",)

    def _variables(self, names):
        return [v for name in names for v in getattr(self, name).trainable_variables]

    def build_optimizers(self):
        """Creates both optimizers' slot variables (needed before loading optimizer state)."""
        if not self.d_optimizer.built:
            self.d_optimizer.build(self._variables(self.DISCRIMINATORS))
        if not self.g_optimizer.built:
            self.g_optimizer.build(self._variables(self.GENERATORS))

    def _logs(self):
        logs = {m.name: m.result() for m in self.metrics}
        if distribute.in_multi_worker_mode(self.distribute_strategy):
            # Keras reduces step outputs across workers with `strategy.reduce(MEAN, axis=0)`, which needs an
            # axis to reduce: scalars fail (part of keras-team/keras#20585).
            logs = {name: tf.reshape(value, [1]) for name, value in logs.items()}
        return logs


    def _per_replica(self, gradients_fn):
        # XLA compiles one device's program and (on CPU) no collectives: under mirrored strategies it compiles
        # each replica's forward and backward pass, and the optimizers' cross-replica update runs outside it.
        if not self._xla_per_replica:
            return gradients_fn
        return self._xla_functions.setdefault(gradients_fn.__name__, tf.function(gradients_fn, jit_compile=True))

    def get_config(self):
        return {**super().get_config(), **{name: keras.saving.serialize_keras_object(getattr(self, name))
                                            for name in self.GENERATORS + self.DISCRIMINATORS}}

    @classmethod
    def from_config(cls, config):
        config = dict(config)
        for name in cls.GENERATORS + cls.DISCRIMINATORS:
            config[name] = keras.saving.deserialize_keras_object(config[name])
        return cls(**config)

    def get_compile_config(self):
        if not self.compiled:
            return {}
        return {"d_optimizer": keras.saving.serialize_keras_object(self.d_optimizer),
                "g_optimizer": keras.saving.serialize_keras_object(self.g_optimizer), **self._compile_kwargs}

    def compile_from_config(self, config):
        config = dict(config)
        config["d_optimizer"] = keras.saving.deserialize_keras_object(config["d_optimizer"])
        config["g_optimizer"] = keras.saving.deserialize_keras_object(config["g_optimizer"])
        self.compile(**config)
        self.build_optimizers()
