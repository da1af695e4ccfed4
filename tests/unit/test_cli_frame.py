"""The ``ihe`` group itself: version, help with examples, global options, config errors."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from ihe_test_util import __version__
from ihe_test_util.cli.main import COMMANDS, cli, load_command


def run(*args: str, env: dict[str, str] | None = None) -> tuple[int, str]:
    result = CliRunner().invoke(cli, list(args), env=env, catch_exceptions=False)
    return result.exit_code, result.output


def test_version() -> None:
    code, out = run("--version")
    assert code == 0
    assert out.strip() == f"ihe-test-utility {__version__}"


def test_help_lists_every_registered_command() -> None:
    code, out = run("--help")
    assert code == 0
    assert "Examples" in out
    for name in COMMANDS:
        assert name in out


@pytest.mark.parametrize("name", sorted(COMMANDS))
def test_listed_summary_is_the_commands_own(name: str) -> None:
    # ``ihe --help`` lists COMMANDS' summaries without importing the commands; they must not drift.
    assert COMMANDS[name].summary == load_command(name).get_short_help_str(limit=10**6)


def test_group_help_imports_no_command_module() -> None:
    probe = (
        "import sys\n"
        "from ihe_test_util.cli.main import cli\n"
        "try:\n"
        "    cli(['--help'], prog_name='ihe')\n"
        "except SystemExit:\n"
        "    pass\n"
        "print(sorted(m for m in sys.modules if m.startswith('ihe_test_util.cli.commands.')),"
        " file=sys.stderr)\n"
    )
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True,
                          check=True)
    assert "Commands" in done.stdout
    assert done.stderr.strip().splitlines()[-1] == "[]"


@pytest.mark.parametrize("name", sorted(COMMANDS))
def test_every_command_has_help_with_an_example(name: str) -> None:
    code, out = run(name, "--help")
    assert code == 0
    assert "Examples" in out
    assert f"ihe {name}" in out or "ihe --" in out


def test_unknown_command_is_usage_error() -> None:
    code, out = run("frobnicate")
    assert code == 2
    assert "No such command" in out


def test_config_json_and_environment_override(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> (
    None
):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "ihe.toml").write_text("timeout = 7\n[secrets]\nk = { env = 'K' }\n")
    code, out = run("config", "--json", env={"IHE_JOBS": "4", "K": "do-not-print"})
    assert code == 0
    data = json.loads(out)
    assert data["timeout"] == 7
    assert data["jobs"] == 4
    assert data["secrets"] == {"k": "$K"}
    assert "do-not-print" not in out


def test_config_error_exits_2_naming_the_key(tmp_path: Path) -> None:
    bad = tmp_path / "bad.toml"
    bad.write_text("[env.prod]\nverify = false\n")
    code, out = run("--config", str(bad), "config")
    assert code == 2
    assert "env.prod.verify" in out
    assert "Traceback" not in out


def test_insecure_environment_is_announced(tmp_path: Path) -> None:
    conf = tmp_path / "ihe.toml"
    conf.write_text("[env.lab]\nurl = 'https://x'\ntls = { verify = false }\n")
    code, out = run("--no-color", "--config", str(conf), "config")
    assert code == 0
    assert "WARNING" in out and "TLS verification OFF" in out


def test_no_color_environment_is_honoured(tmp_path: Path) -> None:
    conf = tmp_path / "ihe.toml"
    conf.write_text("jobs = 2\n")
    code, out = run("--config", str(conf), "config", env={"NO_COLOR": "1"})
    assert code == 0
    assert "\x1b[" not in out


def test_a_bug_is_reported_as_internal_error_not_as_regressions(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from ihe_test_util.cli.commands import config_cmd

    def boom(*args: object, **kwargs: object) -> None:
        raise RuntimeError("kaput")

    monkeypatch.setattr(config_cmd.command, "callback", boom)
    result = CliRunner().invoke(cli, ["config"])
    assert result.exit_code == 70
    assert "internal error: RuntimeError: kaput" in result.output
    assert "Traceback" not in result.output


def test_ctrl_c_exits_130(monkeypatch: pytest.MonkeyPatch) -> None:
    from ihe_test_util.cli.commands import config_cmd

    def interrupted(*args: object, **kwargs: object) -> None:
        raise KeyboardInterrupt

    monkeypatch.setattr(config_cmd.command, "callback", interrupted)
    result = CliRunner().invoke(cli, ["config"])
    assert result.exit_code == 130
    assert "interrupted" in result.output


@pytest.mark.parametrize("transaction", ["ITI-65", "iti68", "ITI-104", "ITI-119", "ITI-83"])
def test_config_diff_and_replay_accept_the_same_transaction_names(
        tmp_path: Path, transaction: str) -> None:
    # One list (the catalogue's): a [[rules]] / [[correlate]] transaction `ihe config` accepts is
    # one `ihe replay` and `ihe diff -t` accept, and the other way round (issue 13).
    from ihe_test_util.compare import load_rules
    from ihe_test_util.replay.capture_rules import load_capture_rules

    conf = tmp_path / "ihe.toml"
    conf.write_text(f'[[rules]]\ntransaction = "{transaction}"\nnoise = ["fhir:id"]\n'
                    f'[[correlate]]\ntransaction = "{transaction}"\n'
                    'response = "//fhir:id/@value"\n')
    assert run("--config", str(conf), "config")[0] == 0
    assert load_rules([{"transaction": transaction, "noise": ["fhir:id"]}])
    assert load_capture_rules([{"transaction": transaction, "response": "//x"}])
    body = tmp_path / "r.json"
    body.write_text('{"resourceType": "Patient"}')
    assert run("diff", str(body), str(body), "-t", transaction)[0] == 0


@pytest.mark.parametrize("table", ["rules", "correlate"])
def test_config_rejects_an_unknown_transaction_like_replay(tmp_path: Path, table: str) -> None:
    conf = tmp_path / "ihe.toml"
    effect = 'noise = ["x"]' if table == "rules" else 'response = "//x"'
    conf.write_text(f'[[{table}]]\ntransaction = "ITI-999"\n{effect}\n')
    code, out = run("--config", str(conf), "config")
    assert code == 2
    assert f"{table}[0].transaction" in out and "ITI-999" in out and "ITI-65" in out
