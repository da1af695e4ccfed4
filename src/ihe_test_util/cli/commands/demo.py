"""``ihe demo``: the whole story on the embedded simulator, start to finish, no network."""

from __future__ import annotations

from pathlib import Path

import rich_click as click

from ihe_test_util.cli.context import CliContext, pass_cli


@click.command("demo")
@click.option("--dir", "workdir", type=click.Path(file_okay=False, path_type=Path),
              default=Path(".ihe-demo"), show_default=True,
              help="Folder for the demo's cassette and reports (recreated each run).")
@click.option("--upgrade", "profile", type=click.Choice(["breaking", "compatible"]),
              default="breaking", show_default=True,
              help="How the simulated upgrade behaves: real regressions, or only noise.")
@click.option("--fhir", is_flag=True,
              help="The FHIR story instead: MHD, PDQm and PIXm on the simulator's /fhir.")
@pass_cli
def command(cli_ctx: CliContext, workdir: Path, profile: str, fhir: bool) -> None:
    """Record, upgrade, replay and report: the main job, on the embedded simulator.

    1. starts [b]ihe sim[/] (the reference PIX/PDQ/XDS.b endpoint) on 127.0.0.1;
    2. records an XDS round trip (patient feed, PIX and PDQ queries, Provide and Register,
       FindDocuments, GetDocuments, Retrieve) into a cassette; with [b]--fhir[/] the same story
       on FHIR (ITI-104 feed, PDQm search and read, PIXm $ihe-pix, MHD Provide Document
       Bundle, DocumentReference and List searches, Retrieve);
    3. restarts the simulator as an "upgraded" server ([b]--upgrade breaking[/] has real
       regressions, [b]compatible[/] only noise and benign drift);
    4. replays the cassette against it and prints the report, plus the path of the HTML
       report to review. No network needed; about ten seconds.

    Exits 0 when the replay found what the chosen upgrade should produce.

    [b]Examples[/]

    \b
      ihe demo
      ihe demo --upgrade compatible --dir /tmp/ihe-demo
      ihe demo --fhir
    """
    from ihe_test_util.cli.commands._demo_run import run_demo

    run_demo(cli_ctx, workdir, profile, fhir=fhir)
