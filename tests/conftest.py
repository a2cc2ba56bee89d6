"""Shared test set-up: quiet TensorFlow, two logical CPU devices for tf.distribute tests, tiny data."""
import json
import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
os.environ.setdefault("KERAS_BACKEND", "tensorflow")
# pytest-xdist runs a TensorFlow per core; each one's default inter-op pool (a thread per core, beside the intra-op
# pool) oversubscribes the cores when two compute at once: with one inter-op thread two paper-set-up epochs side by
# side took 36 s instead of 44, two domain-classifier trainings 29 s instead of 41; alone, no change (20 s, 19 s).
os.environ.setdefault("TF_NUM_INTEROP_THREADS", "1")

import numpy as np  # noqa: E402
import pytest  # noqa: E402
import tensorflow as tf  # noqa: E402

# Logical devices must be configured before TensorFlow initializes; the default strategy still uses one.
_cpus = tf.config.list_physical_devices("CPU")
tf.config.set_logical_device_configuration(_cpus[0], [tf.config.LogicalDeviceConfiguration()] * 2)

FASHION_MNIST_DIR = "/usr/share/datasets/fashion-mnist"
# Tests on the real data skip on a developer machine without it; in CI (which installs it) that is an error.
if os.environ.get("CI") and not os.path.isdir(FASHION_MNIST_DIR):
    raise RuntimeError(f"CI needs {FASHION_MNIST_DIR}: apt-get install dataset-fashion-mnist (scripts/setup.sh does)")
needs_fashion_mnist = pytest.mark.skipif(not os.path.isdir(FASHION_MNIST_DIR),
                                         reason="apt-get install dataset-fashion-mnist")


def assert_config_errors(path, cases):
    """Each `(change, message)`: the config at `path` with `change` (`{section: {key: value}}`) merged in is
    refused with a `ConfigError` matching `message`."""
    from tfgan_impl import config as config_module
    from tfgan_impl.errors import ConfigError

    base = config_module.load(path).to_dict()
    for change, message in cases:
        mapping = {section: dict(values) if isinstance(values, dict) else values for section, values in base.items()}
        for section, values in change.items():
            mapping[section] = {**mapping[section], **values}
        with pytest.raises(ConfigError, match=message):
            config_module.from_dict(mapping)


# MNIST's IDX files, beside the repository in the team's work tree (../shared/datasets/mnist) or where
# TFGAN_MNIST_DIR says; a user's clone has neither and skips the tests that need it, CI must run them.
MNIST_DIR = os.environ.get("TFGAN_MNIST_DIR") or os.path.abspath(
    os.path.join(os.path.dirname(__file__), "..", "..", "shared", "datasets", "mnist"))
if os.environ.get("CI") and not os.path.isdir(MNIST_DIR):
    raise RuntimeError(f"CI needs MNIST's IDX files in {MNIST_DIR} (or TFGAN_MNIST_DIR)")
needs_mnist = pytest.mark.skipif(not os.path.isdir(MNIST_DIR),
                                 reason=f"MNIST's IDX files are not in {MNIST_DIR} (set TFGAN_MNIST_DIR)")


@pytest.fixture
def gaussian_points():
    """4,096 points of a 2-D Gaussian with mean (3, -1) and standard deviations (0.5, 0.2)."""
    rng = np.random.default_rng(0)
    return rng.normal([3.0, -1.0], [0.5, 0.2], size=(4096, 2)).astype("float32")


@pytest.fixture
def tiny_images():
    """64 uint8 images 8x8x1 of two classes (dark and bright) with labels."""
    rng = np.random.default_rng(0)
    labels = np.arange(64) % 2
    images = (rng.integers(0, 60, (64, 8, 8, 1)) + labels[:, None, None, None] * 180).astype("uint8")
    return images, labels


@pytest.fixture(scope="session")
def fashion_classifier(tmp_path_factory):
    """`(path, test accuracy)` of a Fashion-MNIST domain classifier for FCD, trained once per test session (once in
    all, not once per worker, when pytest-xdist runs the tests in parallel)."""
    from filelock import FileLock

    from tfgan_impl.metrics import classifier as classifiers

    # Under xdist each worker has its own base directory inside the run's: their parent is the run's, shared.
    shared = tmp_path_factory.getbasetemp()
    if os.environ.get("PYTEST_XDIST_WORKER"):
        shared = shared.parent
    path, record = shared / "fashion_mnist_classifier.keras", shared / "fashion_mnist_classifier.json"
    with FileLock(str(shared / "fashion_mnist_classifier.lock")):
        if not record.is_file():
            # One epoch (0.88 test accuracy) keeps CI short; the default three give 0.908 (README).
            model, accuracy = classifiers.train_classifier("fashion_mnist", epochs=1)
            model.save(str(path))
            record.write_text(json.dumps({"accuracy": accuracy}))
        return str(path), json.loads(record.read_text())["accuracy"]


def pytest_collection_modifyitems(items):
    """Orders the tests for parallel runs. xdist's `worksteal` first hands each worker an equal, contiguous part of
    this list, which the worker runs from the front while idle workers steal from the back of the others' parts:
    the tests that take minutes (`slow(minutes=...)`, as measured alone on 2 cores) lead the parts, shared longest
    first over the workers, so that none starts late or queues behind another. Serially: longest first. One worker
    trains the shared domain classifier (`fashion_classifier`) while others would wait for it: their long tests
    that do without it go first."""
    workers = int(os.environ.get("PYTEST_XDIST_WORKER_COUNT", "1"))

    def minutes(item):
        slow = item.get_closest_marker("slow")
        return slow.kwargs.get("minutes", 0) if slow else 0

    longest = sorted((item for item in items if minutes(item)), key=minutes, reverse=True)
    rest = sorted((item for item in items if not minutes(item)), key=lambda item: not item.get_closest_marker("slow"))
    heads, loads = [[] for _ in range(workers)], [0.0] * workers
    for item in longest:
        worker = loads.index(min(loads))
        heads[worker].append(item)
        loads[worker] += minutes(item)
    for head in heads[1:]:
        head.sort(key=lambda item: "fashion_classifier" in item.fixturenames)  # stable: longest first otherwise
    ordered, left = [], len(items)
    for worker in range(workers):
        size = left // (workers - worker)  # the part worksteal hands this worker
        left -= size
        take = max(size - len(heads[worker]), 0)
        ordered += heads[worker] + rest[:take]
        rest = rest[take:]
    items[:] = ordered + rest


def pytest_xdist_auto_num_workers(config):
    """`-n auto` (pyproject.toml): one worker per core, at most four; each worker's TensorFlow uses every core, and
    the tests that fill both are few while most wait on Python (tracing, graph building)."""
    return max(1, min(4, os.cpu_count() or 1))
