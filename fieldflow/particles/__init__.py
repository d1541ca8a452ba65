"""Particle methods, the independent cross-checks of the grid solvers (one module per method)."""
