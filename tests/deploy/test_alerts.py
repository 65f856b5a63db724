"""deploy/prometheus and deploy/grafana: the alert rules pass `promtool check rules` and their unit
tests (`promtool test rules`, every alert seen firing and not firing), the scrape configurations
pass `promtool check config`, the dashboard is Grafana JSON whose queries are valid PromQL, and
every rule and query names a metric that exists: one of shared/metrics.py, one of RabbitMQ's
rabbitmq_prometheus plugin, or `up`. The Kubernetes overlays carry both as ConfigMaps, copies of
the files here that must not drift.

promtool comes from deploy/prometheus/promtool.sh, which installs Debian's `prometheus` package
when it is missing (as root, without starting its daemon); in CI a missing promtool fails."""
from __future__ import annotations

import json
import os
import re
import shutil
import subprocess

import pytest
import yaml

from tests.deploy import kustomize
from tests.deploy.helpers import DEPLOY, ROOT, SERVICES

PROMETHEUS = DEPLOY / "prometheus"
GRAFANA = DEPLOY / "grafana"
RULES = PROMETHEUS / "alerts.yml"
RULE_TESTS = PROMETHEUS / "alerts.test.yml"
DASHBOARD = GRAFANA / "dashboards" / "marketplace.json"
MONITORING = DEPLOY / "k8s" / "monitoring"
OVERLAYS = sorted(path.name for path in (DEPLOY / "k8s" / "overlays").iterdir() if (path / "kustomization.yaml").exists())

# The rabbitmq_prometheus plugin's names the rules and the dashboard use (its metrics.md: Queues,
# scraped per object, and the alarm collector).
RABBITMQ_METRICS = {
    "rabbitmq_queue_messages", "rabbitmq_queue_messages_ready", "rabbitmq_queue_messages_unacked",
    "rabbitmq_queue_consumers",
    "rabbitmq_alarms_memory_limit", "rabbitmq_alarms_disk_limit", "rabbitmq_alarms_file_descriptor_limit",
}
# Metrics a later change announces and the rules already watch (none at present); nothing else may be missing.
ANNOUNCED: set[str] = set()
SEVERITIES = {"page", "ticket"}


def application_metrics() -> set[str]:
    """Every series name shared/metrics.py exposes (a counter's `_total`, a histogram's parts), and
    the gauges each service adds of its own (`Service.gauges`, e.g. contracts' `sagas_stuck`)."""
    from marketplace import registry
    from shared.metrics import Metrics

    gauges = [gauge for service in registry.available({}).values() for gauge in service.gauges]
    names: set[str] = set()
    for family in Metrics("alerts-test", gauges).registry.collect():
        if family.type == "counter":
            names.add(family.name + "_total")
        elif family.type == "histogram":
            names |= {family.name + suffix for suffix in ("_bucket", "_sum", "_count")}
        else:
            names.add(family.name)
    return names


KEYWORDS = {"and", "or", "unless", "bool", "offset", "by", "without", "on", "ignoring", "group_left",
            "group_right", "inf", "nan"}


def metric_names(expr: str) -> tuple[set[str], set[str]]:
    """The metric names a PromQL expression selects, and the `__name__` regexes it matches."""
    patterns = set(re.findall(r'__name__\s*=~?\s*"((?:[^"\\]|\\.)*)"', expr))
    bare = re.sub(r'"(?:[^"\\]|\\.)*"', '""', expr)
    bare = re.sub(r"\{[^}]*\}", " ", bare)
    bare = re.sub(r"\[[^\]]*\]", " ", bare)
    bare = re.sub(r"\b(?:by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)", " ", bare)
    names = {match.group(1) for match in re.finditer(r"(?<![\w.$])([a-zA-Z_:][a-zA-Z0-9_:]*)(?![\w:])(?!\s*\()", bare)}
    return names - KEYWORDS, patterns


def rules() -> list[dict]:
    return [rule for group in yaml.safe_load(RULES.read_text())["groups"] for rule in group["rules"]]


def dashboard() -> dict:
    return json.loads(DASHBOARD.read_text())


def dashboard_targets() -> list[tuple[dict, dict]]:
    return [(panel, target) for panel in dashboard()["panels"] for target in panel.get("targets", [])]


def readme_anchors(markdown: str) -> set[str]:
    """The anchors GitHub gives the headings of a Markdown file (outside its code blocks)."""
    anchors: set[str] = set()
    fenced = False
    for line in markdown.splitlines():
        if line.startswith("```"):
            fenced = not fenced
        elif line.startswith("#") and not fenced:
            anchors.add(re.sub(r"[^\w\- ]", "", line.lstrip("#").strip().lower()).replace(" ", "-"))
    return anchors


@pytest.fixture(scope="module")
def promtool() -> str:
    result = subprocess.run(["sh", str(PROMETHEUS / "promtool.sh"), "--install-only"], capture_output=True,
                            text=True, timeout=900, check=False)
    found = shutil.which(os.environ.get("PROMTOOL", "promtool"))
    if result.returncode != 0 or not found:
        message = f"promtool could not be installed: {result.stderr.strip()}"
        if os.environ.get("CI"):
            pytest.fail(f"CI must not skip: {message}", pytrace=False)
        pytest.skip(message)
    return found


def run(promtool: str, *args: str, cwd=PROMETHEUS) -> subprocess.CompletedProcess:
    return subprocess.run([promtool, *args], capture_output=True, text=True, timeout=120, check=False, cwd=cwd)


# --- the rules ----------------------------------------------------------------------------------

def test_promtool_accepts_the_rules(promtool):
    result = run(promtool, "check", "rules", str(RULES))
    assert result.returncode == 0, result.stdout + result.stderr
    assert f"{len(rules())} rules found" in result.stdout


def test_the_rules_pass_their_unit_tests(promtool):
    result = run(promtool, "test", "rules", str(RULE_TESTS))
    assert result.returncode == 0, result.stdout + result.stderr
    assert "SUCCESS" in result.stdout


def test_promtool_would_catch_a_broken_threshold(promtool, tmp_path):
    """The unit tests fail when a rule changes: they assert what fires, not only that it parses."""
    (tmp_path / "alerts.yml").write_text(RULES.read_text().replace("> 0.01", "> 0.5"))
    shutil.copy(RULE_TESTS, tmp_path / "alerts.test.yml")
    result = run(promtool, "test", "rules", "alerts.test.yml", cwd=tmp_path)
    assert result.returncode != 0 and "MarketplaceHighErrorRate" in result.stdout + result.stderr


def test_every_alert_is_tested_firing_and_not_firing():
    tests = yaml.safe_load(RULE_TESTS.read_text())
    assert tests["rule_files"] == ["alerts.yml"]
    seen: dict[str, set[bool]] = {}
    for test in tests["tests"]:
        for case in test.get("alert_rule_test", []):
            seen.setdefault(case["alertname"], set()).add(bool(case.get("exp_alerts")))
    for rule in rules():
        assert seen.get(rule["alert"]) == {True, False}, f"{rule['alert']} needs a firing and a quiet case"


def test_every_alert_has_a_severity_a_summary_a_description_and_a_runbook_section():
    readme = (DEPLOY / "README.md").read_text()
    anchors = readme_anchors(readme)
    names = [rule["alert"] for rule in rules()]
    assert len(names) == len(set(names))
    for rule in rules():
        assert "record" not in rule
        assert rule["labels"]["severity"] in SEVERITIES, rule["alert"]
        annotations = rule["annotations"]
        assert set(annotations) == {"summary", "description", "runbook"}, rule["alert"]
        page, _, anchor = annotations["runbook"].partition("#")
        assert page == "deploy/README.md" and anchor in anchors, f"{rule['alert']}: no section #{anchor}"
        assert rule["alert"] in readme, f"deploy/README.md does not explain {rule['alert']}"


def test_the_metric_name_reader_reads_promql():
    assert metric_names('sum by (service) (rate(http_requests_total{status=~"5.."}[5m])) / on (x) up offset 1h') == (
        {"http_requests_total", "up"}, set())
    assert metric_names('label_replace({__name__=~"a_(b|c)"}, "d", "$1", "queue", "(.+)") == 1') == (set(), {"a_(b|c)"})
    assert metric_names("histogram_quantile(0.95, sum by (le) (rate(x_bucket[$__rate_interval])))") == ({"x_bucket"}, set())


def test_the_rules_name_only_metrics_that_exist():
    known = application_metrics() | RABBITMQ_METRICS | {"up"}
    used: set[str] = set()
    for rule in rules():
        names, patterns = metric_names(rule["expr"])
        assert names or patterns, rule["alert"]
        assert names <= known | ANNOUNCED, f"{rule['alert']}: {sorted(names - known - ANNOUNCED)}"
        for pattern in patterns:
            assert any(re.fullmatch(pattern, name) for name in known), f"{rule['alert']}: {pattern}"
        used |= names
    # what deploy/README.md says to watch is watched
    assert {"http_requests_total", "http_request_duration_seconds_bucket", "events_dead_lettered_total",
            "events_failed_total", "events_consumed_total", "outbox_backlog", "timers_due",
            "rabbitmq_queue_messages_ready", "up", "sagas_stuck", "ledger_check_failures"} <= used


def test_the_ledger_check_is_a_metric_and_failing_it_pages():
    """payments exports what its ledger check finds wrong (`ledger_check_failures{check}`), and one rule
    pages on it, named as deploy/README.md's runbook names it."""
    assert "ledger_check_failures" in application_metrics()
    [rule] = [rule for rule in rules() if "ledger_check_failures" in metric_names(rule["expr"])[0]]
    assert rule["alert"] == "MarketplaceLedgerCheckFailing" and rule["labels"]["severity"] == "page"


# --- the scrape configurations -------------------------------------------------------------------

def test_promtool_accepts_the_compose_scrape_config(promtool):
    result = run(promtool, "check", "config", str(PROMETHEUS / "prometheus.yml"))
    assert result.returncode == 0, result.stdout + result.stderr


def test_promtool_accepts_the_kubernetes_scrape_config(promtool, tmp_path):
    (tmp_path / "rules").mkdir()
    shutil.copy(RULES, tmp_path / "rules" / "alerts.yml")
    config = yaml.safe_load((PROMETHEUS / "prometheus-kubernetes.yml").read_text())
    (tmp_path / "prometheus.yml").write_text(yaml.safe_dump(config))
    result = run(promtool, "check", "config", "prometheus.yml", cwd=tmp_path)
    if "kubernetes_sd_configs not found" in result.stdout + result.stderr:
        # Debian's promtool is built without Kubernetes discovery: check everything else of it
        for job in config["scrape_configs"]:
            job.pop("kubernetes_sd_configs")
            job["static_configs"] = [{"targets": ["127.0.0.1:9100"]}]
        (tmp_path / "prometheus.yml").write_text(yaml.safe_dump(config))
        result = run(promtool, "check", "config", "prometheus.yml", cwd=tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "1 rule files found" in result.stdout


def relabel(config: dict, job_name: str, meta: dict[str, str]) -> dict[str, str] | None:
    """Prometheus's relabelling (replace and keep, the actions these configs use) of one target."""
    labels = dict(meta)
    job = next(job for job in config["scrape_configs"] if job["job_name"] == job_name)
    for step in job.get("relabel_configs", []):
        value = ";".join(labels.get(name, "") for name in step.get("source_labels", []))
        match = re.fullmatch(step.get("regex", "(.*)"), value)
        if step.get("action", "replace") == "keep":
            if not match:
                return None
        elif match:
            labels[step["target_label"]] = match.expand(step.get("replacement", "$1").replace("$", "\\"))
    return {name: value for name, value in labels.items() if not name.startswith("__")}


def test_the_compose_scrape_config_labels_every_api_and_worker():
    config = yaml.safe_load((PROMETHEUS / "prometheus.yml").read_text())
    assert config["rule_files"] == ["alerts.yml"]
    compose = yaml.safe_load((ROOT / "docker-compose.yml").read_text())["services"]
    discovered = {}
    for sd in next(job for job in config["scrape_configs"] if job["job_name"] == "marketplace")["dns_sd_configs"]:
        for name in sd["names"]:
            discovered[name] = sd["port"]
    for service in SERVICES:
        api, worker = compose[f"{service}-api"], compose[f"{service}-worker"]
        assert [str(discovered[f"{service}-api"])] == api["expose"]
        assert [str(discovered[f"{service}-worker"])] == worker["expose"] == [worker["environment"]["METRICS_PORT"]]
        for component in ("api", "worker"):
            labels = relabel(config, "marketplace", {"__meta_dns_name": f"{service}-{component}"})
            assert labels == {"service": service, "component": component}
    assert "rabbitmq:15692" in str(config["scrape_configs"])


def test_the_kubernetes_scrape_config_labels_every_pod_of_the_base():
    config = yaml.safe_load((PROMETHEUS / "prometheus-kubernetes.yml").read_text())
    seen = set()
    for resource in kustomize.build(DEPLOY / "k8s" / "base"):
        if resource["kind"] != "Deployment":
            continue
        template = resource["spec"]["template"]["metadata"]
        meta = {"__address__": "10.1.2.3", "__meta_kubernetes_namespace": "marketplace",
                "__meta_kubernetes_pod_name": "pod-1"}
        meta |= {"__meta_kubernetes_pod_label_" + re.sub(r"[^\w]", "_", k): v for k, v in template["labels"].items()}
        meta |= {"__meta_kubernetes_pod_annotation_" + re.sub(r"[^\w]", "_", k): v
                 for k, v in template.get("annotations", {}).items()}
        labels = relabel(config, "marketplace", meta)
        if template["labels"]["app.kubernetes.io/component"] not in ("api", "worker"):
            assert labels is None
            continue
        assert labels is not None, resource["metadata"]["name"]
        assert labels["service"] in SERVICES and labels["component"] == template["labels"]["app.kubernetes.io/component"]
        seen.add((labels["service"], labels["component"]))
    assert seen == {(service, component) for service in SERVICES for component in ("api", "worker")}


# --- the dashboard ------------------------------------------------------------------------------

def test_the_dashboard_is_grafana_json_with_a_datasource_variable():
    board = dashboard()
    assert board["uid"] and board["title"] and board["id"] is None and board["schemaVersion"] >= 36
    variables = {v["name"]: v for v in board["templating"]["list"]}
    assert variables["datasource"]["type"] == "datasource" and variables["datasource"]["query"] == "prometheus"
    assert variables["service"]["datasource"] == {"type": "prometheus", "uid": "${datasource}"}
    ids = [panel["id"] for panel in board["panels"]]
    assert len(ids) == len(set(ids))
    for panel in board["panels"]:
        grid = panel["gridPos"]
        assert grid["x"] + grid["w"] <= 24 and grid["h"] > 0, panel["title"]
        if panel["type"] == "row":
            continue
        assert panel["datasource"] == {"type": "prometheus", "uid": "${datasource}"}, panel["title"]
        assert panel["targets"], panel["title"]
        assert len({t["refId"] for t in panel["targets"]}) == len(panel["targets"])
        for target in panel["targets"]:
            assert target["datasource"] == panel["datasource"] and target["expr"].strip()


def test_the_dashboard_shows_what_the_brief_of_each_row_promises():
    used: set[str] = set()
    for _, target in dashboard_targets():
        used |= metric_names(target["expr"])[0]
    assert {"http_requests_total", "http_request_duration_seconds_bucket", "events_consumed_total",
            "events_failed_total", "events_dead_lettered_total", "outbox_backlog", "timers_due",
            "rabbitmq_queue_messages_ready"} <= used


def test_the_dashboard_queries_name_only_metrics_that_exist():
    known = application_metrics() | RABBITMQ_METRICS | {"up"}
    for panel, target in dashboard_targets():
        names, patterns = metric_names(target["expr"])
        assert names and names <= known, f"{panel['title']}: {sorted(names - known)}"
        assert not patterns


def test_the_dashboard_queries_are_valid_promql(promtool, tmp_path):
    """Each query, its Grafana variables filled in, checked by promtool as a recording rule."""
    records: list[dict] = []
    for panel, target in dashboard_targets():
        expr = (target["expr"].replace("$__rate_interval", "5m").replace("$__range", "1h")
                .replace("${service}", ".+").replace("$service", ".+"))
        assert "$" not in expr.replace("$1", ""), expr
        records.append({"record": f"dashboard:panel_{panel['id']}_{target['refId']}", "expr": expr})
    (tmp_path / "dashboard.yml").write_text(yaml.safe_dump({"groups": [{"name": "dashboard", "rules": records}]}))
    result = run(promtool, "check", "rules", "dashboard.yml", cwd=tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr


def test_the_grafana_provisioning_loads_the_dashboard_folder():
    providers = yaml.safe_load((GRAFANA / "provisioning" / "dashboards" / "marketplace.yml").read_text())
    assert providers["apiVersion"] == 1
    (provider,) = providers["providers"]
    assert provider["type"] == "file" and provider["options"]["path"] == "/var/lib/grafana/dashboards/marketplace"
    sources = yaml.safe_load((GRAFANA / "provisioning" / "datasources" / "prometheus.yml").read_text())
    assert sources["apiVersion"] == 1 and [s["type"] for s in sources["datasources"]] == ["prometheus"]
    readme = (DEPLOY / "README.md").read_text()
    assert "/var/lib/grafana/dashboards/marketplace" in readme and "/etc/grafana/provisioning" in readme


# --- Kubernetes ---------------------------------------------------------------------------------

def test_the_monitoring_copies_match_the_originals():
    for original in (RULES, DASHBOARD):
        copy = MONITORING / "files" / original.name
        assert copy.read_text() == original.read_text(), (
            f"{copy.relative_to(ROOT)} differs from {original.relative_to(ROOT)}: copy it over")


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_every_overlay_carries_the_rules_and_the_dashboard(overlay):
    configs = {r["metadata"]["name"]: r for r in kustomize.build(DEPLOY / "k8s" / "overlays" / overlay)
               if r["kind"] == "ConfigMap"}
    assert configs["marketplace-prometheus-rules"]["data"] == {"alerts.yml": RULES.read_text()}
    dashboards = configs["marketplace-grafana-dashboards"]
    assert dashboards["data"] == {"marketplace.json": DASHBOARD.read_text()}
    assert dashboards["metadata"]["labels"]["grafana_dashboard"] == "1"
    for name in ("marketplace-prometheus-rules", "marketplace-grafana-dashboards"):
        assert configs[name]["metadata"]["labels"]["app.kubernetes.io/part-of"] == "marketplace"
