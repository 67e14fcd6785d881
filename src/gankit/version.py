"""The package version, in a module of its own so that any layer can name it without importing the package."""

__version__ = "0.1.0"  # equal to pyproject.toml's version (tests/test_import_layers.py checks)
