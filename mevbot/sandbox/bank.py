"""The sandbox's ledger: LiteSVM holds the accounts; the bank admits, runs and records transactions.

Why not hand each transaction to LiteSVM whole: venue swaps have no binary here, so they run in
Python (`native.py`) on the same accounts. The bank therefore does itself what the runtime does
around the instructions, once, for every transaction:

* **Admission** (nothing lands, no fee when it fails): signatures, a blockhash at most 150 slots
  old, no replay of a processed signature, lookup tables, compute budget, fee payer able to pay.
* **Execution**: consecutive non-swap instructions run in LiteSVM as one message paid by an
  internal sponsor account (signatures already checked, so LiteSVM's sigverify is off); swaps run
  in Python. The compute budget is shared across both.
* **Atomicity**: every account the transaction names is journaled before it runs; any failed
  instruction restores them all. A bundle journals all its transactions and restores all of them.
* **Fees** are charged by the bank: 5000 lamports a signature plus the priority fee. A failed
  transaction sent on its own still lands and pays its fee, as on mainnet; a failed bundle pays
  nothing.

Commit listeners (the PubSub server) hear about every committed change.
"""

from __future__ import annotations

import hashlib
import json
import logging
from collections import OrderedDict, deque
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from solders.account import Account
from solders.clock import Clock
from solders.compute_budget import ID as COMPUTE_BUDGET_PROGRAM_ID
from solders.compute_budget import set_compute_unit_limit
from solders.hash import Hash
from solders.instruction import AccountMeta, Instruction
from solders.keypair import Keypair
from solders.litesvm import LiteSVM
from solders.message import Message
from solders.pubkey import Pubkey
from solders.rpc.responses import RpcResponseContext, RpcSimulateTransactionResult, SimulateTransactionResp
from solders.signature import Signature
from solders.transaction import Transaction, VersionedTransaction
from solders.transaction_metadata import FailedTransactionMetadata

from mevbot.dex.base import DecodeError
from mevbot.dex.spl_token import TOKEN_PROGRAMS, decode_mint, decode_token_account
from mevbot.sandbox.native import ClockView, InstructionContext, NativeProgram, ProgramError
from mevbot.sandbox.transactions import (
    ResolvedInstruction,
    ResolvedTransaction,
    TransactionRejected,
    resolve,
    verify_signatures,
)

MAX_PROCESSING_AGE = 150  # slots a blockhash stays valid, as on mainnet
COMPUTE_BUDGET_INSTRUCTION_UNITS = 150
GENESIS_UNIX_TIMESTAMP = 1_700_000_000
HISTORY_LIMIT = 200_000
SIGNATURES_PER_ACCOUNT = 1_000  # what `signatures_for` can look back over, per account (a node's page)
SLOT_HASHES_KEPT = MAX_PROCESSING_AGE  # mainnet keeps 512; recent slots are all a client uses
_SPONSOR_FLOOR = 10**15

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class TokenBalance:
    """A token account's balance around a transaction, as an RPC node reports it in the meta."""

    account_index: int
    mint: Pubkey
    owner: Pubkey
    program_id: Pubkey
    amount: int
    decimals: int


@dataclass(frozen=True, slots=True)
class ExecutionResult:
    """One transaction's outcome. `err` is the RPC JSON of its `TransactionError`, None on success."""

    transaction: VersionedTransaction
    slot: int
    err: object | None
    error_name: str | None
    logs: tuple[str, ...]
    compute_units: int
    fee: int
    account_keys: tuple[Pubkey, ...] = ()
    pre_balances: tuple[int, ...] = ()
    post_balances: tuple[int, ...] = ()
    pre_token_balances: tuple[TokenBalance, ...] = ()
    post_token_balances: tuple[TokenBalance, ...] = ()

    @property
    def signature(self) -> Signature:
        return self.transaction.signatures[0]

    @property
    def ok(self) -> bool:
        return self.err is None


@dataclass(frozen=True, slots=True)
class BundleResult:
    """A bundle run all-or-nothing. On failure `failed_index` names the transaction that failed."""

    results: tuple[ExecutionResult, ...]
    failed_index: int | None
    error_name: str | None
    lamport_deltas: Mapping[Pubkey, int] = field(default_factory=dict)
    compute_units: int = 0

    @property
    def ok(self) -> bool:
        return self.failed_index is None


CommitListener = Callable[[int, Sequence[ExecutionResult], Mapping[Pubkey, Account | None]], None]


class _Journal:
    """First-touch snapshots of accounts, so a failed transaction or bundle can be undone exactly."""

    def __init__(self, svm: LiteSVM) -> None:
        self._svm = svm
        self.before: dict[Pubkey, Account | None] = {}

    def touch(self, keys: Iterable[Pubkey]) -> None:
        for key in keys:
            if key not in self.before:
                self.before[key] = _live(self._svm.get_account(key))

    def restore(self) -> None:
        """Put back what changed. Unchanged accounts are skipped: LiteSVM's `set_account` costs
        ~70 µs, and most accounts a transaction names (programs, mints, read-only pools) never change."""
        for key, account in self.before.items():
            if _live(self._svm.get_account(key)) != account:
                self._svm.set_account(key, account if account is not None else _EMPTY_ACCOUNT)

    def changes(self) -> dict[Pubkey, Account | None]:
        changed = {}
        for key, before in self.before.items():
            after = _live(self._svm.get_account(key))
            if after != before:
                changed[key] = after
        return changed


_EMPTY_ACCOUNT = Account(lamports=0, data=b"", owner=Pubkey.default())


def _live(account: Account | None) -> Account | None:
    """Solana treats an account with zero lamports as absent."""
    return account if account is not None and account.lamports > 0 else None


class _InstructionFailed(Exception):
    def __init__(self, err: object, name: str, units: int = 0) -> None:
        self.err = err
        self.name = name
        self.units = units  # compute units consumed up to and including the failure
        super().__init__(name)


class Bank:
    """Accounts, slots, blockhashes and transaction history of the sandbox cluster."""

    def __init__(
        self,
        *,
        seed: int = 0,
        native_programs: Iterable[NativeProgram] = (),
        program_binaries: Mapping[Pubkey, Path] | None = None,
    ) -> None:
        self._seed = seed
        self.svm = LiteSVM().with_sigverify(False).with_blockhash_check(False).with_transaction_history(0)
        self._native: dict[Pubkey, NativeProgram] = {}
        for program in native_programs:
            self._native[program.program_id] = program
        for program_id, path in (program_binaries or {}).items():
            if not Path(path).is_file():
                raise FileNotFoundError(f"program binary for {program_id}: {path} is not a file")
            self.svm.add_program_from_file(program_id, Path(path))
            self._native.pop(program_id, None)  # the real program wins over the Python model
        self._sponsor = Keypair.from_seed(hashlib.sha256(f"sandbox-sponsor:{seed}".encode()).digest())
        self._owner_index: dict[Pubkey, set[Pubkey]] = {}
        self._history: OrderedDict[Signature, ExecutionResult] = OrderedDict()
        self._by_account: dict[Pubkey, deque[Signature]] = {}
        self._blockhashes: OrderedDict[Hash, int] = OrderedDict()
        self._slot_hashes: deque[tuple[int, Hash]] = deque(maxlen=SLOT_HASHES_KEPT)
        self._listeners: list[CommitListener] = []
        self.slot = 0
        self._register_blockhash(0)
        self.genesis_hash = self.latest_blockhash
        self._fund_sponsor()

    # --- accounts ---------------------------------------------------------------------------

    def get_account(self, pubkey: Pubkey) -> Account | None:
        return _live(self.svm.get_account(pubkey))

    def set_account(self, pubkey: Pubkey, account: Account) -> None:
        """Write an account directly (genesis, planted state); listeners hear about it."""
        before = self.get_account(pubkey)
        self.svm.set_account(pubkey, account)
        self._index({pubkey: _live(account)}, {pubkey: before})
        self._notify([], {pubkey: _live(account)})

    def airdrop(self, pubkey: Pubkey, lamports: int) -> None:
        current = self.get_account(pubkey)
        if current is None:
            self.set_account(pubkey, Account(lamports=lamports, data=b"", owner=Pubkey.default()))
        else:
            self.set_account(
                pubkey, Account(current.lamports + lamports, current.data, current.owner, current.executable)
            )

    def accounts_owned_by(self, owner: Pubkey) -> list[tuple[Pubkey, Account]]:
        out = []
        for key in sorted(self._owner_index.get(owner, ()), key=bytes):
            account = self.get_account(key)
            if account is not None and account.owner == owner:
                out.append((key, account))
        return out

    def minimum_balance(self, data_len: int) -> int:
        return self.svm.minimum_balance_for_rent_exemption(data_len)

    # --- slots and blockhashes --------------------------------------------------------------

    @property
    def latest_blockhash(self) -> Hash:
        return next(reversed(self._blockhashes))

    @property
    def unix_timestamp(self) -> int:
        """Cluster time advances 400 ms a slot, as on mainnet, whatever the sandbox's slot_ms."""
        return GENESIS_UNIX_TIMESTAMP + self.slot * 400 // 1000

    def advance_slot(self, slot: int) -> None:
        """Enter `slot`: a new blockhash, the Clock and SlotHashes sysvars moved, blockhashes older
        than 150 slots gone. SlotHashes is what the address lookup table program checks a new
        table's `recent_slot` against, so tables can be created as on mainnet."""
        if slot <= self.slot:
            raise ValueError(f"slot {slot} does not follow {self.slot}")
        parent = (self.slot, self.latest_blockhash)
        self.slot = slot
        self.svm.set_clock(Clock(slot, GENESIS_UNIX_TIMESTAMP, 0, 0, self.unix_timestamp))
        self._slot_hashes.appendleft(parent)
        self.svm.set_slot_hashes(list(self._slot_hashes))
        self._register_blockhash(slot)
        while self._blockhashes and slot - next(iter(self._blockhashes.values())) > MAX_PROCESSING_AGE:
            self._blockhashes.popitem(last=False)

    def is_blockhash_valid(self, blockhash: Hash) -> bool:
        return blockhash in self._blockhashes

    def blockhash_as_of(self, slot: int) -> tuple[Hash, int]:
        """The newest blockhash made by `slot` (the oldest still valid, if none was) and its slot."""
        for blockhash, made in reversed(self._blockhashes.items()):
            if made <= slot:
                return blockhash, made
        return next(iter(self._blockhashes.items()))

    def _register_blockhash(self, slot: int) -> None:
        digest = hashlib.sha256(f"sandbox-blockhash:{self._seed}:{slot}".encode()).digest()
        self._blockhashes[Hash(digest)] = slot

    # --- history and listeners --------------------------------------------------------------

    def add_commit_listener(self, listener: CommitListener) -> None:
        self._listeners.append(listener)

    def transaction(self, signature: Signature) -> ExecutionResult | None:
        return self._history.get(signature)

    def signatures_for(self, account: Pubkey) -> list[ExecutionResult]:
        """The transactions that named `account` (the last `SIGNATURES_PER_ACCOUNT` still in the
        history), newest first."""
        recent = self._by_account.get(account, ())
        return [result for signature in reversed(recent) if (result := self._history.get(signature)) is not None]

    def _record(self, results: Sequence[ExecutionResult]) -> None:
        for result in results:
            self._history[result.signature] = result
            for key in result.account_keys:
                named = self._by_account.get(key)
                if named is None:
                    named = self._by_account[key] = deque(maxlen=SIGNATURES_PER_ACCOUNT)
                named.append(result.signature)
        while len(self._history) > HISTORY_LIMIT:
            self._history.popitem(last=False)

    def _notify(self, results: Sequence[ExecutionResult], changed: Mapping[Pubkey, Account | None]) -> None:
        for listener in self._listeners:
            try:
                listener(self.slot, results, changed)
            except Exception:
                log.exception("commit listener failed")

    def _index(self, after: Mapping[Pubkey, Account | None], before: Mapping[Pubkey, Account | None]) -> None:
        for key, account in after.items():
            old = before.get(key)
            if old is not None and (account is None or old.owner != account.owner):
                self._owner_index.get(old.owner, set()).discard(key)
            if account is not None:
                self._owner_index.setdefault(account.owner, set()).add(key)

    # --- transactions -----------------------------------------------------------------------

    def process_transaction(self, transaction: VersionedTransaction) -> ExecutionResult:
        """Land one transaction in the current slot. Raises TransactionRejected if it cannot land."""
        journal = _Journal(self.svm)
        try:
            result = self._execute(transaction, journal)
        except BaseException:
            journal.restore()
            raise
        if not result.ok:
            journal.restore()
            self._charge_fee(transaction, result.fee, journal)
            result = _with_balances(result, self.svm)
        self._commit(journal, [result])
        return result

    def simulate_transaction(
        self, transaction: VersionedTransaction, *, verify_signatures: bool = True
    ) -> tuple[ExecutionResult, dict[Pubkey, Account | None]]:
        """Run without landing: (result, accounts after). Raises TransactionRejected like `process`."""
        journal = _Journal(self.svm)
        try:
            result = self._execute(transaction, journal, check_signatures=verify_signatures)
            after = {key: _live(self.svm.get_account(key)) for key in journal.before}
        finally:
            journal.restore()
        return result, after

    def process_bundle(self, transactions: Sequence[VersionedTransaction], *, commit: bool) -> BundleResult:
        """Run transactions in order, all or nothing. With `commit` False nothing persists either way."""
        journal = _Journal(self.svm)
        results: list[ExecutionResult] = []
        failed: int | None = None
        error_name: str | None = None
        seen: set[Signature] = set()
        for position, transaction in enumerate(transactions):
            if transaction.signatures and transaction.signatures[0] in seen:
                failed, error_name = position, "AlreadyProcessed"
                break
            seen.add(transaction.signatures[0] if transaction.signatures else Signature.default())
            try:
                result = self._execute(transaction, journal)
            except TransactionRejected as rejected:
                failed, error_name = position, rejected.code
                break
            except BaseException:
                journal.restore()
                raise
            results.append(result)
            if not result.ok:
                failed, error_name = position, result.error_name
                break
        deltas = {
            key: (_lamports(self.svm.get_account(key)) - _lamports(before))
            for key, before in journal.before.items()
            if key != self._sponsor.pubkey()
        }
        outcome = BundleResult(
            results=tuple(results),
            failed_index=failed,
            error_name=error_name,
            lamport_deltas={key: delta for key, delta in deltas.items() if delta},
            compute_units=sum(r.compute_units for r in results),
        )
        if failed is not None or not commit:
            journal.restore()
        else:
            self._commit(journal, results)
        return outcome

    def _commit(self, journal: _Journal, results: Sequence[ExecutionResult]) -> None:
        journal.before.pop(self._sponsor.pubkey(), None)
        changed = journal.changes()
        self._index(changed, journal.before)
        self._record(results)
        self._notify(results, changed)

    def _charge_fee(self, transaction: VersionedTransaction, fee: int, journal: _Journal) -> None:
        payer = transaction.message.account_keys[0]
        account = self.get_account(payer)
        assert account is not None and account.lamports >= fee, "admission checked the fee payer"
        self.svm.set_account(
            payer, Account(account.lamports - fee, account.data, account.owner, account.executable)
        )
        journal.touch([payer])

    def _execute(
        self, transaction: VersionedTransaction, journal: _Journal, *, check_signatures: bool = True
    ) -> ExecutionResult:
        resolved = self._admit(transaction, check_signatures=check_signatures)
        keys = [ref.pubkey for ref in resolved.accounts]
        journal.touch([*keys, self._sponsor.pubkey()])
        pre_balances = tuple(_lamports(self.svm.get_account(key)) for key in keys)
        pre_tokens = self._token_balances(keys)
        payer = self.get_account(resolved.fee_payer)
        assert payer is not None
        self.svm.set_account(
            resolved.fee_payer,
            Account(payer.lamports - resolved.fee, payer.data, payer.owner, payer.executable),
        )
        logs: list[str] = []
        units = 0
        err: object | None = None
        error_name: str | None = None
        try:
            units = self._run_instructions(resolved, logs)
        except _InstructionFailed as failure:
            err, error_name, units = failure.err, failure.name, failure.units
        post_balances = tuple(_lamports(self.svm.get_account(key)) for key in keys)
        return ExecutionResult(
            transaction=transaction,
            slot=self.slot,
            err=err,
            error_name=error_name,
            logs=tuple(logs),
            compute_units=units,
            fee=resolved.fee,
            account_keys=tuple(keys),
            pre_balances=pre_balances,
            post_balances=post_balances,
            pre_token_balances=pre_tokens,
            post_token_balances=self._token_balances(keys),
        )

    def _token_balances(self, keys: Sequence[Pubkey]) -> tuple[TokenBalance, ...]:
        balances = []
        for index, key in enumerate(keys):
            account = _live(self.svm.get_account(key))
            if account is None or account.owner not in TOKEN_PROGRAMS:
                continue
            try:
                token = decode_token_account(bytes(account.data), account.owner)
                mint = self.get_account(token.mint)
                decimals = decode_mint(bytes(mint.data)).decimals if mint is not None else 0
            except DecodeError:
                continue
            balances.append(TokenBalance(index, token.mint, token.owner, account.owner, token.amount, decimals))
        return tuple(balances)

    def _admit(self, transaction: VersionedTransaction, *, check_signatures: bool) -> ResolvedTransaction:
        if check_signatures:
            verify_signatures(transaction)
        if not self.is_blockhash_valid(transaction.message.recent_blockhash):
            raise TransactionRejected("BlockhashNotFound", "the blockhash is unknown or older than 150 slots")
        if transaction.signatures and transaction.signatures[0] in self._history:
            raise TransactionRejected("AlreadyProcessed", str(transaction.signatures[0]))

        def read_data(key: Pubkey) -> bytes | None:
            account = self.get_account(key)
            return bytes(account.data) if account is not None else None

        resolved = resolve(transaction, read_data)
        payer = self.get_account(resolved.fee_payer)
        if payer is None:
            raise TransactionRejected("AccountNotFound", f"fee payer {resolved.fee_payer} does not exist")
        if payer.lamports < resolved.fee:
            raise TransactionRejected(
                "InsufficientFundsForFee", f"fee {resolved.fee} > balance {payer.lamports}"
            )
        return resolved

    def _run_instructions(self, resolved: ResolvedTransaction, logs: list[str]) -> int:
        """Run every instruction; return the compute units used. Raises _InstructionFailed.

        Compute budget instructions were applied at admission; consecutive other instructions
        share one LiteSVM message; a native program's instruction runs between them.
        """
        limit = resolved.budget.unit_limit
        used = 0
        pending: list[ResolvedInstruction] = []
        try:
            for ix in resolved.instructions:
                if ix.program_id == COMPUTE_BUDGET_PROGRAM_ID:
                    logs += [f"Program {ix.program_id} invoke [1]", f"Program {ix.program_id} success"]
                    used += COMPUTE_BUDGET_INSTRUCTION_UNITS
                    continue
                native = self._native.get(ix.program_id)
                if native is None:
                    pending.append(ix)
                    continue
                used += self._run_in_svm(pending, limit - used, resolved, logs)
                pending = []
                used += self._run_native(native, ix, limit - used, logs)
            used += self._run_in_svm(pending, limit - used, resolved, logs)
        except _InstructionFailed as failure:
            failure.units += used
            raise
        return used

    def _run_native(
        self, program: NativeProgram, ix: ResolvedInstruction, remaining: int, logs: list[str]
    ) -> int:
        logs.append(f"Program {ix.program_id} invoke [1]")
        if program.compute_units > remaining:
            logs.append(f"Program {ix.program_id} consumed {remaining} of {remaining} compute units")
            logs.append(f"Program {ix.program_id} failed: exceeded CUs meter at BPF instruction")
            raise _InstructionFailed({"InstructionError": [ix.index, "ComputationalBudgetExceeded"]},
                                     "ComputationalBudgetExceeded", remaining)  # fmt: skip
        context = InstructionContext(
            ix,
            read=self.get_account,
            write=self.svm.set_account,
            clock=ClockView(slot=self.slot, unix_timestamp=self.unix_timestamp),
        )
        try:
            program_logs = program.execute(context)
        except Exception as error:
            if not isinstance(error, ProgramError):  # a bug in a model: fail the instruction, keep serving
                log.exception("native program %s crashed", ix.program_id)
                error = ProgramError("ProgramFailedToComplete", detail=f"{type(error).__name__}: {error}")
            logs.append(f"Program log: Error: {error}")
            logs.append(
                f"Program {ix.program_id} consumed {program.compute_units} of {remaining} compute units"
            )
            logs.append(error.log_line(ix.program_id))
            raise _InstructionFailed({"InstructionError": [ix.index, error.instruction_error_json()]},
                                     error.name, program.compute_units) from None  # fmt: skip
        logs += [f"Program log: {line}" for line in program_logs]
        logs.append(f"Program {ix.program_id} consumed {program.compute_units} of {remaining} compute units")
        logs.append(f"Program {ix.program_id} success")
        return program.compute_units

    def _run_in_svm(
        self, instructions: Sequence[ResolvedInstruction], remaining: int, resolved: ResolvedTransaction,
        logs: list[str],
    ) -> int:  # fmt: skip
        """Run consecutive LiteSVM instructions as one message, paid by the sponsor, within `remaining` CUs."""
        if not instructions:
            return 0
        self._fund_sponsor()
        body = [
            Instruction(
                ix.program_id,
                ix.data,
                [AccountMeta(a.pubkey, a.is_signer, a.is_writable) for a in ix.accounts],
            )
            for ix in instructions
        ]
        message = Message.new_with_blockhash(
            [set_compute_unit_limit(max(remaining, 0)), *body],
            self._sponsor.pubkey(),
            resolved.transaction.message.recent_blockhash,
        )
        signatures = [Signature.default()] * message.header.num_required_signatures
        outcome = self.svm.send_transaction(Transaction.populate(message, signatures))
        if isinstance(outcome, FailedTransactionMetadata):
            meta = outcome.meta()
            logs += list(meta.logs())[2:]  # drop the sponsor's compute-budget instruction
            err = _remap_instruction_index(_transaction_error_json(outcome.err()), instructions)
            units = max(meta.compute_units_consumed() - COMPUTE_BUDGET_INSTRUCTION_UNITS, 0)
            raise _InstructionFailed(err, _error_name(err, meta.logs()), units)
        logs += list(outcome.logs())[2:]
        return max(outcome.compute_units_consumed() - COMPUTE_BUDGET_INSTRUCTION_UNITS, 0)

    def _fund_sponsor(self) -> None:
        if (self.svm.get_balance(self._sponsor.pubkey()) or 0) < _SPONSOR_FLOOR:
            self.svm.set_account(self._sponsor.pubkey(), Account(10 * _SPONSOR_FLOOR, b"", Pubkey.default()))


def _lamports(account: Account | None) -> int:
    return account.lamports if account is not None else 0


def _with_balances(result: ExecutionResult, svm: LiteSVM) -> ExecutionResult:
    """A failed transaction's balances after the rollback: only the fee moved."""
    post = tuple(_lamports(_live(svm.get_account(key))) for key in result.account_keys)
    return ExecutionResult(
        transaction=result.transaction, slot=result.slot, err=result.err, error_name=result.error_name,
        logs=result.logs, compute_units=result.compute_units, fee=result.fee, account_keys=result.account_keys,
        pre_balances=result.pre_balances, post_balances=post, pre_token_balances=result.pre_token_balances,
        post_token_balances=result.pre_token_balances,
    )  # fmt: skip


def _transaction_error_json(err: object) -> object:
    """A solders TransactionError as RPC nodes render it (solders knows the exact serde shape)."""
    rendered = SimulateTransactionResp(RpcSimulateTransactionResult(err=err), RpcResponseContext(0)).to_json()
    return json.loads(rendered)["result"]["value"]["err"]


def _remap_instruction_index(err: object, instructions: Sequence[ResolvedInstruction]) -> object:
    """LiteSVM saw [compute budget, *instructions]; report the failing one by its index in the user's message."""
    if isinstance(err, dict) and "InstructionError" in err:
        position, detail = err["InstructionError"]
        original = instructions[position - 1].index if 0 < position <= len(instructions) else position
        return {"InstructionError": [original, detail]}
    return err


def _error_name(err: object, logs: Sequence[str]) -> str:
    """A readable name: the program's own log when it gave one, else the runtime's error name."""
    if isinstance(err, dict) and "InstructionError" in err:
        detail = err["InstructionError"][1]
        if isinstance(detail, dict) and "Custom" in detail:
            for line in reversed(logs):
                if line.startswith("Program log: Error: "):
                    return line.removeprefix("Program log: Error: ")
            return f"Custom({detail['Custom']})"
        return str(detail)
    return str(err)
