"""A synthetic live feed for the benchmarks: account updates that move prices, and the PubSub
`accountNotification` messages a node would send for them.

One generator serves every suite (search, ingest, end to end), so they all time the same workload.
"""

from __future__ import annotations

import base64
import dataclasses
import json
import random

from solders.pubkey import Pubkey

from mevbot.dex import whirlpool
from mevbot.dex.base import U64
from mevbot.dex.clmm_math import tick_from_sqrt_price
from mevbot.dex.spl_token import ACCOUNT_LEN, TOKEN_PROGRAM_ID
from mevbot.events import AccountUpdate
from mevbot.market.model import MarketModel

RENT_EPOCH_EXEMPT = 18446744073709551615  # what a node reports for rent-exempt accounts


def random_updates(model: MarketModel, count: int, seed: int = 1) -> list[AccountUpdate]:
    """Updates a live feed would bring: a CP pool's vault balance moves by up to ±0.3 %, a
    Whirlpool's price by up to ±0.05 % (each from the initial state, on a random pool)."""
    rng = random.Random(seed)
    updates = []
    for index in range(count):
        pool_id = rng.randrange(len(model.registry))
        info = model.registry.pool(pool_id)
        slot = 1_000 + index
        if info.venue.name == "whirlpool":
            pool = info.pool
            price = int(pool.sqrt_price * (1 + rng.uniform(-5e-4, 5e-4)))
            moved = dataclasses.replace(
                pool, sqrt_price=price, tick_current_index=tick_from_sqrt_price(price)
            )
            data = whirlpool.encode_whirlpool(moved)
            updates.append(AccountUpdate(info.address, whirlpool.PROGRAM_ID, 1, data, slot))
            continue
        vaults = [
            a
            for a in model.registry.dependencies(pool_id)
            if len(model.account_data(a) or b"") == ACCOUNT_LEN
        ]
        vault = rng.choice(vaults)
        data = bytearray(model.account_data(vault) or b"")
        amount = U64.unpack_from(data, 64)[0]
        U64.pack_into(data, 64, int(amount * (1 + rng.uniform(-3e-3, 3e-3))))
        updates.append(AccountUpdate(vault, TOKEN_PROGRAM_ID, 1, bytes(data), slot))
    return updates


def subscription_ids(model: MarketModel) -> dict[int, Pubkey]:
    """One `accountSubscribe` per tracked account, as the feed would hold after the node's acks."""
    return {1_000 + i: pubkey for i, pubkey in enumerate(model.registry.tracked_accounts())}


def notifications(updates: list[AccountUpdate], subscriptions: dict[int, Pubkey]) -> list[str]:
    """Each update as the JSON text of the `accountNotification` (base64 data) a node would send."""
    ids = {pubkey: sub for sub, pubkey in subscriptions.items()}
    return [
        json.dumps({
            "jsonrpc": "2.0",
            "method": "accountNotification",
            "params": {
                "result": {
                    "context": {"slot": u.slot, "apiVersion": "2.1.0"},
                    "value": {
                        "lamports": u.lamports,
                        "data": [base64.b64encode(u.data).decode(), "base64"],
                        "owner": str(u.owner),
                        "executable": False,
                        "rentEpoch": RENT_EPOCH_EXEMPT,
                        "space": len(u.data),
                    },
                },
                "subscription": ids[u.pubkey],
            },
        }, separators=(",", ":"))
        for u in updates
    ]  # fmt: skip
