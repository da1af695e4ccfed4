"""The body of ``ihe demo`` (imported only when it runs)."""

from __future__ import annotations

import shutil
import time
from importlib import resources
from pathlib import Path

from click.exceptions import Exit
from rich.console import Console
from rich.panel import Panel
from rich.text import Text

from ihe_test_util.cli.commands._replay_run import ReplayRequest, execute_replay
from ihe_test_util.cli.context import CliContext
from ihe_test_util.cli.signals import stop_on_signals
from ihe_test_util.config import Settings, load_settings
from ihe_test_util.errors import UsageError
from ihe_test_util.record import RecordEvent, StepFinished, record_scenario
from ihe_test_util.replay.targets import TargetMap
from ihe_test_util.report.outputs import ReportOutputs
from ihe_test_util.results import FailOn, Outcome
from ihe_test_util.sim import Simulator
from ihe_test_util.transport.http import TransportOptions

MARKER = ".ihe-demo-folder"
SCENARIO = "xds-roundtrip.yaml"
#: The FHIR story (``--fhir``): MHD, PDQm and PIXm against the simulator's /fhir actors.
FHIR_SCENARIO = "mhd-pdqm-pixm.yaml"


def run_demo(cli_ctx: CliContext, workdir: Path, profile: str, *, fhir: bool = False) -> None:
    """Record, upgrade, replay; Ctrl-C or SIGTERM stop it like any command (exit 130)."""
    with stop_on_signals():
        _run_demo(cli_ctx, workdir, profile, fhir=fhir)


def _run_demo(cli_ctx: CliContext, workdir: Path, profile: str, *, fhir: bool) -> None:
    console = Console(no_color=not cli_ctx.color, highlight=False)
    started = time.perf_counter()
    _prepare(workdir)
    name = FHIR_SCENARIO if fhir else SCENARIO
    cassette = workdir / "cassettes" / name
    cassette.parent.mkdir(parents=True)

    console.rule("[b]1. record[/] the bundled scenario against the reference endpoint "
                 "(ihe sim, profile baseline)")
    with Simulator(profile="baseline") as sim:
        if fhir:
            console.print(f"ihe sim listening on {sim.base_url} "
                          f"(FHIR: MHD, PDQm, PIXm at {sim.url_for('fhir')})")
        else:
            console.print(f"ihe sim listening on {sim.base_url} (PIX {sim.url_for('pix')}, "
                          f"XDS registry {sim.url_for('registry')}, ...)")

        def show(event: RecordEvent) -> None:
            if isinstance(event, StepFinished):
                step = event.result
                console.print(Text.assemble(
                    ("  recorded ", "dim"), (step.transaction.ljust(8 if fhir else 7), "cyan"),
                    (step.name.ljust(43 if fhir else 22), "bold"),
                    f" HTTP {step.http_status}  {step.ihe_status or ''}"))

        # the folder, not the file alone: the FHIR story's document lives beside it
        with resources.as_file(resources.files("ihe_test_util.demo")) as folder:
            result = record_scenario(
                folder / name, settings=Settings(), cassette=cassette,
                endpoints_override={**sim.urls(), "fhir": sim.url_for("fhir")},
                on_event=show,
            )
    if result.interrupted:  # the recorder keeps what it has and returns; the demo stops here
        raise KeyboardInterrupt
    console.print(f"scenario: {name} ({result.total} exchanges)")
    console.print(f"cassette written: [b]{cassette}[/] (readable YAML, secrets redacted)")

    console.rule(f"[b]2. upgrade[/]: ihe sim restarted with profile '{profile}'")
    with Simulator(profile=profile) as upgraded:
        console.print(f"upgraded endpoint on {upgraded.base_url}")
        console.rule("[b]3. replay[/] the cassette against the upgraded endpoint")
        reports = workdir / "reports"
        request = ReplayRequest(
            paths=[cassette.parent], targets=TargetMap.parse([upgraded.base_url]),
            options=TransportOptions(timeout=30.0), fail_on=FailOn.CHANGED,
            outputs=ReportOutputs(json=reports / "run.json", junit=reports / "junit.xml",
                                  markdown=reports / "summary.md", html=reports / "run.html"),
        )
        summary = execute_replay(cli_ctx, _demo_settings(cli_ctx, workdir), request)

    regressions = summary.counts[Outcome.REGRESSION]
    expected = regressions > 0 if profile == "breaking" else regressions == 0
    elapsed = time.perf_counter() - started
    html = (workdir / "reports" / "run.html").resolve()
    lines = [
        f"HTML report to review: [b]{html}[/]",
        f"JSON / JUnit / Markdown reports: {html.parent}",
        "",
        "What next:",
        f"  ihe replay {cassette} --target http://your-upgraded-registry:8080",
        f"  ihe approve {html.parent / 'run.json'} --allow-regressions   # accept as baseline",
    ]
    verdict = (f"the '{profile}' upgrade gave {regressions} regression(s), as it should"
               if expected else f"unexpected: {regressions} regression(s) for '{profile}'")
    console.print(Panel("\n".join(lines), title=f"demo done in {elapsed:.1f} s: {verdict}",
                        border_style="green" if expected else "red"))
    raise Exit(0 if expected else 1)


DEMO_RULES = """\
# Written by `ihe demo`: comparer rules for the simulated upgrade (see docs/noise-rules.md).
# The `compatible` upgrade adds the registry-maintained documentAvailability slot: reviewed
# once, it is declared benign here, as you would for your own registry's upgrade.
[[rules]]
name = "registry-maintained documentAvailability slot"
transaction = "ITI-18"
noise = "//rim:ExtrinsicObject/rim:Slot[@name='documentAvailability']"

# Its FHIR actors tag every resource they return (meta.tag): benign too.
[[rules]]
name = "upgrade tag on FHIR resources"
noise = "//fhir:meta[fhir:tag/fhir:system/@value = 'http://ihe-test-utility.invalid/sim-tag']"
"""


def _demo_settings(cli_ctx: CliContext, workdir: Path) -> Settings:
    """The user's --config when given, else the demo's own ihe.toml with its rule."""
    if cli_ctx.config_path is not None:
        return cli_ctx.settings()
    config = workdir / "ihe.toml"
    config.write_text(DEMO_RULES, encoding="utf-8")
    return load_settings(config)


def _prepare(workdir: Path) -> None:
    """Recreate the demo folder, but never delete a folder the demo did not create."""
    if workdir.exists():
        if not (workdir / MARKER).is_file():
            if any(workdir.iterdir()):
                raise UsageError(
                    f"{workdir} exists and was not made by ihe demo",
                    hint="choose another folder with --dir, or remove it",
                )
        else:
            shutil.rmtree(workdir)
    workdir.mkdir(parents=True, exist_ok=True)
    (workdir / MARKER).write_text("created by `ihe demo`; safe to delete\n", encoding="utf-8")
