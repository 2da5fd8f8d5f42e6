"""Published ports and shared network namespaces, for real (as root; the same scenarios run as
an unprivileged user in ``test_ports_rootless.py``)."""

from __future__ import annotations

import pytest

from tests.containers import ports_scenarios as scenarios

pytestmark = [pytest.mark.integration, pytest.mark.slow]

AS_ANY_USER = [name for name in scenarios.SCENARIOS if name != "scenario_privileged_port"]


@pytest.fixture
def engine(busybox_engine):
    yield busybox_engine
    for config in busybox_engine.containers.store.list():
        busybox_engine.containers.remove(config.id, force=True)


@pytest.mark.parametrize("name", AS_ANY_USER)
def test_scenario(engine, name: str) -> None:
    scenarios.SCENARIOS[name](engine)
