"""The cron, systemd and Kubernetes examples of docs/watch.md are real: their commands run.

Each example is a fenced block after a ``<!-- tested: NAME -->`` comment. The test reads the
block, checks its structure (the crontab's schedule, the unit files with configparser, the
CronJob's fields), and runs its command, with ``/srv/visiondrift`` replaced by a temporary
folder holding a baseline and an inbox with one complete batch.
"""

from __future__ import annotations

import configparser
import json
import re
import shlex
import shutil
import subprocess
from datetime import UTC, datetime
from pathlib import Path

import pytest

from _watch_helpers import child_env, make_baseline, visiondrift_command, write_batch
from visiondrift.store import HistoryStore
from visiondrift.watch import Schedule

ROOT = Path(__file__).resolve().parent.parent
DOC = ROOT / "docs" / "watch.md"
PLACE = "/srv/visiondrift"


def _block(name: str) -> str:
    text = DOC.read_text(encoding="utf-8")
    found = re.search(
        rf"<!-- tested: {re.escape(name)} -->\n```[a-z]*\n(?P<body>.*?)\n```", text, re.DOTALL
    )
    assert found, f"docs/watch.md has no block marked '<!-- tested: {name} -->'"
    return found["body"]


@pytest.fixture(scope="module")
def baseline(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("doc-baseline")
    return make_baseline(folder / "images", folder / "baseline.json")


def _layout(root: Path, baseline: Path) -> Path:
    """/srv/visiondrift of the examples: the baseline, and an inbox with one batch."""
    root.mkdir()
    shutil.copy(baseline, root / "baseline.json")
    write_batch(root / "inbox" / "20261129", seed=40)
    return root


def _here(value: str, root: Path) -> str:
    return value.replace(PLACE, str(root))


def _run(argv: list[str], root: Path, env: dict[str, str], cwd: Path) -> str:
    """Run a documented command (its program is visiondrift) and check what it did."""
    assert Path(argv[0]).name == "visiondrift", argv
    args = [_here(a, root) for a in argv[1:]]
    proc = subprocess.run(
        [*visiondrift_command(), *args],
        cwd=cwd,
        env=child_env(**{k: _here(v, root) for k, v in env.items()}),
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr
    events = [json.loads(line).get("event") for line in proc.stderr.splitlines()]
    assert events.count("batch_done") == 1, proc.stderr
    assert (root / "reports" / "20261129" / "20261129.json").is_file()
    return proc.stderr


def _claims_done(store: Path) -> list[str]:
    with HistoryStore(store) as opened:
        return [Path(c.batch_key).name for c in opened.claims.list(status="done")]


def test_the_crontab_line(baseline: Path, tmp_path: Path) -> None:
    line = _block("crontab")
    assert "\n" not in line.strip()
    fields = line.split()
    schedule = Schedule(" ".join(fields[:5]), "x")
    after = datetime(2026, 11, 29, 12, tzinfo=UTC)
    assert schedule.next_fire(after) == datetime(2026, 11, 30, 2, tzinfo=UTC)
    command = shlex.split(" ".join(fields[5:]))
    assert "--once" in command
    root = _layout(tmp_path / "srv", baseline)
    _run(command, root, {}, cwd=tmp_path)
    assert _claims_done(root / "history.sqlite") == ["20261129"]
    # cron starts it again the next night: nothing is run twice.
    again = subprocess.run(
        [*visiondrift_command(), *[_here(a, root) for a in command[1:]]],
        cwd=tmp_path,
        env=child_env(),
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert again.returncode == 0, again.stderr
    assert '"batch_done"' not in again.stderr
    with HistoryStore(root / "history.sqlite") as opened:
        assert len(opened.runs()) == 1


def _unit(name: str) -> configparser.ConfigParser:
    parser = configparser.ConfigParser(interpolation=None, strict=False)
    parser.optionxform = str  # type: ignore[assignment,method-assign]
    parser.read_string(_block(name))
    return parser


def test_the_systemd_service_and_timer(baseline: Path, tmp_path: Path) -> None:
    service = _unit("systemd-service")
    assert service["Service"]["Type"] == "oneshot"
    assert service["Service"]["KillSignal"] == "SIGTERM"
    assert int(service["Service"]["TimeoutStopSec"]) >= 60
    timer = _unit("systemd-timer")
    assert timer["Timer"]["OnCalendar"] == "*-*-* 02:00:00"
    assert timer["Timer"]["Persistent"] == "true"
    assert timer["Install"]["WantedBy"] == "timers.target"

    root = _layout(tmp_path / "srv", baseline)
    variable, _, value = service["Service"]["Environment"].partition("=")
    assert variable == "VISIONDRIFT_STORE"
    assert service["Service"]["EnvironmentFile"].startswith("-")  # optional: may be missing
    workdir = Path(_here(service["Service"]["WorkingDirectory"], root))
    _run(shlex.split(service["Service"]["ExecStart"]), root, {variable: value}, cwd=workdir)
    assert _claims_done(root / "history.sqlite") == ["20261129"]


def _yaml_line(text: str, key: str) -> str:
    found = re.search(rf"^\s*{key}: (.*)$", text, re.MULTILINE)
    assert found, key
    return found[1].strip()


def test_the_kubernetes_cronjob(baseline: Path, tmp_path: Path) -> None:
    text = _block("kubernetes-cronjob")
    assert _yaml_line(text, "apiVersion") == "batch/v1"
    assert _yaml_line(text, "kind") == "CronJob"
    assert _yaml_line(text, "concurrencyPolicy") == "Forbid"
    assert _yaml_line(text, "restartPolicy") == "Never"
    Schedule(json.loads(_yaml_line(text, "schedule")), "x")
    command = json.loads(_yaml_line(text, "command"))
    args = json.loads(_yaml_line(text, "args"))
    assert "--once" in args
    assert _yaml_line(text, "mountPath") == PLACE
    root = _layout(tmp_path / "srv", baseline)
    # The store's URL comes from a Secret; here, a SQLite file on the volume.
    store = root / "history.sqlite"
    _run([*command, *args], root, {"VISIONDRIFT_STORE": str(store)}, cwd=tmp_path)
    assert _claims_done(store) == ["20261129"]


def test_the_kubernetes_cronjob_parses_as_yaml() -> None:
    yaml = pytest.importorskip("yaml")
    job = yaml.safe_load(_block("kubernetes-cronjob"))
    spec = job["spec"]
    assert (job["apiVersion"], job["kind"], spec["schedule"]) == (
        "batch/v1",
        "CronJob",
        "0 2 * * *",
    )
    pod = spec["jobTemplate"]["spec"]["template"]["spec"]
    (container,) = pod["containers"]
    assert container["args"][0] == "watch"
    assert container["volumeMounts"][0]["mountPath"] == PLACE
    assert pod["volumes"][0]["name"] == container["volumeMounts"][0]["name"]
    assert pod["terminationGracePeriodSeconds"] >= 60
