"""The end-of-run summary: what was trained on, how it scored, what the gate decided, where things are."""

from __future__ import annotations

from rich.console import Console
from rich.table import Table

from fraud_detection.application.pipeline_summary import PipelineSummary
from fraud_detection.settings import Settings


def print_summary(console: Console, summary: PipelineSummary, settings: Settings) -> None:
    table = Table(title="Training pipeline", show_header=False, title_justify="left")
    table.add_column(style="bold")
    table.add_column(overflow="fold")
    ds = summary.dataset
    table.add_row("dataset", f"{ds.id.short} ({ds.rows:,} rows, {ds.frauds:,} frauds, {ds.fraud_rate:.3%})")
    table.add_row("source", ds.source)
    if summary.validation:
        table.add_row("validation", summary.validation.report.summary())
    if summary.folds:
        f = summary.folds
        table.add_row(
            "folds",
            f"{f['folds']} expanding time-ordered folds over {f['rows']:,} rows; {f['out_of_fold_rows']:,} "
            f"rows ({f['out_of_fold_frauds']:,} frauds) scored out of fold",
        )
    if summary.training:
        t = summary.training
        table.add_row(
            "training",
            f"imbalance {t.chosen.strategy}, {t.chosen.rounds} rounds on the folds; refit on every row "
            f"for {t.refit_rounds} rounds; threshold {t.threshold.threshold:.4f} on the out-of-fold scores "
            f"({t.threshold.rule})",
        )
    if summary.evaluation:
        m = summary.evaluation.metrics
        table.add_row(
            "out-of-time metrics",
            f"AUPRC {m.auprc:.4f}  ROC AUC {m.roc_auc:.4f}  recall@P90 {m.recall_at_precision_90:.3f}  "
            f"precision@{m.k} {m.precision_at_k:.3f}\n"
            f"at threshold: precision {m.precision:.3f} recall {m.recall:.3f} alerts {m.alerts:,} "
            f"cost {m.cost:,.2f}",
        )
    if summary.version:
        aliases = ", ".join(summary.version.aliases) or "no alias"
        table.add_row("model", f"{summary.version.name} v{summary.version.version} ({aliases})")
    if summary.decision:
        verdict = "[green]PROMOTED[/]" if summary.decision.promote else "[yellow]KEPT CHAMPION[/]"
        table.add_row("promotion", f"{verdict}: {summary.decision.reason}")
    table.add_row("mlflow run", summary.run_location)
    if summary.validation:
        table.add_row("report", summary.validation.html_uri)
    table.add_row("store", settings.resolved_storage_uri)
    if settings.mlflow_tracking_uri is None:
        table.add_row("browse", f"mlflow ui --backend-store-uri {settings.resolved_tracking_uri}")
    table.add_row("stages", "  ".join(f"{k} {v:.1f}s" for k, v in summary.stage_seconds.items()))
    console.print(table)
