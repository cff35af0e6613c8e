"""Each venue says where its pool account holds the two mints and how long it is: the filters a node's
getProgramAccounts takes to find a token's pools. Checked against each venue's own encoder."""

from __future__ import annotations

import pytest
from solders.pubkey import Pubkey

from mevbot.dex.registry import VENUES
from mevbot.sandbox.universe import generate_universe


@pytest.mark.parametrize("venue", VENUES, ids=lambda venue: venue.name)
def test_the_mints_sit_where_the_venue_says_in_a_pool_account_of_its_size(venue) -> None:  # type: ignore[no-untyped-def]
    universe = generate_universe(3, 60)
    accounts = {account.pubkey: account for account in universe.accounts}
    pools = [(spec, accounts[spec.address]) for spec in universe.pools if spec.venue == venue.name]
    assert pools
    for spec, account in pools:
        data = bytes(account.data)
        pool = venue.decode_pool(spec.address, data, account.owner)
        offset_a, offset_b = venue.mint_offsets
        assert len(data) == venue.pool_size
        assert Pubkey(data[offset_a : offset_a + 32]) == pool.mint_a
        assert Pubkey(data[offset_b : offset_b + 32]) == pool.mint_b
