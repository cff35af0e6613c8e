"""How Solana RPC spells transaction outcomes: `getTransaction` bodies, statuses and error messages."""

from __future__ import annotations

import base64
from typing import Any

from solders.message import MessageV0
from solders.transaction import VersionedTransaction

from mevbot.sandbox.bank import ExecutionResult, TokenBalance
from mevbot.sandbox.jsonrpc import RpcError, invalid_params
from mevbot.sandbox.transactions import b58encode

TRANSACTION_ENCODINGS = frozenset({"json", "jsonParsed", "base64", "base58"})
UNSUPPORTED_TRANSACTION_VERSION = -32015

# Display strings of common TransactionError variants (agave `TransactionError` `Display`).
_TRANSACTION_ERROR_TEXT = {
    "BlockhashNotFound": "Blockhash not found",
    "AlreadyProcessed": "This transaction has already been processed",
    "AccountNotFound": "Attempt to debit an account but found no record of a prior credit.",
    "InsufficientFundsForFee": "Insufficient funds for fee",
    "SignatureFailure": "Transaction did not pass signature verification",
    "SanitizeFailure": "Transaction failed to sanitize accounts offsets correctly",
    "AccountLoadedTwice": "Account loaded twice",
    "AddressLookupTableNotFound": "Transaction loads an address table account that doesn't exist",
    "DuplicateInstruction": "Transaction contains a duplicate instruction that is not allowed",
}


def describe_error(err: Any) -> str:
    """The text a node puts after "Transaction simulation failed: "."""
    if isinstance(err, dict) and "InstructionError" in err:
        index, detail = err["InstructionError"]
        if isinstance(detail, dict) and "Custom" in detail:
            return f"Error processing Instruction {index}: custom program error: {detail['Custom']:#x}"
        return f"Error processing Instruction {index}: {detail}"
    if isinstance(err, str):
        return _TRANSACTION_ERROR_TEXT.get(err, err)
    return str(err)


def status_json(err: Any) -> dict[str, Any]:
    return {"Ok": None} if err is None else {"Err": err}


def transaction_version(transaction: VersionedTransaction) -> str | int:
    return 0 if isinstance(transaction.message, MessageV0) else "legacy"


def render_transaction_result(
    result: ExecutionResult, encoding: str, max_supported_version: int | None, block_time: int
) -> dict[str, Any]:
    """A `getTransaction` result for `result` in `encoding`."""
    if encoding not in TRANSACTION_ENCODINGS:
        raise invalid_params(f"unknown encoding {encoding!r}; use json, base64 or base58")
    version = transaction_version(result.transaction)
    if version == 0 and max_supported_version is None:
        raise RpcError(
            UNSUPPORTED_TRANSACTION_VERSION,
            "Transaction version (0) is not supported by the requesting client. Please try the request again "
            'with the following configuration parameter: "maxSupportedTransactionVersion": 0',
        )
    raw = bytes(result.transaction)
    if encoding == "base64":
        transaction: Any = [base64.b64encode(raw).decode(), "base64"]
    elif encoding == "base58":
        transaction = [b58encode(raw), "base58"]
    else:
        transaction = _transaction_json(result.transaction)
    body: dict[str, Any] = {
        "slot": result.slot,
        "blockTime": block_time,
        "transaction": transaction,
        "meta": _meta_json(result),
    }
    if max_supported_version is not None:
        body["version"] = version
    return body


def _meta_json(result: ExecutionResult) -> dict[str, Any]:
    message = result.transaction.message
    loaded = {"writable": [], "readonly": []}
    if isinstance(message, MessageV0):
        static = len(message.account_keys)
        dynamic = [str(key) for key in result.account_keys[static:]]
        writable_count = sum(len(bytes(lookup.writable_indexes)) for lookup in message.address_table_lookups)
        loaded = {"writable": dynamic[:writable_count], "readonly": dynamic[writable_count:]}
    return {
        "err": result.err,
        "status": status_json(result.err),
        "fee": result.fee,
        "preBalances": list(result.pre_balances),
        "postBalances": list(result.post_balances),
        "innerInstructions": [],
        "logMessages": list(result.logs),
        "preTokenBalances": [_token_balance_json(b) for b in result.pre_token_balances],
        "postTokenBalances": [_token_balance_json(b) for b in result.post_token_balances],
        "rewards": [],
        "loadedAddresses": loaded,
        "computeUnitsConsumed": result.compute_units,
    }


def _token_balance_json(balance: TokenBalance) -> dict[str, Any]:
    ui = balance.amount / 10**balance.decimals
    return {
        "accountIndex": balance.account_index,
        "mint": str(balance.mint),
        "owner": str(balance.owner),
        "programId": str(balance.program_id),
        "uiTokenAmount": {
            "amount": str(balance.amount),
            "decimals": balance.decimals,
            "uiAmount": ui,
            "uiAmountString": f"{ui:.{balance.decimals}f}".rstrip("0").rstrip(".") if balance.decimals else str(balance.amount),
        },
    }


def _transaction_json(transaction: VersionedTransaction) -> dict[str, Any]:
    message = transaction.message
    header = message.header
    body: dict[str, Any] = {
        "accountKeys": [str(key) for key in message.account_keys],
        "header": {
            "numRequiredSignatures": header.num_required_signatures,
            "numReadonlySignedAccounts": header.num_readonly_signed_accounts,
            "numReadonlyUnsignedAccounts": header.num_readonly_unsigned_accounts,
        },
        "recentBlockhash": str(message.recent_blockhash),
        "instructions": [
            {
                "programIdIndex": ix.program_id_index,
                "accounts": list(bytes(ix.accounts)),
                "data": b58encode(bytes(ix.data)),
                "stackHeight": None,
            }
            for ix in message.instructions
        ],
    }
    if isinstance(message, MessageV0):
        body["addressTableLookups"] = [
            {
                "accountKey": str(lookup.account_key),
                "writableIndexes": list(bytes(lookup.writable_indexes)),
                "readonlyIndexes": list(bytes(lookup.readonly_indexes)),
            }
            for lookup in message.address_table_lookups
        ]
    return {"signatures": [str(s) for s in transaction.signatures], "message": body}
