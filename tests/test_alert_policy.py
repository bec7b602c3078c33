"""Routing rules and the cooldown / de-duplication rules, as pure functions over real settings."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from visiondrift.alerts._policy import decide, next_state
from visiondrift.alerts._routing import routes_for
from visiondrift.settings import AlertsSettings
from visiondrift.store._outbox import AlertState

NOW = datetime(2026, 11, 30, 2, 0, tzinfo=UTC)

ROUTING = AlertsSettings.model_validate(
    {
        "channels": {
            "pager": {"kind": "pagerduty", "routing_key": "${PD_KEY}"},
            "retrain": {"kind": "retrain", "url": "${RETRAIN_URL}"},
            "chat": {"kind": "slack", "url": "${SLACK_URL}"},
            "tickets": {"kind": "webhook", "url": "${TICKETS_URL}"},
            "model-team": {"kind": "webhook", "url": "${MODEL_TEAM_URL}"},
        },
        "routes": [
            {"severities": ["high"], "channels": ["pager", "retrain"]},
            {"severities": ["medium"], "channels": ["chat", "tickets"]},
            {"severities": ["medium", "high"], "channels": ["chat"], "datasets": ["skin-*"]},
            {
                "severities": ["low", "medium", "high"],
                "channels": ["model-team"],
                "families": ["model"],
            },
        ],
    }
)


@pytest.mark.parametrize(
    ("dataset", "severity", "families", "expected"),
    [
        ("xray", "high", ["property"], ("pager", "retrain")),
        ("skin-a", "high", ["property"], ("pager", "retrain", "chat")),
        ("xray", "medium", ["property"], ("chat", "tickets")),
        ("xray", "low", ["property"], ()),
        ("xray", "low", ["property", "model"], ("model-team",)),
        ("skin-a", "medium", ["model"], ("chat", "tickets", "model-team")),
        (None, "high", [], ("pager", "retrain")),
        ("xray", "none", ["model"], ()),
    ],
)
def test_routes_follow_severity_dataset_and_family(
    dataset: str | None, severity: str, families: list[str], expected: tuple[str, ...]
) -> None:
    got = routes_for(ROUTING, dataset=dataset, severity=severity, families=families)
    assert got == expected, (
        f"a {severity} run of {dataset!r} with drifted {families} should go to {expected}"
    )


def test_a_dataset_pattern_does_not_match_a_run_without_a_dataset() -> None:
    # skin-* names datasets; a run without one is not one of them.
    assert "chat" not in routes_for(ROUTING, dataset=None, severity="high", families=[])


def told(severity: str, minutes_ago: float, state: str = "firing") -> AlertState:
    when = NOW - timedelta(minutes=minutes_ago)
    return AlertState(
        dataset="skin",
        channel="chat",
        state=state,  # type: ignore[arg-type]
        severity=severity,
        since=when,
        last_sent_at=when,
    )


HOUR = 3600.0


@pytest.mark.parametrize(
    ("before", "severity", "routed", "action", "why"),
    [
        (None, "medium", True, "trigger", "a first drift is told"),
        (told("none", 5, "clear"), "low", True, "trigger", "drift after a clean state is told"),
        (told("medium", 5), "medium", True, "suppress", "the same state within the cooldown"),
        (told("medium", 5), "high", True, "trigger", "a rise is told within the cooldown"),
        (told("high", 5), "medium", True, "suppress", "a fall that still drifts is not told"),
        (told("medium", 61), "medium", True, "trigger", "the same state after the cooldown"),
        (told("medium", 5), "none", False, "resolve", "a clean run after drift resolves"),
        (told("none", 5, "clear"), "none", False, "skip", "a clean run after clean: nothing"),
        (None, "none", False, "skip", "a clean run never told: nothing"),
        (told("high", 5), "low", False, "skip", "an unrouted drifted run changes nothing"),
    ],
)
def test_cooldown_and_deduplication(
    before: AlertState | None, severity: str, routed: bool, action: str, why: str
) -> None:
    decision = decide(
        before, severity=severity, routed=routed, cooldown=HOUR, resolve=True, now=NOW
    )
    assert decision.action == action, why
    assert decision.reason  # every decision says why


def test_a_channel_without_resolve_is_cleared_silently() -> None:
    decision = decide(
        told("high", 5), severity="none", routed=False, cooldown=HOUR, resolve=False, now=NOW
    )
    assert decision.action == "clear"
    assert not decision.queued
    state = next_state(
        told("high", 5),
        decision,
        dataset="skin",
        channel="chat",
        severity="none",
        now=NOW,
        alert_id=None,
        run_id="r2",
    )
    assert state is not None
    assert state.state == "clear"
    # After that, drift again is news: told at once, whatever the cooldown.
    again = decide(state, severity="low", routed=True, cooldown=HOUR, resolve=False, now=NOW)
    assert again.action == "trigger"


def test_the_state_after_a_trigger_remembers_what_was_told() -> None:
    first = told("medium", 90)
    decision = decide(first, severity="high", routed=True, cooldown=HOUR, resolve=True, now=NOW)
    assert decision.previous_severity == "medium"
    assert "rose from medium to high" in decision.reason
    state = next_state(
        first,
        decision,
        dataset="skin",
        channel="chat",
        severity="high",
        now=NOW,
        alert_id="a1",
        run_id="r1",
    )
    assert state is not None
    # Still the same episode of drift (since), now told at high (severity), just now.
    assert (state.state, state.severity, state.since, state.last_sent_at) == (
        "firing",
        "high",
        first.since,
        NOW,
    )
    # A suppressed alert leaves what the channel knows as it was.
    quiet = decide(state, severity="medium", routed=True, cooldown=HOUR, resolve=True, now=NOW)
    assert quiet.action == "suppress"
    assert "still drifts" in quiet.reason
    kept = next_state(
        state,
        quiet,
        dataset="skin",
        channel="chat",
        severity="medium",
        now=NOW,
        alert_id="a2",
        run_id="r2",
    )
    assert kept is None


def test_the_documented_routing_example_is_valid_and_routes_as_it_says() -> None:
    import re
    import tomllib
    from pathlib import Path

    doc = (Path(__file__).resolve().parent.parent / "docs" / "alerts.md").read_text("utf-8")
    section = doc.split("## Routing", 1)[1].split("\n## ", 1)[0]
    [block] = re.findall(r"```toml\n(.*?)```", section, flags=re.DOTALL)
    alerts = AlertsSettings.model_validate(tomllib.loads(block)["alerts"])
    # What the text above the example says it does.
    assert routes_for(alerts, dataset="skin-a", severity="high", families=["property"]) == (
        "oncall",
        "retrain",
        "team",
    )
    assert routes_for(alerts, dataset="xray", severity="medium", families=["property"]) == (
        "team",
        "review",
    )
    assert routes_for(alerts, dataset="xray", severity="low", families=["property"]) == ()
    assert routes_for(alerts, dataset="skin-b", severity="low", families=["model"]) == (
        "model-team",
    )
    assert alerts.channels["review"].resolve is False
    assert alerts.channels["model-team"].cooldown == 86400
