"""Matplotlib rendering (headless Agg backend): evaluation plots and the drift chart."""
