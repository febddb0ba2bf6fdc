"""Human-readable rendering of a validation report (HTML page and console lines), standard library only."""

from __future__ import annotations

import html

from fraud_detection.domain.validation import ValidationReport


def render_html(report: ValidationReport) -> str:
    status = "PASSED" if report.success else "FAILED"
    row = "<tr class='{cls}'><td>{ok}</td><td>{name}</td><td>{col}</td><td>{exp}</td><td>{obs}</td></tr>"
    rows = "\n".join(
        row.format(
            cls="ok" if o.success else "fail",
            ok="&#10003;" if o.success else "&#10007;",
            name=html.escape(o.expectation),
            col=html.escape(o.column or ""),
            exp=html.escape(str(o.expected)),
            obs=html.escape(str(o.observed)),
        )
        for o in sorted(report.outcomes, key=lambda o: o.success)
    )
    return f"""<!doctype html>
<html><head><meta charset="utf-8"><title>Validation {html.escape(report.dataset_id[:12])}</title>
<style>body{{font-family:sans-serif;margin:2em}}table{{border-collapse:collapse}}
td,th{{border:1px solid #ccc;padding:4px 8px;font-size:13px}}tr.fail{{background:#fdd}}</style></head>
<body><h1>Data validation: {status}</h1>
<p>Dataset <code>{html.escape(report.dataset_id)}</code>, suite <code>{html.escape(report.suite)}</code>,
validated {html.escape(report.validated_at)}. {html.escape(report.summary())}</p>
<table><tr><th></th><th>expectation</th><th>column</th><th>expected</th><th>observed</th></tr>
{rows}
</table></body></html>
"""
