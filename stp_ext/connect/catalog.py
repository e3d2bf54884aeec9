"""The certification case ids and new-user actions, without the code that runs them.

Kept apart from cases.py so that building connect-test's options (which every
`--help` does) loads no HTTP client or rules; cases.py checks it lists exactly
these ids.
"""

from __future__ import annotations

# OnboardingTestCases.md's automated cases, in the order connect-test runs them;
# AUTH is the suite's wrong-credentials check, which has no P-number.
CASE_IDS: tuple[str, ...] = (
    "P100",
    "P300",
    "P302",
    "P400",
    "P401",
    "P402",
    "P600",
    "P700",
    "P800",
    "P801",
    "P900",
    "AUTH",
)

# What a partner may do when a never-seen user of a known account connects (P302).
NEW_USER_ACTIONS: tuple[str, ...] = ("auto_add", "invite", "not_found", "error")
