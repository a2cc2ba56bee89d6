"""The adversarial step every model family shares: a list of phases, their gradients under tf.distribute, and
the one `compile`.

A step is a list of `Phase`s, as in StyleGAN2-ADA's training loop (Karras et al. 2020, `training_loop.py`:
generator main, discriminator main, lazy regularization): each names the networks it trains, its optimizer,
how often it runs and a loss function. `run_phase` computes a phase's gradients on each replica (loss scaled to
the global batch, float16 loss scaling, per-replica XLA), applies them and updates the trackers of its metrics.
"""
import dataclasses
import functools
import typing

import keras
import tensorflow as tf

from tfgan_impl import distribute

# `keras.Model.compile` arguments a model passes on; every other compile argument is a training option of the model.
_KERAS_COMPILE_ARGS = ("jit_compile", "steps_per_execution", "run_eagerly")


def check_non_negative(**values):
    """Raises `ValueError("NAME: expected 0 or more, got VALUE")` for the first negative value (loss weights, sizes)."""
    for name, value in values.items():
        if float(value) < 0:
            raise ValueError(f"{name}: expected 0 or more, got {value!r}")


@dataclasses.dataclass(frozen=True)
class PhaseLoss:
    """What a phase's loss function returns.

    Attributes:
        losses: a per-example loss `[batch]`, or a list of them (terms over different batches, e.g. a labelled
            batch beside the unlabelled one); each is summed and divided by its global batch size. A joint phase
            (see `Phase.networks`) gives a mapping from optimizer name to such losses.
        metrics: scalar figures by tracker name (this replica's means), e.g. `{"d_loss": ...}`.
        outputs: tensors that later phases of the same step use (e.g. CycleGAN's translations), by name.
    """

    losses: typing.Any
    metrics: dict = dataclasses.field(default_factory=dict)
    outputs: dict = dataclasses.field(default_factory=dict)


@dataclasses.dataclass(frozen=True)
class Phase:
    """One update of a step.

    Attributes:
        name: unique within the model, e.g. `"discriminator"`; also names its compiled per-replica function.
        networks: attribute names of the networks whose trainable variables it updates; or, for a joint phase
            that updates several networks from one forward pass, each by its own loss and optimizer (the
            simultaneous update of Goodfellow et al. 2014's code), a mapping from optimizer name to network names.
        optimizer: attribute name of its optimizer, `"d_optimizer"` or `"g_optimizer"`; `None` for a joint phase.
        loss: a function of one input (a batch, or what `inputs` makes) returning a `PhaseLoss`.
        interval: runs on the steps whose number is a multiple of it; its loss is multiplied by it, so that it
            weighs as if it ran every step (lazy regularization, Karras et al. 2020b, sec. 3.1).
        inputs: `inputs(data, carried) -> list`, one update per item, from the step's data and the outputs of
            the phases before it; by default one update on the step's data.
    """

    name: str
    networks: typing.Tuple[str, ...]
    optimizer: str
    loss: typing.Callable
    interval: int = 1
    inputs: typing.Optional[typing.Callable] = None

    @property
    def updates(self):
        """`{optimizer name: network names}` of the updates the phase applies."""
        if isinstance(self.networks, dict):
            return {optimizer: tuple(networks) for optimizer, networks in self.networks.items()}
        return {self.optimizer: tuple(self.networks)}


class AdversarialModel(keras.Model):
    """A `keras.Model` whose `fit` step runs its `phases()`, with a discriminator and a generator optimizer.

    Subclasses set their networks (named in `GENERATORS` and `DISCRIMINATORS`) before calling `build`, declare
    the figures they report in `METRICS`, take their training options in `configure` and return their step in
    `phases`. `model.optimizer` is the generator's, so Keras counts one `fit` step per generator update.
    """

    # The networks each optimizer trains; CycleGAN trains two of each kind.
    GENERATORS = ("generator",)
    DISCRIMINATORS = ("discriminator",)
    # Every figure the model can report; a `keras.metrics.Mean` tracker named NAME_tracker is made for each.
    METRICS = ("d_loss", "g_loss")

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self._xla_per_replica = False
        self._mirrored = False
        self._phase_functions = {}
        self._due = None  # names of the lazy phases this trace runs (see `_make_function`)
        # The number of `fit` steps taken, which lazy phases' intervals count; optimizers' iteration counts
        # cannot serve, since a lazy phase may step an optimizer a second time in a step.
        self.steps = self.add_weight(name="steps", shape=(), dtype="int64", initializer="zeros", trainable=False,
                                     aggregation="only_first_replica")
        # Trackers must exist before the model is built: Keras locks a built model's state.
        for name in self.METRICS:
            setattr(self, f"{name}_tracker", keras.metrics.Mean(name=name))
        self.training_options = {}

    # -- configuration -----------------------------------------------------------------------------------------

    def compile(self, d_optimizer, g_optimizer, **kwargs):
        """Configures adversarial training.

        Args:
            d_optimizer: optimizer (instance, name or config dict) of the discriminator(s).
            g_optimizer: optimizer of the generator(s).
            **kwargs: `jit_compile`, `steps_per_execution` and `run_eagerly` go to `keras.Model.compile`; the rest
                are the model's training options (see its `configure`).
        """
        keras_options = {name: kwargs.pop(name) for name in _KERAS_COMPILE_ARGS if name in kwargs}
        self._set_optimizers(d_optimizer, g_optimizer)
        self.training_options = self.configure(**kwargs)
        self._phase_functions = {}
        # Keras reports and checkpoints `model.optimizer`; the generator's counts one `fit` step per update.
        super().compile(optimizer=self.g_optimizer, auto_scale_loss=False, **keras_options)
        self._compile_kwargs = keras_options

    def configure(self):
        """Validates and sets the model's training options (subclasses add keyword arguments); returns them as a
        dict, which `get_compile_config` saves."""
        return {}

    def phases(self):
        """The phases of one `fit` step, in order (a list of `Phase`)."""
        raise NotImplementedError(f"{type(self).__name__} must define phases()")

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

    # -- the step ----------------------------------------------------------------------------------------------

    def train_step(self, data):
        """Runs the phases that are due, in order; returns the epoch's figures so far."""
        carried = {}
        for phase in self.phases():
            if phase.interval > 1:
                due = (int(self.steps.numpy()) % phase.interval == 0 if self._due is None  # eager: decided here
                       else phase.name in self._due)
                if not due:
                    continue
            for inputs in phase.inputs(data, carried) if phase.inputs else [data]:
                carried.update(self.run_phase(phase, inputs))
        self.end_step(carried)
        self.steps.assign_add(1)
        return self._logs()

    def end_step(self, carried):
        """Runs after the phases of every step, given the outputs they carried (e.g. a moving average of the
        generator); nothing here."""

    def run_phase(self, phase, inputs):
        """One update of `phase` on `inputs` on this replica: gradients of its loss scaled to the global batch,
        applied by its optimizer; its metrics go to their trackers.

        Returns:
            The phase's `outputs`, for the phases after it.
        """
        gradients, metrics, outputs = self._per_replica(phase)(inputs)
        # Every gradient of a joint phase is computed before any is applied: no network sees another's update.
        for optimizer, networks in phase.updates.items():
            # A regularizer reaches only some variables (R1 never the output bias): they are skipped, as Keras
            # would with a warning each trace, and as PyTorch's optimizers skip parameters without gradients.
            pairs = [(g, v) for g, v in zip(gradients[optimizer], self._variables(networks)) if g is not None]
            getattr(self, optimizer).apply_gradients(pairs)
        self._track(metrics)
        return outputs

    def _gradients_function(self, phase):
        updates = phase.updates

        def gradients(inputs):
            with tf.GradientTape(persistent=len(updates) > 1) as tape:
                result = phase.loss(inputs)
                losses = result.losses if isinstance(phase.networks, dict) else {phase.optimizer: result.losses}
                if set(losses) != set(updates):
                    raise ValueError(f"phase {phase.name!r}: its loss gave losses for {sorted(losses)}, "
                                     f"expected {sorted(updates)}")
                scaled_losses = {}
                for optimizer, value in losses.items():
                    terms = value if isinstance(value, (list, tuple)) else [value]
                    loss = tf.add_n([distribute.scale_to_global_batch(term) for term in terms])
                    if phase.interval > 1:
                        loss *= float(phase.interval)
                    # float16's loss scaling; identity otherwise
                    scaled_losses[optimizer] = getattr(self, optimizer).scale_loss(loss)
            return ({optimizer: tape.gradient(scaled_losses[optimizer], self._variables(networks))
                     for optimizer, networks in updates.items()}, result.metrics, result.outputs)

        gradients.__name__ = f"{phase.name}_gradients"
        return gradients

    def _per_replica(self, phase):
        # Each phase's gradients are one tf.function, traced once: the variants of a step with lazy phases (see
        # `_make_function`) call it instead of tracing its networks again (tracing dominates small models' start).
        # Not under mirrored strategies, where a nested function may not hold a loss's cross-replica all-reduce
        # ("merge_call called while defining a new graph"), except for XLA: it compiles one device's program and
        # (on CPU) no collectives, so there it compiles each replica's forward and backward pass, and the
        # optimizers' cross-replica update runs outside it. Nor inside a whole-step XLA program: there a nested
        # function call made TF2XLA take the batch and the variables as compile-time constants, and with Adam it
        # recompiled every step (a tiny BigGAN: 40 s a step instead of 0.05).
        whole_step_xla = bool(self.jit_compile) and not self._xla_per_replica
        if self.run_eagerly or whole_step_xla or (self._mirrored and not self._xla_per_replica):
            return self._gradients_function(phase)
        if phase.name not in self._phase_functions:
            self._phase_functions[phase.name] = tf.function(self._gradients_function(phase),
                                                            jit_compile=self._xla_per_replica)
        return self._phase_functions[phase.name]

    def _track(self, metrics):
        for name, value in metrics.items():
            getattr(self, f"{name}_tracker").update_state(value)

    def reports(self, name):
        """Whether the figure `name` (of `METRICS`) is reported under the current training options."""
        return True

    @property
    def d_fake_is_probability(self):
        """Whether the reported `d_fake` is the discriminator's probability of "real" on generated samples (logit
        losses), rather than a score (least squares, Wasserstein, hinge)."""
        return False

    @property
    def metrics(self):
        return [getattr(self, f"{name}_tracker") for name in self.METRICS if self.reports(name)]

    def _logs(self):
        logs = {m.name: m.result() for m in self.metrics}
        if distribute.in_multi_worker_mode(self.distribute_strategy):
            # Keras reduces step outputs across workers with `strategy.reduce(MEAN, axis=0)`, which needs an
            # axis to reduce: scalars fail (part of keras-team/keras#20585).
            logs = {name: tf.reshape(value, [1]) for name, value in logs.items()}
        return logs

    def _variables(self, names):
        return [v for name in names for v in getattr(self, name).trainable_variables]

    # -- Keras's loop ------------------------------------------------------------------------------------------

    def fit(self, x=None, y=None, **kwargs):
        """`keras.Model.fit`; a `tf.data.Dataset` is taken as it is (it shuffles itself)."""
        if not self.compiled:
            raise RuntimeError(f"call {type(self).__name__}.compile(d_optimizer=..., g_optimizer=...) before fit()")
        if isinstance(x, tf.data.Dataset):
            kwargs.setdefault("shuffle", False)  # Keras warns that it cannot shuffle a dataset otherwise
        return super().fit(x, y, **kwargs)

    def _make_function(self, step_function):
        strategy = self.distribute_strategy
        if step_function == self.train_step:
            self._mirrored = isinstance(strategy, (tf.distribute.MirroredStrategy,
                                                   tf.distribute.MultiWorkerMirroredStrategy))
            self._xla_per_replica = bool(self.jit_compile) and self._mirrored
            self._phase_functions = {}  # traced anew for this strategy and XLA setting
        lazy = [phase for phase in self.phases() if phase.interval > 1] if step_function == self.train_step else []
        if self.run_eagerly or (self.steps_per_execution == 1 and not self._xla_per_replica and not lazy):
            return super()._make_function(step_function)
        # Lazy phases: a replica may not branch around an optimizer's cross-replica update ("merge_call called
        # while defining a new graph"), so the step is traced once per set of due lazy phases and the branch is
        # chosen outside the replicas.
        step_functions = [step_function]
        if lazy:
            step_functions = [self._step_running(frozenset(p.name for i, p in enumerate(lazy) if mask >> i & 1))
                              for mask in range(2 ** len(lazy))]
        if self.jit_compile and not self._xla_per_replica:
            step_functions = [tf.function(function, jit_compile=True) for function in step_functions]

        def run(function, data):
            outputs = strategy.run(function, args=(data,))
            return tf.nest.map_structure(lambda value: tf.reshape(strategy.reduce("MEAN", value, axis=None), []),
                                         outputs)

        def one_step(data):  # inlined: a nested tf.function running the strategy fails inside the loop's cond
            if len(step_functions) == 1:
                return run(step_functions[0], data)
            branch = tf.add_n([tf.cast(self.steps % phase.interval == 0, tf.int32) * 2 ** index
                               for index, phase in enumerate(lazy)])
            return tf.switch_case(branch, [functools.partial(run, function, data) for function in step_functions])

        # Keras 3.15's loop of several steps per call fails under every tf.distribute strategy ("You must feed a
        # value for placeholder tensor 'while/cond/Placeholder'"); this loop avoids its lazily typed Optional.
        @tf.function(reduce_retracing=True, jit_compile=False)
        def steps(iterator):
            outputs = one_step(iterator.get_next())
            if int(self.steps_per_execution) == 1:  # else the loop's body is traced too, a second copy of the step
                return outputs
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

    def _step_running(self, due):
        """`train_step` traced with the lazy phases named in `due` (and no other)."""

        def step(data):
            self._due = due
            try:
                return self.train_step(data)
            finally:
                self._due = None

        return step

    def _maybe_symbolic_build(self, iterator=None, data_batch=None):
        # Keras peeks at a batch and reduces it eagerly here, which breaks under MultiWorkerMirroredStrategy
        # (keras-team/keras#20585); a GAN needs no data to build: networks are built and optimizers are
        # built on their own variables inside the strategy's scope.
        with self.distribute_strategy.scope():
            self.build_optimizers()

    def build_optimizers(self):
        """Creates both optimizers' slot variables (needed before loading optimizer state)."""
        if not self.d_optimizer.built:
            self.d_optimizer.build(self._variables(self.DISCRIMINATORS))
        if not self.g_optimizer.built:
            self.g_optimizer.build(self._variables(self.GENERATORS))

    # -- saving ------------------------------------------------------------------------------------------------

    def load_own_variables(self, store):
        if len(store.keys()) == 0:  # saved by tfgan_impl 0.1.0, before the step counter: set once optimizers load
            self._steps_from_optimizer = True
            return
        super().load_own_variables(store)

    def load_weights(self, filepath, *args, **kwargs):
        """`keras.Model.load_weights`; files of tfgan_impl 0.1.0 (which had no lazy phases) get the step count
        from the generator's optimizer."""
        self._steps_from_optimizer = False
        super().load_weights(filepath, *args, **kwargs)
        if self._steps_from_optimizer:
            self.steps.assign(self.g_optimizer.iterations)

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
                "g_optimizer": keras.saving.serialize_keras_object(self.g_optimizer), **self._compile_kwargs,
                **self.training_options}

    def compile_from_config(self, config):
        config = dict(config)
        config["d_optimizer"] = keras.saving.deserialize_keras_object(config["d_optimizer"])
        config["g_optimizer"] = keras.saving.deserialize_keras_object(config["g_optimizer"])
        self.compile(**config)
        self.build_optimizers()
