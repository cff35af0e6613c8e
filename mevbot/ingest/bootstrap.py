"""The initial market snapshot over RPC: every pool of every venue, then the accounts they read.

getProgramAccounts finds the pools (and the venue-owned accounts they read, such as configs and tick
arrays); getMultipleAccounts, in chunks of 100, fetches what is still missing (vaults). The same calls
work against the sandbox and a real node.
"""

from __future__ import annotations

from collections.abc import Sequence

from mevbot.dex.base import Venue
from mevbot.dex.registry import VENUES
from mevbot.events import AccountUpdate
from mevbot.ingest.rpc import RpcClient
from mevbot.market.model import MarketModel, Rejected


async def load_market(
    rpc: RpcClient, venues: Sequence[Venue] = VENUES
) -> tuple[MarketModel, list[Rejected], int]:
    """(model, accounts it rejected with reasons, the newest slot seen)."""
    accounts: list[AccountUpdate] = []
    for venue in venues:
        accounts.extend(await rpc.get_program_accounts(venue.program_id))
    model, _ = MarketModel.from_accounts(accounts, venues=venues)
    missing = model.missing_accounts()
    fetched = [a for a in await rpc.get_multiple_accounts(missing) if a is not None]
    model, rejected = MarketModel.from_accounts([*accounts, *fetched], venues=venues)
    slot = max((a.slot for a in (*accounts, *fetched)), default=0)
    return model, rejected, slot
