"""LiteSVM preflight: run the signed transaction in a local fork of the accounts it touches.

The fork is the sandbox's `Bank` (System, Token, ComputeBudget and lookup tables in LiteSVM; the
venue swaps through `dex/`, the one copy of the venue math), filled with account snapshots given
directly or fetched over RPC. It answers, before money moves and without a node round trip, what
`simulateTransaction` would: the compute units (which size the compute-unit limit), the fee and
tip, and exactly how the owner's lamports and token balances change, so they can be compared with
the replay. A transaction the runtime or a program would refuse comes back as a `Rejection` with a
stable code.

A fork costs ~35 ms to build (LiteSVM loads the SPL programs; a 1,000-pool snapshot adds ~5k
accounts), a run of a 2-hop route ~1 ms (p50; `benchmarks/run.py --only simulate.`): keep one
`ForkPreflight` per call site and `load` fresh accounts into it.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Protocol

from solders.account import Account as SvmAccount
from solders.address_lookup_table_account import AddressLookupTable
from solders.hash import Hash
from solders.message import MessageAddressTableLookup, MessageV0
from solders.pubkey import Pubkey
from solders.transaction import VersionedTransaction
from spl.token.instructions import get_associated_token_address

from mevbot.dex import spl_token
from mevbot.dex.base import DecodeError
from mevbot.ingest.rpc import RpcClient
from mevbot.sandbox.bank import Bank
from mevbot.sandbox.bundles import MIN_TIP_LAMPORTS, TIP_ACCOUNTS
from mevbot.sandbox.programs import venue_programs
from mevbot.sandbox.transactions import TransactionRejected
from mevbot.simulate.replay import Rejection

SYSVAR_OWNER = Pubkey.from_string("Sysvar1111111111111111111111111111111111111")
_LOADERS = frozenset(
    Pubkey.from_string(key)
    for key in (
        "NativeLoader1111111111111111111111111111111",
        "BPFLoader1111111111111111111111111111111111",
        "BPFLoader2111111111111111111111111111111111",
        "BPFLoaderUpgradeab1e11111111111111111111111",
        "LoaderV411111111111111111111111111111111111",
    )
)
SLIPPAGE_ERRORS = frozenset({"ExceededSlippage", "AmountOutBelowMinimum"})
_REJECTION_CODES = {
    "SignatureFailure": "signature_failure",
    "SanitizeFailure": "malformed",
    "InsufficientFundsForFee": "insufficient_fee",
    "AccountNotFound": "fee_payer_missing",
    "AddressLookupTableNotFound": "lookup_table",
    "InvalidAddressLookupTableData": "lookup_table",
    "InvalidAddressLookupTableIndex": "lookup_table",
}


class AccountLike(Protocol):
    """`events.Account` or `events.AccountUpdate`: what a snapshot or an RPC fetch yields."""

    @property
    def pubkey(self) -> Pubkey: ...

    @property
    def owner(self) -> Pubkey: ...

    @property
    def lamports(self) -> int: ...

    @property
    def data(self) -> bytes: ...


@dataclass(frozen=True, slots=True)
class TokenChange:
    """One of the owner's token accounts before and after the transaction."""

    account: Pubkey
    mint: Pubkey
    before: int
    after: int

    @property
    def delta(self) -> int:
        return self.after - self.before


@dataclass(frozen=True, slots=True)
class Preflight:
    """What the transaction does. `lamports_delta` is the owner's SOL change, fee and tip included."""

    units_consumed: int
    fee: int
    tip: int
    lamports_delta: int
    token_changes: tuple[TokenChange, ...]
    logs: tuple[str, ...]

    def token_delta(self, mint: Pubkey) -> int:
        """Net change of the owner's balance in `mint` across its token accounts."""
        return sum(change.delta for change in self.token_changes if change.mint == mint)

    @property
    def token_deltas(self) -> dict[Pubkey, int]:
        out: dict[Pubkey, int] = {}
        for change in self.token_changes:
            out[change.mint] = out.get(change.mint, 0) + change.delta
        return out


class _ForkBank(Bank):
    """A bank that takes any blockhash: the fork does not know the cluster's; the node checks it."""

    def is_blockhash_valid(self, blockhash: Hash) -> bool:
        return True


class ForkPreflight:
    """A reusable fork: `load` accounts (again and again), `run` transactions against them.

    Runs leave the fork unchanged (every touched account is journaled and restored), so one fork
    serves any number of candidates built on the same snapshot.
    """

    def __init__(
        self,
        accounts: Iterable[AccountLike] = (),
        *,
        tip_accounts: Sequence[Pubkey] = TIP_ACCOUNTS,
        min_tip: int = MIN_TIP_LAMPORTS,
    ) -> None:
        self.bank = _ForkBank(native_programs=venue_programs())
        self.tip_accounts = tuple(tip_accounts)
        self.min_tip = min_tip
        self.load(accounts)

    # --- accounts ---------------------------------------------------------------------------

    def load(self, accounts: Iterable[AccountLike], *, absent: Iterable[Pubkey] = ()) -> None:
        """Write snapshots into the fork; `absent` keys are cleared (the node has no such account).

        Programs and sysvars are never overwritten: the fork has its own, and a program account
        fetched from a node is a loader's bytes, not something LiteSVM can run. A snapshot with a
        newer `slot` moves the fork's clock forward (venues check pool open times against it).
        """
        newest = self.bank.slot
        for account in accounts:
            if self._protected(account.pubkey, account.owner):
                continue
            self.bank.svm.set_account(
                account.pubkey, SvmAccount(account.lamports, bytes(account.data), account.owner)
            )
            newest = max(newest, getattr(account, "slot", 0))
        for key in absent:
            if not self._protected(key, None):
                self.bank.svm.set_account(key, SvmAccount(0, b"", Pubkey.default()))
        if newest > self.bank.slot:
            self.bank.advance_slot(newest)

    def fund(self, owner: Pubkey, lamports: int, balances: Mapping[Pubkey, int]) -> dict[Pubkey, Pubkey]:
        """Give `owner` SOL and an associated token account per mint holding the given amount: a
        what-if wallet for a snapshot that holds none. Returns mint → token account."""
        self.bank.svm.set_account(owner, SvmAccount(lamports, b"", Pubkey.default()))
        rent = self.bank.minimum_balance(spl_token.ACCOUNT_LEN)
        accounts = {}
        for mint, amount in balances.items():
            native = rent if mint == spl_token.NATIVE_MINT else None
            data = spl_token.encode_token_account(mint, owner, amount, is_native=native)
            program = spl_token.mint_token_program(self.bank.get_account(mint))
            address = get_associated_token_address(owner, mint, program)
            self.bank.svm.set_account(address, SvmAccount(rent + (amount if native else 0), data, program))
            accounts[mint] = address
        return accounts

    def _protected(self, key: Pubkey, owner: Pubkey | None) -> bool:
        if owner is not None and (owner == SYSVAR_OWNER or owner in _LOADERS):
            return True
        existing = self.bank.svm.get_account(key)
        return existing is not None and (existing.executable or existing.owner == SYSVAR_OWNER)

    def missing(self, tx: VersionedTransaction) -> list[Pubkey]:
        """Keys the transaction names (lookup tables resolved) that the fork does not hold."""
        return [key for key in transaction_keys(tx, self._read_data) if self.bank.get_account(key) is None]

    async def load_from_rpc(self, rpc: RpcClient, tx: VersionedTransaction) -> None:
        """Fetch every account `tx` touches from a node (tables first, then what they name) and load it."""
        await self._fetch(rpc, [lookup.account_key for lookup in _lookups(tx)])
        await self._fetch(rpc, transaction_keys(tx, self._read_data))

    async def _fetch(self, rpc: RpcClient, keys: list[Pubkey]) -> None:
        fetched = await rpc.get_multiple_accounts(keys)
        self.load(
            [update for update in fetched if update is not None],
            absent=[key for key, update in zip(keys, fetched, strict=True) if update is None],
        )

    def _read_data(self, key: Pubkey) -> bytes | None:
        account = self.bank.get_account(key)
        return bytes(account.data) if account is not None else None

    # --- running ----------------------------------------------------------------------------

    def run(
        self, tx: VersionedTransaction, *, owner: Pubkey | None = None, require_tip: bool = True
    ) -> Preflight | Rejection:
        """Run `tx` (signatures verified) without landing it, and report what it did to `owner`
        (default: the fee payer)."""
        owner = owner if owner is not None else tx.message.account_keys[0]
        before = {key: self.bank.get_account(key) for key in transaction_keys(tx, self._read_data)}
        try:
            result, after = self.bank.simulate_transaction(tx)
        except TransactionRejected as rejected:
            return Rejection(_REJECTION_CODES.get(rejected.code, "not_admitted"), str(rejected))
        if not result.ok:
            last = next((line for line in reversed(result.logs) if "Error" in line or "failed" in line), "-")
            detail = f"{result.err}: {result.error_name}; {last}"
            if result.error_name == "ComputationalBudgetExceeded":
                return Rejection("compute_exceeded", detail)
            if result.error_name in SLIPPAGE_ERRORS:
                return Rejection("slippage", detail)
            return Rejection("instruction_failed", detail)
        tip = sum(
            max(_lamports(after.get(key)) - _lamports(before.get(key)), 0)
            for key in self.tip_accounts
            if key in after
        )
        if require_tip:
            problem = self._tip_problem(tx, tip)
            if problem is not None:
                return problem
        return Preflight(
            units_consumed=result.compute_units,
            fee=result.fee,
            tip=tip,
            lamports_delta=_lamports(after.get(owner)) - _lamports(before.get(owner)),
            token_changes=_token_changes(owner, before, after),
            logs=result.logs,
        )

    def _tip_problem(self, tx: VersionedTransaction, tip: int) -> Rejection | None:
        static = set(tx.message.account_keys)
        if tip == 0:
            return Rejection("no_tip", "no lamports reach a tip account")
        if not any(key in static for key in self.tip_accounts):
            return Rejection("tip_in_lookup_table", "the tip account must be a static key of the message")
        if tip < self.min_tip:
            return Rejection("tip_below_minimum", f"tip {tip} < {self.min_tip} lamports")
        return None


def transaction_keys(tx: VersionedTransaction, read_data: Callable[[Pubkey], bytes | None]) -> list[Pubkey]:
    """Static keys, then every address the lookup tables contribute (tables `read_data` can read)."""
    keys = list(tx.message.account_keys)
    for lookup in _lookups(tx):
        data = read_data(lookup.account_key)
        if data is None:
            continue
        try:
            addresses = AddressLookupTable.deserialize(data).addresses
        except Exception:  # not a table: admission will say so
            continue
        for index in (*bytes(lookup.writable_indexes), *bytes(lookup.readonly_indexes)):
            if index < len(addresses):
                keys.append(addresses[index])
    return list(dict.fromkeys(keys))


def _lookups(tx: VersionedTransaction) -> list[MessageAddressTableLookup]:
    message = tx.message
    return list(message.address_table_lookups) if isinstance(message, MessageV0) else []


def _lamports(account: SvmAccount | None) -> int:
    return account.lamports if account is not None else 0


def _token_changes(
    owner: Pubkey, before: Mapping[Pubkey, SvmAccount | None], after: Mapping[Pubkey, SvmAccount | None]
) -> tuple[TokenChange, ...]:
    changes = []
    for key in dict.fromkeys([*before, *after]):
        old, new = _token(before.get(key)), _token(after.get(key))
        mine = [t for t in (old, new) if t is not None and t.owner == owner]
        if not mine:
            continue
        amount_before = old.amount if old is not None and old.owner == owner else 0
        amount_after = new.amount if new is not None and new.owner == owner else 0
        changes.append(TokenChange(key, mine[0].mint, amount_before, amount_after))
    return tuple(changes)


def _token(account: SvmAccount | None) -> spl_token.TokenAccount | None:
    if account is None or account.owner not in spl_token.TOKEN_PROGRAMS:
        return None
    try:
        return spl_token.decode_token_account(bytes(account.data), account.owner)
    except DecodeError:
        return None
