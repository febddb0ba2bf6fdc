"""Matplotlib rendering of evaluation plots."""

from fraud_detection.infrastructure.plots.matplotlib_plotter import MatplotlibPlotter

__all__ = ["MatplotlibPlotter"]
