"""A Jito-compatible block engine: the JSON-RPC API on mainnet's paths, and the auction behind it.

Every `auction_interval_ms` during a Jito leader's slot the engine runs one auction over the
bundles received since the last one (in-process competitors may add their bids first):

1. each bundle is simulated on the current bank state; one whose transaction fails, or whose tip
   (lamports credited to the tip accounts) is under 1000 lamports, is `Failed`;
2. the rest are ranked by tip per requested compute unit (the sum of the transactions'
   compute-unit limits), earlier arrival first on ties;
3. walking down the ranking, a bundle whose account locks intersect a better one's (w/w, w/r, r/w;
   tip accounts aside) loses: `Failed`, with the winner named in `reason`; the others run all or
   nothing in the current slot and are `Landed`, or `Failed` if they no longer succeed.

Outside Jito slots bundles wait (`Pending`). Statuses live five minutes, as on mainnet;
`getInflightBundleStatuses` carries an extra `reason` field that says why a bundle failed, unless
`reasons` is off: mainnet's says only `Failed`, and a searcher must find out from the chain.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections import OrderedDict
from collections.abc import Sequence
from typing import Any, Protocol

from aiohttp import web
from solders.pubkey import Pubkey
from solders.transaction import VersionedTransaction

from mevbot.sandbox.bank import Bank
from mevbot.sandbox.bundles import (
    MAX_BUNDLE_TRANSACTIONS,
    MIN_TIP_LAMPORTS,
    TIP_ACCOUNTS,
    BundleRecord,
    BundleStatus,
    arrival_problem,
    bundle_id,
)
from mevbot.sandbox.clock import LeaderSchedule
from mevbot.sandbox.http_service import JsonRpcHttpService
from mevbot.sandbox.jsonrpc import (
    Dispatcher,
    RpcError,
    config,
    error_response,
    invalid_params,
    positional,
    string,
)
from mevbot.sandbox.rate_limit import TokenBuckets
from mevbot.sandbox.rpc_codec import context
from mevbot.sandbox.transactions import EncodingError, decode_wire_transaction

BUNDLE_PATHS = (
    "/api/v1/bundles",
    "/api/v1/getBundleStatuses",
    "/api/v1/getInflightBundleStatuses",
    "/api/v1/getTipAccounts",
)
MAX_STATUS_IDS = 5
STATUS_LOOKBACK_S = 300.0
RATE_LIMITED = -32097

log = logging.getLogger(__name__)


class AuctionBidder(Protocol):
    """An in-process searcher that may add bundles to an auction just before it runs."""

    name: str

    def bids(self, contested: Sequence[BundleRecord], slot: int) -> list[list[VersionedTransaction]]: ...


class BlockEngine:
    """Receives bundles over HTTP (or `submit` in-process) and lands auction winners in the bank."""

    def __init__(
        self,
        bank: Bank,
        schedule: LeaderSchedule,
        *,
        auction_interval_ms: int = 50,
        rate_limit_per_s: float = 5.0,
        bidders: Sequence[AuctionBidder] = (),
        reasons: bool = True,
    ) -> None:
        self.bank = bank
        self.reasons = reasons
        self.schedule = schedule
        self.auction_interval_ms = auction_interval_ms
        self.bidders = list(bidders)
        self._limits = TokenBuckets(rate_limit_per_s)
        self._records: OrderedDict[str, BundleRecord] = OrderedDict()
        self._pending: list[BundleRecord] = []
        self._sequence = 0
        self._task: asyncio.Task[None] | None = None
        self.dispatcher = Dispatcher(
            {
                "sendBundle": self._send_bundle,
                "getBundleStatuses": self._get_bundle_statuses,
                "getInflightBundleStatuses": self._get_inflight_bundle_statuses,
                "getTipAccounts": self._get_tip_accounts,
            }
        )
        self.http = JsonRpcHttpService(dict.fromkeys(BUNDLE_PATHS, self.dispatcher), guard=self._rate_limit)

    async def start(self, port: int = 0) -> int:
        for tip_account in TIP_ACCOUNTS:  # exist and rent-exempt, so a first small tip can land
            if self.bank.get_account(tip_account) is None:
                self.bank.airdrop(tip_account, self.bank.minimum_balance(0))
        bound = await self.http.start(port)
        self._task = asyncio.get_running_loop().create_task(self._auction_loop(), name="sandbox-auctions")
        return bound

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
        await self.http.stop()

    # --- bundles ----------------------------------------------------------------------------

    def submit(self, transactions: Sequence[VersionedTransaction], source: str) -> BundleRecord:
        """Take a decoded bundle; checks that need no execution happen now, the rest at auction."""
        identifier = bundle_id(transactions)
        existing = self._records.get(identifier)
        if existing is not None:
            return existing
        self._sequence += 1
        record = BundleRecord(identifier, tuple(transactions), time.monotonic(), self._sequence, source)
        self._remember(record)

        def read_data(key: Pubkey) -> bytes | None:
            account = self.bank.get_account(key)
            return bytes(account.data) if account is not None else None

        problem = arrival_problem(record, read_data, self.bank.is_blockhash_valid)
        if problem is not None:
            record.fail(problem)
        else:
            self._pending.append(record)
        return record

    def status(self, identifier: str) -> BundleRecord | None:
        record = self._records.get(identifier)
        if record is None or time.monotonic() - record.received_at > STATUS_LOOKBACK_S:
            return None
        return record

    def run_auction(self) -> list[BundleRecord]:
        """One auction now, if the current slot's leader runs Jito. Returns the bundles it decided."""
        slot = self.bank.slot
        if not self.schedule.is_jito_slot(slot) or not (self._pending or self.bidders):
            return []
        for bidder in self.bidders:
            try:
                for transactions in bidder.bids(list(self._pending), slot):
                    self.submit(transactions, bidder.name)
            except Exception:
                log.exception("bidder %s failed", bidder.name)
        contenders, self._pending = self._pending, []
        ranked = []
        for record in contenders:
            score = self._score(record)
            if score is not None:
                ranked.append((score, record))
        ranked.sort(key=lambda item: (-item[0], item[1].sequence))
        winners: list[tuple[float, BundleRecord]] = []
        for score, record in ranked:
            rival = next(((s, w) for s, w in winners if record.conflicts_with(w)), None)
            if rival is not None:
                record.fail(
                    f"lost auction to bundle {rival[1].id}: {score:.6f} < {rival[0]:.6f} lamports of tip "
                    "per requested compute unit on the same accounts"
                )
                continue
            outcome = self.bank.process_bundle(record.transactions, commit=True)
            if outcome.ok:
                record.status, record.landed_slot = BundleStatus.LANDED, slot
                winners.append((score, record))
            else:
                record.fail(f"transaction {outcome.failed_index} failed: {outcome.error_name}")
        return contenders

    def _score(self, record: BundleRecord) -> float | None:
        """Tip per requested compute unit from a simulation, or None after failing the bundle."""
        for position, transaction in enumerate(record.transactions):
            if not self.bank.is_blockhash_valid(transaction.message.recent_blockhash):
                record.fail(
                    f"transaction {position}: BlockhashNotFound (expired while waiting for a Jito leader)"
                )
                return None
        simulation = self.bank.process_bundle(record.transactions, commit=False)
        if not simulation.ok:
            record.fail(f"simulation failed: transaction {simulation.failed_index}: {simulation.error_name}")
            return None
        tip = sum(max(simulation.lamport_deltas.get(account, 0), 0) for account in TIP_ACCOUNTS)
        if tip < MIN_TIP_LAMPORTS:
            record.fail(f"tip of {tip} lamports is below the {MIN_TIP_LAMPORTS} lamport minimum")
            return None
        return tip / max(record.requested_compute_units(), 1)

    def _remember(self, record: BundleRecord) -> None:
        self._records[record.id] = record
        horizon = time.monotonic() - STATUS_LOOKBACK_S
        while self._records:
            oldest = next(iter(self._records.values()))
            if oldest.received_at >= horizon or oldest.status is BundleStatus.PENDING:
                break
            self._records.popitem(last=False)

    async def _auction_loop(self) -> None:
        while True:
            await asyncio.sleep(self.auction_interval_ms / 1000)
            try:
                self.run_auction()
            except Exception:  # an auction bug must not stop later auctions
                log.exception("auction failed")

    # --- HTTP -------------------------------------------------------------------------------

    async def _rate_limit(self, request: web.Request) -> web.Response | None:
        client = (request.remote, request.headers.get("x-jito-auth") or request.query.get("uuid"))
        if self._limits.allow(client):
            return None
        error = RpcError(
            RATE_LIMITED, f"Rate limit exceeded: {self._limits.rate:g} requests per second per client"
        )
        return web.json_response(error_response(error), status=429)

    async def _send_bundle(self, params: list[Any]) -> str:
        encoded, options = positional(params, 1, 1)
        encoding = string(config(options).get("encoding", "base58"), "encoding")
        if not isinstance(encoded, list) or not 1 <= len(encoded) <= MAX_BUNDLE_TRANSACTIONS:
            raise invalid_params(f"a bundle is an array of 1 to {MAX_BUNDLE_TRANSACTIONS} transactions")
        transactions = []
        for position, text in enumerate(encoded):
            try:
                transactions.append(
                    decode_wire_transaction(string(text, f"transaction {position}"), encoding)
                )
            except EncodingError as exc:
                raise invalid_params(f"transaction {position}: {exc}") from None
        return self.submit(transactions, source="http").id

    async def _get_bundle_statuses(self, params: list[Any]) -> dict[str, Any]:
        values = []
        for identifier in _bundle_ids(params):
            record = self.status(identifier)
            if record is None or record.status is not BundleStatus.LANDED:
                values.append(None)
                continue
            values.append({
                "bundle_id": record.id,
                "transactions": [str(tx.signatures[0]) for tx in record.transactions],
                "slot": record.landed_slot,
                "confirmation_status": "finalized",
                "err": {"Ok": None},
            })  # fmt: skip
        return {"context": context(self.bank.slot), "value": values}

    async def _get_inflight_bundle_statuses(self, params: list[Any]) -> dict[str, Any]:
        values = []
        for identifier in _bundle_ids(params):
            record = self.status(identifier)
            if record is None:
                values.append(
                    {"bundle_id": identifier, "status": BundleStatus.INVALID.value, "landed_slot": None}
                )
                continue
            entry: dict[str, Any] = {"bundle_id": record.id, "status": record.status.value,
                                     "landed_slot": record.landed_slot}  # fmt: skip
            if record.reason is not None and self.reasons:
                entry["reason"] = record.reason
            values.append(entry)
        return {"context": context(self.bank.slot), "value": values}

    async def _get_tip_accounts(self, params: list[Any]) -> list[str]:
        positional(params, 0)
        return [str(account) for account in TIP_ACCOUNTS]


def _bundle_ids(params: list[Any]) -> list[str]:
    (identifiers,) = positional(params, 1)
    if not isinstance(identifiers, list) or not 1 <= len(identifiers) <= MAX_STATUS_IDS:
        raise invalid_params(f"expected an array of 1 to {MAX_STATUS_IDS} bundle ids")
    return [string(identifier, "bundle id") for identifier in identifiers]
