"""The one settings tree: defaults in one place; file, environment and command line over them.

The command-line tests run the real CLI in a subprocess, with real settings files and real
environment variables.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from pydantic import BaseModel, ConfigDict, Field, SecretStr

import visiondrift
from visiondrift.decode import DecodeLimits
from visiondrift.demo.samples import make_dataset
from visiondrift.drift import DriftConfig
from visiondrift.errors import ConfigError
from visiondrift.measure.properties import MeasureConfig
from visiondrift.profiles import ProfileConfig
from visiondrift.settings import (
    DEFAULTS,
    MASK,
    Settings,
    find_settings_file,
    load_settings,
    render_settings,
    setting_default,
    settings_keys,
)

ROOT = Path(__file__).resolve().parent.parent


def clean_environ(**extra: str) -> dict[str, str]:
    """The test process's environment without VISIONDRIFT_* variables, plus ``extra``."""
    env = {k: v for k, v in os.environ.items() if not k.upper().startswith("VISIONDRIFT_")}
    return env | extra


def run(*args: str, cwd: Path, **env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "visiondrift.cli", *args],
        capture_output=True,
        text=True,
        cwd=cwd,
        env=clean_environ(**env),
        timeout=300,
        check=False,
    )


@pytest.fixture(autouse=True)
def _no_settings_variables(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in list(os.environ):
        if name.upper().startswith("VISIONDRIFT_"):
            monkeypatch.delenv(name)


@pytest.fixture(scope="module")
def small_dir(tmp_path_factory: pytest.TempPathFactory, photos: list) -> Path:
    out = tmp_path_factory.mktemp("settings_photos")
    make_dataset(out, 30, size=(64, 64), seed=21, photos=photos)
    return out


# --- the defaults live in the tree --------------------------------------------------------------


def test_the_configuration_objects_read_their_defaults_from_the_tree() -> None:
    profile, measure, limits, drift = (
        ProfileConfig(),
        MeasureConfig(),
        DecodeLimits(),
        DriftConfig(),
    )
    tree = DEFAULTS
    assert profile.reservoir_size == tree.profile.reservoir_size == 10_000
    assert profile.seed == tree.profile.seed
    assert profile.max_listed_bad_files == tree.profile.max_listed_bad_files
    assert profile.low_confidence == tree.model.low_confidence
    assert profile.embedding_components == tree.model.embedding_components
    assert profile.names == tree.profile.names
    for name in ("work_size", "colour_size", "noise_size", "clip_dark", "clip_bright"):
        assert getattr(measure, name) == getattr(tree.profile.measure, name), name
    assert (limits.max_pixels, limits.min_side) == (
        tree.profile.decode.max_pixels,
        tree.profile.decode.min_side,
    )
    for name in ("alpha", "correction", "power", "permutations", "n_atypical", "seed"):
        assert getattr(drift, name) == getattr(tree.drift, name), name
    assert tree.drift.to_config() == drift


def test_the_api_keyword_defaults_are_the_tree() -> None:
    import inspect

    sig = inspect.signature(visiondrift.profile)
    assert sig.parameters["reservoir_size"].default == DEFAULTS.profile.reservoir_size
    assert sig.parameters["work_size"].default == DEFAULTS.profile.measure.work_size
    assert sig.parameters["max_pixels"].default == DEFAULTS.profile.decode.max_pixels
    assert sig.parameters["low_confidence"].default == DEFAULTS.model.low_confidence
    compare = inspect.signature(visiondrift.compare)
    assert compare.parameters["alpha"].default == DEFAULTS.drift.alpha
    assert compare.parameters["correction"].default == DEFAULTS.drift.correction


def test_the_plain_copy_of_the_defaults_is_current() -> None:
    from visiondrift import _defaults

    result = subprocess.run(
        [sys.executable, str(ROOT / "scripts" / "settings_defaults.py"), "--check"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    for key in settings_keys():
        value: object = _defaults.DEFAULTS
        for part in key.split("."):
            value = getattr(value, part)
        assert value == setting_default(key), key


def test_profiling_and_the_baseline_command_import_no_pydantic(
    small_dir: Path, tmp_path: Path
) -> None:
    """The defaults come from the plain copy: profiling starts as fast as before the tree."""
    probe = (
        "import atexit, sys\n"
        "atexit.register(lambda: print('PYDANTIC', 'pydantic' in sys.modules, file=sys.stderr))\n"
        "from visiondrift.cli import main\n"
        f"main(['baseline', {str(small_dir)!r}, '-o', {str(tmp_path / 'b.json')!r}, '-q'])\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", probe],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        env=clean_environ(),
        timeout=300,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert "PYDANTIC False" in done.stderr
    with_file = subprocess.run(
        [sys.executable, "-c", probe],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        env=clean_environ(VISIONDRIFT_PROFILE__SEED="2"),
        timeout=300,
        check=False,
    )
    assert with_file.returncode == 0, with_file.stderr
    assert "PYDANTIC True" in with_file.stderr  # settings to read: the tree validates them
    assert json.loads((tmp_path / "b.json").read_text())["config"]["seed"] == 2


def test_building_the_tree_in_code_reads_no_file_and_no_variable(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "visiondrift.toml").write_text("[drift]\nalpha = 0.01\n")
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("VISIONDRIFT_DRIFT__CORRECTION", "bh")
    assert Settings() == DEFAULTS
    assert Settings().drift.alpha == 0.05


def test_cli_option_defaults_and_help_come_from_the_tree() -> None:
    from click.testing import CliRunner

    from visiondrift.cli import cli
    from visiondrift.cli._settings import OPTION_KEYS, SETTINGS_COMMANDS, SettingOption
    from visiondrift.settings import setting_default, setting_description

    seen = set()
    commands = [cli.commands[name] for name in SETTINGS_COMMANDS]
    for command in [*commands, cli.commands["config"].commands["show"]]:  # type: ignore[attr-defined]
        for param in command.params:
            if param.name in OPTION_KEYS:
                assert isinstance(param, SettingOption), (command.name, param.name)
                assert param.setting == OPTION_KEYS[param.name]
                seen.add(param.name)
    assert seen == set(OPTION_KEYS)
    help_text = CliRunner().invoke(cli, ["baseline", "--help"], terminal_width=200).output
    assert f"[default: {setting_default('profile.reservoir_size')}; x>=10]" in help_text
    assert setting_description("profile.reservoir_size") in help_text
    monitor = CliRunner().invoke(cli, ["monitor", "--help"], terminal_width=200).output
    assert f"[default: {setting_default('drift.alpha')}; 0<x<1]" in monitor


# --- where values come from ---------------------------------------------------------------------


def test_file_environment_and_command_line_in_order(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "visiondrift.toml").write_text(
        "[drift]\nalpha = 0.01\ncorrection = 'bh'\npermutations = 999\n"
        "[profile.measure]\nwork_size = 96\n"
    )
    monkeypatch.setenv("VISIONDRIFT_DRIFT__CORRECTION", "bonferroni")
    monkeypatch.setenv("VISIONDRIFT_DRIFT__PERMUTATIONS", "500")
    loaded = load_settings(cwd=tmp_path, cli={"drift.permutations": (300, "--permutations")})
    drift = loaded.settings.drift
    assert (drift.alpha, drift.correction, drift.permutations) == (0.01, "bonferroni", 300)
    assert loaded.settings.profile.measure.work_size == 96
    file = str(tmp_path / "visiondrift.toml")
    assert str(loaded.origin("drift.alpha")) == file
    assert str(loaded.origin("drift.correction")) == (
        "environment variable VISIONDRIFT_DRIFT__CORRECTION"
    )
    assert str(loaded.origin("drift.permutations")) == "command line --permutations"
    assert str(loaded.origin("profile.measure.work_size")) == file
    assert str(loaded.origin("drift.power")) == "default"
    assert loaded.file == tmp_path / "visiondrift.toml"


def test_which_file_is_read(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    assert find_settings_file(cwd=tmp_path) is None
    (tmp_path / "pyproject.toml").write_text("[project]\nname = 'x'\n")
    assert find_settings_file(cwd=tmp_path) is None  # no [tool.visiondrift] table
    (tmp_path / "pyproject.toml").write_text("[tool.visiondrift.drift]\nalpha = 0.02\n")
    assert find_settings_file(cwd=tmp_path) == tmp_path / "pyproject.toml"
    assert load_settings(cwd=tmp_path).settings.drift.alpha == 0.02
    (tmp_path / "visiondrift.toml").write_text("[drift]\nalpha = 0.03\n")
    assert load_settings(cwd=tmp_path).settings.drift.alpha == 0.03  # before pyproject
    other = tmp_path / "other.toml"
    other.write_text("[drift]\nalpha = 0.04\n")
    monkeypatch.setenv("VISIONDRIFT_CONFIG", str(other))
    assert load_settings(cwd=tmp_path).settings.drift.alpha == 0.04
    given = tmp_path / "given.toml"
    given.write_text("[drift]\nalpha = 0.06\n")
    assert load_settings(given, cwd=tmp_path).settings.drift.alpha == 0.06  # --config wins


def test_relative_paths_in_a_file_are_relative_to_the_file(tmp_path: Path) -> None:
    folder = tmp_path / "conf"
    folder.mkdir()
    (folder / "visiondrift.toml").write_text("[model]\npath = 'models/net.onnx'\n")
    loaded = load_settings(folder / "visiondrift.toml", cwd=tmp_path)
    assert loaded.settings.model.path == folder / "models" / "net.onnx"


def test_structured_values_from_the_environment_are_json(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("VISIONDRIFT_DRIFT__BANDS", '{"pixel_mean": [0.01, 0.02, 0.04]}')
    loaded = load_settings(cwd="/nonexistent")
    assert loaded.settings.drift.bands == {"pixel_mean": (0.01, 0.02, 0.04)}
    assert loaded.settings.drift.to_config().bands_for("pixel_mean") == (0.01, 0.02, 0.04)
    monkeypatch.setenv("VISIONDRIFT_DRIFT__BANDS", "pixel_mean=1")
    with pytest.raises(ConfigError, match=r"VISIONDRIFT_DRIFT__BANDS.*JSON"):
        load_settings(cwd="/nonexistent")


def test_other_visiondrift_variables_are_not_settings(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("VISIONDRIFT_NAMES_KEY", "a-secret-key-of-names")
    assert load_settings(cwd="/nonexistent").settings == DEFAULTS


# --- errors name the place, the key, what is allowed and what was given -------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            "[drift]\nalhpa = 0.01\n",
            r"Unknown setting 'drift\.alhpa' in .*visiondrift\.toml\. The keys allowed at "
            r"\[drift\] are: alpha, correction",
        ),
        (
            "[drfit]\nalpha = 0.01\n",
            r"Unknown setting 'drfit' in .*visiondrift\.toml\. The keys allowed at the top level "
            r"are: profile, model, drift",
        ),
        (
            "[drift]\nalpha = 1.5\n",
            r"Invalid setting 'drift\.alpha' in .*visiondrift\.toml: Input should be less than 1\. "
            r"Got 1\.5 instead",
        ),
        (
            "[drift]\ncorrection = 'sidak'\n",
            r"Invalid setting 'drift\.correction' in .*visiondrift\.toml: Input should be 'holm', "
            r"'bh' or 'bonferroni'\. Got 'sidak' instead",
        ),
        (
            "[profile.measure]\nclip_dark = 200\nclip_bright = 100\n",
            r"Invalid setting 'profile\.measure' in .*visiondrift\.toml: .*clip_dark must be "
            r"smaller than clip_bright",
        ),
        (
            "[drift.bands]\npixel_mean = [0.2, 0.1, 0.3]\n",
            r"Invalid setting 'drift\.bands' in .*visiondrift\.toml: .*three increasing",
        ),
        (
            "[drift.bands]\nhue = [0.1, 0.2, 0.3]\n",
            r"Invalid setting 'drift\.bands' in .*visiondrift\.toml: .*unknown metric family 'hue'",
        ),
        ("drift = 3\n", r"'drift' in .*visiondrift\.toml is a section"),
        ("[drift\nalpha = 1\n", r"'.*visiondrift\.toml' is not valid TOML"),
    ],
)
def test_bad_files_are_errors_naming_file_and_key(tmp_path: Path, text: str, expected: str) -> None:
    (tmp_path / "visiondrift.toml").write_text(text)
    with pytest.raises(ConfigError, match=expected):
        load_settings(cwd=tmp_path)


@pytest.mark.parametrize(
    ("name", "value", "expected"),
    [
        (
            "VISIONDRIFT_DRIFT__ALPHA",
            "high",
            r"Invalid setting 'drift\.alpha' in the environment variable "
            r"VISIONDRIFT_DRIFT__ALPHA: Input should be a valid number.*Got 'high' instead",
        ),
        (
            "VISIONDRIFT_PROFILE__RESERVOIR",
            "5",
            r"Unknown setting 'profile\.reservoir' in the environment variable "
            r"VISIONDRIFT_PROFILE__RESERVOIR\. The keys allowed at \[profile\] are: "
            r"reservoir_size",
        ),
        (
            "VISIONDRIFT_PROFILE__MEASURE",
            "5",
            r"VISIONDRIFT_PROFILE__MEASURE names 'profile\.measure', which is a section",
        ),
    ],
)
def test_bad_variables_are_errors_naming_the_variable(
    monkeypatch: pytest.MonkeyPatch, name: str, value: str, expected: str
) -> None:
    monkeypatch.setenv(name, value)
    with pytest.raises(ConfigError, match=expected):
        load_settings(cwd="/nonexistent")


def test_a_missing_config_file_is_an_error(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    with pytest.raises(ConfigError, match=r"'.*nope\.toml' given by --config does not exist"):
        load_settings(tmp_path / "nope.toml")
    monkeypatch.setenv("VISIONDRIFT_CONFIG", str(tmp_path / "gone.toml"))
    with pytest.raises(ConfigError, match=r"gone\.toml' given by the environment variable"):
        load_settings(cwd=tmp_path)


# --- secrets ------------------------------------------------------------------------------------


class _AlertSettings(BaseModel):
    """A test-only section shaped like the next issues' alert settings."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    webhook_url: SecretStr | None = None
    password: SecretStr = Field(SecretStr(""), min_length=12)
    channel: str = "ops"


class _TreeWithSecrets(Settings):
    alerts: _AlertSettings = Field(default_factory=_AlertSettings)


def test_secrets_are_masked_when_shown(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    hook = "https://hooks.example.test/T000/very-secret-token"
    (tmp_path / "visiondrift.toml").write_text(
        f"[alerts]\nwebhook_url = '{hook}'\nchannel = 'ml'\n"
    )
    monkeypatch.setenv("VISIONDRIFT_ALERTS__PASSWORD", "correct horse battery")
    loaded = load_settings(cwd=tmp_path, model=_TreeWithSecrets)
    assert loaded.settings.alerts.webhook_url.get_secret_value() == hook
    assert "alerts.password" in settings_keys(_TreeWithSecrets)
    for text in (render_settings(loaded), render_settings(loaded, as_json=True)):
        assert "very-secret-token" not in text
        assert "correct horse" not in text
        assert MASK in text
        assert "VISIONDRIFT_ALERTS__PASSWORD" in text  # where it came from is shown
    document = json.loads(render_settings(loaded, as_json=True))
    assert document["settings"]["alerts"] == {
        "webhook_url": MASK,
        "password": MASK,
        "channel": "ml",
    }
    assert document["origins"]["alerts.webhook_url"] == str(tmp_path / "visiondrift.toml")


def test_the_store_alias_and_a_password_in_its_url(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("VISIONDRIFT_STORE", "postgresql+psycopg://ml:hunter2@db.example/metrics")
    loaded = load_settings(cwd=tmp_path)
    assert loaded.settings.store.url == "postgresql+psycopg://ml:hunter2@db.example/metrics"
    assert str(loaded.origin("store.url")) == "environment variable VISIONDRIFT_STORE"
    for text in (render_settings(loaded), render_settings(loaded, as_json=True)):
        assert "hunter2" not in text
        assert f"postgresql+psycopg://ml:{MASK}@db.example/metrics" in text
    # The long name wins over the short one.
    monkeypatch.setenv("VISIONDRIFT_STORE__URL", str(tmp_path / "runs.sqlite"))
    assert load_settings(cwd=tmp_path).settings.store.url == str(tmp_path / "runs.sqlite")


def test_a_bad_secret_is_not_echoed_in_the_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("VISIONDRIFT_ALERTS__PASSWORD", "hunter2")  # too short
    with pytest.raises(ConfigError) as caught:
        load_settings(cwd="/nonexistent", model=_TreeWithSecrets)
    message = str(caught.value)
    assert "hunter2" not in message
    assert "'alerts.password'" in message
    assert "VISIONDRIFT_ALERTS__PASSWORD" in message
    assert MASK in message


# --- the command line ---------------------------------------------------------------------------


def test_cli_precedence_in_real_runs(small_dir: Path, tmp_path: Path) -> None:
    (tmp_path / "visiondrift.toml").write_text(
        "[profile]\nreservoir_size = 50\nseed = 3\nmax_listed_bad_files = 9\n"
        "[profile.measure]\nwork_size = 96\n"
    )

    def baseline_config(*args: str, **env: str) -> dict[str, object]:
        out = tmp_path / "b.json"
        result = run("baseline", str(small_dir), "-o", str(out), "-q", *args, cwd=tmp_path, **env)
        assert result.returncode == 0, result.stderr
        config: dict[str, object] = json.loads(out.read_text())["config"]
        return config

    from_file = baseline_config("--workers", "1")
    assert (from_file["reservoir_size"], from_file["seed"]) == (50, 3)
    assert from_file["max_listed_bad_files"] == 9  # a key without a CLI option
    assert from_file["measure"]["work_size"] == 96  # type: ignore[index]
    from_env = baseline_config(VISIONDRIFT_PROFILE__RESERVOIR_SIZE="60")
    assert (from_env["reservoir_size"], from_env["seed"]) == (60, 3)
    from_cli = baseline_config("--reservoir-size", "70", VISIONDRIFT_PROFILE__RESERVOIR_SIZE="60")
    assert (from_cli["reservoir_size"], from_cli["seed"]) == (70, 3)
    (tmp_path / "visiondrift.toml").unlink()
    defaults = baseline_config()
    assert (defaults["reservoir_size"], defaults["seed"]) == (10_000, 0)


def test_cli_drift_settings_from_file_environment_and_options(
    small_dir: Path, tmp_path: Path
) -> None:
    base = tmp_path / "base.json"
    assert run("baseline", str(small_dir), "-o", str(base), "-q", cwd=tmp_path).returncode == 0
    settings = tmp_path / "elsewhere" / "team.toml"
    settings.parent.mkdir()
    settings.write_text("[drift]\nalpha = 0.01\ncorrection = 'bonferroni'\n")

    def report(*args: str, **env: str) -> dict[str, object]:
        out = tmp_path / "r.json"
        result = run(
            "monitor", str(small_dir), "--baseline", str(base), "-o", str(out), "-q", *args,
            cwd=tmp_path, **env,
        )  # fmt: skip
        assert result.returncode in (0, 1), result.stderr
        return dict(json.loads(out.read_text()))

    from_file = report("--config", str(settings))
    assert (from_file["alpha"], from_file["correction"]) == (0.01, "bonferroni")
    from_env_file = report(VISIONDRIFT_CONFIG=str(settings), VISIONDRIFT_DRIFT__ALPHA="0.02")
    assert (from_env_file["alpha"], from_env_file["correction"]) == (0.02, "bonferroni")
    from_cli = report("--config", str(settings), "--alpha", "0.03", VISIONDRIFT_DRIFT__ALPHA="0.02")
    assert from_cli["alpha"] == 0.03
    rest = report(
        VISIONDRIFT_DRIFT__PERMUTATIONS="499",
        VISIONDRIFT_DRIFT__N_ATYPICAL="3",
        VISIONDRIFT_DRIFT__BANDS='{"pixel_mean": [0.01, 0.02, 0.04]}',
    )
    config = rest["config"]
    assert isinstance(config, dict)
    assert (config["permutations"], config["n_atypical"]) == (499, 3)
    assert config["bands"]["pixel_mean"] == [0.01, 0.02, 0.04]


def test_config_show_says_where_each_value_came_from(tmp_path: Path) -> None:
    (tmp_path / "visiondrift.toml").write_text("[drift]\nalpha = 0.01\n[profile]\nseed = 4\n")
    result = run(
        "config", "show", "--correction", "bh", "--seed", "5",
        cwd=tmp_path, VISIONDRIFT_PROFILE__SEED="6", VISIONDRIFT_DRIFT__POWER="0.9",
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    lines = {line.split("=")[0].strip(): line for line in result.stdout.splitlines()}
    file = str(tmp_path / "visiondrift.toml")
    assert re.search(r"= 0\.01\s+# " + re.escape(file) + "$", lines["alpha"])
    assert lines["power"].endswith("# environment variable VISIONDRIFT_DRIFT__POWER")
    assert lines["correction"].endswith("# command line --correction")
    assert '"bh"' in lines["correction"]
    assert re.search(r"seed = 5\s+# command line --seed", result.stdout)
    assert lines["permutations"].endswith("# default")
    assert f"# Settings file: {file}" in result.stdout
    as_json = run("config", "show", "--json", cwd=tmp_path)
    document = json.loads(as_json.stdout)
    assert document["settings"]["drift"]["alpha"] == 0.01
    assert document["origins"]["drift.alpha"] == file
    assert document["origins"]["drift.correction"] == "default"
    assert set(document["origins"]) == set(settings_keys())


@pytest.mark.parametrize(
    ("setup", "expected"),
    [
        ({"visiondrift.toml": "[drift]\nalhpa = 0.01\n"}, "Unknown setting 'drift.alhpa' in "),
        ({"visiondrift.toml": "[drift]\nalpha = 2\n"}, "Invalid setting 'drift.alpha' in "),
        (
            {"pyproject.toml": "[tool.visiondrift.profile]\nreservoir_size = 'big'\n"},
            "Invalid setting 'profile.reservoir_size' in ",
        ),
        ({"VISIONDRIFT_DRIFT__ALPHA": "0"}, "VISIONDRIFT_DRIFT__ALPHA"),
        ({"VISIONDRIFT_CONFIG": "missing.toml"}, "'missing.toml' given by the environment"),
    ],
)
@pytest.mark.parametrize("command", ["config show", "baseline"])
def test_cli_settings_errors_exit_with_code_2(
    tmp_path: Path, small_dir: Path, setup: dict[str, str], expected: str, command: str
) -> None:
    env = {k: v for k, v in setup.items() if k.startswith("VISIONDRIFT_")}
    for name, text in setup.items():
        if not name.startswith("VISIONDRIFT_"):
            (tmp_path / name).write_text(text)
    args = command.split() + (
        [str(small_dir), "-o", str(tmp_path / "b.json")] if command == "baseline" else []
    )
    result = run(*args, cwd=tmp_path, **env)
    assert result.returncode == 2, result.stdout + result.stderr
    assert expected in result.stderr
    assert "Traceback" not in result.stderr
    assert not (tmp_path / "b.json").exists()


def test_cli_config_option_must_name_a_file(tmp_path: Path) -> None:
    result = run("--config", str(tmp_path / "none.toml"), "config", "show", cwd=tmp_path)
    assert result.returncode == 2
    assert "none.toml' given by --config does not exist" in result.stderr


# --- the documentation --------------------------------------------------------------------------


def test_every_key_is_documented() -> None:
    doc = (ROOT / "docs" / "configuration.md").read_text(encoding="utf-8")
    for key in settings_keys():
        default = setting_default(key)
        shown = "(not set)" if default is None else json.dumps(default)
        assert f"| `{key}` | `{shown}` |" in doc, (key, shown)
        env = "VISIONDRIFT_" + key.upper().replace(".", "__")
        assert env in doc, env
    for word in ("command line > environment > file > defaults", "visiondrift config show"):
        assert word in doc
