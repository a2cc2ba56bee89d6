"""Property-based tests: random and truncated bytes, random YAML and config values give our clear errors only."""
import gzip
import os
import struct
import tempfile

import numpy as np
import yaml
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from tfgan_impl import config as config_module
from tfgan_impl import data
from tfgan_impl.errors import ConfigError, DataError

SETTINGS = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])


def _write(directory, name, payload):
    path = os.path.join(directory, name)
    with open(path, "wb") as stream:
        stream.write(payload)
    return path


def _valid_idx():
    images = np.arange(3 * 4 * 4, dtype=np.uint8).reshape(3, 4, 4)
    return struct.pack(">BBBB3I", 0, 0, 0x08, 3, 3, 4, 4) + images.tobytes()


@SETTINGS
@given(payload=st.binary(max_size=300), compress=st.booleans())
def test_idx_reader_random_bytes(payload, compress):
    with tempfile.TemporaryDirectory() as directory:
        name = "x-idx3-ubyte" + (".gz" if compress else "")
        path = _write(directory, name, gzip.compress(payload) if compress else payload)
        try:
            array = data.read_idx(path)
        except DataError as error:
            assert path in str(error) and "\n" not in str(error)
        else:  # only a self-consistent header gets through, and then the sizes agree
            assert array.size * array.dtype.itemsize == len(payload) - 4 - 4 * payload[3]


@SETTINGS
@given(fraction=st.floats(min_value=0.0, max_value=1.0, exclude_max=True), compress=st.booleans())
def test_idx_reader_truncations(fraction, compress):
    stored = gzip.compress(_valid_idx()) if compress else _valid_idx()
    cut = int(fraction * len(stored))
    with tempfile.TemporaryDirectory() as directory:
        path = _write(directory, "x-idx3-ubyte" + (".gz" if compress else ""), stored[:cut])
        try:
            data.read_idx(path)
        except DataError as error:
            assert path in str(error)
        else:
            raise AssertionError(f"a file cut at {cut} of {len(stored)} bytes was accepted")


@SETTINGS
@given(payload=st.binary(max_size=400), extension=st.sampled_from([".png", ".jpg"]))
def test_image_loader_random_bytes(payload, extension):
    with tempfile.TemporaryDirectory() as directory:
        path = _write(directory, "a" + extension, payload)
        try:
            data.load_folder(directory)
        except DataError as error:
            assert path in str(error) or directory in str(error)


@SETTINGS
@given(payload=st.binary(max_size=400))
def test_npz_loader_random_bytes(payload):
    with tempfile.TemporaryDirectory() as directory:
        path = _write(directory, "d.npz", payload)
        try:
            data.load_npz(path)
        except DataError as error:
            assert path in str(error)


_scalars = st.none() | st.booleans() | st.integers(-10, 10**6) | st.floats(allow_nan=True) | st.text(max_size=8)
_keys = st.sampled_from(["seed", "model", "data", "train", "evaluate", "latent_dim", "batch_size", "d_steps", "loss",
                         "generator", "name", "base_filters", "source", "epochs", "metrics", "bogus"])
_values = st.recursive(_scalars, lambda children: st.lists(children, max_size=3) |
                       st.dictionaries(_keys, children, max_size=4), max_leaves=12)


@SETTINGS
@given(mapping=st.dictionaries(_keys, _values, max_size=5))
def test_config_loader_random_structures(mapping):
    with tempfile.TemporaryDirectory() as directory:
        path = _write(directory, "c.yaml", yaml.safe_dump(mapping).encode())
        try:
            config_module.load(path)
        except ConfigError as error:
            assert str(error).startswith(path + ": ") and "\n" not in str(error)


@SETTINGS
@given(text=st.text(max_size=200))
def test_config_loader_random_text(text):
    with tempfile.TemporaryDirectory() as directory:
        path = _write(directory, "c.yaml", text.encode("utf-8", "surrogatepass"))
        try:
            config_module.load(path)
        except ConfigError as error:
            assert str(error).startswith(path + ": ")


_SERVED = {}


def _served_signatures():
    """The signatures of a tiny exported DCGAN (latent size 8, 8x8 images), exported once per test process."""
    if not _SERVED:
        import keras
        import tensorflow as tf

        from tfgan_impl import networks
        from tfgan_impl.export import export_saved_model
        from tfgan_impl.gan import GAN

        keras.utils.set_random_seed(0)
        gan = GAN(networks.dcgan_generator(8, [8, 8, 1], base_filters=4),
                  networks.dcgan_discriminator([8, 8, 1], base_filters=4), latent_dim=8)
        path = export_saved_model(gan, tempfile.mkdtemp())
        _SERVED["model"] = tf.saved_model.load(path)  # keeps the functions' variables alive
    return _SERVED["model"].signatures


_DTYPES = ["float32", "float64", "float16", "int32", "int64", "uint8", "bool"]


@settings(max_examples=60, deadline=None)
@given(shape=st.lists(st.integers(0, 9), min_size=0, max_size=4), dtype=st.sampled_from(_DTYPES),
       special=st.sampled_from([None, "nan", "inf"]))
@example(shape=[0, 8, 0], dtype="float32", special=None)  # more dimensions than declared, once let through
@example(shape=[2, 8, 1], dtype="float32", special=None)
def test_serving_signature_random_shapes_and_dtypes(shape, dtype, special):
    """Any `z` gives either images of the right shape in [0, 1] or an error naming the input, never a crash."""
    import tensorflow as tf

    values = np.random.default_rng(0).normal(size=shape).astype(dtype)
    if special and dtype.startswith("float") and values.size:
        values.flat[0] = float(special)
    serve = _served_signatures()["serving_default"]
    try:
        images = serve(z=tf.constant(values))["images"].numpy()
    except tf.errors.InvalidArgumentError as error:
        # Our checks name `z`; a wrong dtype is refused by TensorFlow before them, naming the only input (#0).
        assert "input z must" in error.message or (
            dtype != "float32" and "input #0(zero-based) was expected to be a float tensor" in error.message)
        assert not (dtype == "float32" and len(shape) == 2 and shape[1] == 8 and not special)
    except (TypeError, ValueError) as error:  # the signature's float32 [batch, width] contract, checked by TF
        assert dtype != "float32" or len(shape) != 2, str(error)
        assert "z" in str(error)
    else:
        assert dtype == "float32" and len(shape) == 2 and shape[1] == 8 and not (special and values.size)
        assert images.shape == (shape[0], 8, 8, 1) and images.min(initial=0) >= 0 and images.max(initial=1) <= 1


@settings(max_examples=40, deadline=None)
@given(num=st.integers(-5, 5000), seed=st.integers(-2**63, 2**63 - 1))
def test_sample_signature_random_requests(num, seed):
    import tensorflow as tf

    sample = _served_signatures()["sample"]
    try:
        images = sample(num=tf.constant(num, tf.int32), seed=tf.constant(seed, tf.int64))["images"].numpy()
    except tf.errors.InvalidArgumentError as error:
        assert "input num must be" in error.message and not 1 <= num <= 4096
    else:
        assert 1 <= num <= 4096 and images.shape == (num, 8, 8, 1)
