"""Installs tfgan_impl and the `tfgan-impl` command."""
from setuptools import find_packages, setup

setup(
    name="tfgan_impl",
    version="0.1.0",
    description="Generative adversarial networks for Keras 3 and TensorFlow, trained with model.fit",
    long_description=open("README.md", encoding="utf-8").read(),
    long_description_content_type="text/markdown",
    packages=find_packages(include=["tfgan_impl", "tfgan_impl.*"]),
    python_requires=">=3.10",
    install_requires=[
        "tensorflow>=2.16,<2.22",
        "keras>=3.3,<4",
        "tensorflow-datasets>=4.9",
        "importlib_resources>=5",  # tensorflow-datasets 4.9.10 imports it without declaring it
        "pyyaml>=6",
        "pillow>=9",
        "numpy>=1.26",
        "tensorboard>=2.16",  # TensorFlow 2.21 no longer installs it; tf.summary needs it
    ],
    extras_require={
        "onnx": ["tf2onnx>=1.17", "onnx>=1.16"],
        "test": ["pytest>=8", "pytest-xdist>=3.6", "filelock>=3.12", "tensorflow-gan==2.1.0", "hypothesis>=6",
                 "tf2onnx>=1.17", "onnx>=1.16", "onnxruntime>=1.18"],
    },
    entry_points={"console_scripts": ["tfgan-impl=tfgan_impl.cli:main"]},
)
