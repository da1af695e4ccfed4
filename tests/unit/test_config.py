from __future__ import annotations

from pathlib import Path

import pytest

from ihe_test_util.config import load_settings
from ihe_test_util.errors import ConfigError
from ihe_test_util.results import FailOn


def write(tmp_path: Path, text: str, name: str = "ihe.toml") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def test_defaults_without_file(tmp_path: Path) -> None:
    settings = load_settings(cwd=tmp_path, environ={})
    assert settings.source is None
    assert settings.timeout == 30.0
    assert settings.fail_on is FailOn.CHANGED
    assert settings.jobs == 1


def test_file_then_environment_override(tmp_path: Path) -> None:
    write(tmp_path, 'timeout = 12\nfail_on = "regression"\njobs = 3\n')
    settings = load_settings(cwd=tmp_path, environ={"IHE_TIMEOUT": "4.5", "IHE_JOBS": "2"})
    assert settings.timeout == 4.5
    assert settings.jobs == 2
    assert settings.fail_on is FailOn.REGRESSION
    assert settings.source is not None and settings.source.endswith("ihe.toml")


def test_pyproject_tool_table(tmp_path: Path) -> None:
    write(tmp_path, '[project]\nname = "x"\n[tool.ihe]\njobs = 5\n', "pyproject.toml")
    assert load_settings(cwd=tmp_path, environ={}).jobs == 5


def test_pyproject_without_tool_table_is_ignored(tmp_path: Path) -> None:
    write(tmp_path, '[project]\nname = "x"\n', "pyproject.toml")
    assert load_settings(cwd=tmp_path, environ={}).source is None


@pytest.mark.parametrize(
    ("text", "key"),
    [
        ("timout = 3\n", "timout"),
        ("[env.prod]\nurll = 'http://x'\n", "env.prod.urll"),
        ("[env.prod.tls]\nverfy = false\n", "env.prod.tls.verfy"),
        ("[redact]\nheader = ['X']\n", "redact.header"),
        ("[hooks]\nbefore = ['x']\n", "hooks.before"),
    ],
)
def test_unknown_keys_are_errors_naming_the_key(tmp_path: Path, text: str, key: str) -> None:
    path = write(tmp_path, text)
    with pytest.raises(ConfigError) as info:
        load_settings(path, environ={})
    assert key in str(info.value)
    assert str(path) in str(info.value)


@pytest.mark.parametrize(
    ("text", "key"),
    [
        ("timeout = 'soon'\n", "timeout"),
        ("timeout = -1\n", "timeout"),
        ("jobs = true\n", "jobs"),
        ("fail_on = 'sometimes'\n", "fail_on"),
        ("[secrets]\nkey = 'literal-secret'\n", "secrets.key"),
        ("[env.a]\nactors = { registry = 3 }\n", "env.a.actors.registry"),
        ("[hooks]\nbefore_replay = ['x \"unclosed']\n", "hooks.before_replay[0]"),
        ("[hooks]\nafter_replay = ['x', '']\n", "hooks.after_replay[1]"),
        ("[hooks]\nafter_replay = [[]]\n", "hooks.after_replay[0]"),
        ("[hooks]\nafter_replay = [['x', 3]]\n", "hooks.after_replay[0]"),
        ("[hooks]\nafter_replay = 3\n", "hooks.after_replay"),
        ("[hooks]\ntimeout = 0\n", "hooks.timeout"),
        ("hooks = 'x'\n", "hooks"),
    ],
)
def test_wrong_types_are_errors(tmp_path: Path, text: str, key: str) -> None:
    with pytest.raises(ConfigError) as info:
        load_settings(write(tmp_path, text), environ={})
    assert key in str(info.value)


def test_invalid_toml_names_file(tmp_path: Path) -> None:
    path = write(tmp_path, "timeout = \n")
    with pytest.raises(ConfigError, match="invalid TOML"):
        load_settings(path, environ={})


def test_environment_value_that_is_not_a_number(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="IHE_JOBS"):
        load_settings(cwd=tmp_path, environ={"IHE_JOBS": "many"})


def test_secrets_resolve_from_environment_only(tmp_path: Path) -> None:
    path = write(tmp_path, "[secrets]\nsaml_key = { env = 'MY_KEY' }\n")
    settings = load_settings(path, environ={})
    assert settings.secret("saml_key", {"MY_KEY": "s3cr3t"}) == "s3cr3t"
    with pytest.raises(ConfigError, match="MY_KEY"):
        settings.secret("saml_key", {})
    with pytest.raises(ConfigError, match="not configured"):
        settings.secret("other", {})


def test_environment_tables(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "[env.baseline]\nurl = 'https://reg.example'\n"
        "actors = { registry = 'https://reg.example/xds' }\n"
        "tls = { verify = 'ca.pem', cert = 'c.pem', key = 'k.pem' }\n",
    )
    env = load_settings(path, environ={}).environment("baseline")
    assert env.url == "https://reg.example"
    assert env.actors["registry"].endswith("/xds")
    assert env.tls.verify == "ca.pem"
    with pytest.raises(ConfigError, match="unknown environment 'candidate'"):
        load_settings(path, environ={}).environment("candidate")


def test_saml_table(tmp_path: Path) -> None:
    path = write(tmp_path, "[saml]\nissuer = 'i'\nsubject = 's'\ncertificate = 'c.pem'\n"
                           "key = { env = 'K' }\nlifetime_minutes = 5\n")
    saml = load_settings(path, environ={}).saml
    assert saml is not None and saml.key_env == "K" and saml.lifetime_minutes == 5


@pytest.mark.parametrize(
    ("text", "key"),
    [
        ("[saml]\nissuer = 'i'\nsubject = 's'\ncertificate = 'c'\nkey = 'PEM'\n", "saml.key"),
        ("[saml]\nissuer = 'i'\nsubject = 's'\nkey = { env = 'K' }\n", "saml.certificate"),
        ("[saml]\nissuer = 'i'\nsubject = 's'\ncertificate = 'c'\nkey = { env = 'K' }\n"
         "audiance = 'x'\n", "saml.audiance"),
    ],
)
def test_saml_errors_name_the_key(tmp_path: Path, text: str, key: str) -> None:
    with pytest.raises(ConfigError) as info:
        load_settings(write(tmp_path, text), environ={})
    assert key in str(info.value)


def test_hooks_table_strings_are_split_like_a_shell_arrays_are_argv(tmp_path: Path) -> None:
    path = write(tmp_path, "[hooks]\n"
                           "before_replay = \"./reset.sh --tenant 'staging one'\"\n"
                           "after_replay = [\"purge a\", ['C:\\tools\\purge.exe', '--all']]\n"
                           "timeout = 12\n")
    hooks = load_settings(path, environ={}).hooks
    assert hooks.before_replay == (("./reset.sh", "--tenant", "staging one"),)
    assert hooks.after_replay == (("purge", "a"), ("C:\\tools\\purge.exe", "--all"))
    assert hooks.timeout == 12
    assert load_settings(cwd=tmp_path / "none", environ={}).hooks.before_replay == ()



# -- writing rules back (ihe learn --write, ihe review) ---------------------------------------

def test_append_to_config_adds_tables_atomically_and_keeps_the_file(tmp_path: Path) -> None:
    from ihe_test_util.config import append_to_config, render_table

    path = tmp_path / "ihe.toml"
    path.write_text("timeout = 5", encoding="utf-8")  # no final newline
    fragment = render_table("rules", {"name": 'a "quoted" name', "transaction": "ITI-18",
                                      "noise": "/Envelope/Header/X"}, ["why\nand how"])
    append_to_config(path, fragment)
    text = path.read_text(encoding="utf-8")
    assert text.startswith("timeout = 5\n\n# why\n# and how\n[[rules]]\n")
    settings = load_settings(path)
    assert settings.timeout == 5
    assert settings.rules == ({"name": 'a "quoted" name', "transaction": "ITI-18",
                               "noise": "/Envelope/Header/X"},)


def test_append_to_config_under_tool_ihe_and_never_writes_what_would_not_load(
        tmp_path: Path) -> None:
    from ihe_test_util.config import append_to_config, render_table

    pyproject = tmp_path / "pyproject.toml"
    pyproject.write_text('[project]\nname = "x"\n\n[tool.ihe]\njobs = 2\n', encoding="utf-8")
    append_to_config(pyproject, render_table("correlate", {"response": "//x"}))
    assert load_settings(pyproject).correlate == ({"response": "//x"},)
    broken = tmp_path / "ihe.toml"
    broken.write_text("jobs = 2\n", encoding="utf-8")

    def refuse(settings: object) -> None:
        raise ConfigError("rules[0].noise: invalid XPath", source=str(broken))

    with pytest.raises(ConfigError):
        append_to_config(broken, render_table("rules", {"noise": "//y"}), refuse)
    with pytest.raises(ConfigError):
        append_to_config(broken, "[[rules]\n")
    assert broken.read_text(encoding="utf-8") == "jobs = 2\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["ihe.toml", "pyproject.toml"]
