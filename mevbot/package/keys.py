"""Trading keys loaded from Solana CLI JSON keypair files, wrapped so they cannot leak.

solders' `Keypair` prints its secret in `repr()` and `str()`; a stray log line or traceback would
publish it. `TradingKey` holds the keypair privately and shows only the public key, and errors about
a key file never quote the file's contents.
"""

from __future__ import annotations

import json
from pathlib import Path

import nacl.bindings
from solders.keypair import Keypair
from solders.message import MessageV0, to_bytes_versioned
from solders.pubkey import Pubkey
from solders.signature import Signature
from solders.transaction import VersionedTransaction

from mevbot.secret_file import read_secret_text, write_secret_json


class KeypairFileError(ValueError):
    """A keypair file that cannot be used; the message names the file, never its contents."""


class TradingKey:
    """A signing key whose repr, str and pickling never expose the secret."""

    __slots__ = ("_keypair", "_secret", "pubkey")

    def __init__(self, keypair: Keypair) -> None:
        self._keypair = keypair
        # libsodium signs in ~25 µs; solders' `VersionedTransaction(message, [keypair])` takes ~110 µs,
        # most of a bundle's packaging time. Its secret key is the keypair's 64 bytes (seed, public key).
        self._secret = bytes(keypair)
        self.pubkey: Pubkey = keypair.pubkey()

    @classmethod
    def generate(cls) -> TradingKey:
        return cls(Keypair())

    def sign_message(self, message: MessageV0, *co_signers: TradingKey) -> VersionedTransaction:
        """Sign as every required signer of `message`, in the message's signer order."""
        payload = to_bytes_versioned(message)
        keys = {key.pubkey: key for key in (self, *co_signers)}
        required = message.account_keys[: message.header.num_required_signatures]
        missing = [str(signer) for signer in required if signer not in keys]
        if missing:
            raise ValueError(f"no key for required signer(s) {', '.join(missing)}")
        signatures = [Signature.from_bytes(keys[signer].sign_bytes(payload)) for signer in required]
        return VersionedTransaction.populate(message, signatures)

    def sign_bytes(self, payload: bytes) -> bytes:
        """The 64-byte Ed25519 signature of `payload` (by libsodium: Ed25519 is deterministic, so it
        is the signature solders' keypair would make)."""
        return nacl.bindings.crypto_sign(payload, self._secret)[: nacl.bindings.crypto_sign_BYTES]

    def write(self, path: Path) -> None:
        """Save as a Solana CLI JSON keypair file readable by its owner only."""
        write_secret_json(path, list(bytes(self._keypair)), replace=True)

    def __repr__(self) -> str:
        return f"TradingKey(pubkey={self.pubkey})"

    __str__ = __repr__

    def __reduce__(self) -> object:
        raise TypeError("TradingKey cannot be pickled: it holds a secret key")


def load_keypair(path: str | Path) -> TradingKey:
    """Read a Solana CLI keypair file (a JSON array of 64 bytes)."""
    path = Path(path)
    raw = read_secret_text(path, "keypair", KeypairFileError)
    try:
        values = json.loads(raw)
        if not (isinstance(values, list) and len(values) == 64 and all(isinstance(v, int) for v in values)):
            raise ValueError
        keypair = Keypair.from_bytes(bytes(values))
    except ValueError:
        raise KeypairFileError(f"{path}: not a Solana CLI keypair file (a JSON array of 64 bytes)") from None
    return TradingKey(keypair)
