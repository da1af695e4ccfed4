"""Console-script entry point: answers ``ihe --version`` and ``ihe --help`` without click.

Importing click, rich-click and rich and rendering the help costs several times Python's own
start-up, more than the whole answer is worth. So this module, which imports only the standard
library, answers two requests itself and hands everything else to the click group
(``cli/main.py``):

- ``ihe --version`` / ``ihe -V``: the version line, as click's version option prints it;
- ``ihe``, ``ihe --help``, ``ihe COMMAND --help`` (or ``-h``): the help as rich-click rendered
  it last time, from the user cache directory. The cache key holds everything the rendering can
  depend on: the arguments; the Python; the files of click, rich-click, rich and of the command
  line (the group, ``cli/context.py`` and every command module, which import nothing else at
  module level: ARCHITECTURE.md) by path, size, mtime and inode; stdout's encoding; whether
  fds 0-2 are terminals and their sizes; the whole environment except a few variables that
  change between shell commands (PWD, OLDPWD, SHLVL, ``_``). The file holds a BLAKE2 digest of
  that key (never the environment's values) and is printed only when the digest matches in
  full. A miss renders through click, prints, and stores the text.

Any doubt (other arguments, shell completion, a non-UTF-8 stdout, Windows, an unreadable or
unwritable cache, ``IHE_NO_HELP_CACHE`` set) sends the request to the click group unchanged.

``os.path`` rather than ``pathlib`` on purpose: importing pathlib costs about half a
``python -c pass`` here, a sizeable part of what this module exists to save.
"""

# ruff: noqa: PTH100, PTH103, PTH105, PTH108, PTH111, PTH116, PTH118, PTH120, PTH123

from __future__ import annotations

import os
import sys

#: The one version string, without importing the package's public API (this module's parent
#: package ``__init__`` is imported anyway and is cheap).
from ihe_test_util import __version__

PROG_NAME = "ihe"
#: What click's version option prints (``cli/main.py`` passes the same message and prog name).
VERSION_LINE = f"ihe-test-utility {__version__}"

_VERSION_ARGS = (["--version"], ["-V"])
_HELP_FLAGS = ("--help", "-h")

#: Set (non-empty) to always render ``--help`` through click and never read or write the cache.
NO_CACHE_VARIABLE = "IHE_NO_HELP_CACHE"
#: Environment variables left out of the cache key: they change between shell commands and no
#: rendering reads them.
_VOLATILE = frozenset({"PWD", "OLDPWD", "SHLVL", "_"})
#: Libraries whose files are part of the key: an upgrade of any of them re-renders.
_LIBRARIES = ("click", "rich_click", "rich")
#: Cached help files kept (a dozen commands, a few terminal set-ups); older ones are removed
#: when a new one is written.
_KEEP = 32


def main() -> None:
    """Console-script entry point (``ihe`` and ``ihe-test-util``, and ``python -m``)."""
    utf8_console_streams()
    args = sys.argv[1:]
    if args in _VERSION_ARGS and not _completing():
        _print(VERSION_LINE + "\n")
        sys.exit(0)
    command = _help_request(args)
    if command is not None and not _completing() and not os.environ.get(NO_CACHE_VARIABLE):
        text = _help_text(command)
        if text is not None:
            _print(text + "\n")  # as rich-click's print(ctx.get_help())
            sys.exit(2 if not args else 0)  # click: a group run without arguments exits 2
    from ihe_test_util.cli.main import main as click_main

    click_main()


def utf8_console_streams() -> None:
    """Windows consoles default to cp1252: write UTF-8 (with replacement) instead."""
    if sys.platform == "win32":  # pragma: no cover
        for stream in (sys.stdout, sys.stderr):
            reconfigure = getattr(stream, "reconfigure", None)
            if reconfigure is not None:
                reconfigure(encoding="utf-8", errors="replace")


def _print(text: str) -> None:
    """Write to stdout; a reader gone early (``ihe --help | head``) exits 1, as in click."""
    try:
        sys.stdout.write(text)
        sys.stdout.flush()
    except BrokenPipeError:
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())  # no second error at exit
        sys.exit(1)


def _help_request(args: list[str]) -> str | None:
    """``""`` for the group's help, the command's name for its help, None for anything else."""
    if args == [] or (len(args) == 1 and args[0] in _HELP_FLAGS):
        return ""
    if len(args) == 2 and args[1] in _HELP_FLAGS and args[0][:1].isalpha():
        return args[0]
    return None


def _completing() -> bool:
    """Shell completion (click's ``_IHE_COMPLETE``) is click's job."""
    return f"_{PROG_NAME.upper()}_COMPLETE" in os.environ


def _help_text(command: str) -> str | None:
    """The help for this terminal and environment: cached, or rendered and stored."""
    if sys.platform == "win32":  # pragma: no cover - rich may convert ANSI codes for a legacy
        return None  # console (colorama), which depends on the console mode, not in the key
    encoding = (getattr(sys.stdout, "encoding", None) or "").lower().replace("-", "")
    if encoding != "utf8":
        return None
    key = cache_key(command)
    if key is None:
        return None
    digest = key_digest(key)
    path = os.path.join(cache_dir(), f"help-{digest[:16]}.txt")
    cached = read_cached(path, digest)
    if cached is not None:
        return cached
    from ihe_test_util.cli.main import render_help

    text = render_help(command or None)
    if text is not None:  # None: no such command (click says so)
        store(path, digest, text)
    return text


def cache_key(command: str = "") -> str | None:
    """A text naming everything the rendered help can depend on; None when unsure."""
    parts: list[object] = [command, __version__, sys.version, sys.platform, sys.executable,
                           sys.stdout.encoding, sys.stdout.errors]
    package = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    commands = os.path.join(package, "cli", "commands")
    try:
        modules = sorted(entry.path for entry in os.scandir(commands)
                         if entry.name.endswith(".py"))
    except OSError:
        return None
    files = [os.path.join(package, "__init__.py"),
             os.path.join(package, "cli", "main.py"),
             os.path.join(package, "cli", "context.py"),
             os.path.abspath(__file__), *modules]
    from importlib.machinery import PathFinder

    for name in _LIBRARIES:
        spec = PathFinder.find_spec(name)
        if spec is None or not spec.origin:
            return None
        files.append(spec.origin)
    for path in files:
        try:
            info = os.stat(path)
        except OSError:
            return None
        parts.append((path, info.st_size, info.st_mtime_ns, info.st_ino))
    for fd in (0, 1, 2):
        try:
            size: tuple[int, int] | None = tuple(os.get_terminal_size(fd))  # type: ignore[assignment]
        except (OSError, ValueError):
            size = None
        parts.append((fd, os.isatty(fd), size))
    parts.append(sorted((name, value) for name, value in os.environ.items()
                        if name not in _VOLATILE))
    return repr(parts)


def cache_dir() -> str:
    """The per-user cache directory of ihe-test-utility (platform conventions)."""
    if sys.platform == "win32":  # pragma: no cover
        base = os.environ.get("LOCALAPPDATA") or os.path.expanduser("~\\AppData\\Local")
        return os.path.join(base, "ihe-test-utility", "Cache")
    if sys.platform == "darwin":  # pragma: no cover
        return os.path.expanduser("~/Library/Caches/ihe-test-utility")
    base = os.environ.get("XDG_CACHE_HOME") or os.path.expanduser("~/.cache")
    return os.path.join(base, "ihe-test-utility")


def key_digest(key: str) -> str:
    """A digest of the cache key: what is stored, so no environment value reaches the disk."""
    try:  # hashlib's own import loads OpenSSL, about a ``python -c pass``; same algorithm
        from _blake2 import blake2b
    except ImportError:  # pragma: no cover - an interpreter built without it
        from hashlib import blake2b
    return blake2b(key.encode("utf-8", "surrogateescape"), digest_size=32).hexdigest()


def read_cached(path: str, digest: str) -> str | None:
    """The text stored under exactly ``digest`` in ``path``, else None."""
    try:
        with open(path, encoding="utf-8", newline="") as file:
            stored_digest, sep, text = file.read().partition("\n")
    except (OSError, UnicodeDecodeError):
        return None
    return text if sep and stored_digest == digest else None


def store(path: str, digest: str, text: str) -> None:
    """Write ``digest`` and ``text`` atomically; a cache that cannot be written is no error."""
    directory = os.path.dirname(path)
    temporary = f"{path}.{os.getpid()}.tmp"
    try:
        os.makedirs(directory, exist_ok=True)
        with open(temporary, "w", encoding="utf-8", newline="") as file:
            file.write(f"{digest}\n{text}")
        os.replace(temporary, path)
        _prune(directory)
    except OSError:
        import contextlib

        with contextlib.suppress(OSError):
            os.unlink(temporary)


def _prune(directory: str) -> None:
    """Keep the newest ``_KEEP`` help files (one per terminal set-up in practice)."""
    entries = [entry for entry in os.scandir(directory)
               if entry.name.startswith("help-") and entry.name.endswith(".txt")]
    entries.sort(key=lambda entry: entry.stat().st_mtime_ns, reverse=True)
    for entry in entries[_KEEP:]:
        os.unlink(entry.path)
