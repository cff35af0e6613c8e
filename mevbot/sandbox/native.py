"""Programs the bank runs in Python instead of LiteSVM, and what they may touch.

A venue's swap has no binary in the sandbox, so the bank executes it with the `dex/` math. Such a
program sees only its instruction's accounts, may write only the ones the transaction marked
writable, and fails the way the real program does: with the program's own error name and, where
the program defines one, its custom error code, so clients see the same `InstructionError` JSON.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

from solders.account import Account
from solders.pubkey import Pubkey

from mevbot.sandbox.transactions import AccountRef, ResolvedInstruction

# InstructionError variants without a payload (solana-program `InstructionError`), as RPC spells them.
FIELDLESS_INSTRUCTION_ERRORS = frozenset(
    {
        "GenericError", "InvalidArgument", "InvalidInstructionData", "InvalidAccountData", "AccountDataTooSmall",
        "InsufficientFunds", "IncorrectProgramId", "MissingRequiredSignature", "AccountAlreadyInitialized",
        "UninitializedAccount", "UnbalancedInstruction", "ModifiedProgramId", "ExternalAccountLamportSpend",
        "ExternalAccountDataModified", "ReadonlyLamportChange", "ReadonlyDataModified", "DuplicateAccountIndex",
        "ExecutableModified", "RentEpochModified", "NotEnoughAccountKeys", "AccountDataSizeChanged",
        "AccountNotExecutable", "AccountBorrowFailed", "AccountBorrowOutstanding", "DuplicateAccountOutOfSync",
        "InvalidError", "ExecutableDataModified", "ExecutableLamportChange", "ExecutableAccountNotRentExempt",
        "UnsupportedProgramId", "CallDepth", "MissingAccount", "ReentrancyNotAllowed", "MaxSeedLengthExceeded",
        "InvalidSeeds", "InvalidRealloc", "ComputationalBudgetExceeded", "PrivilegeEscalation",
        "ProgramEnvironmentSetupFailure", "ProgramFailedToComplete", "ProgramFailedToCompile", "Immutable",
        "IncorrectAuthority", "AccountNotRentExempt", "InvalidAccountOwner", "ArithmeticOverflow",
        "UnsupportedSysvar", "IllegalOwner", "MaxAccountsDataAllocationsExceeded", "MaxAccountsExceeded",
        "MaxInstructionTraceLengthExceeded", "BuiltinProgramsMustConsumeComputeUnits",
    }
)  # fmt: skip


class ProgramError(Exception):
    """An instruction failed. `name` is what an operator reads; `custom_code` what the chain reports.

    With `custom_code` None, `name` must be one of the runtime's own `InstructionError` variants.
    """

    def __init__(self, name: str, custom_code: int | None = None, detail: str = "") -> None:
        if custom_code is None and name not in FIELDLESS_INSTRUCTION_ERRORS:
            raise ValueError(f"{name!r} is neither a runtime InstructionError nor given a custom code")
        self.name = name
        self.custom_code = custom_code
        self.detail = detail
        super().__init__(f"{name}: {detail}" if detail else name)

    def instruction_error_json(self) -> object:
        """The second element of ``{"InstructionError": [index, ...]}`` as RPC nodes render it."""
        return {"Custom": self.custom_code} if self.custom_code is not None else self.name

    def log_line(self, program_id: Pubkey) -> str:
        if self.custom_code is not None:
            return f"Program {program_id} failed: custom program error: {self.custom_code:#x}"
        return f"Program {program_id} failed: {self.name}"


@dataclass(frozen=True, slots=True)
class ClockView:
    slot: int
    unix_timestamp: int


class InstructionContext:
    """The accounts of one instruction, read from and written to the bank, with the runtime's rules.

    Reads see earlier instructions' writes; writes to an account the transaction did not mark
    writable fail with ``ReadonlyDataModified`` as the runtime would.
    """

    def __init__(
        self,
        instruction: ResolvedInstruction,
        read: Callable[[Pubkey], Account | None],
        write: Callable[[Pubkey, Account], None],
        clock: ClockView,
    ) -> None:
        self.instruction = instruction
        self.clock = clock
        self._read = read
        self._write = write

    @property
    def program_id(self) -> Pubkey:
        return self.instruction.program_id

    @property
    def data(self) -> bytes:
        return self.instruction.data

    def key(self, position: int) -> Pubkey:
        return self._ref(position).pubkey

    def is_signer(self, position: int) -> bool:
        return self._ref(position).is_signer

    def account(self, position: int) -> Account | None:
        return self._read(self.key(position))

    def read(self, pubkey: Pubkey) -> Account | None:
        """Any account of this instruction by address (a pool's vaults, say)."""
        if all(ref.pubkey != pubkey for ref in self.instruction.accounts):
            raise ProgramError("MissingAccount", detail=f"{pubkey} is not passed to the instruction")
        return self._read(pubkey)

    def write(self, pubkey: Pubkey, account: Account) -> None:
        refs = [ref for ref in self.instruction.accounts if ref.pubkey == pubkey]
        if not refs:
            raise ProgramError("MissingAccount", detail=f"{pubkey} is not passed to the instruction")
        if not any(ref.is_writable for ref in refs):
            raise ProgramError("ReadonlyDataModified", detail=f"{pubkey} is not writable in this transaction")
        self._write(pubkey, account)

    def _ref(self, position: int) -> AccountRef:
        accounts = self.instruction.accounts
        if position >= len(accounts):
            raise ProgramError(
                "NotEnoughAccountKeys", detail=f"need account #{position}, got {len(accounts)}"
            )
        return accounts[position]


class NativeProgram(Protocol):
    """A program the bank executes in Python."""

    program_id: Pubkey
    # Units one instruction costs: a nominal figure near the real program's, so budgets bind.
    compute_units: int

    def execute(self, context: InstructionContext) -> list[str]:
        """Run one instruction; return its `Program log:` lines. Raise ProgramError to fail it."""
        ...
