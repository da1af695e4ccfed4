"""The body of ``ihe demo`` (imported only when it runs)."""

from __future__ import annotations

import shutil
import time
from pathlib import Path

from click.exceptions import Exit
from rich.console import Console
from rich.panel import Panel
from rich.text import Text

from ihe_test_util.cli.commands._replay_run import ReplayRequest, execute_replay
from ihe_test_util.cli.context import CliContext
from ihe_test_util.config import Settings, load_settings
from ihe_test_util.demo.flow import FlowEndpoints, record_xds_flow
from ihe_test_util.errors import UsageError
from ihe_test_util.model import Response
from ihe_test_util.replay.messages import xml_of
from ihe_test_util.replay.targets import TargetMap
from ihe_test_util.report.outputs import ReportOutputs
from ihe_test_util.results import FailOn, Outcome
from ihe_test_util.sim import Simulator
from ihe_test_util.transport.http import TransportOptions

MARKER = ".ihe-demo-folder"


def run_demo(cli_ctx: CliContext, workdir: Path, profile: str) -> None:
    console = Console(no_color=not cli_ctx.color, highlight=False)
    started = time.perf_counter()
    _prepare(workdir)
    cassette = workdir / "cassettes" / "xds-roundtrip.yaml"
    cassette.parent.mkdir(parents=True)

    console.rule("[b]1. record[/] against the reference endpoint (ihe sim, profile baseline)")
    with Simulator(profile="baseline") as sim:
        console.print(f"ihe sim listening on {sim.base_url} "
                      f"(PIX {sim.url_for('pix')}, XDS registry {sim.url_for('registry')}, ...)")

        def show(step: str, response: Response) -> None:
            console.print(Text.assemble(("  recorded ", "dim"), (f"{step:<22}", "bold"),
                                        f" HTTP {response.status}  {_ihe_status(response)}"))

        record_xds_flow(cassette, FlowEndpoints.of(sim.urls(), sim.identity.repository_unique_id),
                        on_step=show)
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


def _ihe_status(response: Response) -> str:
    """A short IHE status for the status line: ack code, query response, or registry status."""
    root = xml_of(response)
    if root is None:
        return ""
    for element in root.iter():
        local = element.tag.rsplit("}", 1)[-1] if isinstance(element.tag, str) else ""
        if local in ("RegistryResponse", "AdhocQueryResponse") and element.get("status"):
            return "status " + str(element.get("status")).rsplit(":", 1)[-1]
        if local == "typeCode" and element.get("code"):
            return "ack " + str(element.get("code"))
    return ""
