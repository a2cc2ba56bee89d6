"""StyleGAN2's training (tfgan_impl.stylegan2): the path-length regularizer against a linear generator's closed
form, the lazy phases' schedule, style mixing, the running means, and the family's config."""
import os

import keras
import numpy as np
import pytest
import tensorflow as tf

from tests.conftest import FASHION_MNIST_DIR
from tfgan_impl import builder, evaluation, families, training
from tfgan_impl import config as config_module
from tfgan_impl.errors import ConfigError
from tfgan_impl.networks import stylegan2 as networks
from tfgan_impl.stylegan2 import StyleGAN2, path_lengths

RNG = np.random.default_rng(0)
CONFIG = os.path.join(os.path.dirname(__file__), "..", "configs", "stylegan2_fashion_mnist.yaml")


def tiny_model(**options):
    generator = networks.stylegan2_generator(8, (8, 8, 1), w_dim=8, mapping_layers=1, channel_base=32, channel_max=8)
    discriminator = networks.stylegan2_discriminator((8, 8, 1), channel_base=32, channel_max=8)
    return StyleGAN2(generator, discriminator, 8, seed=1, **options)


def real_batches(batch=8):
    images = RNG.uniform(-1, 1, (batch * 4, 8, 8, 1)).astype("float32")
    return tf.data.Dataset.from_tensor_slices(images).batch(batch, drop_remainder=True).repeat()


def test_path_lengths_of_a_linear_generator_are_its_transposed_jacobian_norms():
    num_ws, w_dim, height = 3, 4, 4
    matrix = RNG.standard_normal((num_ws * w_dim, height * height)).astype("float32")

    def synthesis(ws):  # g(w) = M^T w: the Jacobian is M^T whatever w is
        return tf.reshape(tf.reshape(ws, [-1, num_ws * w_dim]) @ matrix, [-1, height, height, 1])

    ws = tf.constant(RNG.standard_normal((5, num_ws, w_dim)), tf.float32)
    y = RNG.standard_normal((5, height, height, 1)).astype("float32")
    lengths = path_lengths(synthesis, ws, y).numpy()
    projected = (y.reshape(5, -1) @ matrix.T / height).reshape(5, num_ws, w_dim)  # J^T y / sqrt(H W)
    np.testing.assert_allclose(lengths, np.sqrt((projected**2).sum(2).mean(1)), rtol=1e-5)
    # and on average over y: E ||J^T y||^2 / num_ws = ||M||_F^2 / (H W num_ws)
    many = RNG.standard_normal((4000, height, height, 1)).astype("float32")
    squared = path_lengths(synthesis, tf.zeros((4000, num_ws, w_dim)), many).numpy() ** 2
    assert squared.mean() == pytest.approx((matrix**2).sum() / (height * height * num_ws), rel=0.03)


def test_lazy_phases_run_every_interval_steps_with_their_optimizers():
    model = tiny_model(style_mixing=0.0)
    model.compile(d_optimizer="adam", g_optimizer="adam", r1_gamma=1.0, r1_interval=2, pl_weight=1.0, pl_interval=3)
    assert [phase.name for phase in model.phases()] == ["discriminator", "r1", "generator", "path_length"]
    model.fit(real_batches(), steps_per_epoch=6, epochs=1, verbose=0)
    # steps 0..5: R1 on 0, 2, 4; path length on 0, 3
    assert int(model.steps.numpy()) == 6
    assert int(model.d_optimizer.iterations.numpy()) == 6 + 3
    assert int(model.g_optimizer.iterations.numpy()) == 6 + 2
    assert float(model.pl_mean.numpy()) > 0  # the running mean of path lengths moved from 0
    logs = model.get_metrics_result()
    assert {"r1_penalty", "pl_penalty", "pl_mean"} <= set(logs)


def test_regularizers_at_zero_drop_their_phases_and_figures():
    model = tiny_model()
    model.compile(d_optimizer="adam", g_optimizer="adam", r1_gamma=0.0, pl_weight=0.0)
    assert [phase.name for phase in model.phases()] == ["discriminator", "generator"]
    assert not {"r1_penalty", "pl_penalty", "pl_mean"} & {m.name for m in model.metrics}


def test_style_mixing_takes_the_layers_from_a_cutoff_on_from_a_second_latent():
    model = tiny_model(style_mixing=1.0)
    z = tf.constant(RNG.standard_normal((4, 8)), tf.float32)
    plain = model.generator.broadcast(model.generator.mapping(z)).numpy()
    assert model.generator.input_shape == (None, 8)  # as exports read
    assert model.generator.output_shape == (None, 8, 8, 1)
    cutoffs = set()
    for step in range(12):
        model.steps.assign(step)
        ws = model.training_ws(z).numpy()
        same = np.all(np.isclose(ws, plain), axis=(0, 2))  # per layer
        cutoff = int(np.argmin(same))
        assert 1 <= cutoff < model.generator.num_ws and same[:cutoff].all() and not same[cutoff:].any()
        assert np.allclose(ws[:, cutoff:], ws[:, -1:])  # one second w for all the later layers
        cutoffs.add(cutoff)
    assert len(cutoffs) > 1
    never = tiny_model(style_mixing=0.0)
    np.testing.assert_allclose(never.training_ws(z).numpy(), never.generator.broadcast(never.generator.mapping(z)))


def test_the_running_mean_of_w_follows_the_batches_and_truncation_uses_it():
    model = tiny_model(w_average_beta=0.5, style_mixing=0.0)
    model.compile(d_optimizer="adam", g_optimizer="adam", r1_gamma=0.0, pl_weight=0.0)
    assert np.allclose(model.generator.w_average.numpy(), 0)
    model.fit(real_batches(), steps_per_epoch=3, epochs=1, verbose=0)
    average = model.generator.w_average.numpy()
    assert np.abs(average).max() > 1e-3
    z = tf.constant(RNG.standard_normal((2, 8)), tf.float32)
    at_mean = model.truncated(z, 0.0).numpy()
    np.testing.assert_allclose(at_mean[0], at_mean[1], atol=1e-5)  # psi 0: every z gives the mean's image
    np.testing.assert_allclose(model.truncated(z, 1.0).numpy(), model(z).numpy(), atol=1e-5)


def config(**changes):
    mapping = {"model": {"type": "stylegan2", "latent_dim": 8,
                         "generator": {"name": "stylegan2", "w_dim": 8, "channel_max": 8},
                         "discriminator": {"name": "stylegan2", "channel_max": 8}},
               "data": {"image_size": [32, 32], "batch_size": 32}}
    for key, value in changes.items():
        section, name = key.split("__")
        mapping.setdefault(section, {})[name] = value
    return config_module.from_dict(mapping)


def test_the_family_turns_the_half_life_into_a_per_step_decay():
    from tfgan_impl.families import stylegan2 as family

    assert family.ema_decay(config(model__ema_half_life=3200)) == pytest.approx(0.5 ** 0.01)
    assert family.ema_decay(config()) is None


@pytest.mark.parametrize("changes, message", [
    ({"model__generator": {"name": "dcgan"}}, "model.generator.name: model.type stylegan2 needs the stylegan2"),
    ({"model__ema_half_life": 10, "model__ema_decay": 0.99}, "model.ema_half_life: set it or model.ema_decay"),
    ({"model__style_mixing": 1.5}, r"model.style_mixing: expected a probability in \[0, 1\], got 1.5"),
    ({"train__r1_interval": 0}, "train.r1_interval: expected a positive integer, got 0"),
    ({"train__pl_weight": -1}, "train.pl_weight: expected 0 or more, got -1"),
    ({"train__update": "simultaneous"}, "train.update: stylegan2 alternates its phases"),
    ({"train__ada_target": 2}, r"train.ada_target: expected a number in \[0, 1\] or null, got 2"),
    ({"train__ada_pipeline": ["xflip", "blur"]}, r"train.ada_pipeline: unknown transformations \['blur'\]"),
    ({"train__ada_p": -0.1}, "train.ada_p: expected 0 or more, got -0.1"),
])
def test_bad_options_name_their_key(changes, message):
    with pytest.raises(ConfigError, match=message):
        config(**changes)


def test_the_model_keeps_its_state_through_a_keras_file_and_exports_for_serving(tmp_path):
    import keras

    from tfgan_impl import export

    model = tiny_model(ada_p=0.25, style_mixing=0.5)
    model.compile(d_optimizer="adam", g_optimizer="adam", r1_gamma=2.0, pl_weight=1.5, ada_target=0.6,
                  ada_pipeline=["xflip", "rotate90"])
    model.build_optimizers()
    model.pl_mean.assign(1.5)
    model.ada_p.assign(0.37)
    model.generator.w_average.assign(np.linspace(-1, 1, 8).astype("float32"))
    model.save(tmp_path / "model.keras")
    loaded = keras.models.load_model(tmp_path / "model.keras")
    assert isinstance(loaded, StyleGAN2) and loaded.style_mixing == 0.5 and loaded.initial_ada_p == 0.25
    assert float(loaded.pl_mean.numpy()) == 1.5 and float(loaded.ada_p.numpy()) == pytest.approx(0.37)
    np.testing.assert_allclose(loaded.generator.w_average.numpy(), np.linspace(-1, 1, 8), atol=1e-6)
    assert loaded.training_options["ada_pipeline"] == ["xflip", "rotate90"] and loaded.r1_gamma == 2.0
    np.testing.assert_allclose(loaded.generate(4, seed=3), model.generate(4, seed=3), atol=1e-6)
    export.export_saved_model(model, str(tmp_path / "export"), version=1)
    signatures = tf.saved_model.load(str(tmp_path / "export" / "1")).signatures
    z, other = model.latents(3, seed=9), model.latents(3, seed=10)
    images = model.generate_from(z.numpy())
    np.testing.assert_allclose(signatures["serving_default"](z=z)["images"].numpy(), images, atol=1e-5)
    to_unit = lambda x: np.clip((np.asarray(x) + 1) / 2, 0, 1)  # noqa: E731  (served: [-1, 1] -> [0, 1])
    truncated = signatures["truncated"](z=z, psi=tf.constant(0.5))["images"].numpy()
    np.testing.assert_allclose(truncated, to_unit(model.truncated(z, 0.5)), atol=1e-5)
    np.testing.assert_allclose(signatures["truncated"](z=z, psi=tf.constant(1.0))["images"].numpy(), images,
                               atol=1e-5)
    num_ws = model.generator.num_ws
    mix = signatures["mix"]
    np.testing.assert_allclose(mix(z_a=z, z_b=other, crossover=tf.constant(num_ws))["images"].numpy(), images,
                               atol=1e-5)
    np.testing.assert_allclose(mix(z_a=z, z_b=other, crossover=tf.constant(0))["images"].numpy(),
                               model.generate_from(other.numpy()), atol=1e-5)
    halfway = mix(z_a=z, z_b=other, crossover=tf.constant(2))["images"].numpy()
    np.testing.assert_allclose(halfway, to_unit(model.mixed(z, other, 2)), atol=1e-5)
    assert np.abs(halfway - images).max() > 1e-4
    np.testing.assert_allclose(signatures["mapping"](z=z)["w"].numpy(), model.generator.mapping(z).numpy(),
                               atol=1e-5)


def test_samples_with_truncation_collapse_to_the_mean_image_at_psi_zero(tmp_path):
    from tfgan_impl import sampling

    model = tiny_model()
    model.generator.w_average.assign(np.full(8, 0.3, "float32"))
    sampling.write_samples(model, 4, 0, str(tmp_path / "mean.npy"), truncation=0.0)
    at_mean = np.load(tmp_path / "mean.npy")
    np.testing.assert_allclose(at_mean, np.repeat(at_mean[:1], 4, axis=0), atol=1e-6)
    sampling.write_samples(model, 4, 0, str(tmp_path / "plain.npy"), truncation=1.0)
    np.testing.assert_allclose(np.load(tmp_path / "plain.npy"), model.generate(4, seed=0), atol=1e-6)


def test_the_style_mixing_grid_has_sources_on_top_destinations_left_and_mixes_inside(tmp_path):
    from tfgan_impl import sampling

    model = tiny_model()
    num_ws = model.generator.num_ws

    def grid(crossover):
        sampling.write_samples(model, 3, 0, str(tmp_path / "grid.npy"), mix=crossover)
        return np.load(tmp_path / "grid.npy").reshape(4, 4, 8, 8, 1)

    all_source, all_destination, middle = grid(num_ws), grid(0), grid(2)
    np.testing.assert_allclose(all_source[0, 0], 1.0)  # the blank corner
    for i in range(1, 4):
        for j in range(1, 4):
            np.testing.assert_allclose(all_source[i, j], all_source[0, j], atol=1e-5)  # every layer the source's
            np.testing.assert_allclose(all_destination[i, j], all_destination[i, 0], atol=1e-5)
            assert np.abs(middle[i, j] - middle[0, j]).max() > 1e-4 and np.abs(middle[i, j] - middle[i, 0]).max() > 1e-4


@pytest.mark.slow(minutes=4)
@pytest.mark.skipif(not os.path.isdir(FASHION_MNIST_DIR), reason="apt-get install dataset-fashion-mnist")
def test_stylegan2_learns_fashion_mnist_at_32x32(fashion_classifier, tmp_path):
    """The shipped config (regularizers, ADA) narrowed (widths min(256 / r, 32), w 32) for 400 steps of 32
    images: FCD in the domain classifier's features falls below the untrained generator's. StyleGAN2 learns
    slowly at this scale, and CI's budget allows no more: measured (2026-12-02) 79.0 untrained, 63.5 after 400
    steps (0.80); a longer run of the same set-up gave 66, 69, 68, 64, 65, 62, 61, 60, 57, 61 at steps 100 to
    1,000 (another classifier). Far lower figures need runs of hours (bench/image_families.py)."""
    overrides = ["model.latent_dim=32", "model.generator.channel_base=256", "model.generator.channel_max=32",
                 "model.generator.w_dim=32", "model.discriminator.channel_base=256",
                 "model.discriminator.channel_max=32", "model.ema_half_life=1000", "data.split=train[:12800]",
                 "train.epochs=4", "train.steps_per_epoch=100", "train.sample_every=4"]
    config = config_module.load(CONFIG, overrides=overrides)
    keras.utils.set_random_seed(0)
    training_data = families.get("stylegan2").training_data(config)
    evaluator = evaluation.Evaluator("fashion_mnist", ["fcd"], classifier=fashion_classifier[0], image_size=[32, 32])

    def fcd(model):
        return evaluator(evaluation.generator_chunks(model, 2000, seed=1))["fcd"]

    before = fcd(builder.build_model(config, training_data.info, training_data.extras))
    after = fcd(training.train(config, str(tmp_path / "run"), verbose=0))
    assert after < 0.9 * before, (before, after)
