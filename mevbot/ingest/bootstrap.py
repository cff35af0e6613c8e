"""The initial market snapshot over RPC: the pools to trade, then the accounts they read.

Which pools: those named, and those between the named mints; with neither, every pool of every
venue. The last is one getProgramAccounts per venue program: what the sandbox serves at once, and on
mainnet millions of accounts (positions, tick arrays, every pool ever made) that a node refuses or
takes minutes over, so a config that points at a real node must name pools or mints. A mint's pools
are found with getProgramAccounts filtered to the venue's pool size and that mint in the pool's
mint_a field, one call per venue and mint. getMultipleAccounts, in chunks of 100, then fetches what
the pools read (vaults, configs, tick arrays, mints). The same calls work against the sandbox and a
real node.
"""

from __future__ import annotations

from collections.abc import Sequence

from solders.pubkey import Pubkey

from mevbot.dex.base import Venue
from mevbot.dex.registry import VENUES
from mevbot.events import AccountUpdate
from mevbot.ingest.rpc import RpcClient
from mevbot.market.model import MarketModel, Rejected


async def load_market(
    rpc: RpcClient, venues: Sequence[Venue] = VENUES, *, pools: Sequence[Pubkey] = (), mints: Sequence[Pubkey] = ()
) -> tuple[MarketModel, list[Rejected], int]:
    """(model, accounts it rejected with reasons, the newest slot seen). `pools` and `mints` choose
    the pools as the module says; a named pool no node has is among the rejected."""
    rejected: list[Rejected] = []
    if pools or mints:
        accounts = await _chosen_pools(rpc, venues, pools, mints, rejected)
    else:
        accounts = [a for venue in venues for a in await rpc.get_program_accounts(venue.program_id)]
    model, _ = MarketModel.from_accounts(accounts, venues=venues)
    missing = model.missing_accounts()
    fetched = [a for a in await rpc.get_multiple_accounts(missing) if a is not None]
    model, refused = MarketModel.from_accounts([*accounts, *fetched], venues=venues)
    slot = max((a.slot for a in (*accounts, *fetched)), default=0)
    return model, [*rejected, *refused], slot


async def _chosen_pools(
    rpc: RpcClient, venues: Sequence[Venue], pools: Sequence[Pubkey], mints: Sequence[Pubkey], rejected: list[Rejected]
) -> list[AccountUpdate]:
    named = await rpc.get_multiple_accounts(pools)
    rejected.extend(Rejected(pool, "no such account") for pool, account in zip(pools, named, strict=True)
                    if account is None)  # fmt: skip
    accounts = {account.pubkey: account for account in named if account is not None}
    wanted = {bytes(mint) for mint in mints}
    for venue in venues:
        offset_a, offset_b = venue.mint_offsets
        for mint in mints:
            found = await rpc.get_program_accounts(
                venue.program_id, data_size=venue.pool_size, memcmp=[(offset_a, bytes(mint))]
            )
            accounts.update((a.pubkey, a) for a in found if a.data[offset_b : offset_b + 32] in wanted)
    return list(accounts.values())
