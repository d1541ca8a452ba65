"""One module per equation family: right-hand side, free energy, dissipation, diagnostics."""

from .base import PDE

__all__ = ["PDE"]
