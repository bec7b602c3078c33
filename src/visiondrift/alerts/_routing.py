"""Routing: which channels a run goes to, by the ``[[alerts.routes]]`` rules of the settings.

A run goes to the union of the channels of every rule it matches, in the order the rules and
their channels are written. A rule matches when all of these hold:

- the run's effective severity (``low``, ``medium``, ``high``; a clean run has none and matches
  no rule) is one of the rule's ``severities``;
- its dataset matches one of the rule's ``datasets``, shell patterns (``fnmatch``: ``skin-*``,
  ``cam-[12]``), case-sensitive; an empty list matches any dataset, and a run without a dataset
  matches only an empty list or ``*``;
- one of its drifted metric families (``pixel_mean``, ``property``, ``model``...) is in the
  rule's ``families``; an empty list matches any run.
"""

from __future__ import annotations

from collections.abc import Iterable
from fnmatch import fnmatchcase
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from visiondrift.drift import DriftReport
    from visiondrift.settings import AlertsSettings, RouteSettings

__all__ = ["drifted_families", "route_matches", "routes_for"]


def drifted_families(report: DriftReport) -> tuple[str, ...]:
    """The metric families of the report's drifted metrics, in the report's order, once each."""
    return tuple(dict.fromkeys(str(m.family) for m in report.drifted))


def route_matches(
    route: RouteSettings, *, dataset: str | None, severity: str, families: Iterable[str]
) -> bool:
    """Whether one rule sends a run of ``dataset`` at ``severity`` with drifted ``families``."""
    if severity not in route.severities:
        return False
    if route.datasets and not any(fnmatchcase(dataset or "", p) for p in route.datasets):
        return False
    return not route.families or bool(set(route.families) & set(families))


def routes_for(
    settings: AlertsSettings, *, dataset: str | None, severity: str, families: Iterable[str]
) -> tuple[str, ...]:
    """The channels the rules send a run to, in the order they are first named.

    Examples
    --------
    >>> from visiondrift.settings import AlertsSettings
    >>> alerts = AlertsSettings.model_validate({
    ...     "channels": {
    ...         "pager": {"kind": "pagerduty", "routing_key": "${PD_KEY}"},
    ...         "chat": {"kind": "slack", "url": "${SLACK_URL}"},
    ...     },
    ...     "routes": [
    ...         {"severities": ["high"], "channels": ["pager", "chat"]},
    ...         {"severities": ["medium"], "channels": ["chat"], "datasets": ["skin-*"]},
    ...     ],
    ... })
    >>> routes_for(alerts, dataset="skin-a", severity="high", families=["property"])
    ('pager', 'chat')
    >>> routes_for(alerts, dataset="xray", severity="medium", families=["property"])
    ()
    """
    families = tuple(families)
    chosen: dict[str, None] = {}
    for route in settings.routes:
        if route_matches(route, dataset=dataset, severity=severity, families=families):
            chosen.update(dict.fromkeys(route.channels))
    return tuple(chosen)
