"""``ihe serve``: answer IHE clients from cassettes, on localhost (a playback stub)."""

from __future__ import annotations

from pathlib import Path

import rich_click as click

from ihe_test_util.cli.context import CliContext, pass_cli


@click.command("serve")
@click.argument("cassettes", nargs=-1, required=True,
                type=click.Path(path_type=Path, exists=False))
@click.option("--host", default="127.0.0.1", show_default=True,
              help="Interface to listen on. Keep the default unless you know you need another.")
@click.option("--port", type=click.IntRange(0, 65535), default=8080, show_default=True,
              help="TCP port; 0 picks a free one (the URLs are printed).")
@click.option("--mllp-port", type=click.IntRange(0, 65535), default=None,
              help="MLLP port for the cassettes' HL7 v2 (mllp://) exchanges; 0 picks a free "
                   "one. Default: 2575 when the cassettes hold any, else no MLLP port.")
@click.option("--strict-order", is_flag=True,
              help="Serve each recorded interaction once, in the order of its cassette; "
                   "anything else gets a fault. Default: identical requests get the recorded "
                   "responses in order, then the last one again.")
@click.option("--json", "as_json", is_flag=True,
              help="Print the URLs as one JSON line (for scripts) instead of a table.")
@pass_cli
def command(cli_ctx: CliContext, cassettes: tuple[Path, ...], host: str, port: int,
            mllp_port: int | None, strict_order: bool, as_json: bool) -> None:
    """Serve recorded responses to IHE clients: a stub endpoint for testing them offline.

    A request is answered with the recorded response to the request that [i]means[/] the same:
    message ids, creation times, queryIds, uniqueIds, MTOM framing and WS-Security are
    ignored, prefixes and attribute order too. Echo fields ([b]RelatesTo[/], HL7 v3
    acknowledgement and queryAck ids) are set from the request. A request that matches nothing
    gets a SOAP fault naming the closest recorded request and what differs, and shows one
    line here ([b]-v[/] also logs every answer). Faults are in the client's SOAP version; a
    request in another SOAP version than the recording gets a VersionMismatch fault.

    FHIR clients: [b]Accept[/] / [b]_format[/] are part of matching, the recorded server's
    URLs (Location, fullUrl, Bundle.link) point here, MHD bundles match with fresh urn:uuids
    and uniqueIds, and a miss is a 404/406/422 OperationOutcome in the client's format.

    HL7 v2: the cassettes' mllp:// exchanges are served on an MLLP port (MSH-7, MSH-10 and
    QPD-2 ignored, MSA-2 / QAK-1 set from the message); a miss is answered ACK AR with an ERR
    naming the closest recorded message.
    CASSETTES are files or folders (searched for *.yaml). Stop with Ctrl-C.

    [b]Examples[/]

    \b
      ihe serve cassettes/ --port 0
      ihe serve demo.yaml --port 8080 --strict-order
      ihe -v serve cassettes/xds.yaml --json
      ihe serve pix-pdq-v2.yaml --port 0 --mllp-port 2575
    """
    import json
    import logging
    import sys

    from ihe_test_util.cli.serving import serve_until_stopped
    from ihe_test_util.report.terminal_serve import ServeView
    from ihe_test_util.serve import PlaybackServer

    level = logging.INFO if cli_ctx.verbosity > 0 else logging.ERROR
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(message)s"))
    serve_logger = logging.getLogger("ihe_test_util.serve")
    serve_logger.addHandler(handler)
    serve_logger.setLevel(level)
    serve_logger.propagate = False
    console = cli_ctx.console()
    view = ServeView(console, as_json)
    server = PlaybackServer(cassettes, host=host, port=port, strict_order=strict_order,
                            on_miss=view.miss)
    if mllp_port is None and server.index.mllp() is not None:
        from ihe_test_util.transport.mllp import DEFAULT_PORT
        mllp_port = DEFAULT_PORT
    server.mllp_port = mllp_port

    def announce(stub: PlaybackServer) -> None:
        paths = stub.paths()
        if as_json:
            click.echo(json.dumps({
                "base_url": stub.base_url,
                "cassettes": [str(path) for path in stub.index.cassettes],
                "interactions": len(stub.index),
                "strict_order": strict_order,
                "mllp_url": stub.mllp_url,
                "paths": {summary.path: {
                    "url": stub.url_for(summary.path), "interactions": summary.interactions,
                    "transactions": list(summary.transactions)} for summary in paths},
            }))
        else:
            console.print(f"[b]ihe serve[/] listening on {stub.base_url}: "
                          f"{len(stub.index)} interaction(s) from "
                          f"{len(stub.index.cassettes)} cassette(s)"
                          f"{', strict order' if strict_order else ''}", soft_wrap=True)
            rows = [(stub.url_for(summary.path), summary) for summary in paths]
            mllp = stub.index.mllp()
            if stub.mllp_url is not None and mllp is not None:
                rows.append((stub.mllp_url, mllp))
            width = max((len(url) for url, _ in rows), default=0)
            for url, summary in rows:
                console.print(f"  {url:{width}}  {summary.interactions:>5}  "
                              f"[dim]{' '.join(summary.transactions)}[/]", soft_wrap=True)
            console.print("Press Ctrl-C to stop.")

    def stopped() -> None:
        if not as_json:
            console.print("stopped")

    try:
        serve_until_stopped(server, announce, stopped)
    finally:
        serve_logger.removeHandler(handler)
