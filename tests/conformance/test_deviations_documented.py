"""DEVIATIONS.md lists exactly the steps marked as known deviations, each under its own file."""

from __future__ import annotations

import re
from pathlib import Path

from tests.conformance.scenario import SERVERS
from tests.conformance.test_01_pull import pull
from tests.conformance.test_02_push import push
from tests.conformance.test_03_discovery import discovery
from tests.conformance.test_04_management import management

FILES = {pull: "test_01_pull.py", push: "test_02_push.py", discovery: "test_03_discovery.py",
         management: "test_04_management.py"}


def test_deviations_are_documented() -> None:
    text = (Path(__file__).parent / "DEVIATIONS.md").read_text()
    documented = set(re.findall(r"`(test_0\d_\w+\.py::test_\w+)`", text))
    marked = {f"{FILES[scenario]}::{name}"
              for scenario in FILES for name, where in scenario.deviations.items() if "distribution" in where}
    assert documented == marked
    # Only distribution may deviate: our own server passes every step.
    assert all(set(where) == {"distribution"} for scenario in FILES for where in scenario.deviations.values())
    assert "minidock" in SERVERS
