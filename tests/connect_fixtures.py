"""Helpers for the connect-test and sample-partner tests: configs, credentials, a partner on a free port."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from helpers import DROP, example_partner, write_partner_config

from stp_ext import auth_header
from stp_ext.partner_config import PartnerConfig
from stp_ext.sample_partner import SamplePartner

BASIC_USER = "databricks"
BASIC_PASSWORD = "s3cret-pass-for-tests"
BASIC = auth_header.basic(BASIC_USER, BASIC_PASSWORD).value

# The example config names production URLs on partner.example.com; tests
# re-root them on the sample partner with --url, as a partner would.
HOSTNAME = "partner.example.com"


def partner_dict(**changes: Any) -> dict[str, Any]:
    """The example partner; here None removes a field (connect tests never send a null)."""
    return example_partner(**{key: DROP if value is None else value for key, value in changes.items()})


def partner_config(**changes: Any) -> PartnerConfig:
    return PartnerConfig.from_partner(partner_dict(**changes))


write_config = write_partner_config


@contextmanager
def sample_partner(
    fault: str | None = None, auth: str = BASIC, hostnames: str | None = HOSTNAME, **kwargs: Any
) -> Iterator[SamplePartner]:
    with SamplePartner(auth_header=auth, hostnames=hostnames, fault=fault, **kwargs) as partner:
        yield partner


def findings_of(report: Any) -> set[tuple[str, str, str]]:
    """(scenario, severity, check) of every finding in a ConnectTestReport."""
    return {(s.name, f.severity, f.check) for s in report.scenarios for f in s.findings}
