"""The monitoring files under observability/: promtool accepts the Prometheus config and rules and passes the
rule unit tests, every alert has a firing and a quiet unit test, and the Grafana dashboards are well formed.

The helpers that read the files (expressions of dashboards and rules, Grafana variable substitution) are
shared with tests/e2e/test_prometheus_dashboards.py, which runs every expression on a live Prometheus.
"""

from __future__ import annotations

import json
import re
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import promql_parser
import pytest
import yaml

from tests.fixtures.programs import require_program

pytestmark = pytest.mark.integration

OBSERVABILITY = Path(__file__).resolve().parents[2] / "observability"
PROMETHEUS_DIR = OBSERVABILITY / "prometheus"
RULE_FILES = sorted((PROMETHEUS_DIR / "rules").glob("*.yml"))
RULE_TEST_FILES = sorted((PROMETHEUS_DIR / "tests").glob("*.yml"))
GRAFANA_DIR = OBSERVABILITY / "grafana"
DASHBOARD_FILES = sorted((GRAFANA_DIR / "dashboards").glob("*.json"))
DATASOURCE_VARIABLE = "${datasource}"
SEVERITIES = {"critical", "warning", "info"}
REQUIRED_ANNOTATIONS = {"summary", "description", "runbook"}
# What Grafana puts in its global variables when it runs a panel's query; concrete values for a test whose
# data are a minute old and scraped every second.
GRAFANA_GLOBALS = {
    "__rate_interval": "1m",
    "__interval": "15s",
    "__range": "5m",
    "__range_s": "300",
    "__interval_ms": "15000",
}
LABEL_VALUES = re.compile(r"label_values\((?P<selector>.+),\s*(?P<label>\w+)\)")
VARIABLE = re.compile(r"\$\{([A-Za-z_]\w*)(?::\w+)?\}|\$([A-Za-z_]\w*)")


@dataclass(frozen=True)
class Expression:
    """One PromQL expression and where it was found (for test ids and failure messages)."""

    source: str
    promql: str
    from_dashboard: bool


def load_yaml(path: Path) -> Any:
    return yaml.safe_load(path.read_text())


def rules(kind: str) -> Iterator[tuple[Path, dict[str, Any]]]:
    """Every rule of `kind` ("alert" or "record") in the rule files, with its file."""
    for path in RULE_FILES:
        for group in load_yaml(path)["groups"]:
            for rule in group["rules"]:
                if kind in rule:
                    yield path, rule


def rule_expressions() -> list[Expression]:
    return [
        Expression(f"{path.name}:{rule.get('alert') or rule['record']}", str(rule["expr"]), False)
        for kind in ("record", "alert")
        for path, rule in rules(kind)
    ]


def panels(dashboard: dict[str, Any]) -> Iterator[dict[str, Any]]:
    """Panels at any depth (a collapsed row holds its panels)."""
    for panel in dashboard.get("panels", []):
        yield panel
        yield from panel.get("panels", [])


def variable_values(dashboard: dict[str, Any]) -> dict[str, str]:
    """Each templating variable's default as Grafana would put it in a query: the "All" of a multi-value
    variable is its allValue regex."""
    values = dict(GRAFANA_GLOBALS)
    for variable in dashboard["templating"]["list"]:
        current = variable.get("current", {}).get("value")
        selected = current[0] if isinstance(current, list) and current else current
        if selected == "$__all":
            selected = variable["allValue"]
        values[variable["name"]] = str(selected)
    return values


def substitute(promql: str, values: dict[str, str]) -> str:
    def value(match: re.Match[str]) -> str:
        name = match.group(1) or match.group(2)
        if name not in values:
            raise AssertionError(f"unknown Grafana variable ${name} in {promql!r}")
        return values[name]

    return VARIABLE.sub(value, promql)


def dashboard_expressions() -> list[Expression]:
    """Every target expression of every dashboard, with the dashboard's variables substituted."""
    found = []
    for path in DASHBOARD_FILES:
        dashboard = json.loads(path.read_text())
        values = variable_values(dashboard)
        for panel in panels(dashboard):
            for target in panel.get("targets", []):
                if "expr" in target:
                    source = f"{path.stem}:{panel['id']}:{panel['title']}:{target['refId']}"
                    found.append(Expression(source, substitute(target["expr"], values), True))
    return found


@dataclass(frozen=True)
class LabelValuesQuery:
    """A dashboard variable's `label_values(selector, label)` query, and the value selected by default
    (None for "All")."""

    source: str
    selector: str
    label: str
    default: str | None


def label_values_queries() -> list[LabelValuesQuery]:
    found = []
    for path in DASHBOARD_FILES:
        dashboard = json.loads(path.read_text())
        values = variable_values(dashboard)
        for variable in dashboard["templating"]["list"]:
            if variable["type"] != "query":
                continue
            match = LABEL_VALUES.fullmatch(variable["query"])
            assert match, f"{path.name}: variable {variable['name']}: not label_values(selector, label)"
            default = variable["current"]["value"]
            found.append(
                LabelValuesQuery(
                    f"{path.stem}:{variable['name']}",
                    substitute(match["selector"], values),
                    match["label"],
                    None if default in ("$__all", ["$__all"]) else default,
                )
            )
    return found


def metric_names(promql: str) -> set[str]:
    """Names of the metrics (and recording rules) an expression selects."""
    names: set[str] = set()

    def visit(node: promql_parser.Expr) -> None:
        if isinstance(node, promql_parser.VectorSelector) and node.name:
            names.add(node.name)

    promql_parser.walk(promql_parser.parse(promql), pre_visit=visit)
    return names


@pytest.fixture(scope="module")
def promtool() -> str:
    return str(require_program("promtool"))


def run_promtool(promtool: str, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [promtool, *args], cwd=PROMETHEUS_DIR, capture_output=True, text=True, timeout=60, check=False
    )


def test_the_files_exist():
    assert RULE_FILES, "no rule files in observability/prometheus/rules"
    assert RULE_TEST_FILES, "no rule tests in observability/prometheus/tests"
    assert len(DASHBOARD_FILES) >= 4


def test_promtool_accepts_the_config_and_it_loads_every_rule_file(promtool: str):
    result = run_promtool(promtool, "check", "config", "prometheus.yml")

    assert result.returncode == 0, result.stdout + result.stderr
    for path in RULE_FILES:  # the config's rule_files glob found each one
        assert f"Checking rules/{path.name}" in result.stdout, result.stdout


def test_promtool_accepts_the_rules(promtool: str):
    result = run_promtool(
        promtool, "check", "rules", *(str(p.relative_to(PROMETHEUS_DIR)) for p in RULE_FILES)
    )

    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.count("SUCCESS") == len(RULE_FILES)


def test_the_rule_unit_tests_pass(promtool: str):
    result = run_promtool(
        promtool, "test", "rules", *(str(p.relative_to(PROMETHEUS_DIR)) for p in RULE_TEST_FILES)
    )

    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.count("SUCCESS") == len(RULE_TEST_FILES), result.stdout


def test_every_rule_file_is_unit_tested():
    tested = {
        (path.parent / rule_file).resolve()
        for path in RULE_TEST_FILES
        for rule_file in load_yaml(path)["rule_files"]
    }
    assert set(RULE_FILES) <= tested


def alert_cases() -> Iterator[dict[str, Any]]:
    for path in RULE_TEST_FILES:
        for case in load_yaml(path)["tests"]:
            yield from case.get("alert_rule_test", [])


def test_every_alert_has_a_firing_case_with_exact_labels_and_annotations_and_a_quiet_case():
    alerts = {rule["alert"]: rule for _, rule in rules("alert")}
    firing = [case for case in alert_cases() if case.get("exp_alerts")]
    quiet = {case["alertname"] for case in alert_cases() if not case.get("exp_alerts")}

    assert set(alerts) - {case["alertname"] for case in firing} == set(), "alerts with no firing test"
    assert set(alerts) - quiet == set(), "alerts with no test where they stay quiet"
    for case in firing:
        rule = alerts[case["alertname"]]
        for expected in case["exp_alerts"]:
            assert expected["exp_labels"]["severity"] == rule["labels"]["severity"], case["alertname"]
            assert set(expected["exp_annotations"]) == set(rule["annotations"]), case["alertname"]


def test_every_alert_has_a_severity_summary_description_and_runbook():
    alerts = list(rules("alert"))
    names = [rule["alert"] for _, rule in alerts]

    assert len(names) == len(set(names)), "duplicate alert names"
    for path, rule in alerts:
        assert rule["labels"]["severity"] in SEVERITIES, f"{path.name}:{rule['alert']}"
        assert set(rule["annotations"]) >= REQUIRED_ANNOTATIONS, f"{path.name}:{rule['alert']}"
        assert "observability/README.md#" + rule["alert"].lower() in rule["annotations"]["runbook"]


def test_the_readme_has_a_runbook_section_for_every_alert():
    readme = (OBSERVABILITY / "README.md").read_text()
    headings = {line.lstrip("#").strip().lower() for line in readme.splitlines() if line.startswith("### ")}
    assert {rule["alert"].lower() for _, rule in rules("alert")} <= headings


def test_the_alerts_the_brief_names_exist():
    assert {rule["alert"] for _, rule in rules("alert")} >= {
        "FraudApiHighP99Latency",
        "FraudApiHighErrorRate",
        "FraudApiNoTraffic",
        "FraudModelLoadFailures",
        "FraudModelStale",
        "FraudModelAtRisk",
        "FraudInputDrift",
        "FraudDriftCheckStale",
        "FraudBatchJobFailures",
        "FraudBatchQueueBacklog",
        "FraudRealisedRecallLow",
    }


@pytest.mark.parametrize("path", DASHBOARD_FILES, ids=lambda p: p.stem)
def test_a_dashboard_is_well_formed(path: Path):
    dashboard = json.loads(path.read_text())
    variables = {v["name"]: v for v in dashboard["templating"]["list"]}
    all_panels = list(panels(dashboard))
    ids = [panel["id"] for panel in all_panels]

    assert dashboard["schemaVersion"] >= 39
    assert dashboard["uid"]
    assert dashboard["title"]
    assert variables["datasource"]["type"] == "datasource"
    assert variables["datasource"]["query"] == "prometheus"
    assert all_panels
    assert len(ids) == len(set(ids)), f"panel ids shared: {sorted(ids)}"
    for panel in all_panels:
        where = f"{path.name}: panel {panel['id']} {panel.get('title')!r}"
        assert panel["datasource"] == {"type": "prometheus", "uid": DATASOURCE_VARIABLE}, where
        assert panel.get("targets"), f"{where} has no target"
        for target in panel["targets"]:
            assert target["expr"].strip(), where
            assert target["datasource"]["uid"] == DATASOURCE_VARIABLE, where
    for variable in variables.values():
        if variable["type"] == "query":
            assert variable["datasource"]["uid"] == DATASOURCE_VARIABLE, variable["name"]


@pytest.mark.parametrize("path", DASHBOARD_FILES, ids=lambda p: p.stem)
def test_no_two_panels_of_a_dashboard_overlap(path: Path):
    boxes = [(p["id"], p["gridPos"]) for p in panels(json.loads(path.read_text()))]
    for i, (first, a) in enumerate(boxes):
        assert a["x"] + a["w"] <= 24, f"panel {first} is wider than the grid"
        for second, b in boxes[i + 1 :]:
            apart = (
                a["x"] + a["w"] <= b["x"]
                or b["x"] + b["w"] <= a["x"]
                or a["y"] + a["h"] <= b["y"]
                or b["y"] + b["h"] <= a["y"]
            )
            assert apart, f"{path.name}: panels {first} and {second} overlap"


def test_the_dashboards_have_distinct_uids():
    uids = [json.loads(path.read_text())["uid"] for path in DASHBOARD_FILES]
    assert len(uids) == len(set(uids))


def test_the_provisioned_datasource_is_the_dashboards_default():
    datasources = load_yaml(GRAFANA_DIR / "provisioning" / "datasources" / "prometheus.yml")["datasources"]
    provider = load_yaml(GRAFANA_DIR / "provisioning" / "dashboards" / "provider.yml")["providers"][0]
    uids = {source["uid"] for source in datasources if source["type"] == "prometheus"}

    assert provider["type"] == "file"
    assert provider["options"]["path"]
    for path in DASHBOARD_FILES:
        variables = {v["name"]: v for v in json.loads(path.read_text())["templating"]["list"]}
        assert variables["datasource"]["current"]["value"] in uids, path.name


def test_every_dashboard_variable_is_a_label_values_query_on_a_parseable_selector():
    queries = label_values_queries()

    assert len(queries) >= 8
    for query in queries:
        assert metric_names(query.selector), query.source


def test_every_expression_parses_and_every_recording_rule_a_dashboard_uses_exists():
    recorded = {rule["record"] for _, rule in rules("record")}
    expressions = dashboard_expressions() + rule_expressions()

    assert len(expressions) > 50
    for expression in expressions:
        try:
            names = metric_names(expression.promql)
        except ValueError as error:
            raise AssertionError(f"{expression.source}: {error}: {expression.promql}") from error
        if expression.from_dashboard:
            assert "$" not in expression.promql, expression.source  # every variable was substituted
        used_recordings = {name for name in names if ":" in name}
        assert used_recordings <= recorded, f"{expression.source}: {used_recordings - recorded}"


def test_the_prediction_capture_alerts_exist_and_select_metrics_the_api_exports():
    from prometheus_client import REGISTRY

    import fraud_detection.infrastructure.prometheus.metrics  # noqa: F401  (defines the families)

    capture = {rule["alert"]: rule for path, rule in rules("alert") if path.name == "fraud_capture.yml"}
    exported = {sample.name for family in REGISTRY.collect() for sample in family.samples}

    assert set(capture) == {
        "FraudPredictionCaptureDropping",
        "FraudPredictionCaptureFailing",
        "FraudPredictionCaptureBacklog",
        "FraudPredictionCaptureJournalFailing",
    }
    for name, rule in capture.items():
        assert metric_names(str(rule["expr"])) <= exported, name


def test_the_feedback_index_alerts_exist_and_select_metrics_the_api_exports():
    from prometheus_client import REGISTRY

    import fraud_detection.infrastructure.prometheus.metrics  # noqa: F401  (defines the families)

    feedback = {rule["alert"]: rule for path, rule in rules("alert") if path.name == "fraud_feedback.yml"}
    exported = {sample.name for family in REGISTRY.collect() for sample in family.samples}

    assert set(feedback) == {"FraudFeedbackIdsDropping", "FraudFeedbackIndexFailing"}
    for name, rule in feedback.items():
        assert metric_names(str(rule["expr"])) <= exported, name


def test_the_quality_staleness_alert_reads_the_gauge_the_quality_collector_exports():
    from fraud_detection.infrastructure.prometheus.quality_collector import QualityCollector

    alerts = {rule["alert"]: rule for _, rule in rules("alert")}
    described = {family.name for family in QualityCollector(None).describe()}  # type: ignore[arg-type]

    assert metric_names(str(alerts["FraudQualityMeasureStale"]["expr"])) <= described
    assert metric_names(str(alerts["FraudRealisedRecallLow"]["expr"])) - {"fraud_model_info"} <= described


def test_the_clients_refused_alert_reads_the_gauge_the_clients_collector_exports():
    from fraud_detection.domain.clients import ClientDirectory
    from fraud_detection.domain.ports.clients import ClientSource
    from fraud_detection.infrastructure.prometheus.clients_collector import ClientsCollector

    class Refused(ClientSource):
        def directory(self) -> ClientDirectory:
            return ClientDirectory(())

        def refusal(self) -> str | None:
            return "writable by group or others"

    alerts = {rule["alert"]: rule for _, rule in rules("alert")}
    exported = {family.name: family for family in ClientsCollector(Refused).collect()}

    assert metric_names(str(alerts["FraudApiClientsRefused"]["expr"])) <= set(exported)
    assert exported["fraud_api_clients_refused"].samples[0].value == 1


# ---------------------------------------------------------------- staged rollout: rules, dashboard, routing

ALERTMANAGER_CONFIG = OBSERVABILITY / "alertmanager" / "alertmanager.yml"
ABORT_PATH = "/admin/rollout/abort"
# The rollout metrics every API replica exports (names are the contract with the serving side).
ROLLOUT_METRICS = {
    "fraud_rollout_scored_rows_total",
    "fraud_rollout_alerts_total",
    "fraud_rollout_errors_total",
    "fraud_rollout_shadow_dropped_total",
    "fraud_rollout_score_seconds_bucket",
    "fraud_rollout_score_seconds_count",
    "fraud_rollout_score_seconds_sum",
    "fraud_rollout_stage",
    "fraud_rollout_canary_percent",
    "fraud_rollout_challenger_version",
    "fraud_rollout_challenger",
    "fraud_rollout_started_timestamp_seconds",
}
ROLLBACK_ALERTS = {"FraudRolloutChallengerErrors", "FraudRolloutCanarySlow", "FraudRolloutAlertRateDiverges"}


def test_the_rollout_alerts_exist_and_only_the_harmful_ones_roll_back():
    rollout = {rule["alert"]: rule for path, rule in rules("alert") if path.name == "fraud_rollout.yml"}
    labelled = {rule["alert"] for _, rule in rules("alert") if "rollout_action" in rule["labels"]}

    assert set(rollout) == ROLLBACK_ALERTS | {"FraudRolloutShadowDropping", "FraudRolloutStuck"}
    assert labelled == ROLLBACK_ALERTS
    assert {rollout[name]["labels"]["rollout_action"] for name in ROLLBACK_ALERTS} == {"rollback"}


def _names(expressions: list[Expression], source_prefix: str) -> set[str]:
    return {
        name
        for expression in expressions
        if expression.source.startswith(source_prefix)
        for name in metric_names(expression.promql)
    }


def test_the_rollout_rules_and_dashboard_select_only_the_exported_rollout_metrics():
    recorded = {rule["record"] for _, rule in rules("record")}
    in_rules = _names(rule_expressions(), "fraud_rollout.yml:")
    in_dashboard = _names(dashboard_expressions(), "fraud-rollout:")

    assert (in_rules | in_dashboard) - recorded - {"fraud_http_requests_total"} <= ROLLOUT_METRICS
    assert ROLLOUT_METRICS - {"fraud_rollout_score_seconds_sum"} <= in_rules | in_dashboard  # each one read


def test_the_rollout_dashboard_compares_every_role():
    dashboard = json.loads((GRAFANA_DIR / "dashboards" / "fraud-rollout.json").read_text())
    titles = {panel["title"]: panel for panel in panels(dashboard)}

    for title in (
        "Rows scored/s by role",
        "Alert rate by role",
        "Error rate by role",
        "p99 scoring time by role",
    ):
        (target,) = titles[title]["targets"]
        assert "{{role}}" in target["legendFormat"], title
    assert {"Stage", "Canary share", "Challenger version", "Shadow drops/s by reason"} <= set(titles)


def alertmanager() -> dict[str, Any]:
    config: dict[str, Any] = load_yaml(ALERTMANAGER_CONFIG)
    return config


def test_rollback_alerts_route_to_the_abort_webhook_with_a_token_from_a_file():
    config = alertmanager()
    routes = config["route"]["routes"]
    (rollback,) = [route for route in routes if 'rollout_action="rollback"' in route.get("matchers", [])]
    receivers = {receiver["name"]: receiver for receiver in config["receivers"]}
    (webhook,) = receivers[rollback["receiver"]]["webhook_configs"]
    authorization = webhook["http_config"]["authorization"]

    assert rollback["continue"] is True  # people hear of a roll-back too
    assert webhook["url"].endswith(ABORT_PATH)
    assert webhook["send_resolved"] is False
    assert authorization["type"] == "Bearer"
    assert authorization["credentials_file"].startswith("/")
    assert "credentials:" not in ALERTMANAGER_CONFIG.read_text()  # no secret in the file
    assert "password" not in ALERTMANAGER_CONFIG.read_text()


@pytest.fixture(scope="module")
def amtool() -> str:
    return str(require_program("amtool"))


def run_amtool(amtool: str, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [amtool, *args], cwd=OBSERVABILITY, capture_output=True, text=True, timeout=60, check=False
    )


def test_amtool_accepts_the_alertmanager_config(amtool: str):
    result = run_amtool(amtool, "check-config", str(ALERTMANAGER_CONFIG))

    assert result.returncode == 0, result.stdout + result.stderr
    assert "SUCCESS" in result.stdout


def test_amtool_flags_a_broken_alertmanager_config(amtool: str, tmp_path: Path):
    broken = tmp_path / "alertmanager.yml"
    broken.write_text(ALERTMANAGER_CONFIG.read_text().replace("receiver: rollout-abort", "receiver: nobody"))

    result = run_amtool(amtool, "check-config", str(broken))

    assert result.returncode != 0
    assert "nobody" in result.stdout + result.stderr


@pytest.mark.parametrize("alert", [rule for _, rule in rules("alert")], ids=lambda rule: rule["alert"])
def test_every_alert_reaches_its_receivers(amtool: str, alert: dict[str, Any]):
    labels = {"alertname": alert["alert"], "job": "fraud-api"} | alert["labels"]
    if labels.get("rollout_action") == "rollback":
        expected = "rollout-abort,people"
    else:
        expected = "quiet" if labels["severity"] == "info" else "people"

    result = run_amtool(
        amtool, "config", "routes", "test", f"--config.file={ALERTMANAGER_CONFIG}",
        *(f"{name}={value}" for name, value in labels.items()),
    )  # fmt: skip

    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.strip() == expected
