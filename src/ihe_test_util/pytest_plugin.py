"""The pytest plugin: `pytest --ihe-replay cassettes/ --ihe-target URL` replays cassettes.

Each recorded exchange becomes one test item, ``<cassette file>::#<exchange>[<transaction>]``
(``cassettes/xds.yaml::#3[ITI-18]``; its failure is headed with the reports' exchange id,
``xds.yaml#3``), so ``-k``, ``-x``, ``--junitxml`` and the rest of pytest apply to replays. An item
fails when its exchange's outcome is at or above the fail-on threshold (``--ihe-fail-on``,
default from the configuration: ``changed``), and its failure shows the differences as
``ihe replay`` prints them.

Exchanges of one cassette depend on each other (values the server assigned travel to later
requests), so a cassette is replayed by one :class:`~ihe_test_util.replay.engine.CassetteReplay`
in order, lazily: the first item of a cassette that runs starts it and each item takes its own
exchange's result, replaying earlier exchanges that were deselected without reporting them.
With pytest-xdist, keep a cassette on one worker: ``--dist loadfile`` (or ``loadgroup``: every
item carries an ``xdist_group`` marker named after its cassette).

For users' own client code, the ``ihe_cassette`` fixture records a test's exchanges once
through the recording proxy (``ihe record --proxy``) and afterwards answers them from
``ihe serve`` in-process, so the test runs offline: point the client at ``ihe_cassette.url``.

The plugin is installed with the package (entry point ``pytest11``) and is inert unless
``--ihe-replay`` is given: this module imports only pytest at start-up; the replay machinery
is imported when a replay is asked for.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

if TYPE_CHECKING:
    from _pytest._code.code import ExceptionInfo, TerminalRepr

    from ihe_test_util.replay.runner import PlannedCassette, ReplayEngine
    from ihe_test_util.results import ExchangeResult, FailOn

_OPTIONS_GROUP = "ihe"


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup(_OPTIONS_GROUP, "ihe-test-utility: replay recorded IHE exchanges")
    group.addoption("--ihe-replay", action="append", default=[], metavar="PATH",
                    help="Replay the cassettes in PATH (file or folder; repeatable), one test "
                         "per exchange. Without it the plugin does nothing.")
    group.addoption("--ihe-target", action="append", default=[], metavar="URL|ORIGIN=URL",
                    help="Where to send the requests, as `ihe replay --target` (repeatable).")
    group.addoption("--ihe-config", metavar="FILE", default=None,
                    help="ihe.toml to use (default: discovered in the current directory).")
    group.addoption("--ihe-fail-on", choices=["regression", "changed", "never"], default=None,
                    help="Lowest outcome that fails an exchange's test (default: the "
                         "configuration's fail_on, `changed`).")
    group.addoption("--ihe-timeout", type=float, default=None, metavar="SECONDS",
                    help="Connect + read timeout per request.")
    group.addoption("--ihe-fresh-patients", action="store_true", default=False,
                    help="As `ihe replay --fresh-patients`.")
    group.addoption("--ihe-record-mode", choices=["once", "none", "rewrite"], default="once",
                    help="ihe_cassette fixture: record a missing cassette through the recording "
                         "proxy (once, the default), never record (none: a missing cassette "
                         "fails the test, for CI), or record again (rewrite).")
    group.addoption("--ihe-upstream", action="append", default=[], metavar="URL|/PREFIX=URL",
                    help="ihe_cassette fixture: where to record from when the marker names no "
                         "upstream (as `ihe record --proxy --upstream`).")


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers", "ihe_cassette(path, upstream=None): the cassette (and, to record it, the "
                   "upstream URL or URLs) the ihe_cassette fixture uses for this test")
    if not config.getoption("ihe_replay"):
        return
    config.addinivalue_line(
        "markers", "xdist_group(name): keeps one cassette's exchanges on one xdist worker")
    paths = list(config.getoption("ihe_replay"))
    if config.args_source is pytest.Config.ArgsSource.ARGS:
        config.args.extend(paths)  # the tests named, and the cassettes
    else:
        config.args[:] = paths  # no test paths named: only the cassettes, not testpaths
    config.pluginmanager.register(ReplaySession(config), "ihe-replay-session")


class ExchangeFailed(Exception):
    """An exchange's outcome is at or above the threshold (a result, shown as a report)."""

    def __init__(self, result: ExchangeResult) -> None:
        super().__init__(f"{result.id}: {result.outcome.value}")
        self.result = result


class ReplaySession:
    """Builds the production engine, finds the cassettes and collects them as files."""

    def __init__(self, config: pytest.Config) -> None:
        self.config = config
        from ihe_test_util.cassette import find_cassettes
        from ihe_test_util.replay.selection import run_root

        paths = [Path(p) for p in config.getoption("ihe_replay")]
        missing = [str(p) for p in paths if not p.exists()]
        if missing:
            raise pytest.UsageError(f"--ihe-replay: no such file or folder: {', '.join(missing)}")
        self.root = run_root(paths)
        self.cassettes = {p.resolve() for p in find_cassettes(paths)}
        if not self.cassettes:
            raise pytest.UsageError(
                f"--ihe-replay: no cassettes (*.yaml, *.yml) in {', '.join(map(str, paths))}")
        self.engine, self.fail_on = self._production_engine()

    def pytest_collect_file(self, file_path: Path, parent: pytest.Collector) -> (
        CassetteFile | None
    ):
        if file_path.resolve() in self.cassettes:
            return CassetteFile.from_parent(parent, path=file_path, replay=self)
        return None

    def run_of(self, path: Path, exchanges: int) -> CassetteRun:
        from ihe_test_util.replay.runner import PlannedCassette
        from ihe_test_util.replay.selection import cassette_id

        return CassetteRun(self, PlannedCassette(path, cassette_id(path, self.root), exchanges))

    def _production_engine(self) -> tuple[ReplayEngine, FailOn]:
        """Settings, targets and rules are checked here, at start-up: a mistake is a usage
        error before anything is collected or sent, not a failure of every test."""
        from ihe_test_util.config import load_settings
        from ihe_test_util.errors import IheTestError
        from ihe_test_util.replay.session import production_engine, transport_options
        from ihe_test_util.replay.targets import TargetMap
        from ihe_test_util.results import FailOn

        option = self.config.getoption
        config_file = option("ihe_config")
        try:
            settings = load_settings(Path(config_file) if config_file else None)
            fail_on = option("ihe_fail_on")
            engine = production_engine(
                settings, TargetMap.parse(option("ihe_target")),
                transport_options(settings, None, timeout=option("ihe_timeout"),
                                  insecure=False),
                fresh_patients=option("ihe_fresh_patients"),
            )
        except IheTestError as exc:
            raise pytest.UsageError(f"--ihe-replay: {exc}") from None
        return engine, FailOn(fail_on) if fail_on else settings.fail_on


class CassetteRun:
    """One cassette's replay, advanced exchange by exchange as its items ask for results."""

    def __init__(self, session: ReplaySession, planned: PlannedCassette) -> None:
        self.session = session
        self.planned = planned
        self._results: list[ExchangeResult] = []
        self._replay: Iterator[ExchangeResult] | None = None

    def result(self, index: int) -> ExchangeResult:
        if self._replay is None:
            self._replay = self.session.engine.replay(self.planned).run()
        while len(self._results) <= index:
            self._results.append(next(self._replay))
        return self._results[index]


class CassetteFile(pytest.File):
    """A cassette named by ``--ihe-replay``: one item per recorded exchange."""

    def __init__(self, *, replay: ReplaySession, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.replay = replay

    def collect(self) -> list[pytest.Item]:
        from ihe_test_util.cassette import load_cassette
        from ihe_test_util.errors import IheTestError

        try:
            cassette = load_cassette(self.path)
        except IheTestError as exc:
            raise self.CollectError(f"invalid cassette: {exc}") from None
        run = self.replay.run_of(self.path, len(cassette.interactions))
        return [
            ExchangeItem.from_parent(
                self, name=f"#{index}[{interaction.meta.transaction or '?'}]", run=run,
                index=index, transaction=interaction.meta.transaction)
            for index, interaction in enumerate(cassette.interactions)
        ]


class ExchangeItem(pytest.Item):
    """One recorded exchange: passes unless its outcome is at or above the threshold."""

    def __init__(self, *, run: CassetteRun, index: int, transaction: str | None,
                 **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.run = run
        self.index = index
        self.transaction = transaction
        self.add_marker(pytest.mark.xdist_group(self.run.planned.id))
        if transaction:
            self.extra_keyword_matches.add(transaction)

    def runtest(self) -> None:
        from ihe_test_util.results import Outcome

        result = self.run.result(self.index)
        self.user_properties.append(("outcome", result.outcome.value))
        if result.outcome is Outcome.SKIPPED:
            reason = result.error.message if result.error else "not replayed"
            pytest.skip(f"{result.id}: {reason}")
        if result.outcome is Outcome.ERROR or self.run.session.fail_on.fails(result.outcome):
            raise ExchangeFailed(result)

    def repr_failure(self, excinfo: ExceptionInfo[BaseException],
                     style: Any = None) -> str | TerminalRepr:
        if isinstance(excinfo.value, ExchangeFailed):
            return render_result(excinfo.value.result, self.config)
        return super().repr_failure(excinfo, style=style)

    def reportinfo(self) -> tuple[Path, int | None, str]:
        """The failure's headline: the exchange id of the reports, and the transaction."""
        return self.path, None, f"{self.run.planned.id}#{self.index} {self.transaction or '?'}"


def render_result(result: ExchangeResult, config: pytest.Config) -> str:
    """The exchange as the terminal report's panel for it (colour when pytest uses colour)."""
    import io

    from rich.console import Console

    from ihe_test_util.report.labels import exchange_label
    from ihe_test_util.report.terminal import exchange_panel
    from ihe_test_util.results import Severity

    headline = f"{result.outcome.value} {exchange_label(result)}"
    rules = dict.fromkeys(d.rule or d.path for d in result.differences
                          if d.severity is Severity.REGRESSION)
    if rules:
        headline += ": " + "; ".join(rules)
    elif result.error is not None:
        headline += f": {result.error.type}"
    writer = config.get_terminal_writer()
    buffer = io.StringIO()
    console = Console(file=buffer, width=max(writer.fullwidth, 80), highlight=False,
                      force_terminal=writer.hasmarkup, no_color=not writer.hasmarkup)
    max_differences = 10**9 if config.get_verbosity() > 0 else 10
    console.print(exchange_panel(result, max_differences))
    return headline + "\n" + buffer.getvalue().rstrip("\n")


@dataclass(frozen=True)
class IheCassette:
    """What a test using the ``ihe_cassette`` fixture talks to."""

    path: Path
    url: str  # base URL for the client: the playback stub, or the recording proxy
    recording: bool


@pytest.fixture
def ihe_cassette(request: pytest.FixtureRequest) -> Iterator[IheCassette]:
    """Record once through the recording proxy, then answer from ``ihe serve`` in-process.

    The cassette is ``@pytest.mark.ihe_cassette(path, upstream=...)``'s ``path`` (relative to
    the test file), by default ``cassettes/<test name>.yaml`` beside the test file. It is
    recorded when missing (``--ihe-record-mode once``) or always (``rewrite``), from the
    marker's ``upstream`` or ``--ihe-upstream``; otherwise it is played back and nothing
    leaves the machine.
    """
    marker = request.node.get_closest_marker("ihe_cassette")
    folder = request.path.parent
    name = (marker.args[0] if marker and marker.args else
            f"cassettes/{request.node.name.replace('/', '_')}.yaml")
    path = folder / name
    mode = request.config.getoption("ihe_record_mode")
    if mode == "rewrite" or (mode == "once" and not path.exists()):
        upstream = marker.kwargs.get("upstream") if marker else None
        upstreams = ([upstream] if isinstance(upstream, str) else list(upstream or [])) or \
            list(request.config.getoption("ihe_upstream"))
        if not upstreams:
            pytest.fail(f"ihe_cassette: {path} is to be recorded but no upstream is known: "
                        f"give @pytest.mark.ihe_cassette(..., upstream=URL) or --ihe-upstream")
        yield from _recording(request.config, path, upstreams)
    elif not path.exists():
        pytest.fail(f"ihe_cassette: {path} does not exist and --ihe-record-mode is none")
    else:
        from ihe_test_util.serve import PlaybackServer

        with PlaybackServer([path]) as stub:
            yield IheCassette(path, stub.base_url, recording=False)


def _recording(config: pytest.Config, path: Path, upstreams: list[str]) -> Iterator[IheCassette]:
    from ihe_test_util.cassette.store import CassetteWriter
    from ihe_test_util.config import load_settings
    from ihe_test_util.model import CassetteMeta
    from ihe_test_util.record.proxy import RecordingProxy
    from ihe_test_util.record.routes import Routes
    from ihe_test_util.record.secrets import RecordingRedactor, SecretResolver

    config_file = config.getoption("ihe_config")
    settings = load_settings(Path(config_file) if config_file else None)
    redactor = RecordingRedactor.for_settings(settings, SecretResolver(settings, {}).configured())
    path.parent.mkdir(parents=True, exist_ok=True)
    with CassetteWriter(path, CassetteMeta(name=path.stem), redactor) as writer, \
            RecordingProxy(Routes.parse(upstreams), writer) as proxy:
        yield IheCassette(path, proxy.base_url, recording=True)
    if proxy.failures:
        pytest.fail(f"ihe_cassette: {proxy.failures} request(s) could not be forwarded to "
                    f"{', '.join(upstreams)} or recorded in {path}")
