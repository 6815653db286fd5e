"""Watches AWS Compute Optimizer enrollment and alerts when it changes."""

# The release's one version: pyproject.toml, `make publish` and `--version` read it.
__version__ = "0.2.0"
