"""Training health: the two ways a GAN run fails silently, checked every epoch (`TrainingHealth`)."""
import keras
import numpy as np

from tfgan_impl import noise
from tfgan_impl.samplers import TextSampler


def mean_pairwise_distance(samples):
    """The mean Euclidean distance between the rows of `samples` (flattened), over all distinct pairs."""
    flat = np.asarray(samples, np.float64).reshape(len(samples), -1)
    squared = np.sum(flat ** 2, axis=1)
    distances = np.sqrt(np.maximum(squared[:, None] + squared[None, :] - 2.0 * flat @ flat.T, 0.0))
    return float(distances[np.triu_indices(len(flat), k=1)].mean())


class TrainingHealth(keras.callbacks.Callback):
    """Says, the epoch it happens, when a run has failed in one of the two ways a GAN run silently fails: the
    discriminator wins outright (its mean probability of "real" on generated samples stays below `d_fake_floor`
    over a whole epoch, so the generator's gradient vanishes: Goodfellow et al. 2014, sec. 3; Arjovsky & Bottou
    2017, sec. 2.2) or the generator collapses (samples from fixed inputs nearly identical: the "Helvetica
    scenario", Goodfellow et al. 2014, sec. 6; Salimans et al. 2016, sec. 3.2).

    Each epoch adds `sample_diversity` (the mean pairwise distance of the trained generator's samples, not its
    moving average's, from the fixed latents, or of translations of fixed inputs, divided by that of `reference`
    real data) and `healthy` (1 or 0) to the logs,
    so `metrics.csv` and TensorBoard record them; an unhealthy epoch prints one line, and with `action="stop"`
    ends training (`message` says why). A collapse counts from its `collapse_epochs`-th epoch in a row: a young
    generator draws near-identical images for an epoch or so (the 2014 MNIST set-up does, and recovers).

    Args:
        reference: real samples in data units (at least 2), whose diversity is the yardstick.
        inputs: fixed inputs of a translator, in [0, 1], or text embeddings of a text sampler (drawn with `seed`);
            `None` for models that sample from noise.
        action: `"warn"` or `"stop"`.
        d_fake_floor: the epoch mean of D(G(z)) below which the discriminator has won (logit losses only).
        diversity_floor: the `sample_diversity` below which the generator has collapsed.
        collapse_epochs: consecutive epochs below `diversity_floor` that make a collapse.
        num: samples drawn from fixed latents (noise models).
        seed: seed of those latents (the sample pictures' own).
    """

    ACTIONS = ("warn", "stop")

    def __init__(self, reference, inputs=None, action="warn", d_fake_floor=0.01, diversity_floor=0.2,
                 collapse_epochs=2, num=64, seed=0):
        super().__init__()
        if action not in self.ACTIONS:
            raise ValueError(f"action must be one of {', '.join(self.ACTIONS)}, got {action!r}")
        reference = np.asarray(reference, np.float32)
        if len(reference) < 2:
            raise ValueError(f"reference needs at least 2 samples, got {len(reference)}")
        self.reference_diversity = mean_pairwise_distance(reference)
        self.inputs = None if inputs is None else np.asarray(inputs, np.float32)
        self.action, self.d_fake_floor, self.diversity_floor = action, float(d_fake_floor), float(diversity_floor)
        self.collapse_epochs = max(int(collapse_epochs), 1)
        self.num, self.seed = max(int(num), 2), int(seed)
        self.message = None
        self._low_diversity_epochs = 0

    def on_train_begin(self, logs=None):
        self.message = None
        self._low_diversity_epochs = 0
        if self.inputs is None and not isinstance(self.model, TextSampler):
            self._latent = self.model.latents(self.num, self.seed, noise.SAMPLE_GRID_CHUNK)
            num_classes = self.model.num_classes
            self._labels = None if num_classes is None else np.arange(self.num) % num_classes

    def _samples(self):
        if isinstance(self.model, TextSampler):
            return self.model.generate_from_embeddings(self.inputs, self.seed)
        if self.inputs is not None:
            return self.model.translate(self.inputs)
        # The trained generator, not its moving average: the average lags (the 2014 MNIST set-up's, at decay
        # 0.999, still looks like its initial blur in epoch 2) while the run is healthy.
        return self.model.generate_from(self._latent, labels=self._labels, averaged=False)

    def on_epoch_end(self, epoch, logs=None):
        logs = logs if logs is not None else {}
        samples = self._samples()
        diversity = (mean_pairwise_distance(samples) / self.reference_diversity
                     if np.all(np.isfinite(samples)) and self.reference_diversity > 0 else float("nan"))
        problems = []
        d_fake = logs.get("d_fake")
        if d_fake is not None and self.model.d_fake_is_probability and float(d_fake) < self.d_fake_floor:
            problems.append(f"the discriminator won outright (mean D(G(z)) {float(d_fake):.2g} < {self.d_fake_floor:g} "
                            "over the epoch: the generator's gradient vanishes)")
        self._low_diversity_epochs = self._low_diversity_epochs + 1 if diversity < self.diversity_floor else 0
        if self._low_diversity_epochs >= self.collapse_epochs:
            problems.append(f"the generator collapsed (sample diversity {diversity:.2g} of the data's, "
                            f"< {self.diversity_floor:g})")
        logs["sample_diversity"] = diversity
        logs["healthy"] = 0.0 if problems else 1.0
        if not problems:
            return
        report = f"epoch {epoch + 1}: unhealthy run: {'; '.join(problems)}"
        print(f"tfgan-impl: warning: {report}", flush=True)
        if self.action == "stop":
            self.message = report
            self.model.stop_training = True
