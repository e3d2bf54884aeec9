"""The sample partner: a reference Partner Connect endpoint that does everything right.

It documents a correct partner (read ``app.py``) and is the partner connect-test
is tested against; its fault modes (``faults.py``) make it wrong in each way
connect-test must catch. Standard library and werkzeug only.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from stp_ext.sample_partner.faults import FAULT_NAMES, FAULTS, Fault

if TYPE_CHECKING:
    from stp_ext.sample_partner.server import SamplePartner

__all__ = ["FAULTS", "FAULT_NAMES", "Fault", "SamplePartner"]


def __getattr__(name: str) -> Any:
    if name == "SamplePartner":
        # deferred: the server pulls in werkzeug; `sample-partner --help` needs only the fault names
        from stp_ext.sample_partner.server import SamplePartner

        return SamplePartner
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
