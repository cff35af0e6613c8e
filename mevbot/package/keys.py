"""Trading keys loaded from Solana CLI JSON keypair files, wrapped so they cannot leak.

solders' `Keypair` prints its secret in `repr()` and `str()`; a stray log line or traceback would
publish it. `TradingKey` holds the keypair privately and shows only the public key, and errors about
a key file never quote the file's contents.
"""

from __future__ import annotations

import json
import os
import stat
from pathlib import Path

import nacl.signing
from solders.keypair import Keypair
from solders.message import MessageV0, to_bytes_versioned
from solders.pubkey import Pubkey
from solders.signature import Signature
from solders.transaction import VersionedTransaction


class KeypairFileError(ValueError):
    """A keypair file that cannot be used; the message names the file, never its contents."""


class TradingKey:
    """A signing key whose repr, str and pickling never expose the secret."""

    __slots__ = ("_keypair", "_signer", "pubkey")

    def __init__(self, keypair: Keypair) -> None:
        self._keypair = keypair
        # libsodium signs in ~25 µs; solders' `VersionedTransaction(message, [keypair])` takes ~110 µs,
        # most of a bundle's packaging time.
        self._signer = nacl.signing.SigningKey(bytes(keypair)[:32])
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
        signatures = [Signature.from_bytes(keys[signer]._signer.sign(payload).signature) for signer in required]
        return VersionedTransaction.populate(message, signatures)

    def sign_bytes(self, payload: bytes) -> bytes:
        return bytes(self._keypair.sign_message(payload))

    def write(self, path: Path) -> None:
        """Save as a Solana CLI JSON keypair file readable by its owner only."""
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as fh:
            json.dump(list(bytes(self._keypair)), fh)
        os.chmod(path, 0o600)

    def __repr__(self) -> str:
        return f"TradingKey(pubkey={self.pubkey})"

    __str__ = __repr__

    def __reduce__(self) -> object:
        raise TypeError("TradingKey cannot be pickled: it holds a secret key")


def load_keypair(path: str | Path) -> TradingKey:
    """Read a Solana CLI keypair file (a JSON array of 64 bytes)."""
    path = Path(path)
    try:
        mode = path.stat().st_mode
        raw = path.read_text()
    except OSError as exc:
        raise KeypairFileError(f"{path}: cannot read keypair file ({exc.strerror})") from None
    if mode & (stat.S_IRWXG | stat.S_IRWXO):
        raise KeypairFileError(f"{path}: keypair file is readable by others (mode {stat.S_IMODE(mode):o}); chmod 600 it")
    try:
        values = json.loads(raw)
        if not (isinstance(values, list) and len(values) == 64 and all(isinstance(v, int) for v in values)):
            raise ValueError
        keypair = Keypair.from_bytes(bytes(values))
    except ValueError:
        raise KeypairFileError(f"{path}: not a Solana CLI keypair file (a JSON array of 64 bytes)") from None
    return TradingKey(keypair)
