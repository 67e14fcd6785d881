"""The utility of synthetic data: does adding a GAN's samples help a classifier, measured with intervals."""

from gankit.utility.study import utility

__all__ = ["utility"]
