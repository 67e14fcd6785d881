"""gankit: train, evaluate and use GANs with one training loop.

from gankit import load_config, train, sample
run_dir = train(load_config("mnist-dcgan", overrides=["train.epochs=5"]))
sample(run_dir, n=64, out="grid.png")
"""

import gankit.repeatable  # noqa: F401  (first: before anything loads torch)
from gankit.augment import list_augments
from gankit.config import (
    AugmentConfig,
    DataConfig,
    EvalConfig,
    LogConfig,
    LossConfig,
    ModelConfig,
    OptimConfig,
    RunConfig,
    TrainConfig,
)
from gankit.config_files import list_presets, load_config
from gankit.data import build_dataset, list_datasets
from gankit.errors import ConfigError, DataError, GankitError, RunError
from gankit.evaluate import evaluate
from gankit.losses import list_losses, list_penalties
from gankit.metrics.extractors import list_extractors
from gankit.models import ModelSpec, build_models, list_models
from gankit.report import report
from gankit.sample import generate, load_run, sample
from gankit.train import resume, train
from gankit.version import __version__  # noqa: F401  (gankit.__version__)

__all__ = [
    "AugmentConfig",
    "ConfigError",
    "DataConfig",
    "DataError",
    "EvalConfig",
    "GankitError",
    "LogConfig",
    "LossConfig",
    "ModelConfig",
    "ModelSpec",
    "OptimConfig",
    "RunConfig",
    "RunError",
    "TrainConfig",
    "build_dataset",
    "build_models",
    "evaluate",
    "generate",
    "list_augments",
    "list_datasets",
    "list_extractors",
    "list_losses",
    "list_models",
    "list_penalties",
    "list_presets",
    "load_config",
    "load_run",
    "report",
    "resume",
    "sample",
    "train",
]
