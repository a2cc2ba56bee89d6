"""Network builders: output shapes, the paper's layer sizes, and the Maxout layer."""
import os
import keras
import numpy as np
import pytest
import tensorflow as tf

from tfgan_impl import networks


@pytest.mark.parametrize("image_shape", [[28, 28, 1], [32, 32, 3], [64, 64, 3]])
def test_dcgan_shapes(image_shape):
    generator = networks.dcgan_generator(16, image_shape, base_filters=8)
    discriminator = networks.dcgan_discriminator(image_shape, base_filters=8)
    assert generator.output_shape == (None, *image_shape)
    assert discriminator.output_shape == (None, 1)
    images = generator(np.random.default_rng(0).normal(size=(2, 16)).astype("float32"))
    assert np.all(np.abs(images) <= 1.0)  # tanh output
    assert discriminator(images).shape == (2, 1)


def test_dcgan_generator_without_batch_norm_has_biases_and_no_normalization():
    plain = networks.dcgan_generator(16, [28, 28, 1], base_filters=8, batch_norm=False)
    normalized = networks.dcgan_generator(16, [28, 28, 1], base_filters=8)
    assert not any(isinstance(layer, keras.layers.BatchNormalization) for layer in plain.layers)
    assert sum(isinstance(layer, keras.layers.BatchNormalization) for layer in normalized.layers) == 2
    assert all(layer.use_bias for layer in plain.layers if hasattr(layer, "use_bias"))
    z = np.random.default_rng(0).normal(size=(4, 16)).astype("float32")
    # Without batch statistics a sample does not depend on the rest of its batch.
    np.testing.assert_allclose(plain(z, training=True)[:1], plain(z[:1], training=True), atol=1e-6)
    assert plain.output_shape == normalized.output_shape == (None, 28, 28, 1)


def test_dcgan_rejects_odd_shapes():
    with pytest.raises(ValueError, match="square image shape"):
        networks.dcgan_generator(8, [28, 32, 1])
    with pytest.raises(ValueError, match="even image size of at least 8"):
        networks.dcgan_discriminator([7, 7, 1])


def test_maxout_takes_the_max_of_its_pieces():
    layer = networks.Maxout(2, 3)
    layer.build((None, 1))
    layer.dense.kernel.assign(np.array([[1.0, -1.0, 0.5, 2.0, 0.0, -3.0]], np.float32))
    layer.dense.bias.assign(np.zeros(6, np.float32))
    out = keras.ops.convert_to_numpy(layer(np.array([[2.0], [-1.0]], np.float32)))
    # Unit 0 pieces: x, -x, 0.5x; unit 1 pieces: 2x, 0, -3x.
    np.testing.assert_allclose(out, [[2.0, 4.0], [1.0, 3.0]])
    restored = networks.Maxout.from_config(layer.get_config())
    assert (restored.units, restored.num_pieces) == (2, 3)


def test_marginal_logits_start_the_sigmoid_at_the_data_means():
    images = np.array([[0.0, 0.25, 1.0], [0.0, 0.75, 1.0]])
    logits = networks.marginal_logits(images)
    np.testing.assert_allclose(1 / (1 + np.exp(-logits)), [1e-3, 0.5, 1 - 1e-3], rtol=1e-4)
    generator = networks.mlp_generator(4, [3], hidden_units=(5,), output_bias=logits.tolist())
    np.testing.assert_allclose(generator.layers[-2].bias.numpy(), logits)


@pytest.mark.parametrize("image_shape", [[28, 28, 1], [32, 32, 3]])
def test_resnet_shapes_and_spectral_norm(image_shape):
    generator = networks.resnet_generator(16, image_shape, filters=8)
    discriminator = networks.resnet_discriminator(image_shape, filters=8)
    assert generator.output_shape == (None, *image_shape)
    images = generator(np.random.default_rng(0).normal(size=(2, 16)).astype("float32"))
    assert discriminator(images).shape == (2, 1)
    wrapped = [layer for layer in discriminator._flatten_layers() if isinstance(layer, keras.layers.SpectralNormalization)]
    assert len(wrapped) >= 2 * 5  # two convolutions per block (5 blocks at 32x32, 4 at 28x28) and the logit
    blocks = 3 if image_shape[0] == 32 else 2
    assert sum(isinstance(layer, keras.layers.UpSampling2D) for layer in generator.layers) == 2 * blocks


@pytest.mark.parametrize("conditioning, outputs", [("input", [(2, 1)]), ("auxiliary", [(2, 1), (2, 5)]),
                                                    ("classes", [(2, 5)])])
def test_discriminators_take_every_conditioning(conditioning, outputs):
    labels = np.array([1, 4], np.int32)
    images = np.zeros((2, 8, 8, 1), np.float32)
    for builder in (networks.dcgan_discriminator, networks.resnet_discriminator):
        kwargs = {"base_filters": 4} if builder is networks.dcgan_discriminator else {"filters": 4}
        model = builder([8, 8, 1], num_classes=5, conditioning=conditioning, **kwargs)
        result = model([images, labels]) if conditioning == "input" else model(images)
        result = result if isinstance(result, (list, tuple)) else [result]
        assert [tuple(r.shape) for r in result] == outputs, builder.__name__
    points = networks.mlp_discriminator([2], hidden_units=(4,), num_classes=5, conditioning=conditioning)
    result = points([np.zeros((2, 2), np.float32), labels]) if conditioning == "input" else points(np.zeros((2, 2)))
    result = result if isinstance(result, (list, tuple)) else [result]
    assert [tuple(r.shape) for r in result] == outputs
    with pytest.raises(ValueError, match="needs num_classes of at least 2"):
        networks.mlp_discriminator([2], conditioning=conditioning)


def test_conditional_generators_take_labels_and_use_them():
    z = np.zeros((2, 4), np.float32)
    for generator in (networks.mlp_generator(4, [2], hidden_units=(8,), output_activation="linear", num_classes=3),
                      networks.dcgan_generator(4, [8, 8, 1], base_filters=4, num_classes=3, label_encoding="one_hot"),
                      networks.resnet_generator(4, [8, 8, 1], filters=4, num_classes=3)):
        outputs = generator([z, np.array([0, 2], np.int32)]).numpy()
        assert not np.allclose(outputs[0], outputs[1]), generator.name  # same z, different labels


def test_weight_clip_constraint_and_serialization():
    clip = networks.WeightClip(0.05)
    np.testing.assert_allclose(clip(np.array([-1.0, 0.01, 2.0])), [-0.05, 0.01, 0.05])
    model = networks.maxout_discriminator([4], hidden_units=(3,), num_pieces=2, weight_clip=0.05)
    restored = keras.models.model_from_json(model.to_json())
    constraints = [layer.kernel_constraint for layer in restored._flatten_layers() if hasattr(layer, "kernel_constraint")]
    assert any(isinstance(c, networks.WeightClip) and c.clip_value == 0.05 for c in constraints)


def test_mlp_generator_batch_norm_normalizes_hidden_layers_in_training():
    generator = networks.mlp_generator(3, [2], hidden_units=(16, 16), output_activation="linear", batch_norm=True)
    norms = [layer for layer in generator.layers if isinstance(layer, keras.layers.BatchNormalization)]
    assert len(norms) == 2
    dense = [layer for layer in generator.layers if isinstance(layer, keras.layers.Dense)]
    assert [layer.use_bias for layer in dense] == [False, False, True]  # the normalization's offset is the bias
    z = np.random.default_rng(0).normal(5.0, 3.0, (64, 3)).astype("float32")
    trunk = keras.Model(generator.inputs, norms[0].output)
    normalized = keras.ops.convert_to_numpy(trunk(z, training=True))
    np.testing.assert_allclose(normalized.mean(axis=0), 0.0, atol=1e-4)
    np.testing.assert_allclose(normalized.std(axis=0), 1.0, atol=1e-2)
    assert generator(z, training=True).shape == (64, 2)


def test_mlp_generator_of_salimans_et_al_learns_no_batch_norm_scale_and_weight_normalizes_its_output():
    """openai/improved-gan's MNIST generator: `nn.batch_norm(..., g=None)` hidden layers (offset only) and an
    `nn.l2normalize` output layer (w = g v / ||v||, g trained from 1)."""
    generator = networks.mlp_generator(3, [2, 2, 1], hidden_units=(8,), activation="softplus", batch_norm=True,
                                       batch_norm_scale=False, output_weight_norm=True)
    (norm,) = [layer for layer in generator.layers if isinstance(layer, keras.layers.BatchNormalization)]
    assert norm.gamma is None and norm.beta.trainable
    (output,) = [layer for layer in generator.layers if isinstance(layer, networks.WeightNormDense)]
    assert output.g.trainable
    np.testing.assert_allclose(np.linalg.norm(output.g.numpy()[None] * output.v.numpy()
                                              / np.linalg.norm(output.v.numpy(), axis=0), axis=0), 1.0, rtol=1e-5)
    z = np.random.default_rng(0).uniform(size=(16, 3)).astype("float32")
    images = keras.ops.convert_to_numpy(generator(z, training=True))
    assert images.shape == (16, 2, 2, 1) and 0.0 < images.min() and images.max() < 1.0
    restored = keras.models.model_from_json(generator.to_json())
    restored.set_weights(generator.get_weights())
    np.testing.assert_allclose(keras.ops.convert_to_numpy(restored(z)), keras.ops.convert_to_numpy(generator(z)),
                               rtol=1e-5, atol=1e-6)
    with pytest.raises(ValueError, match="output_bias"):
        networks.mlp_generator(3, [2], output_weight_norm=True, output_bias=[0.0, 0.0])


def test_no_two_classes_register_the_same_serialization_name():
    """Keras keeps the last class registered under a name: a second `tfgan_impl>NAME` would silently load every
    saved model that uses the first with the second (it happened: two `NearestUpsampling` layers)."""
    import ast
    import glob

    root = os.path.join(os.path.dirname(__file__), "..", "tfgan_impl")
    registered = {}
    for path in sorted(glob.glob(os.path.join(root, "**", "*.py"), recursive=True)):
        for node in ast.walk(ast.parse(open(path).read())):
            if isinstance(node, ast.ClassDef) and any("register_keras_serializable" in ast.dump(d)
                                                      for d in node.decorator_list):
                assert node.name not in registered, (node.name, registered.get(node.name), path)
                registered[node.name] = path
    assert len(registered) > 10


def test_weight_norm_dense_is_g_v_over_norm_v_and_initializes_from_data():
    """Salimans & Kingma 2016: w = g v / ||v|| (eq. 2); the data-dependent initialization gives the batch's
    pre-activations mean 0 and variance 1 per unit (sec. 3)."""
    keras.utils.set_random_seed(0)
    layer = networks.WeightNormDense(5, activation="relu")
    inputs = np.random.default_rng(0).normal(2.0, 3.0, size=(200, 7)).astype("float32")
    layer.build((None, 7))
    layer.g.assign(np.arange(1, 6, dtype="float32"))
    layer.bias.assign(np.full(5, 0.5, "float32"))
    v = layer.v.numpy()
    expected = np.maximum(inputs @ (v / np.linalg.norm(v, axis=0)) * np.arange(1, 6) + 0.5, 0.0)
    np.testing.assert_allclose(layer(inputs), expected, rtol=1e-5, atol=1e-5)
    layer.initialize(inputs)
    pre_activations = inputs @ (v / np.linalg.norm(v, axis=0)) * layer.g.numpy() + layer.bias.numpy()
    np.testing.assert_allclose(pre_activations.mean(axis=0), 0.0, atol=1e-4)
    np.testing.assert_allclose(pre_activations.std(axis=0), 1.0, rtol=1e-3)
    clone = networks.WeightNormDense.from_config(layer.get_config())
    assert clone.units == 5 and clone.activation is keras.activations.relu


def test_weight_normalized_mlp_initializes_every_layer_from_the_batch_it_sees():
    keras.utils.set_random_seed(0)
    discriminator = networks.mlp_discriminator([4, 4, 1], hidden_units=(16, 8), activation="relu", weight_norm=True,
                                               num_classes=3, conditioning="classes")
    images = np.random.default_rng(1).uniform(size=(300, 4, 4, 1)).astype("float32")
    assert networks.initialize_from_data(discriminator, images) == 3  # two hidden layers and the class head
    head = discriminator.layers[-1]
    hidden = keras.Sequential(discriminator.layers[:-1])(images)
    pre_activations = head._normalized(hidden).numpy() * head.g.numpy() + head.bias.numpy()
    np.testing.assert_allclose(pre_activations.std(axis=0), 1.0, rtol=1e-3)
    with pytest.raises(ValueError, match="weight_norm: not with spectral_norm"):
        networks.mlp_discriminator([4, 4, 1], weight_norm=True, spectral_norm=True)


def test_weight_normalized_mlp_can_keep_hidden_scales_fixed_as_the_authors_mnist_code():
    """Salimans et al. 2016's MNIST discriminator: hidden g set by the initialization and not trained, the class
    head's g trained, directions v drawn with standard deviation 0.1."""
    keras.utils.set_random_seed(0)
    discriminator = networks.mlp_discriminator([4, 4, 1], hidden_units=(64, 8), activation="relu", weight_norm=True,
                                               num_classes=3, conditioning="classes", train_hidden_scales=False,
                                               weight_norm_stddev=0.1)
    layers = [layer for layer in discriminator.layers if isinstance(layer, networks.WeightNormDense)]
    assert [layer.g.trainable for layer in layers] == [False, False, True]
    assert not any(weight is layer.g for layer in layers[:2] for weight in discriminator.trainable_weights)
    np.testing.assert_allclose(np.std(layers[0].v.numpy()), 0.1, rtol=0.05)
    networks.initialize_from_data(discriminator, np.random.default_rng(1).uniform(size=(300, 4, 4, 1)))
    assert not np.allclose(layers[0].g.numpy(), 1.0)  # the initialization still sets the fixed scales
    assert networks.WeightNormDense.from_config(layers[0].get_config()).train_scale is False


def test_weight_norm_on_a_discriminator_with_heads_or_labels_is_a_clear_error(tmp_path):
    from tfgan_impl import training
    from tfgan_impl import config as config_module
    from tfgan_impl.errors import UserError

    images = np.random.default_rng(0).integers(0, 255, size=(64, 8, 8, 1)).astype("uint8")
    np.savez(tmp_path / "d.npz", images=images, labels=np.arange(64) % 4)
    for model_type in ("acgan", "cgan"):
        config = config_module.from_dict({
            "model": {"type": model_type, "latent_dim": 4,
                      "generator": {"name": "mlp", "hidden_units": [8]},
                      "discriminator": {"name": "mlp", "hidden_units": [8], "weight_norm": True}},
            "data": {"source": f"npz:{tmp_path / 'd.npz'}", "batch_size": 8},
            "train": {"epochs": 1, "steps_per_epoch": 1}})
        with pytest.raises(UserError, match="model.discriminator.weight_norm: the initialization from data takes a "
                                            "discriminator of images alone.*needs a keras.Sequential network"):
            training.train(config, str(tmp_path / model_type), verbose=0)


def _fused_ops(layer, x):
    """The op types of `layer`'s training pass, traced."""
    graph = tf.function(lambda v: layer(v, training=True)).get_concrete_function(
        tf.TensorSpec(x.shape, tf.float32)).graph
    return {op.type for op in graph.get_operations()}


@pytest.mark.parametrize("shape", [(64, 6, 5, 8), (64, 7, 8), (64, 12)])
@pytest.mark.parametrize("center_scale", [True, False])
def test_batch_normalization_is_fused_and_matches_keras_in_training(shape, center_scale):
    x = tf.constant(np.random.default_rng(0).normal(3.0, 2.0, shape).astype("float32"))
    ours = networks.BatchNormalization(center=center_scale, scale=center_scale, momentum=0.9)
    theirs = keras.layers.BatchNormalization(center=center_scale, scale=center_scale, momentum=0.9)
    ours.build(shape), theirs.build(shape)
    if center_scale:  # non-trivial gamma and beta, the same in both
        theirs.set_weights([np.linspace(0.5, 1.5, shape[-1]), np.linspace(-1, 1, shape[-1])] + theirs.get_weights()[2:])
    ours.set_weights(theirs.get_weights())
    assert "FusedBatchNormV3" in _fused_ops(ours, x) and "FusedBatchNormV3" not in _fused_ops(theirs, x)
    results = []
    for layer in (ours, theirs):
        with tf.GradientTape() as tape:
            tape.watch(x)
            y = layer(x, training=True)
            loss = tf.reduce_sum(tf.sin(y) * tf.range(y.shape[-1], dtype=tf.float32))  # a non-trivial upstream gradient
        results.append([y, *tape.gradient(loss, [x, *layer.trainable_weights]),
                        layer.moving_mean, layer.moving_variance])
    for a, b in zip(*results):
        np.testing.assert_allclose(a, b, rtol=1e-4, atol=1e-4 * max(1.0, float(np.abs(b).max())))
    # The moving variance averages the biased batch variance, as Keras's does: for 12 rows the unbiased one is 9% off.
    variance = np.var(x.numpy().reshape(-1, shape[-1]), axis=0)
    np.testing.assert_allclose(ours.moving_variance, 0.9 + 0.1 * variance, rtol=1e-5)


def test_batch_normalization_keeps_keras_inference_names_and_weights():
    shape = (16, 4, 4, 3)
    x = np.random.default_rng(1).normal(size=shape).astype("float32")
    ours = networks.BatchNormalization()
    assert ours.name.startswith("batch_normalization")
    theirs = keras.layers.BatchNormalization()
    theirs.build(shape)
    theirs.set_weights([np.full(3, 2.0), np.full(3, 0.5), np.full(3, 0.1), np.full(3, 4.0)])
    ours.build(shape)
    ours.set_weights(theirs.get_weights())
    assert "FusedBatchNormV3" not in {op.type for op in tf.function(lambda v: ours(v, training=False))
                                      .get_concrete_function(tf.TensorSpec(shape, tf.float32)).graph.get_operations()}
    np.testing.assert_allclose(ours(x, training=False), theirs(x, training=False), atol=1e-6)
    restored = keras.layers.deserialize(keras.layers.serialize(ours))
    assert type(restored) is networks.BatchNormalization and restored.get_config() == ours.get_config()


def test_synchronized_batch_normalization_falls_back_to_keras_global_moments():
    layer = networks.BatchNormalization()
    layer.build((8, 3))
    layer.synchronized = True
    assert "FusedBatchNormV3" not in _fused_ops(layer, tf.zeros((8, 3)))
