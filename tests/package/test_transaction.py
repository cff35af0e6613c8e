"""Packaging: v0 layout, tip placement, lookup tables, the leader's size and lock limits, keys that never leak."""

from __future__ import annotations

import base64
import json
import os
import pickle
import random
from pathlib import Path

import nacl.bindings
import pytest
from solders.address_lookup_table_account import AddressLookupTableAccount
from solders.hash import Hash
from solders.instruction import AccountMeta, Instruction
from solders.keypair import Keypair
from solders.pubkey import Pubkey
from solders.signature import Signature
from solders.transaction import VersionedTransaction
from spl.token.instructions import get_associated_token_address

from mevbot.dex.spl_token import TOKEN_2022_PROGRAM_ID
from mevbot.package.bundle import Bundle, backrun, bundle_id
from mevbot.package.keys import GROUP_ORDER, NONCES_KEPT, KeypairFileError, TradingKey, load_keypair
from mevbot.package.transaction import (
    PACKET_DATA_SIZE,
    PackageError,
    RoutePlan,
    Tip,
    build_transaction,
    route_instructions,
)

BLOCKHASH = Hash.new_unique()
COMPUTE_BUDGET = Pubkey.from_string("ComputeBudget111111111111111111111111111111")
SYSTEM = Pubkey.from_string("11111111111111111111111111111111")


def _hop(n_accounts: int) -> Instruction:
    metas = [AccountMeta(Pubkey.new_unique(), is_signer=False, is_writable=i % 2 == 0) for i in range(n_accounts)]
    return Instruction(Pubkey.new_unique(), bytes(17), metas)


def _route(hops: int, accounts_per_hop: int) -> RoutePlan:
    return RoutePlan(hops=tuple(_hop(accounts_per_hop) for _ in range(hops)))


def test_layout_budget_first_tip_last_and_static() -> None:
    payer, tip = TradingKey.generate(), Tip(Pubkey.new_unique(), 10_000)
    plan = _route(2, 6)
    ixs = route_instructions(payer.pubkey, plan, compute_unit_limit=300_000, compute_unit_price=5, tip=tip)
    tx = build_transaction(payer, ixs, BLOCKHASH, tip=tip)
    message = tx.message
    keys = message.account_keys
    programs = [keys[ix.program_id_index] for ix in message.instructions]
    assert programs[:2] == [COMPUTE_BUDGET, COMPUTE_BUDGET]
    assert programs[-1] == SYSTEM
    tip_ix = message.instructions[-1]
    assert keys[tip_ix.accounts[1]] == tip.account
    assert int.from_bytes(bytes(tip_ix.data)[4:12], "little") == 10_000
    assert tx.verify_with_results() == [True]
    assert len(bytes(tx)) <= PACKET_DATA_SIZE


def test_a_four_hop_route_needs_a_lookup_table_and_fits_with_one() -> None:
    payer, tip = TradingKey.generate(), Tip(Pubkey.new_unique(), 1)
    plan = _route(4, 13)
    ixs = route_instructions(payer.pubkey, plan, compute_unit_limit=400_000, tip=tip)
    with pytest.raises(PackageError) as info:
        build_transaction(payer, ixs, BLOCKHASH, tip=tip)
    assert info.value.reason == "too_large"
    table = AddressLookupTableAccount(
        Pubkey.new_unique(), [meta.pubkey for hop in plan.hops for meta in hop.accounts]
    )
    tx = build_transaction(payer, ixs, BLOCKHASH, lookup_tables=[table], tip=tip)
    assert len(bytes(tx)) <= PACKET_DATA_SIZE
    assert tx.message.address_table_lookups
    assert VersionedTransaction.from_bytes(bytes(tx)).message == tx.message


def test_too_many_account_locks_is_refused_even_with_a_table() -> None:
    payer = TradingKey.generate()
    plan = _route(5, 14)
    table = AddressLookupTableAccount(Pubkey.new_unique(), [m.pubkey for hop in plan.hops for m in hop.accounts])
    ixs = route_instructions(payer.pubkey, plan, compute_unit_limit=400_000)
    with pytest.raises(PackageError) as info:
        build_transaction(payer, ixs, BLOCKHASH, lookup_tables=[table])
    assert info.value.reason == "too_many_accounts"


def test_tip_account_may_not_come_through_a_lookup_table() -> None:
    payer, tip = TradingKey.generate(), Tip(Pubkey.new_unique(), 1)
    ixs = route_instructions(payer.pubkey, _route(1, 3), compute_unit_limit=200_000, tip=tip)
    table = AddressLookupTableAccount(Pubkey.new_unique(), [tip.account])
    with pytest.raises(PackageError) as info:
        build_transaction(payer, ixs, BLOCKHASH, lookup_tables=[table], tip=tip)
    assert info.value.reason == "tip_in_lookup_table"


def test_wsol_wrap_and_atas_surround_the_hops() -> None:
    payer = TradingKey.generate()
    mint = Pubkey.new_unique()
    plan = RoutePlan(hops=(_hop(3),), token_accounts=((mint, TOKEN_2022_PROGRAM_ID),), wrap_lamports=5_000,
                     unwrap_sol=True)  # fmt: skip
    ixs = route_instructions(payer.pubkey, plan, compute_unit_limit=200_000)
    assert len(ixs) == 1 + 1 + 2 + 1 + 1  # budget, ATA, wrap (transfer + sync), hop, close
    assert ixs[4] is plan.hops[0]
    assert bytes(ixs[-1].data) == bytes([9])  # SPL Token CloseAccount
    create = ixs[1]  # CreateIdempotent: payer, ATA, owner, mint, system program, token program
    assert bytes(create.data) == bytes([1]) and create.accounts[5].pubkey == TOKEN_2022_PROGRAM_ID
    assert create.accounts[1].pubkey == get_associated_token_address(payer.pubkey, mint, TOKEN_2022_PROGRAM_ID)


def test_bad_compute_limit_is_refused() -> None:
    with pytest.raises(PackageError):
        route_instructions(Pubkey.new_unique(), _route(1, 1), compute_unit_limit=0)


def test_bundle_limits_and_id() -> None:
    payer = TradingKey.generate()
    txs = [
        build_transaction(payer, route_instructions(payer.pubkey, _route(1, 2), compute_unit_limit=1000), BLOCKHASH)
        for _ in range(6)
    ]
    with pytest.raises(PackageError):
        Bundle(tuple(txs))
    with pytest.raises(PackageError):
        Bundle(())
    bundle = backrun(txs[0], txs[1])
    assert bundle.transactions == (txs[0], txs[1])
    assert len(bundle.bundle_id) == 64
    assert bundle.bundle_id == bundle_id([txs[0], txs[1]]) != bundle_id([txs[1], txs[0]])
    assert VersionedTransaction.from_bytes(base64.b64decode(bundle.encoded()[1])) == txs[1]


def test_bundle_from_wire_is_the_bundle_of_its_transactions() -> None:
    payer = TradingKey.generate()
    txs = [
        build_transaction(payer, route_instructions(payer.pubkey, _route(1, 2), compute_unit_limit=1000), BLOCKHASH)
        for _ in range(6)
    ]
    parsed = Bundle((txs[0], txs[1]))
    wired = Bundle.from_wire([bytes(txs[0]), bytes(txs[1])])
    assert wired == parsed and hash(wired) == hash(parsed) and wired != Bundle.from_wire([bytes(txs[1])])
    assert wired.wire == parsed.wire == (bytes(txs[0]), bytes(txs[1]))
    assert wired.encoded() == parsed.encoded() and wired.bundle_id == parsed.bundle_id
    assert wired.transactions == (txs[0], txs[1])
    with pytest.raises(PackageError):
        Bundle.from_wire([bytes(tx) for tx in txs])
    with pytest.raises(PackageError):
        Bundle.from_wire([])


def test_keys_never_show_their_secret(tmp_path: Path) -> None:
    key = TradingKey.generate()
    path = tmp_path / "id.json"
    key.write(path)
    assert path.stat().st_mode & 0o777 == 0o600
    secret = json.loads(path.read_text())
    loaded = load_keypair(path)
    assert loaded.pubkey == key.pubkey
    secret_b58 = str(Keypair.from_bytes(bytes(secret)))
    for text in (repr(loaded), str(loaded), f"{loaded}"):
        assert secret_b58 not in text and str(secret[:8])[1:-1] not in text
    with pytest.raises(TypeError):
        pickle.dumps(loaded)


def test_a_key_signs_as_its_keypair_does() -> None:
    keypair = Keypair()
    key = TradingKey(keypair)
    for payload in (b"", b"\x80message", bytes(range(256)) * 4):
        assert key.sign_bytes(payload) == bytes(keypair.sign_message(payload))


def test_prepared_nonces_sign_validly_each_once_then_signing_is_deterministic_again() -> None:
    keypair = Keypair()
    key = TradingKey(keypair)
    key.prepare_signatures(3)
    assert key.signatures_prepared == 3
    payloads = [b"", b"\x80message", bytes(range(256)) * 4, b"\x80message"]
    signatures = [key.sign_bytes(payload) for payload in payloads]
    assert key.signatures_prepared == 0
    for payload, signature in zip(payloads, signatures, strict=True):
        _assert_strictly_valid(key, payload, signature)
    deterministic = [bytes(keypair.sign_message(payload)) for payload in payloads]
    assert all(signatures[i] != deterministic[i] for i in range(3))  # each used a prepared nonce
    assert signatures[3] == deterministic[3]  # none was left
    assert len({signature[:32] for signature in signatures}) == 4  # no commitment R twice


def test_many_prepared_signatures_all_verify_and_the_stock_is_capped() -> None:
    key = TradingKey.generate()
    key.prepare_signatures(NONCES_KEPT + 5)
    assert key.signatures_prepared == NONCES_KEPT
    rng = random.Random(5)
    for _ in range(4):
        key.prepare_signatures(NONCES_KEPT)
        for _ in range(NONCES_KEPT):
            payload = rng.randbytes(rng.randrange(1, 1232))
            _assert_strictly_valid(key, payload, key.sign_bytes(payload))


def _assert_strictly_valid(key: TradingKey, payload: bytes, signature: bytes) -> None:
    nacl.bindings.crypto_sign_open(signature + payload, bytes(key.pubkey))  # raises if not valid
    assert Signature.from_bytes(signature).verify(key.pubkey, payload)
    assert int.from_bytes(signature[32:], "little") < GROUP_ORDER  # canonical S, as strict verifiers want


@pytest.mark.skipif(not hasattr(os, "fork"), reason="needs os.fork")
def test_a_forked_child_never_signs_with_its_parents_nonces() -> None:
    key = TradingKey.generate()
    key.prepare_signatures(4)
    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: report what it holds, sign nothing
        os.write(write, bytes([key.signatures_prepared]))
        os._exit(0)
    os.waitpid(pid, 0)
    assert os.read(read, 1) == b"\x00"
    assert key.signatures_prepared == 4
    os.close(read)
    os.close(write)


def test_bad_keypair_files_are_named_not_quoted(tmp_path: Path) -> None:
    path = tmp_path / "bad.json"
    path.write_text(json.dumps(list(range(63))))
    path.chmod(0o600)
    with pytest.raises(KeypairFileError) as info:
        load_keypair(path)
    assert str(path) in str(info.value) and "62" not in str(info.value)
    open_path = tmp_path / "open.json"
    TradingKey.generate().write(open_path)
    open_path.chmod(0o644)
    with pytest.raises(KeypairFileError, match="chmod 600"):
        load_keypair(open_path)
    with pytest.raises(KeypairFileError, match="cannot read"):
        load_keypair(tmp_path / "missing.json")
