"""Reading a loss from the chain: what a landed transaction bid (tip to the tip accounts, compute it
asked for), and whether it outbid ours, per requested unit as the auction ranks them."""

from __future__ import annotations

import base64
from collections.abc import Sequence

import pytest
from solders.address_lookup_table_account import AddressLookupTableAccount
from solders.compute_budget import set_compute_unit_limit, set_compute_unit_price
from solders.hash import Hash
from solders.instruction import AccountMeta, Instruction
from solders.keypair import Keypair
from solders.message import MessageV0
from solders.pubkey import Pubkey
from solders.system_program import TransferParams, transfer
from solders.transaction import VersionedTransaction

from mevbot.observe.pnl import MetaError
from mevbot.observe.rivals import Bid, Taker, requested_units, taker, verdict

PAYER = Keypair()
TIP, OTHER_TIP, POOL = Pubkey.new_unique(), Pubkey.new_unique(), Pubkey.new_unique()
PROGRAM = Pubkey.new_unique()


def _swap() -> Instruction:
    return Instruction(PROGRAM, b"\x09", [AccountMeta(POOL, False, True)])


def _tip(to: Pubkey, lamports: int) -> Instruction:
    return transfer(TransferParams(from_pubkey=PAYER.pubkey(), to_pubkey=to, lamports=lamports))


def _transaction(
    instructions: list[Instruction], tables: Sequence[AddressLookupTableAccount] = ()
) -> VersionedTransaction:
    message = MessageV0.try_compile(PAYER.pubkey(), instructions, list(tables), Hash.default())
    return VersionedTransaction(message, [PAYER])


def test_the_units_asked_are_the_limit_set_or_200k_per_other_instruction_capped_at_1_4m() -> None:
    assert requested_units(_transaction([set_compute_unit_limit(250_000), _swap(), _tip(TIP, 1)]).message) == 250_000
    assert requested_units(_transaction([set_compute_unit_price(5), _swap(), _tip(TIP, 1)]).message) == 400_000
    assert requested_units(_transaction([_swap()] * 8).message) == 1_400_000
    assert requested_units(_transaction([set_compute_unit_limit(2_000_000), _swap()]).message) == 1_400_000


def test_a_taker_bids_what_its_tip_accounts_gained_also_through_a_lookup_table() -> None:
    table = AddressLookupTableAccount(Pubkey.new_unique(), [OTHER_TIP])
    instructions = [set_compute_unit_limit(300_000), _swap(), _tip(TIP, 7_000), _tip(OTHER_TIP, 3_000)]
    transaction = _transaction(instructions, [table])
    keys = list(transaction.message.account_keys)  # the static ones; OTHER_TIP comes from the table
    assert TIP in keys and OTHER_TIP not in keys
    before = [10**9] + [0] * (len(keys) - 1) + [5]
    after = list(before)
    after[0] -= 10_000 + 5_000
    after[keys.index(TIP)] += 7_000
    after[-1] += 3_000
    reply = {
        "slot": 42,
        "transaction": [base64.b64encode(bytes(transaction)).decode(), "base64"],
        "meta": {"preBalances": before, "postBalances": after,
                 "loadedAddresses": {"writable": [str(OTHER_TIP)], "readonly": []}},
    }  # fmt: skip

    found = taker(reply, {TIP, OTHER_TIP})

    assert found == Taker(str(transaction.signatures[0]), 42, PAYER.pubkey(), Bid(10_000, 300_000))
    assert taker(reply, {TIP}).bid == Bid(7_000, 300_000)  # only what the given tip accounts gained


@pytest.mark.parametrize(
    "spoil",
    [
        lambda r: r.update(transaction=[r["transaction"][0], "base58"]),
        lambda r: r.update(transaction=["not base64!", "base64"]),
        lambda r: r.update(transaction=[base64.b64encode(b"\x01\x02").decode(), "base64"]),
        lambda r: r["meta"]["postBalances"].pop(),
        lambda r: r["meta"].pop("preBalances"),
        lambda r: r.update(slot="soon"),
        lambda r: r.update(meta=None),
        lambda r: r["meta"].update(loadedAddresses={"writable": ["not a key"]}),
    ],
)
def test_a_malformed_reply_is_refused_with_meta_error(spoil) -> None:  # type: ignore[no-untyped-def]
    transaction = _transaction([_swap(), _tip(TIP, 1_000)])
    width = len(transaction.message.account_keys)
    reply = {
        "slot": 1,
        "transaction": [base64.b64encode(bytes(transaction)).decode(), "base64"],
        "meta": {"preBalances": [0] * width, "postBalances": [0] * width},
    }
    taker(reply, {TIP})  # well formed as it stands
    spoil(reply)
    with pytest.raises(MetaError):
        taker(reply, {TIP})


def test_the_auction_ranks_tip_per_requested_unit_not_the_whole_tip() -> None:
    ours = Bid(10_000, 400_000)  # 0.025 a unit
    lean = Taker("lean", 7, PAYER.pubkey(), Bid(6_000, 200_000))  # less tip, 0.03 a unit: outbids us
    heavy = Taker("heavy", 6, PAYER.pubkey(), Bid(12_000, 600_000))  # more tip, 0.02 a unit: does not
    equal = Taker("equal", 5, PAYER.pubkey(), Bid(5_000, 200_000))  # a tie is no outbid
    assert lean.bid.beats(ours) and not heavy.bid.beats(ours) and not equal.bid.beats(ours)

    assert verdict(ours, []) is None
    outbid, why = verdict(ours, [equal, heavy, lean])  # type: ignore[misc]
    assert outbid and why == (
        "outbid by lean at slot 7: 6,000 lamports for 200,000 CU against our 10,000 lamports for 400,000 CU"
    )
    outbid, why = verdict(ours, [equal, heavy])  # type: ignore[misc]
    assert not outbid and why.startswith("pools taken by equal at slot 5, bidding 5,000 lamports for 200,000 CU")
