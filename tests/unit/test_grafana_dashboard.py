"""The Grafana dashboard in docs/ queries only metrics that session-api and the worker export
(a renamed metric would otherwise leave an empty panel that nobody notices)."""

import json
import re

from prometheus_client import REGISTRY, CollectorRegistry

from harness.paths import REPO
from session_api.metrics import ApiMetrics

DASHBOARD = REPO / "docs" / "grafana" / "voice-stack.json"
SUFFIXES = {
    "counter": ("_total",),
    "gauge": ("",),
    "histogram": ("_bucket", "_sum", "_count"),
}
PROMQL_FUNCTIONS = {"histogram_quantile"}


def exported(registry: CollectorRegistry) -> set[str]:
    """The series names a registry's metrics produce."""
    return {
        family.name + suffix
        for family in registry.collect()
        for suffix in SUFFIXES.get(family.type, ("",))
    }


def queried() -> set[str]:
    dashboard = json.loads(DASHBOARD.read_text())
    names = set()
    for panel in dashboard["panels"]:
        for target in panel["targets"]:
            # Drop label matchers, ranges, strings and `by (...)` groupings: metric names remain.
            expr = re.sub(r"\{[^}]*\}|\[[^]]*\]|\"[^\"]*\"|by \([^)]*\)", "", target["expr"])
            names |= {word for word in re.findall(r"[a-z_][a-z0-9_]*", expr) if "_" in word}
    return names - PROMQL_FUNCTIONS


def test_every_queried_metric_is_exported() -> None:
    import voice_agent.metrics  # noqa: F401 - registers the worker's metrics

    available = exported(ApiMetrics().registry) | exported(REGISTRY)
    names = queried()
    assert {"voice_agent_turn_latency_seconds_bucket", "voice_sessions_active"} <= names
    assert names <= available, f"not exported: {sorted(names - available)}"


def test_every_panel_has_a_query_and_the_datasource_input() -> None:
    dashboard = json.loads(DASHBOARD.read_text())
    assert [i["name"] for i in dashboard["__inputs"]] == ["DS_PROMETHEUS"]
    for panel in dashboard["panels"]:
        assert panel["targets"], panel["title"]
        assert panel["datasource"]["uid"] == "${DS_PROMETHEUS}"
