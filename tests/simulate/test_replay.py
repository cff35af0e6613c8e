"""The exact replay, and its shortcut for hops whose state is the one the search just quoted."""

from __future__ import annotations

from typing import Any

import pytest
from solders.pubkey import Pubkey

from mevbot.dex.base import Quote, QuoteError
from mevbot.dex.spl_token import ACCOUNT_LEN, TOKEN_PROGRAM_ID, encode_token_account, token_amount
from mevbot.events import AccountUpdate, Opportunity
from mevbot.market.model import MarketModel
from mevbot.search.engine import CycleSearch, SearchSettings
from mevbot.simulate.replay import Rejection, Replay, replay_route
from tests.market.builders import MarketBuilder


@pytest.fixture
def found() -> tuple[MarketModel, CycleSearch, Opportunity]:
    """A three-venue cycle with TOK cheap on the CPMM pool, found by the search."""
    builder = MarketBuilder(seed=21)
    sol, token = builder.token("SOL", 9, native=True), builder.token("TOK")
    cheap = builder.pool("raydium_cpmm", sol, token, 10**12, 12 * 10**11)
    builder.pool("whirlpool", token, sol, 10**12, 10**12)
    builder.pool("raydium_amm_v4", token, sol, 10**12, 10**12)
    model = builder.model()
    search = CycleSearch(model, SearchSettings(base_mints=(sol.mint,)))
    pool_id = model.registry.pool_id(cheap)
    assert pool_id is not None
    opportunity = search.on_pools_changed([pool_id])
    assert opportunity is not None
    return model, search, opportunity


def _states(model: MarketModel, opportunity: Opportunity) -> list[tuple[Any, Any]]:
    return [(model.venue(h.pool_id), model.state(h.pool_id)) for h in opportunity.hops]


def _refusing(monkeypatch: pytest.MonkeyPatch, model: MarketModel, opportunity: Opportunity) -> None:
    """Every venue on the route refuses to quote from here on."""

    def refuse(*_: object) -> Quote:
        raise QuoteError("NotQuotedAgain")

    for hop in opportunity.hops:
        monkeypatch.setattr(model.venue(hop.pool_id), "quote_exact_in", refuse)


def test_hops_on_the_states_the_search_quoted_are_not_quoted_again(
    found: tuple[MarketModel, CycleSearch, Opportunity], monkeypatch: pytest.MonkeyPatch
) -> None:
    model, search, opportunity = found
    states = _states(model, opportunity)
    quoted = search.quoted_states(opportunity)
    assert quoted == tuple(state for _, state in states)
    requoted = replay_route(opportunity, states)
    assert isinstance(requoted, Replay) and requoted.profit == opportunity.profit > 0
    _refusing(monkeypatch, model, opportunity)
    assert replay_route(opportunity, states, quoted_states=quoted) == requoted
    assert isinstance(replay_route(opportunity, states), Rejection)


def test_a_hop_whose_pool_moved_since_is_quoted_again(
    found: tuple[MarketModel, CycleSearch, Opportunity], monkeypatch: pytest.MonkeyPatch
) -> None:
    model, search, opportunity = found
    quoted = search.quoted_states(opportunity)
    last = opportunity.hops[-1]
    assert last.venue != "whirlpool"  # a constant-product pool: moved by one of its vaults
    vault = next(a for a in model.registry.dependencies(last.pool_id) if len(model.account_data(a) or b"") == ACCOUNT_LEN)
    data = model.account_data(vault) or b""
    moved = encode_token_account(Pubkey.from_bytes(data[:32]), Pubkey.from_bytes(data[32:64]), token_amount(data) // 2)
    assert last.pool_id in model.apply(AccountUpdate(vault, TOKEN_PROGRAM_ID, 2_039_280, moved, 5))
    states = _states(model, opportunity)
    replay = replay_route(opportunity, states, quoted_states=quoted)
    assert replay == replay_route(opportunity, states)
    assert isinstance(replay, Replay) and replay.amount_out != opportunity.amount_out
    _refusing(monkeypatch, model, opportunity)
    refused = replay_route(opportunity, states, quoted_states=quoted)
    assert isinstance(refused, Rejection) and refused.code == "hop_refused" and f"hop {len(states) - 1}" in refused.detail


def test_only_the_last_opportunity_sized_has_quoted_states(found: tuple[MarketModel, CycleSearch, Opportunity]) -> None:
    _, search, opportunity = found
    again = search.on_pools_changed([opportunity.hops[0].pool_id])
    assert again is not None and again == opportunity and again is not opportunity
    assert search.quoted_states(opportunity) == ()
    assert search.quoted_states(again)
