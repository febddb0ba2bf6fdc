"""`fraud pipeline run`'s summary: a box on a terminal, whole `label: value` lines in a pipe."""

from __future__ import annotations

import io
from pathlib import Path

from rich.console import Console

from fraud_detection.application.pipeline_summary import PipelineSummary
from fraud_detection.domain.dataset import DatasetId, DatasetRef
from fraud_detection.domain.promotion import PromotionDecision
from fraud_detection.entrypoints.cli.summary import print_summary
from fraud_detection.settings import Settings

RUN = "file:///srv/fraud/home/mlartifacts/b871884df2ff470f9579bb7e2036f182/artifacts"


def summary() -> PipelineSummary:
    dataset = DatasetRef(DatasetId("ab" * 32), "memory://d", 4_000, 12, "/data/creditcard.csv", "2026-12-05")
    decision = PromotionDecision(True, "no champion yet", "auprc", 0.88, None)
    return PipelineSummary(dataset, decision=decision, run_location=RUN, stage_seconds={"ingest": 1.25})


def printed(terminal: bool, tmp_path: Path) -> str:
    out = io.StringIO()
    console = Console(file=out, width=80, force_terminal=terminal, color_system=None)
    print_summary(console, summary(), Settings(home=tmp_path))
    return out.getvalue()


def test_piped_every_row_is_one_whole_line(tmp_path: Path) -> None:
    lines = printed(False, tmp_path).splitlines()
    assert lines[0] == "Training pipeline"
    assert f"mlflow run: {RUN}" in lines  # 85 characters: the 80-column box folded it
    assert "promotion: PROMOTED: no champion yet" in lines
    assert f"store: {(tmp_path / 'store').resolve()}" in lines
    assert "stages: ingest 1.2s" in lines


def test_on_a_terminal_the_box_fits_the_width(tmp_path: Path) -> None:
    text = printed(True, tmp_path)
    assert "┃" in text or "│" in text
    assert max(len(line) for line in text.splitlines()) <= 80
    assert "PROMOTED: no champion yet" in text


def test_it_points_at_fraud_mlflow_ui_for_the_embedded_store(tmp_path: Path) -> None:
    lines = printed(False, tmp_path).splitlines()
    assert (
        f"browse: fraud mlflow-ui  (MLflow's UI on sqlite:///{(tmp_path / 'mlflow.db').resolve()})" in lines
    )


def test_a_staged_pass_does_not_read_as_a_promotion(tmp_path: Path) -> None:
    """FRAUD_PROMOTION_MODE=staged: "PROMOTED" read as the new version serving, while v1 still did."""
    staged = summary()
    reason = "challenger better: ...; staged: v2 starts in shadow (`fraud rollout status`)"
    staged.decision = PromotionDecision(True, reason, "auprc", 0.9, 0.8, staged=True)
    out = io.StringIO()
    print_summary(Console(file=out, width=80, color_system=None), staged, Settings(home=tmp_path))
    lines = out.getvalue().splitlines()
    assert (
        "promotion: PASSED, ROLLOUT STARTED (the champion serves until it completes): "
        "challenger better: ...; staged: v2 starts in shadow (`fraud rollout status`)"
    ) in lines
    assert not any("PROMOTED" in line for line in lines)
    assert staged.decision.outcome == "staged"
    assert staged.decision.as_dict()["staged"] is True
