"""``ihe config``: show the effective configuration and where it came from."""

from __future__ import annotations

import json

import rich_click as click

from ihe_test_util.cli.context import CliContext, pass_cli


@click.command("config")
@click.option("--json", "as_json", is_flag=True, help="Print the settings as JSON.")
@pass_cli
def command(cli_ctx: CliContext, as_json: bool) -> None:
    """Validate the configuration and show the effective settings.

    Settings come from defaults, then [b]ihe.toml[/] (or [b]\\[tool.ihe][/] in pyproject.toml),
    then [b]IHE_*[/] environment variables. Secrets are shown as the variable they reference,
    never their values. Exits 2 naming the key when the configuration is invalid.

    [b]Examples[/]

    \b
      ihe config
      ihe --config ci/ihe.toml config --json
      IHE_TIMEOUT=5 ihe config
    """
    from ihe_test_util.compare import load_rules
    from ihe_test_util.replay.capture_rules import load_capture_rules

    settings = cli_ctx.settings()
    # The rules are validated exactly as ``ihe replay`` and ``ihe diff`` validate them (one
    # list of transaction names: the catalogue's), so a configuration `ihe config` accepts
    # never fails a replay.
    load_rules(settings.rules, source=settings.source)
    load_capture_rules(settings.correlate, settings.source)
    data = {
        "source": settings.source,
        "timeout": settings.timeout,
        "fail_on": settings.fail_on.value,
        "jobs": settings.jobs,
        "cassette_dir": settings.cassette_dir,
        "redact_headers": list(settings.redact_headers),
        "secrets": {name: f"${var}" for name, var in settings.secrets.items()},
        "environments": {
            name: {
                "url": env.url, "actors": dict(env.actors),
                "tls": {"verify": env.tls.verify, "cert": env.tls.cert, "key": env.tls.key},
            }
            for name, env in settings.environments.items()
        },
        "rules": len(settings.rules),
        "correlate": len(settings.correlate),
    }
    if as_json:
        click.echo(json.dumps(data, indent=2))
        return
    from rich.pretty import Pretty

    console = cli_ctx.console()
    console.print(f"[b]configuration[/] from {settings.source or '(defaults only)'}")
    console.print(Pretty(data))
    for env in settings.environments.values():
        if env.tls.verify is False:
            console.print(
                f"[bold red]WARNING[/]: environment {env.name!r} turns TLS verification OFF"
            )
