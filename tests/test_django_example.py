"""The Django example (examples/django/) with Django's test client, logging its predictions to
a REAL visiondrift service on 127.0.0.1 through visiondrift.client.Client."""

from __future__ import annotations

import io
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest

pytest.importorskip("django")
pytest.importorskip("fastapi")

from _receivers import closed_url
from _service import Served, running_service, service_settings
from visiondrift.store import HistoryStore

EXAMPLE = Path(__file__).resolve().parent.parent / "examples" / "django"
WINDOW = 40


@pytest.fixture(scope="module")
def django_app() -> Iterator[Any]:
    """Django set up with the example's settings; its ``classifier`` modules."""
    import django
    from django.conf import settings

    sys.path.insert(0, str(EXAMPLE))
    try:
        if not settings.configured:
            import os

            os.environ.setdefault("DJANGO_SETTINGS_MODULE", "shop.settings")
            django.setup()
        from classifier import model, monitoring

        yield model, monitoring
        monitoring.reset()
    finally:
        sys.path.remove(str(EXAMPLE))


@pytest.fixture
def served(tmp_path: Path) -> Iterator[Served]:
    history = HistoryStore(tmp_path / "history.sqlite")
    settings = service_settings(tmp_path, window={"count": WINDOW, "seconds": None})
    with running_service(settings, history) as served:
        yield served


def png(colour: np.ndarray) -> io.BytesIO:
    from PIL import Image

    buffer = io.BytesIO()
    Image.new("RGB", (24, 24), tuple(int(c) for c in colour)).save(buffer, format="PNG")
    buffer.seek(0)
    buffer.name = "photo.png"
    return buffer


def wait_page(web: Any, text: str, timeout: float = 30.0) -> str:
    deadline = time.monotonic() + timeout
    while True:
        page = web.get("/drift").content.decode()
        if text in page:
            return str(page)
        if time.monotonic() > deadline:
            raise AssertionError(f"the drift page never showed {text!r}; last:\n{page}")
        time.sleep(0.1)


def test_the_shop_logs_predictions_and_shows_the_verdict(django_app: Any, served: Served) -> None:
    from django.core.management import call_command
    from django.test import Client as WebClient
    from django.test import override_settings

    model, monitoring = django_app
    client_options = {"batch_size": 15, "flush_interval": 0.2}
    with override_settings(
        VISIONDRIFT_URL=served.url,
        VISIONDRIFT_API_KEY=served.tokens["write"],
        VISIONDRIFT_CLIENT=client_options,
    ):
        out = io.StringIO()
        call_command("upload_baseline", n=600, key=served.tokens["admin"], stdout=out)
        assert "600 reference predictions" in out.getvalue()
        web = WebClient()
        assert "No window has closed yet" in web.get("/drift").content.decode()

        answers = []
        for colour in model.sample_colours(WINDOW, seed=1):
            response = web.post("/predict", {"image": png(colour)}, headers={"X-Site": "lyon"})
            assert response.status_code == 200
            answers.append(response.json())
        assert set(answers[0]["probabilities"]) == {"apple", "leaf", "sky"}
        assert answers[0]["label"] in model.CLASSES
        page = wait_page(web, "No drift")
        assert f"<dd>{WINDOW}</dd>" in page

        # The camera gets darker: the next window drifts.
        for colour in model.sample_colours(WINDOW, seed=2, darken=0.35):
            assert web.post("/predict", {"image": png(colour)}).status_code == 200
        page = wait_page(web, "DRIFT")
        assert 'data-drift="true"' in page

        # A customer confirms the class of the first prediction: joined (late: its window closed).
        confirmed = web.post(
            f"/label/{answers[0]['id']}", {"label": "leaf"}, content_type="application/json"
        )
        assert confirmed.status_code == 200
        assert confirmed.json()["late"] == 1
        monitoring.reset()
    assert served.store.windows.count_records("fruit") == 2 * WINDOW


def test_predictions_go_on_when_the_monitor_is_down(django_app: Any) -> None:
    from django.test import Client as WebClient
    from django.test import override_settings

    model, monitoring = django_app
    with override_settings(
        VISIONDRIFT_URL=closed_url(""),
        VISIONDRIFT_API_KEY="vd_000000000000_x",
        VISIONDRIFT_CLIENT={"flush_interval": 60.0, "retries": 0},
    ):
        web = WebClient()
        colour = model.sample_colours(1, seed=3)[0]
        response = web.post("/predict", {"image": png(colour)})
        assert response.status_code == 200
        assert monitoring.client().pending == 1  # kept for later, the request not delayed
        page = web.get("/drift")
        assert page.status_code == 503
        assert "Cannot reach the visiondrift service" in page.content.decode()
        assert web.post("/predict", {"image": io.BytesIO(b"not an image")}).status_code == 400
        monitoring.client()._pending.clear()  # nothing to send at the reset
        monitoring.reset()
