"""Trading keys loaded from Solana CLI JSON keypair files, wrapped so they cannot leak.

solders' `Keypair` prints its secret in `repr()` and `str()`; a stray log line or traceback would
publish it. `TradingKey` holds the keypair privately and shows only the public key, and errors about
a key file never quote the file's contents.

Signing with prepared nonces. An Ed25519 signature of M by secret scalar a (public key A = a·B) is
(R, S) with R = r·B and S = r + H(R‖A‖M)·a mod L, for any secret r used once; verifiers check
S·B = R + H(R‖A‖M)·A and nothing else about r. RFC 8032 derives r from the message (deterministic
signatures), so r·B, ~80 % of a signature's ~25 µs, waits for the message. `prepare_signatures`
draws random r and computes r·B in idle time instead; a signature is then a hash, a multiply-add
and a reduction mod L. Each prepared nonce is popped once and forgotten (reusing one with two
messages would give away the key), and a forked child never inherits them.
"""

from __future__ import annotations

import hashlib
import json
import os
import weakref
from pathlib import Path

import nacl.bindings
from nacl._sodium import ffi, lib  # PyNaCl's cffi binding: its wrappers cost ~5 µs a call cold
from solders.keypair import Keypair
from solders.message import MessageV0, to_bytes_versioned
from solders.pubkey import Pubkey
from solders.signature import Signature
from solders.transaction import VersionedTransaction

from mevbot.secret_file import read_secret_text, write_secret_json


class KeypairFileError(ValueError):
    """A keypair file that cannot be used; the message names the file, never its contents."""


GROUP_ORDER = 2**252 + 27742317777372353535851937790883648493  # L, the order of Ed25519's base point
NONCES_KEPT = 64  # prepared signing nonces held at most


class TradingKey:
    """A signing key whose repr, str and pickling never expose the secret."""

    __slots__ = ("__weakref__", "_keypair", "_nonces", "_public", "_scalar", "_secret", "pubkey")

    def __init__(self, keypair: Keypair) -> None:
        self._keypair = keypair
        # libsodium signs in ~25 µs; solders' `VersionedTransaction(message, [keypair])` takes ~110 µs,
        # most of a bundle's packaging time. Its secret key is the keypair's 64 bytes (seed, public key).
        self._secret = bytes(keypair)
        self.pubkey: Pubkey = keypair.pubkey()
        self._public = bytes(self.pubkey)
        # RFC 8032's secret scalar: the seed's SHA-512, first half, clamped (reduced mod L here).
        half = bytearray(hashlib.sha512(self._secret[:32]).digest()[:32])
        half[0] &= 248
        half[31] = (half[31] & 127) | 64
        self._scalar = int.from_bytes(half, "little") % GROUP_ORDER
        self._nonces: list[tuple[int, bytes]] = []  # (r, R = r·B), each to be used once
        _KEYS.add(self)

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
        """The 64-byte Ed25519 signature of `payload`: with a prepared nonce while one is left
        (~6 µs), else libsodium's deterministic one (~25 µs, the signature solders' keypair makes)."""
        try:
            nonce, commitment = self._nonces.pop()
        except IndexError:  # none prepared
            return nacl.bindings.crypto_sign(payload, self._secret)[: nacl.bindings.crypto_sign_BYTES]
        digest = hashlib.sha512(commitment + self._public + payload).digest()
        challenge = int.from_bytes(digest, "little") % GROUP_ORDER
        # Python multiplies and adds fixed-size ints digit by digit, whatever their values;
        # libsodium reduces the secret-dependent sum (< 2^507) in constant time.
        unreduced = (nonce + challenge * self._scalar).to_bytes(64, "little")
        scalar = ffi.new("unsigned char[32]")
        lib.crypto_core_ed25519_scalar_reduce(scalar, unreduced)
        return commitment + ffi.buffer(scalar)[:]

    def prepare_signatures(self, count: int) -> None:
        """Draw up to `count` one-time nonces for `sign_bytes` (~25 µs each, for idle time),
        holding at most `NONCES_KEPT`."""
        for _ in range(min(count, NONCES_KEPT - len(self._nonces))):
            nonce = nacl.bindings.crypto_core_ed25519_scalar_reduce(os.urandom(64))
            commitment = nacl.bindings.crypto_scalarmult_ed25519_base_noclamp(nonce)
            self._nonces.append((int.from_bytes(nonce, "little"), commitment))

    @property
    def signatures_prepared(self) -> int:
        return len(self._nonces)

    def write(self, path: Path) -> None:
        """Save as a Solana CLI JSON keypair file readable by its owner only."""
        write_secret_json(path, list(bytes(self._keypair)), replace=True)

    def __repr__(self) -> str:
        return f"TradingKey(pubkey={self.pubkey})"

    __str__ = __repr__

    def __reduce__(self) -> object:
        raise TypeError("TradingKey cannot be pickled: it holds a secret key")


_KEYS: weakref.WeakSet[TradingKey] = weakref.WeakSet()


def _forget_nonces() -> None:
    """In a forked child: parent and child would otherwise sign with the same nonces."""
    for key in list(_KEYS):
        key._nonces.clear()


os.register_at_fork(after_in_child=_forget_nonces)


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
