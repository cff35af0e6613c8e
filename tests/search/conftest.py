"""A small seeded universe shared by the search tests (generated once per session)."""

from __future__ import annotations

import pytest

from mevbot.market.model import MarketModel
from mevbot.sandbox.universe import Universe, generate_universe


@pytest.fixture(scope="session")
def small_universe() -> tuple[Universe, MarketModel]:
    universe = generate_universe(seed=7, pools=400, planted=4)
    model, rejected = MarketModel.from_accounts(universe.accounts)
    assert not rejected
    return universe, model
