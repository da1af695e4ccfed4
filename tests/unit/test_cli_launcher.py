"""The console-script launcher: ``--version`` and cached ``--help`` equal click's output exactly."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from ihe_test_util.cli import launcher
from ihe_test_util.cli.main import COMMANDS, cli

#: Runs the click group directly, as the entry point did before the launcher.
CLICK = "from ihe_test_util.cli.main import main; main()"
#: Runs the launcher and reports on stderr whether click was imported.
LAUNCHER = (
    "import sys\n"
    "from ihe_test_util.cli.launcher import main\n"
    "try:\n"
    "    main()\n"
    "finally:\n"
    "    print('click imported:', 'click' in sys.modules, file=sys.stderr)\n"
)


#: ``ihe NAME --help`` for each NAME, in one process: ``-c EVERY_COMMAND launcher|click NAME...``.
EVERY_COMMAND = (
    "import sys\n"
    "runner, names = sys.argv[1], sys.argv[2:]\n"
    "if runner == 'launcher':\n"
    "    from ihe_test_util.cli.launcher import main as run\n"
    "else:\n"
    "    from ihe_test_util.cli.main import main as run\n"
    "for name in names:\n"
    "    sys.argv = ['ihe', name, '--help']\n"
    "    try:\n"
    "        run()\n"
    "    except SystemExit as stop:\n"
    "        print('exit', stop.code, flush=True)\n"
    "print('click imported:', 'click' in sys.modules, file=sys.stderr)\n"
)


#: The help cache is off on Windows (``launcher._help_text``).
posix_only = pytest.mark.skipif(sys.platform == "win32", reason="no help cache on Windows")


def _env(cache: Path, **extra: str) -> dict[str, str]:
    env = {name: value for name, value in os.environ.items()
           if name not in ("FORCE_COLOR", "NO_COLOR", "COLUMNS", "TERM", "COLORTERM",
                           launcher.NO_CACHE_VARIABLE, "_IHE_COMPLETE")}
    return {**env, "XDG_CACHE_HOME": str(cache), **extra}


def _run(code: str, args: list[str], env: dict[str, str]) -> subprocess.CompletedProcess[bytes]:
    return subprocess.run([sys.executable, "-c", code, *args], capture_output=True, env=env,
                          check=False)


def _cached_files(cache: Path) -> list[Path]:
    return sorted((cache / "ihe-test-utility").glob("help-*.txt"))


def test_version_line_is_what_click_prints() -> None:
    result = CliRunner().invoke(cli, ["--version"])
    assert result.exit_code == 0
    assert result.output == launcher.VERSION_LINE + "\n"


@pytest.mark.parametrize("flag", ["--version", "-V"])
def test_version_imports_neither_click_nor_rich(tmp_path: Path, flag: str) -> None:
    done = _run(LAUNCHER, [flag], _env(tmp_path))
    assert done.returncode == 0
    assert done.stdout.decode() == launcher.VERSION_LINE + "\n"
    assert "click imported: False" in done.stderr.decode()


@posix_only
@pytest.mark.parametrize("extra", [
    {},
    {"FORCE_COLOR": "1", "COLUMNS": "64"},
    {"FORCE_COLOR": "1", "TERM": "xterm-256color", "COLUMNS": "150"},
], ids=["piped", "colour-narrow", "colour-wide"])
@pytest.mark.parametrize("args", [["--help"], ["-h"], []], ids=["--help", "-h", "no-args"])
def test_cached_help_is_byte_identical_to_clicks(tmp_path: Path, extra: dict[str, str],
                                                 args: list[str]) -> None:
    env = _env(tmp_path, **extra)
    direct = _run(CLICK, args, env)
    cold = _run(LAUNCHER, args, env)
    assert _cached_files(tmp_path), "a miss stores the rendered help"
    warm = _run(LAUNCHER, args, env)
    assert b"Commands" in direct.stdout
    assert cold.stdout == direct.stdout
    assert warm.stdout == direct.stdout
    assert direct.returncode == cold.returncode == warm.returncode == (2 if not args else 0)
    assert "click imported: True" in cold.stderr.decode()
    assert "click imported: False" in warm.stderr.decode()


@posix_only
def test_cached_command_help_is_byte_identical_to_clicks(tmp_path: Path) -> None:
    env = _env(tmp_path, FORCE_COLOR="1", COLUMNS="90")
    names = sorted(COMMANDS)
    direct = _run(EVERY_COMMAND, ["click", *names], env)
    cold = _run(EVERY_COMMAND, ["launcher", *names], env)
    warm = _run(EVERY_COMMAND, ["launcher", *names], env)
    assert direct.returncode == cold.returncode == warm.returncode == 0
    assert direct.stdout.count(b"exit 0\n") == len(COMMANDS)
    assert direct.stdout.count(b"Examples") >= len(COMMANDS)
    assert cold.stdout == direct.stdout
    assert warm.stdout == direct.stdout
    assert len(_cached_files(tmp_path)) == len(COMMANDS)
    assert "click imported: False" in warm.stderr.decode()


def test_unknown_command_is_left_to_click(tmp_path: Path) -> None:
    done = _run(LAUNCHER, ["frobnicate", "--help"], _env(tmp_path))
    assert done.returncode == 2
    assert b"No such command" in done.stdout + done.stderr
    assert _cached_files(tmp_path) == []


@posix_only
def test_cached_help_on_a_real_terminal_is_clicks(tmp_path: Path) -> None:
    import fcntl
    import pty
    import struct
    import termios

    def on_terminal(code: str, columns: int) -> bytes:
        master, slave = pty.openpty()
        fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 40, columns, 0, 0))
        modes = termios.tcgetattr(slave)
        modes[1] &= ~termios.OPOST  # no "\n" -> "\r\n": compare the bytes the program wrote
        termios.tcsetattr(slave, termios.TCSANOW, modes)
        child = subprocess.Popen([sys.executable, "-c", code, "--help"], stdin=slave,
                                 stdout=slave, stderr=subprocess.DEVNULL, env=_env(tmp_path))
        os.close(slave)
        chunks = []
        while True:
            try:
                chunk = os.read(master, 65536)
            except OSError:  # EIO: the child closed the terminal
                break
            if not chunk:
                break
            chunks.append(chunk)
        os.close(master)
        assert child.wait() == 0
        return b"".join(chunks)

    for columns in (72, 96):
        direct = on_terminal(CLICK, columns)
        assert b"\x1b[" in direct  # a terminal gets colours
        assert on_terminal(LAUNCHER, columns) == direct  # miss
        assert on_terminal(LAUNCHER, columns) == direct  # hit
    assert len(_cached_files(tmp_path)) == 2  # one per terminal width


def test_no_cache_variable_renders_through_click_and_stores_nothing(tmp_path: Path) -> None:
    done = _run(LAUNCHER, ["--help"], _env(tmp_path, **{launcher.NO_CACHE_VARIABLE: "1"}))
    assert done.returncode == 0
    assert b"Commands" in done.stdout
    assert _cached_files(tmp_path) == []


def test_shell_completion_is_left_to_click(tmp_path: Path) -> None:
    env = _env(tmp_path, _IHE_COMPLETE="bash_source")
    done = _run(LAUNCHER, ["--help"], env)
    assert done.returncode == 0
    assert b"_IHE_COMPLETE" in done.stdout  # click's completion script, not the help
    assert _cached_files(tmp_path) == []


def test_non_utf8_stdout_is_left_to_click(tmp_path: Path) -> None:
    done = _run(LAUNCHER, ["--help"], _env(tmp_path, PYTHONIOENCODING="latin-1"))
    assert done.returncode == 0
    assert b"Commands" in done.stdout
    assert _cached_files(tmp_path) == []


def test_unwritable_cache_still_prints_help(tmp_path: Path) -> None:
    blocker = tmp_path / "not-a-directory"
    blocker.write_text("")
    done = _run(LAUNCHER, ["--help"], _env(blocker))
    assert done.returncode == 0
    assert b"Commands" in done.stdout


def test_stored_text_is_read_back_only_under_its_own_key(tmp_path: Path) -> None:
    path = str(tmp_path / "help-0.txt")
    text = "Usage: ihe\n\n  ünïcode ─ box\r\nend"
    one, two = launcher.key_digest("key one"), launcher.key_digest("key two")
    assert one != two
    launcher.store(path, one, text)
    assert launcher.read_cached(path, one) == text
    assert launcher.read_cached(path, two) is None
    assert launcher.read_cached(str(tmp_path / "missing.txt"), one) is None


@posix_only
def test_the_environment_never_reaches_the_cache_file(tmp_path: Path) -> None:
    done = _run(LAUNCHER, ["--help"], _env(tmp_path, SOME_TOKEN="do-not-store-me"))
    assert done.returncode == 0
    (stored,) = _cached_files(tmp_path)
    assert "do-not-store-me" not in stored.read_text(encoding="utf-8")


def test_store_keeps_only_the_newest_files(tmp_path: Path) -> None:
    for number in range(launcher._KEEP + 3):
        path = tmp_path / f"help-{number}.txt"
        launcher.store(str(path), f"key {number}", "text")
        os.utime(path, ns=(number * 10**9, number * 10**9))
    launcher.store(str(tmp_path / "help-new.txt"), "key new", "text")
    kept = sorted(p.name for p in tmp_path.iterdir())
    assert len(kept) == launcher._KEEP
    assert "help-new.txt" in kept
    assert "help-0.txt" not in kept


@posix_only
def test_key_follows_terminal_environment_but_not_the_working_directory(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("COLUMNS", "80")
    monkeypatch.setenv("PWD", "/one")
    first = launcher.cache_key()
    monkeypatch.setenv("PWD", "/two")
    assert launcher.cache_key() == first
    monkeypatch.setenv("COLUMNS", "81")
    assert launcher.cache_key() != first
    monkeypatch.setenv("SOME_NEW_RENDERING_SWITCH", "1")  # unknown variables count too
    assert launcher.cache_key() not in (first, None)


def test_key_follows_the_cli_source_files(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> (
    None
):
    package = tmp_path / "ihe_test_util"
    (package / "cli" / "commands").mkdir(parents=True)
    for name in ("__init__.py", "cli/main.py", "cli/context.py", "cli/launcher.py",
                 "cli/commands/replay.py"):
        (package / name).write_text("# stand-in\n")
    monkeypatch.setattr(launcher, "__file__", str(package / "cli" / "launcher.py"))
    first = launcher.cache_key("replay")
    assert first is not None
    assert launcher.cache_key("record") != first
    (package / "cli" / "commands" / "replay.py").write_text("# an edited option\n")
    second = launcher.cache_key("replay")
    assert second not in (first, None)
    (package / "cli" / "main.py").write_text("# an edited command registry\n")
    assert launcher.cache_key("replay") not in (first, second, None)
    (package / "cli" / "main.py").unlink()
    assert launcher.cache_key("replay") is None  # unsure: no cache


def test_cache_dir_honours_xdg_cache_home(monkeypatch: pytest.MonkeyPatch) -> None:
    if sys.platform in ("win32", "darwin"):
        pytest.skip("XDG applies elsewhere")
    monkeypatch.setenv("XDG_CACHE_HOME", "/somewhere")
    assert launcher.cache_dir() == os.path.join("/somewhere", "ihe-test-utility")
