"""``ihe record``: capture exchanges into a cassette, from a scenario file or through a proxy."""

from __future__ import annotations

from pathlib import Path

import rich_click as click

from ihe_test_util.cli.context import CliContext, pass_cli


@click.command("record")
@click.argument("scenario", required=False, type=click.Path(dir_okay=False, path_type=Path))
@click.option("--env", "env_name", metavar="NAME",
              help="Take actor URLs (endpoints written env:ACTOR), TLS settings and headers "
                   "from \\[env.NAME] in ihe.toml.")
@click.option("--endpoint", "endpoints", multiple=True, metavar="NAME=URL",
              help="URL of a scenario endpoint (wins over the file and --env). Repeatable.")
@click.option("--var", "variables", multiple=True, metavar="NAME=VALUE",
              help="Set a variable the scenario declares. Repeatable.")
@click.option("--cassette", type=click.Path(dir_okay=False, path_type=Path),
              help="Cassette to write. Default: the scenario's cassette, else "
                   "cassettes/<name>.yaml. Required with --proxy.")
@click.option("--proxy", "proxy", metavar="HOST:PORT",
              help="Run a recording proxy on HOST:PORT instead of a scenario (port 0: any).")
@click.option("--upstream", "upstreams", multiple=True, metavar="[/PREFIX=]URL",
              help="Where the proxy forwards: URL, or /PREFIX=URL for paths under /PREFIX "
                   "(the prefix is replaced by URL). Repeatable. An mllp(s)://HOST:PORT "
                   "upstream (one only) makes an HL7 v2 MLLP proxy.")
@click.option("--json", "as_json", is_flag=True,
              help="Machine output: one JSON object (a scenario), or JSON lines (the proxy).")
@click.option("--insecure", is_flag=True,
              help="Do not verify TLS certificates (loudly warned; never in production).")
@click.option("--timeout", type=click.FloatRange(min=0, min_open=True), metavar="SECONDS",
              help="Connect + read timeout per request. Default: 30 or the configuration.")
@click.option("--print-schema", is_flag=True,
              help="Print the JSON Schema of scenario files (for editors) and exit.")
@pass_cli
def command(cli_ctx: CliContext, scenario: Path | None, env_name: str | None,
            endpoints: tuple[str, ...], variables: tuple[str, ...], cassette: Path | None,
            proxy: str | None, upstreams: tuple[str, ...], as_json: bool, insecure: bool,
            timeout: float | None, print_schema: bool) -> None:
    """Record IHE exchanges into a cassette, to replay after an upgrade.

    [b]From a scenario[/]: ordered steps (ITI-44/45/47/55, ITI-41/18/43, HL7 v2 ITI-8/9/21, FHIR
    ITI-65/66/67/68 MHD, ITI-78/119 PDQm, ITI-83/104 PIXm, an http request of any method, or a
    raw request file) against named endpoints, with variables, values captured from responses
    (XPath, HL7 v2 field, JSON path or response header), and an optional CSV loop. The file is
    checked completely before anything is sent. [b]Through a proxy[/]: point an existing client
    (EHR, SoapUI, zeep, an HL7 v2 sender) at [b]--proxy[/]; every exchange is forwarded
    unchanged to [b]--upstream[/] and recorded as it completes (an mllp:// upstream: each HL7 v2
    message and its reply, one upstream connection per client connection).

    A SOAP Fault or an IHE error answer is recorded (it is what the system did); no answer
    (unreachable, TLS, timeout) is reported and not written. Secrets never reach the cassette.
    Ctrl-C keeps every completed exchange. Exit codes: 0 all recorded, 2 invalid scenario or
    usage (nothing sent), 3 some steps not recorded, 130 interrupted.

    [b]Examples[/]

    \b
      ihe record scenarios/xds-roundtrip.yaml --env baseline
      ihe record scenario.yaml --endpoint registry=http://127.0.0.1:8080/xds/registry --json
      ihe record examples/scenarios/mhd-pdqm-pixm.yaml --var fhir=https://host/fhir/R4
      ihe record --proxy 127.0.0.1:8080 --upstream https://registry.example \\
          --cassette cassettes/ehr.yaml
      ihe record --proxy 127.0.0.1:8080 --upstream /xds=https://reg.example/xds \\
          --upstream /pix=http://pix.example/pix --cassette cassettes/mixed.yaml
      ihe record --proxy 127.0.0.1:2576 --upstream mllp://pix.example:2575 \\
          --cassette cassettes/pix-v2.yaml
      ihe record --print-schema > scenario.schema.json
    """
    from ihe_test_util.errors import UsageError

    modes = [name for name, given in (("SCENARIO", scenario is not None),
                                      ("--proxy", proxy is not None),
                                      ("--print-schema", print_schema)) if given]
    if len(modes) != 1:
        raise UsageError("give a SCENARIO file, or --proxy HOST:PORT, or --print-schema"
                         + (f" (not {' and '.join(modes)})" if modes else ""),
                         hint="see ihe record --help")
    if print_schema:
        from ihe_test_util.record.schema import schema_text

        click.echo(schema_text(), nl=False)
        return
    if proxy is not None:
        if endpoints or variables:
            raise UsageError("--endpoint and --var belong to a scenario, not to --proxy")
        from ihe_test_util.cli.commands._proxy_run import run_proxy_command

        run_proxy_command(cli_ctx, listen=proxy, upstreams=list(upstreams), cassette=cassette,
                          env_name=env_name, as_json=as_json, insecure=insecure,
                          timeout=timeout)
        return
    if upstreams:
        raise UsageError("--upstream belongs to --proxy", hint="add --proxy HOST:PORT")
    assert scenario is not None
    from ihe_test_util.cli.commands._record_run import run_record_command

    run_record_command(cli_ctx, scenario=scenario, env_name=env_name, endpoints=list(endpoints),
                       variables=list(variables), cassette=cassette, as_json=as_json,
                       insecure=insecure, timeout=timeout)
