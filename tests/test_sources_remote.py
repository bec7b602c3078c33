"""fsspec sources against real servers on 127.0.0.1: an S3-compatible server (moto's standalone
server) and a web server listing a folder. Credentials never reach profiles, reports, logs or
error messages."""

from __future__ import annotations

import functools
import http.server
import json
import logging
import os
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

import visiondrift
from _source_helpers import assert_same_content, file_bytes, write_tree
from visiondrift.errors import SourceError
from visiondrift.sources import FsspecSource

pytest.importorskip("s3fs")
pytest.importorskip("aiohttp")
moto_server = pytest.importorskip("moto.server")
boto3 = pytest.importorskip("boto3")

ACCESS_KEY = "AKIAVISIONDRIFTTEST1"
#: Planted secret: it must appear nowhere in what visiondrift writes or prints.
SECRET_KEY = "vdSecretKey/ThisMustNeverLeak+0123456789abc"
PASSWORD = "hunter2-never-recorded"


@pytest.fixture(scope="module")
def tree(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_tree(tmp_path_factory.mktemp("remote_tree"))


@pytest.fixture(scope="module")
def folder_profile(tree: Path) -> visiondrift.Profile:
    return visiondrift.profile(tree, workers=1)


@pytest.fixture(scope="module")
def s3(tree: Path) -> Iterator[str]:
    """A real S3-compatible server on 127.0.0.1 with the tree under s3://images/batch/."""
    server = moto_server.ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    endpoint = f"http://{host}:{port}"
    env = {
        "AWS_ACCESS_KEY_ID": ACCESS_KEY,
        "AWS_SECRET_ACCESS_KEY": SECRET_KEY,
        "AWS_DEFAULT_REGION": "us-east-1",
        "AWS_ENDPOINT_URL": endpoint,
    }
    saved = {k: os.environ.get(k) for k in env}
    os.environ.update(env)
    try:
        client = boto3.client("s3", endpoint_url=endpoint)
        client.create_bucket(Bucket="images")
        for name, data in file_bytes(tree).items():
            client.put_object(Bucket="images", Key=f"batch/{name}", Body=data)
        yield endpoint
    finally:
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v
        server.stop()


class _Handler(http.server.SimpleHTTPRequestHandler):
    """A plain directory-listing web server; 'broken.jpg' is listed but answers 404."""

    def do_GET(self) -> None:
        if self.path.endswith("/broken.jpg"):
            self.send_error(404, "gone")
            return
        super().do_GET()

    def log_message(self, format: str, *args: object) -> None:
        return


@pytest.fixture(scope="module")
def web(tree: Path) -> Iterator[str]:
    handler = functools.partial(_Handler, directory=str(tree))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


def test_s3_prefix_profiles_like_the_folder(s3: str, folder_profile: visiondrift.Profile) -> None:
    prof = visiondrift.profile("s3://images/batch", workers=2)
    assert_same_content(prof, folder_profile)
    assert prof.sources[0].kind == "imagefolder"
    assert prof.sources[0].location == "s3://images/batch"


def test_a_missing_bucket_is_a_clear_error_without_secrets(s3: str) -> None:
    with pytest.raises(SourceError) as info:
        visiondrift.profile("s3://no-such-bucket/x", workers=1)
    text = str(info.value)
    assert "s3://no-such-bucket/x" in text
    assert SECRET_KEY not in text


def test_s3_credentials_appear_nowhere(
    s3: str, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """Plant a secret key, profile s3:// from the command line and in-process with every logger
    at DEBUG, and look for the key in all that was printed, logged and written."""
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)}
    baseline = tmp_path / "baseline.json"
    runs = [
        subprocess.run(
            [sys.executable, "-m", "visiondrift.cli", *args],
            capture_output=True,
            text=True,
            env=env,
            timeout=300,
            check=False,
        )
        for args in (
            ["baseline", "s3://images/batch", "-o", str(baseline), "--workers", "2"],
            [
                "monitor",
                "s3://images/batch/cat",
                "--baseline",
                str(baseline),
                "-o",
                str(tmp_path / "report.json"),
                "--html",
                str(tmp_path / "report.html"),
                "--save-profile",
                str(tmp_path / "batch.json"),
                "--fail-on",
                "never",
            ],
        )
    ]
    for run in runs:
        assert run.returncode == 0, run.stdout + run.stderr
    written = sorted(tmp_path.iterdir())
    assert {p.name for p in written} >= {"baseline.json", "report.json", "report.html"}
    assert json.loads(baseline.read_text())["sources"][0]["location"] == "s3://images/batch"
    with caplog.at_level(logging.DEBUG):
        prof = visiondrift.profile("s3://images/batch", workers=1)
    assert prof.n_images > 0
    texts = [run.stdout + run.stderr for run in runs]
    texts += [p.read_text(errors="replace") for p in written]
    texts += [caplog.text, json.dumps(prof.to_dict())]
    for text in texts:
        assert SECRET_KEY not in text


def test_web_directory_listing_profiles_like_the_folder(
    web: str, folder_profile: visiondrift.Profile
) -> None:
    prof = visiondrift.profile(f"http://{web}/", workers=1)
    # The web server fails on broken.jpg: unreadable instead of undecodable; the rest is equal.
    assert prof.bad_counts == {"unreadable": 1}
    assert folder_profile.bad_counts == {"decode_error": 1} or folder_profile.bad_counts == {
        "truncated": 1
    }
    assert prof.n_images == folder_profile.n_images
    assert prof.labels.counts == folder_profile.labels.counts
    assert prof.sources[0].kind == "imagefolder"


def test_a_url_password_is_never_recorded(web: str, tmp_path: Path) -> None:
    url = f"http://ann:{PASSWORD}@{web}/"
    prof = visiondrift.profile(url, workers=1)
    assert prof.sources[0].location == f"http://ann@{web}/"
    (bad,) = prof.bad_files
    assert bad.reason == "unreadable"
    assert bad.detail == f"FileNotFoundError: http://ann@{web}/dog/broken.jpg"
    items = FsspecSource(url).items
    assert PASSWORD not in repr(items)
    saved = tmp_path / "p.json"
    prof.save(saved)
    assert PASSWORD not in saved.read_text()
    assert PASSWORD not in bad.detail
    with pytest.raises(SourceError) as info:
        visiondrift.profile(f"http://ann:{PASSWORD}@{web}/no/such/folder/", workers=1)
    assert PASSWORD not in str(info.value)
    assert PASSWORD not in str(info.value.__cause__)
