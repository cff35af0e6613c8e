"""Preflight against a real node: `simulateTransaction` with the node's newest blockhash and state.

`replaceRecentBlockhash` lets us simulate before we know the blockhash the send will use; the
returned account snapshots show what the transaction would leave behind.
"""

from __future__ import annotations

import base64
from collections.abc import Sequence
from dataclasses import dataclass

from solders.pubkey import Pubkey
from solders.transaction import VersionedTransaction

from mevbot.events import AccountUpdate
from mevbot.ingest.rpc import RpcClient, RpcError, parse_account
from mevbot.simulate.replay import Rejection


@dataclass(frozen=True, slots=True)
class RpcSimulation:
    units_consumed: int
    logs: tuple[str, ...]
    accounts: tuple[AccountUpdate | None, ...]


async def simulate_on_node(
    rpc: RpcClient, tx: VersionedTransaction, watch: Sequence[Pubkey] = ()
) -> RpcSimulation | Rejection:
    config = {
        "encoding": "base64",
        "sigVerify": False,
        "replaceRecentBlockhash": True,
        "commitment": rpc.commitment,
        "accounts": {"addresses": [str(k) for k in watch], "encoding": "base64"},
    }
    try:
        result = await rpc.call("simulateTransaction", [base64.b64encode(bytes(tx)).decode(), config])
        slot, value = int(result["context"]["slot"]), result["value"]
        if value.get("err") is not None:
            logs = value.get("logs") or []
            return Rejection("simulation_failed", f"{value['err']}; last log: {logs[-1] if logs else '-'}")
        accounts = tuple(
            None if raw is None else parse_account(key, raw, slot)
            for key, raw in zip(watch, value.get("accounts") or [None] * len(watch), strict=True)
        )
        return RpcSimulation(int(value.get("unitsConsumed") or 0), tuple(value.get("logs") or ()), accounts)
    except RpcError as exc:
        return Rejection("rpc_error", str(exc))
    except (KeyError, TypeError, ValueError, AttributeError):
        return Rejection("rpc_error", "simulateTransaction: malformed reply")
