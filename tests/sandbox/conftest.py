"""Fast, quiet sandboxes for the tests: 20 ms slots, every slot Jito's, no background flow unless asked."""

from __future__ import annotations

import dataclasses

import pytest

from mevbot.sandbox.settings import SandboxSettings
from mevbot.sandbox.user_flow import FlowShape

QUIET = SandboxSettings(
    seed=7,
    pools=24,
    slot_ms=20,
    jito_slot_share=1.0,
    user_flow=FlowShape(swaps_per_slot=0.0),
    competitors=(),
    rate_limit_per_s=1000.0,
)


@pytest.fixture
def quiet_settings() -> SandboxSettings:
    return QUIET


def settings(**changes: object) -> SandboxSettings:
    return dataclasses.replace(QUIET, **changes)
