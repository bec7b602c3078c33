"""schemathesis against the service's own OpenAPI document: every operation, generated requests
(valid and invalid) sent to a real server with an admin key; no 5xx, and every response (status,
content type, body, headers) as the document says.

Kept fast: a few examples per operation (the whole module runs in well under a minute).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

pytest.importorskip("fastapi")
schemathesis = pytest.importorskip("schemathesis")

from hypothesis import HealthCheck, settings  # noqa: E402

from _service import Served, running_service, service_settings  # noqa: E402
from visiondrift.store import HistoryStore  # noqa: E402

#: Examples per operation: enough to reach every documented answer, fast enough for `make test`.
EXAMPLES = 12


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    tmp = tmp_path_factory.mktemp("fuzz")
    root = tmp / "root"
    root.mkdir()
    store = HistoryStore(tmp / "history.sqlite")
    config = service_settings(tmp, roots=[str(root)], max_images=5, queue_size=64)
    with running_service(config, store) as running:
        yield running
    store.close()


def _document() -> dict[str, Any]:
    """The service's OpenAPI document, as /openapi.json serves it (no server needed)."""
    from visiondrift.service import create_app
    from visiondrift.settings import Settings

    document: dict[str, Any] = create_app(Settings()).openapi()
    return document


schema = schemathesis.openapi.from_dict(_document())


@schema.parametrize()
@settings(
    max_examples=EXAMPLES,
    deadline=None,
    suppress_health_check=list(HealthCheck),
    derandomize=True,
)
def test_every_operation_conforms(case: Any, served: Served) -> None:
    headers = {"Authorization": f"Bearer {served.tokens['admin']}"}
    # Every check of the responses; not the two that judge how strictly inputs are validated
    # (a repeated query parameter, a body both of whose optional fields are missing).
    # An event stream never ends: schemathesis reads it for `timeout` seconds, then validates.
    streams = "text/event-stream" in str(case.operation.definition.raw.get("responses", {}))
    case.call_and_validate(
        base_url=served.url,
        headers=headers,
        timeout=0.5 if streams else 30,
        excluded_checks=[
            schemathesis.checks.positive_data_acceptance,
            schemathesis.checks.negative_data_rejection,
        ],
    )


def test_the_document_lists_every_route(served: Served) -> None:
    import httpx

    doc = httpx.get(served.url + "/openapi.json").json()
    assert doc == _document()
    operations = {(m, p) for p, item in doc["paths"].items() for m in item}
    for expected in (
        ("post", "/v1/baselines"),
        ("post", "/v1/baselines/images"),
        ("get", "/v1/runs/{run_id}/report.html"),
        ("get", "/v1/datasets/{dataset}/trends"),
    ):
        assert expected in operations
    for path, item in doc["paths"].items():
        for method, operation in item.items():
            if path.startswith("/v1/"):
                assert "401" in operation["responses"], (method, path)
                assert "403" in operation["responses"], (method, path)
            assert operation.get("summary"), (method, path)
