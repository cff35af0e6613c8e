"""The Solana JSON-RPC HTTP API over the bank, shaped as an Agave node answers it.

Commitment levels are accepted and all see the same account state: the sandbox has one fork and
finalizes each slot as it is made. A transaction sent here lands in the current slot at once, but, as on
a real cluster, `getTransaction` and `getSignaturesForAddress` find it only once it is confirmed,
`confirmation_slots` slots later (a real node refuses `processed` there), and `getSignatureStatuses`
says "processed" until then. In step, the confirmed (and finalized) `getSlot` and `getLatestBlockhash`
are that many slots behind the processed ones.
"""

from __future__ import annotations

import hashlib
from typing import Any

from solders.hash import Hash
from solders.keypair import Keypair
from solders.message import Message, MessageV0
from solders.pubkey import Pubkey
from solders.system_program import TransferParams, transfer
from solders.transaction import VersionedTransaction

from mevbot.dex.base import DecodeError
from mevbot.dex.spl_token import TOKEN_PROGRAMS, decode_mint, decode_token_account
from mevbot.sandbox.bank import MAX_PROCESSING_AGE, Bank
from mevbot.sandbox.jsonrpc import Dispatcher, RpcError, config, integer, invalid_params, positional, string
from mevbot.sandbox.rpc_codec import (
    AccountView,
    check_commitment,
    context,
    matches_all,
    parse_filters,
    parse_pubkey,
    parse_signature,
)
from mevbot.sandbox.transactions import (
    EncodingError,
    TransactionRejected,
    decode_wire_transaction,
    verify_signatures,
)
from mevbot.sandbox.tx_codec import describe_error, render_transaction_result, status_json

SEND_TRANSACTION_PREFLIGHT_FAILURE = -32002
TRANSACTION_SIGNATURE_VERIFICATION_FAILURE = -32003
MAX_MULTIPLE_ACCOUNTS = 100
MAX_SIGNATURE_STATUSES = 256
MAX_SIGNATURES_FOR_ADDRESS = 1_000
FAUCET_LAMPORTS = 10**18
_BELOW_CONFIRMED = frozenset({"processed", "recent"})  # "recent": the legacy name of processed


class SolanaRpc:
    """JSON-RPC methods of a Solana node, answered from `bank`."""

    def __init__(self, bank: Bank, *, seed: int = 0, confirmation_slots: int = 0) -> None:
        self.bank = bank
        self.confirmation_slots = confirmation_slots
        self._faucet = Keypair.from_seed(hashlib.sha256(f"sandbox-faucet:{seed}".encode()).digest())
        bank.airdrop(self._faucet.pubkey(), FAUCET_LAMPORTS)
        self.dispatcher = Dispatcher(
            {
                "getAccountInfo": self.get_account_info,
                "getMultipleAccounts": self.get_multiple_accounts,
                "getProgramAccounts": self.get_program_accounts,
                "getBalance": self.get_balance,
                "getTokenAccountBalance": self.get_token_account_balance,
                "getTokenAccountsByOwner": self.get_token_accounts_by_owner,
                "getLatestBlockhash": self.get_latest_blockhash,
                "isBlockhashValid": self.is_blockhash_valid,
                "getSlot": self.get_slot,
                "getBlockHeight": self.get_slot,
                "getTransaction": self.get_transaction,
                "getSignatureStatuses": self.get_signature_statuses,
                "getSignaturesForAddress": self.get_signatures_for_address,
                "simulateTransaction": self.simulate_transaction,
                "sendTransaction": self.send_transaction,
                "requestAirdrop": self.request_airdrop,
                "getMinimumBalanceForRentExemption": self.get_minimum_balance_for_rent_exemption,
                "getHealth": self.get_health,
                "getVersion": self.get_version,
                "getGenesisHash": self.get_genesis_hash,
                "getEpochInfo": self.get_epoch_info,
            }
        )

    # --- accounts ---------------------------------------------------------------------------

    async def get_account_info(self, params: list[Any]) -> Any:
        key, options = positional(params, 1, 1)
        pubkey = parse_pubkey(key)
        view = AccountView.from_config(config(options), default_encoding="base58")
        account = self.bank.get_account(pubkey)
        return {"context": context(self.bank.slot), "value": view.render(account) if account else None}

    async def get_multiple_accounts(self, params: list[Any]) -> Any:
        keys, options = positional(params, 1, 1)
        if not isinstance(keys, list):
            raise invalid_params("the first parameter must be an array of public keys")
        if len(keys) > MAX_MULTIPLE_ACCOUNTS:
            raise invalid_params(f"Too many inputs provided; max {MAX_MULTIPLE_ACCOUNTS}")
        pubkeys = [parse_pubkey(key) for key in keys]
        view = AccountView.from_config(config(options), default_encoding="base64")
        values = []
        for pubkey in pubkeys:
            account = self.bank.get_account(pubkey)
            values.append(view.render(account) if account else None)
        return {"context": context(self.bank.slot), "value": values}

    async def get_program_accounts(self, params: list[Any]) -> Any:
        key, options = positional(params, 1, 1)
        program = parse_pubkey(key, "program id")
        options = config(options)
        view = AccountView.from_config(options, default_encoding="base64")
        filters = parse_filters(options.get("filters"))
        values = [
            {"pubkey": str(pubkey), "account": view.render(account)}
            for pubkey, account in self.bank.accounts_owned_by(program)
            if matches_all(filters, bytes(account.data))
        ]
        if options.get("withContext"):
            return {"context": context(self.bank.slot), "value": values}
        return values

    async def get_balance(self, params: list[Any]) -> Any:
        key, options = positional(params, 1, 1)
        check_commitment(config(options))
        account = self.bank.get_account(parse_pubkey(key))
        return {"context": context(self.bank.slot), "value": account.lamports if account else 0}

    async def get_token_account_balance(self, params: list[Any]) -> Any:
        key, options = positional(params, 1, 1)
        check_commitment(config(options))
        pubkey = parse_pubkey(key)
        account = self.bank.get_account(pubkey)
        try:
            if account is None:
                raise DecodeError("account not found")
            token = decode_token_account(bytes(account.data), account.owner)
            mint_account = self.bank.get_account(token.mint)
            if mint_account is None:
                raise DecodeError("mint not found")
            decimals = decode_mint(bytes(mint_account.data), mint_account.owner).decimals
        except DecodeError:
            raise invalid_params("Invalid param: could not find account" if account is None
                                 else "Invalid param: not a Token account") from None  # fmt: skip
        return {"context": context(self.bank.slot), "value": _ui_token_amount(token.amount, decimals)}

    async def get_token_accounts_by_owner(self, params: list[Any]) -> Any:
        key, selector, options = positional(params, 2, 1)
        owner = parse_pubkey(key, "owner")
        selector = config(selector)
        if len(selector) != 1:
            raise invalid_params("the filter must name exactly one of mint, programId")
        mint = parse_pubkey(selector["mint"], "mint") if "mint" in selector else None
        programs = (parse_pubkey(selector["programId"], "programId"),) if "programId" in selector else TOKEN_PROGRAMS
        view = AccountView.from_config(config(options), default_encoding="base64")
        values = []
        for program in programs:
            for pubkey, account in self.bank.accounts_owned_by(program):
                try:
                    token = decode_token_account(bytes(account.data), account.owner)
                except DecodeError:
                    continue  # a mint, not an account
                if token.owner == owner and (mint is None or token.mint == mint):
                    values.append({"pubkey": str(pubkey), "account": view.render(account)})
        return {"context": context(self.bank.slot), "value": values}

    # --- slots and blockhashes --------------------------------------------------------------

    async def get_latest_blockhash(self, params: list[Any]) -> Any:
        (options,) = positional(params, 0, 1)
        options = config(options)
        check_commitment(options)
        blockhash, slot = self.bank.blockhash_as_of(self.bank.slot - self._lag(options))
        return {
            "context": context(self.bank.slot),
            "value": {"blockhash": str(blockhash), "lastValidBlockHeight": slot + MAX_PROCESSING_AGE},
        }

    async def is_blockhash_valid(self, params: list[Any]) -> Any:
        text, options = positional(params, 1, 1)
        check_commitment(config(options))
        try:
            blockhash = Hash.from_string(string(text, "blockhash"))
        except ValueError:
            raise invalid_params(f"{text!r} is not a base58 blockhash") from None
        return {"context": context(self.bank.slot), "value": self.bank.is_blockhash_valid(blockhash)}

    async def get_slot(self, params: list[Any]) -> Any:
        (options,) = positional(params, 0, 1)
        options = config(options)
        check_commitment(options)
        return max(self.bank.slot - self._lag(options), 0)

    def _lag(self, options: dict[str, Any]) -> int:
        """How many slots behind the processed one a request's commitment sees (none given: finalized)."""
        return 0 if options.get("commitment") in _BELOW_CONFIRMED else self.confirmation_slots

    async def get_epoch_info(self, params: list[Any]) -> Any:
        (options,) = positional(params, 0, 1)
        check_commitment(config(options))
        slot = self.bank.slot
        return {
            "absoluteSlot": slot, "blockHeight": slot, "epoch": 0, "slotIndex": slot,
            "slotsInEpoch": 432_000, "transactionCount": None,
        }  # fmt: skip

    # --- transactions -----------------------------------------------------------------------

    async def get_transaction(self, params: list[Any]) -> Any:
        signature, options = positional(params, 1, 1)
        options = config(options)
        check_commitment(options)
        _check_at_least_confirmed(options)
        max_version = options.get("maxSupportedTransactionVersion")
        if max_version is not None:
            integer(max_version, "maxSupportedTransactionVersion")
        result = self.bank.transaction(parse_signature(signature))
        if result is None or not self._confirmed(result.slot):
            return None
        return render_transaction_result(
            result, options.get("encoding", "json"), max_version, self._block_time(result.slot)
        )

    async def get_signature_statuses(self, params: list[Any]) -> Any:
        signatures, options = positional(params, 1, 1)
        config(options)
        if not isinstance(signatures, list) or len(signatures) > MAX_SIGNATURE_STATUSES:
            raise invalid_params(
                f"the first parameter must be an array of at most {MAX_SIGNATURE_STATUSES} signatures"
            )
        values = []
        for text in signatures:
            result = self.bank.transaction(parse_signature(text))
            if result is None:
                values.append(None)
                continue
            confirmed = self._confirmed(result.slot)
            values.append({
                "slot": result.slot, "confirmations": None if confirmed else self.bank.slot - result.slot,
                "err": result.err, "status": status_json(result.err),
                "confirmationStatus": "finalized" if confirmed else "processed",
            })  # fmt: skip
        return {"context": context(self.bank.slot), "value": values}

    async def get_signatures_for_address(self, params: list[Any]) -> Any:
        """Confirmed transactions that named the address, newest first (`before`/`until` page by
        signature, as on a node; at most the bank's last `SIGNATURES_PER_ACCOUNT`)."""
        address, options = positional(params, 1, 1)
        options = config(options)
        check_commitment(options)
        _check_at_least_confirmed(options)
        limit = integer(options.get("limit", MAX_SIGNATURES_FOR_ADDRESS), "limit")
        if not 1 <= limit <= MAX_SIGNATURES_FOR_ADDRESS:
            raise invalid_params("Invalid limit; max 1000")
        before, until = (
            None if options.get(name) is None else parse_signature(options[name]) for name in ("before", "until")
        )
        values = []
        seen_before = before is None
        for result in self.bank.signatures_for(parse_pubkey(address)):
            if not self._confirmed(result.slot):
                continue
            if not seen_before:
                seen_before = result.signature == before
                continue
            if result.signature == until or len(values) == limit:
                break
            values.append({
                "signature": str(result.signature), "slot": result.slot, "err": result.err, "memo": None,
                "blockTime": self._block_time(result.slot), "confirmationStatus": "finalized",
            })  # fmt: skip
        return values

    def _block_time(self, slot: int) -> int:
        return self.bank.unix_timestamp - (self.bank.slot - slot) * 400 // 1000

    def _confirmed(self, slot: int) -> bool:
        """Whether a transaction of `slot` is confirmed yet (the sandbox finalizes it then too)."""
        return self.bank.slot >= slot + self.confirmation_slots

    async def simulate_transaction(self, params: list[Any]) -> Any:
        text, options = positional(params, 1, 1)
        options = config(options)
        check_commitment(options)
        transaction = _decode(text, options.get("encoding", "base58"))
        sig_verify = bool(options.get("sigVerify", False))
        replace = bool(options.get("replaceRecentBlockhash", False))
        if sig_verify and replace:
            raise invalid_params("sigVerify may not be used with replaceRecentBlockhash")
        if sig_verify:
            _verify(transaction)
        replacement = None
        if replace:
            message = transaction.message
            blockhash = self.bank.latest_blockhash
            rebuilt = _with_blockhash(message, blockhash)
            transaction = VersionedTransaction.populate(rebuilt, list(transaction.signatures))
            replacement = {
                "blockhash": str(blockhash),
                "lastValidBlockHeight": self.bank.slot + MAX_PROCESSING_AGE,
            }
        watched = _simulation_accounts(options.get("accounts"))
        try:
            result, after = self.bank.simulate_transaction(transaction, verify_signatures=False)
        except TransactionRejected as rejected:
            value = _simulation_value(rejected.code, [], 0, None, replacement)
            return {"context": context(self.bank.slot), "value": value}
        accounts = None
        if watched is not None:
            view, keys = watched
            accounts = []
            for key in keys:
                account = after[key] if key in after else self.bank.get_account(key)
                accounts.append(view.render(account) if account else None)
        value = _simulation_value(result.err, list(result.logs), result.compute_units, accounts, replacement)
        return {"context": context(self.bank.slot), "value": value}

    async def send_transaction(self, params: list[Any]) -> Any:
        text, options = positional(params, 1, 1)
        options = config(options)
        transaction = _decode(text, options.get("encoding", "base58"))
        _verify(transaction)
        if not options.get("skipPreflight", False):
            try:
                simulated, _ = self.bank.simulate_transaction(transaction, verify_signatures=False)
            except TransactionRejected as rejected:
                raise _preflight_failure(rejected.code, [], 0) from None
            if not simulated.ok:
                raise _preflight_failure(simulated.err, list(simulated.logs), simulated.compute_units)
        try:
            result = self.bank.process_transaction(transaction)
        except TransactionRejected as rejected:
            raise _preflight_failure(rejected.code, [], 0) from None
        return str(result.signature)

    async def request_airdrop(self, params: list[Any]) -> Any:
        key, lamports, options = positional(params, 2, 1)
        check_commitment(config(options))
        recipient = parse_pubkey(key)
        amount = integer(lamports, "lamports", minimum=1)
        instruction = transfer(
            TransferParams(from_pubkey=self._faucet.pubkey(), to_pubkey=recipient, lamports=amount)
        )
        message = MessageV0.try_compile(self._faucet.pubkey(), [instruction], [], self.bank.latest_blockhash)
        result = self.bank.process_transaction(VersionedTransaction(message, [self._faucet]))
        if not result.ok:
            raise RpcError(-32603, f"airdrop failed: {describe_error(result.err)}")
        return str(result.signature)

    # --- cluster ----------------------------------------------------------------------------

    async def get_minimum_balance_for_rent_exemption(self, params: list[Any]) -> Any:
        size, options = positional(params, 1, 1)
        check_commitment(config(options))
        return self.bank.minimum_balance(integer(size, "data length"))

    async def get_health(self, params: list[Any]) -> Any:
        positional(params, 0)
        return "ok"

    async def get_version(self, params: list[Any]) -> Any:
        positional(params, 0)
        return {"solana-core": "2.1.0", "feature-set": 0}

    async def get_genesis_hash(self, params: list[Any]) -> Any:
        positional(params, 0)
        return str(self.bank.genesis_hash)


def _ui_token_amount(amount: int, decimals: int) -> dict[str, Any]:
    whole, fraction = divmod(amount, 10**decimals) if decimals else (amount, 0)
    text = f"{whole}.{fraction:0{decimals}d}".rstrip("0").rstrip(".") if decimals else str(whole)
    return {
        "amount": str(amount),
        "decimals": decimals,
        "uiAmount": amount / 10**decimals,
        "uiAmountString": text,
    }


def _decode(text: Any, encoding: Any) -> VersionedTransaction:
    try:
        return decode_wire_transaction(string(text, "transaction"), string(encoding, "encoding"))
    except EncodingError as exc:
        raise invalid_params(f"invalid transaction: {exc}") from None


def _verify(transaction: VersionedTransaction) -> None:
    try:
        verify_signatures(transaction)
    except TransactionRejected as rejected:
        if rejected.code == "SanitizeFailure":
            raise invalid_params(f"invalid transaction: {rejected.detail}") from None
        raise RpcError(
            TRANSACTION_SIGNATURE_VERIFICATION_FAILURE, "Transaction signature verification failure"
        ) from None


def _with_blockhash(message: Message | MessageV0, blockhash: Hash) -> Message | MessageV0:
    """The same message under another blockhash (for replaceRecentBlockhash)."""
    if isinstance(message, MessageV0):
        return MessageV0(message.header, list(message.account_keys), blockhash, list(message.instructions),
                         list(message.address_table_lookups))  # fmt: skip
    return Message.new_with_compiled_instructions(
        message.header.num_required_signatures, message.header.num_readonly_signed_accounts,
        message.header.num_readonly_unsigned_accounts, list(message.account_keys), blockhash,
        list(message.instructions),
    )  # fmt: skip


def _simulation_accounts(value: Any) -> tuple[AccountView, list[Pubkey]] | None:
    if value is None:
        return None
    options = config(value)
    addresses = options.get("addresses")
    if not isinstance(addresses, list):
        raise invalid_params("accounts.addresses must be an array")
    view = AccountView.from_config({"encoding": options.get("encoding", "base64")})
    return view, [parse_pubkey(address) for address in addresses]


def _simulation_value(
    err: Any, logs: list[str], units: int, accounts: Any, replacement: Any
) -> dict[str, Any]:
    return {
        "err": err, "logs": logs, "accounts": accounts, "unitsConsumed": units, "returnData": None,
        "innerInstructions": None, "replacementBlockhash": replacement,
    }  # fmt: skip


def _preflight_failure(err: Any, logs: list[str], units: int) -> RpcError:
    return RpcError(
        SEND_TRANSACTION_PREFLIGHT_FAILURE,
        f"Transaction simulation failed: {describe_error(err)}",
        _simulation_value(err, logs, units, None, None),
    )


def _check_at_least_confirmed(options: dict[str, Any]) -> None:
    """What a node says to `processed` where it answers only from confirmed blocks (transactions)."""
    if options.get("commitment") in _BELOW_CONFIRMED:
        raise invalid_params("Method does not support commitment below `confirmed`")
