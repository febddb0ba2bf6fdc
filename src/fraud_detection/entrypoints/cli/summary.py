"""The end-of-run summary: what was trained on, how it scored, what the gate decided, where things are."""

from __future__ import annotations

from rich.console import Console
from rich.table import Table

from fraud_detection.application.pipeline_summary import PipelineSummary
from fraud_detection.settings import Settings

TITLE = "Training pipeline"


def print_summary(console: Console, summary: PipelineSummary, settings: Settings) -> None:
    """A box on a terminal; piped (a CI log, `make run | tee`), one `label: value` line per row, so the
    URIs stay whole: the box, 80 columns wide in a pipe, folded them across lines."""
    rows = summary_rows(summary, settings)
    if not console.is_terminal:
        console.print(TITLE)
        for label, value in rows:
            value = value.replace("\n", "\n" + " " * (len(label) + 2))
            console.print(f"{label}: {value}", soft_wrap=True)  # whatever the console's default
        return
    table = Table(title=TITLE, show_header=False, title_justify="left")
    table.add_column(style="bold")
    table.add_column(overflow="fold")
    for label, value in rows:
        table.add_row(label, value)
    console.print(table)


def summary_rows(summary: PipelineSummary, settings: Settings) -> list[tuple[str, str]]:
    """(label, value) pairs; a value may hold rich markup and line breaks."""
    ds = summary.dataset
    rows = [
        ("dataset", f"{ds.id.short} ({ds.rows:,} rows, {ds.frauds:,} frauds, {ds.fraud_rate:.3%})"),
        ("source", ds.source),
    ]
    if summary.validation:
        rows.append(("validation", summary.validation.report.summary()))
    if summary.folds:
        f = summary.folds
        rows.append((
            "folds",
            f"{f['folds']} expanding time-ordered folds over {f['rows']:,} rows; {f['out_of_fold_rows']:,} "
            f"rows ({f['out_of_fold_frauds']:,} frauds) scored out of fold",
        ))  # fmt: skip
    if summary.training:
        t = summary.training
        rows.append((
            "training",
            f"imbalance {t.chosen.strategy}, {t.chosen.rounds} rounds on the folds; refit on every row "
            f"for {t.refit_rounds} rounds; threshold {t.threshold.threshold:.4f} on the out-of-fold scores "
            f"({t.threshold.rule})",
        ))  # fmt: skip
    if summary.evaluation:
        m = summary.evaluation.metrics
        rows.append((
            "out-of-time metrics",
            f"AUPRC {m.auprc:.4f}  ROC AUC {m.roc_auc:.4f}  recall@P90 {m.recall_at_precision_90:.3f}  "
            f"precision@{m.k} {m.precision_at_k:.3f}\n"
            f"at threshold: precision {m.precision:.3f} recall {m.recall:.3f} alerts {m.alerts:,} "
            f"cost {m.cost:,.2f}",
        ))  # fmt: skip
    if summary.version:
        aliases = ", ".join(summary.version.aliases) or "no alias"
        rows.append(("model", f"{summary.version.name} v{summary.version.version} ({aliases})"))
    if summary.decision:
        verdict = {
            "promote": "[green]PROMOTED[/]",
            # "PROMOTED" read as the new version serving: the champion moves when the rollout completes
            "staged": "[green]PASSED, ROLLOUT STARTED[/] (the champion serves until it completes)",
            "keep": "[yellow]KEPT CHAMPION[/]",
        }[summary.decision.outcome]
        rows.append(("promotion", f"{verdict}: {summary.decision.reason}"))
    rows.append(("mlflow run", summary.run_location))
    if summary.validation:
        rows.append(("report", summary.validation.html_uri))
    rows.append(("store", settings.resolved_storage_uri))
    if settings.mlflow_tracking_uri is None:
        # `fraud mlflow-ui`, not a bare `mlflow ui`: that one leaves workers running after SIGTERM (README)
        rows.append(("browse", f"fraud mlflow-ui  (MLflow's UI on {settings.resolved_tracking_uri})"))
    rows.append(("stages", "  ".join(f"{k} {v:.1f}s" for k, v in summary.stage_seconds.items())))
    return rows
