"""`doctor`: readiness of the whole setup in the workspace."""

from __future__ import annotations

import click

from stp_ext.cli.arguments import check_url, check_writable
from stp_ext.cli.junit_xml import junit_xml_option, write_junit_xml
from stp_ext.cli.options import command_env, common_options, config_file_option, timeout_option
from stp_ext.core.errors import CheckFailed


@click.command()
@config_file_option(required=False)
@timeout_option(10.0, "Seconds to wait for the connect endpoint.")
@click.option(
    "--url",
    metavar="URL",
    help="Probe the connect_url's path on this base instead of the config's host (as connect-test --url).",
)
@click.option(
    "--skip-endpoint",
    is_flag=True,
    help="Do not contact the partner (the stored-credential and endpoint rows are reported as skipped).",
)
@junit_xml_option("check")
@common_options
def doctor(
    config_path: str | None, timeout: float, url: str | None, skip_endpoint: bool, junit_path: str | None
) -> None:
    """Check the whole setup: auth, config, partner, credential, ACL, endpoint.

    Every failed row says how to fix it. Exit 1 when any check fails. The
    endpoint row sends one request the way Databricks does, with no
    credential and no user: a correct partner refuses it with a JSON error
    answer. The stored-credential row sends the credential stored in the
    workspace (as Databricks will) with a delete-connection for a connection
    that cannot exist: 404 connection_not_found means the partner accepts it,
    401 that it does not. Run connect-test for the certification cases.

    \b
    Examples:
      databricks-stp doctor -f partner.json -p my-workspace
      databricks-stp doctor -f partner.json -e --url http://127.0.0.1:8766 \\
          --junit-xml doctor.xml
      databricks-stp doctor -e -o json --skip-endpoint
    """
    # deferred: --help imports every command module; what a command runs loads when it runs
    from stp_ext.render.views import doctor as view
    from stp_ext.services.doctor import run_doctor

    if url:
        check_url(url, "--url")
    if junit_path:
        check_writable(junit_path, "--junit-xml")
    env = command_env()
    report = None
    if config_path is not None:
        # deferred: keeps the partner config model (~14 ms) out of --help
        from stp_ext.partner_config import load_partner_config

        report = load_partner_config(config_path)
    with env.renderer.status("Checking the setup…"):
        result = run_doctor(
            connect=env.workspace,
            report=report,
            config_path=config_path,
            steps=env.steps,
            timeout=timeout,
            endpoint_url=url,
            skip_endpoint=skip_endpoint,
        )
    if junit_path:
        # deferred: xml.etree (~14 ms with the JUnit model) only when a report is written
        from stp_ext.connect import junit

        write_junit_xml(junit_path, "databricks-stp doctor", junit.doctor_cases(result.checks))
    view.report(env.renderer, result)
    if not result.passed:
        failed = result.failed
        raise CheckFailed(
            f"{len(failed)} check{'s' * (len(failed) != 1)} failed: {', '.join(c.check for c in failed)}",
            hint=failed[0].fix,
        )
