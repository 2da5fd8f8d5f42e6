"""The security suites count their cases with the reliability suites' tally (tried / held,
summed up at the end of the run, under ``-n 2`` too)."""

from tests.reliability.conftest import pytest_configure, pytest_terminal_summary  # noqa: F401
