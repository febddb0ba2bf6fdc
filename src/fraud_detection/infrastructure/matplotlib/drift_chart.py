"""The drift report as a chart: PSI and KS p-value per column, with the decision thresholds drawn in."""

from __future__ import annotations

import numpy as np

from fraud_detection.domain.drift.report import DriftReport
from fraud_detection.domain.ports.drift import DriftChart

SMALLEST_P = 1e-300  # log scale: a p-value that underflowed to 0 is drawn here


class MatplotlibDriftChart(DriftChart):
    def __init__(self, min_psi: float) -> None:
        self._min_psi = min_psi

    def render(self, report: DriftReport) -> bytes:
        # Imported here: matplotlib costs about 0.5 s, and a check asked for no chart must not pay it.
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt

        from fraud_detection.infrastructure.matplotlib.plotter import png_bytes

        names = [c.name for c in report.columns]
        colours = ["tab:red" if c.drifted else "tab:blue" for c in report.columns]
        positions = np.arange(len(names))
        figure, (psi_axes, p_axes) = plt.subplots(2, 1, figsize=(11, 6), sharex=True)
        psi_axes.bar(positions, [c.psi for c in report.columns], color=colours)
        psi_axes.axhline(self._min_psi, color="grey", linestyle="--", label=f"min PSI {self._min_psi:g}")
        psi_axes.set(ylabel="PSI")
        psi_axes.legend(loc="upper right")
        p_values = [max(c.p_value, SMALLEST_P) for c in report.columns]
        p_axes.bar(positions, -np.log10(p_values), color=colours)
        p_axes.axhline(
            -np.log10(report.test_alpha), color="grey", linestyle="--", label="alpha of the score test"
        )
        p_axes.set(ylabel="-log10 KS p-value")
        p_axes.legend(loc="upper right")
        p_axes.set_xticks(positions, names, rotation=90)
        figure.suptitle(
            f"{report.model_name} v{report.model_version}: {report.status} "
            f"({report.window.rows:,} rows, {report.checked_at[:19]})"
        )
        return png_bytes(figure)
