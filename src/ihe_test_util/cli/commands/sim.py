"""``ihe sim``: run the embedded reference IHE endpoint on localhost."""

from __future__ import annotations

from pathlib import Path

import rich_click as click

from ihe_test_util.cli.context import CliContext, pass_cli

_PROFILES = ("baseline", "compatible", "breaking")


@click.command("sim")
@click.option("--host", default="127.0.0.1", show_default=True,
              help="Interface to listen on. Keep the default unless you know you need another.")
@click.option("--port", type=click.IntRange(0, 65535), default=8080, show_default=True,
              help="TCP port; 0 picks a free one (the URLs are printed).")
@click.option("--profile", type=click.Choice(_PROFILES), default="baseline", show_default=True,
              help="How the endpoint behaves: [b]baseline[/]; [b]compatible[/] (noise and "
                   "benign drift only); [b]breaking[/] (real regressions).")
@click.option("--state", "state_path", type=click.Path(path_type=Path, dir_okay=False),
              help="SQLite file that keeps patients, metadata and documents across restarts "
                   "(default: in memory).")
@click.option("--mllp-port", type=click.IntRange(0, 65535), default=None,
              help="TCP port of the HL7 v2 actors (MLLP): PIX v2 Manager (ITI-8/9), PDQ v2 "
                   "Supplier (ITI-21). Default 2575, or a free one with --port 0.")
@click.option("--json", "as_json", is_flag=True,
              help="Print the URLs as one JSON line (for scripts) instead of a table.")
@pass_cli
def command(cli_ctx: CliContext, host: str, port: int, profile: str, state_path: Path | None,
            mllp_port: int | None, as_json: bool) -> None:
    """Run a reference IHE endpoint: PIX Manager (ITI-44/45), PDQ Supplier (ITI-47), XDS.b
    Registry (ITI-18/42) and Repository (ITI-41/43), XCPD Responding Gateway (ITI-55).

    Under /fhir on the same port and data: MHD Document Recipient and Responder
    (ITI-65/66/67/68), PDQm Supplier (ITI-78/119), PIXm Manager (ITI-83/104), FHIR R4 JSON
    or XML. Over MLLP ([b]--mllp-port[/], same data): PIX v2 Manager (ITI-8 ADT^A01/A04/A05/
    A08/A40, ITI-9 QBP^Q23) and PDQ v2 Supplier (ITI-21 QBP^Q22). One path per SOAP actor
    (SOAP 1.2 with WS-Addressing). Responses carry fresh
    message ids, timestamps, entryUUIDs and MTOM boundaries, like a real server.
    [b]--profile[/] makes it behave like an upgraded server, to try [b]ihe replay[/] against.
    Stop with Ctrl-C.

    [b]Examples[/]

    \b
      ihe sim --port 0
      ihe sim --port 8080 --profile breaking
      ihe sim --state sim.sqlite --json
      ihe sim --port 8080 --mllp-port 2575
      curl 'http://127.0.0.1:8080/fhir/Patient?family=doe'
    """
    import json
    import logging
    import sys

    from ihe_test_util.cli.serving import serve_until_stopped
    from ihe_test_util.sim import Simulator
    from ihe_test_util.sim.hl7v2 import V2_ACTORS, v2_transactions_of
    from ihe_test_util.sim.transactions import ACTORS, transactions_of

    if cli_ctx.verbosity > 0:
        logging.basicConfig(level=logging.INFO, stream=sys.stderr,
                            format="%(asctime)s %(name)s %(message)s")
    if mllp_port is None:
        mllp_port = 0 if port == 0 else 2575  # HL7's IANA port, unless every port is picked
    simulator = Simulator(profile=profile, state_path=state_path, host=host, port=port,
                          mllp_port=mllp_port)
    console = cli_ctx.console()

    def announce(sim: Simulator) -> None:
        if as_json:
            click.echo(json.dumps({
                "base_url": sim.base_url, "profile": sim.profile.name,
                "state": str(sim.state_path) if sim.state_path else None,
                "mllp_url": sim.mllp_url,
                "actors": {
                    **{a.name: {"url": sim.url_for(a.name), "transactions": transactions_of(a)}
                       for a in ACTORS},
                    **{a.name: {"url": sim.mllp_url, "transactions": v2_transactions_of(a.name)}
                       for a in V2_ACTORS},
                },
            }))
        else:
            console.print(f"[b]ihe sim[/] listening on {sim.base_url} "
                          f"(profile [b]{sim.profile.name}[/]"
                          f"{', state ' + str(sim.state_path) if sim.state_path else ''})",
                          soft_wrap=True)
            for actor in ACTORS:
                console.print(f"  {actor.title:27} {sim.url_for(actor.name)}  "
                              f"[dim]{' '.join(transactions_of(actor))}[/]", soft_wrap=True)
            for v2 in V2_ACTORS:
                console.print(f"  {v2.title:27} {sim.mllp_url}  "
                              f"[dim]{' '.join(v2_transactions_of(v2.name))}[/]", soft_wrap=True)
            console.print("Press Ctrl-C to stop.")

    def stopped() -> None:
        if not as_json:
            console.print("stopped")

    serve_until_stopped(simulator, announce, stopped)
