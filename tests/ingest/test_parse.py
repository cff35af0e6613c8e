"""PubSub and RPC reply parsing: valid messages decode, garbage is refused with a reason."""

from __future__ import annotations

import base64
import json

import pytest
from solders.pubkey import Pubkey

from mevbot.events import AccountUpdate, SlotTick
from mevbot.ingest import pubsub
from mevbot.ingest.pubsub import MalformedNotification, SubscriptionAck, parse_message
from mevbot.ingest.rpc import RpcError, parse_account

POOL = Pubkey.new_unique()
OWNER = Pubkey.new_unique()


def _account_value(data: bytes = b"\x01\x02", encoding: str = "base64") -> dict:
    return {"data": [base64.b64encode(data).decode(), encoding], "owner": str(OWNER), "lamports": 7,
            "executable": False, "rentEpoch": 0, "space": len(data)}


def _notification(value: dict, subscription: int = 5) -> str:
    return json.dumps({"jsonrpc": "2.0", "method": "accountNotification",
                       "params": {"result": {"context": {"slot": 99}, "value": value}, "subscription": subscription}})


def test_account_notification_becomes_an_update() -> None:
    event = parse_message(_notification(_account_value(b"abc")), {5: POOL})
    assert event == AccountUpdate(POOL, OWNER, 7, b"abc", 99)


def test_slot_notification_and_ack() -> None:
    slot = {"jsonrpc": "2.0", "method": "slotNotification",
            "params": {"result": {"parent": 9, "root": 1, "slot": 10}, "subscription": 0}}
    assert parse_message(json.dumps(slot), {}) == SlotTick(10)
    assert parse_message('{"jsonrpc":"2.0","result":22,"id":3}', {}) == SubscriptionAck(3, 22)


def test_program_notification() -> None:
    message = {"jsonrpc": "2.0", "method": "programNotification", "params": {
        "result": {"context": {"slot": 4}, "value": {"pubkey": str(POOL), "account": _account_value(b"z")}},
        "subscription": 1}}
    assert parse_message(json.dumps(message), {}) == AccountUpdate(POOL, OWNER, 7, b"z", 4)


@pytest.mark.parametrize(
    "raw",
    [
        "not json",
        b"\xff\xfe",
        "[1, 2]",
        '{"jsonrpc":"2.0","id":3,"error":{"code":-32602,"message":"bad"}}',
        '{"jsonrpc":"2.0","method":"accountNotification"}',
        _notification(_account_value(), subscription=6),  # unknown subscription
        _notification({**_account_value(), "data": ["!!!", "base64"]}),
        _notification(_account_value(encoding="base58")),
        _notification({**_account_value(), "owner": "not-a-key"}),
        _notification({k: v for k, v in _account_value().items() if k != "lamports"}),
        '{"jsonrpc":"2.0","method":"rootNotification","params":{"result":1,"subscription":1}}',
    ],
)
def test_garbage_is_refused(raw: str | bytes) -> None:
    with pytest.raises(MalformedNotification):
        parse_message(raw, {5: POOL})


def test_rpc_account_parsing() -> None:
    assert parse_account(POOL, _account_value(b"q"), 3) == AccountUpdate(POOL, OWNER, 7, b"q", 3)
    for bad in (None, {}, {**_account_value(), "data": "abc"}, _account_value(encoding="jsonParsed")):
        with pytest.raises(RpcError):
            parse_account(POOL, bad, 3)


def _compact(data: str = "YWJj", owner: str = str(OWNER), lamports: str = "7", subscription: int = 5) -> str:
    """An account notification as nodes serialise it: compact, fields in order (the fast path's shape)."""
    return ('{"jsonrpc":"2.0","method":"accountNotification","params":{"result":{"context":{"slot":99,'
            f'"apiVersion":"2.1.0"}},"value":{{"lamports":{lamports},"data":["{data}","base64"],"owner":"{owner}",'
            f'"executable":false,"rentEpoch":18446744073709551615,"space":3}}}},"subscription":{subscription}}}}}')


def test_compact_notification_parses_as_the_general_path_does(monkeypatch: pytest.MonkeyPatch) -> None:
    raw = _compact()
    general = parse_message(json.dumps(json.loads(raw)), {5: POOL})  # spaced: not the fast path's shape
    assert general == parse_message(raw.encode(), {5: POOL}) == AccountUpdate(POOL, OWNER, 7, b"abc", 99)
    monkeypatch.setattr(pubsub.json, "loads", None)  # the compact text never reaches the JSON parser
    assert parse_message(raw, {5: POOL}) == general


@pytest.mark.parametrize(
    "raw",
    [
        _compact(data="YWJ"),  # bad padding
        _compact(data="YW=j"),  # padding inside
        _compact(owner="1" * 40),  # base58 alphabet, not 32 bytes
        _compact(lamports="07"),  # not JSON
        _compact(subscription=6),  # unknown subscription
        _compact() + " x",
    ],
)
def test_compact_garbage_is_still_refused(raw: str) -> None:
    with pytest.raises(MalformedNotification):
        parse_message(raw, {5: POOL})


@pytest.mark.parametrize("data", ["YW\\/j", "\\u0059WJj", "YW\\u002bj"])
def test_compact_data_with_json_escapes_gives_what_the_general_path_gives(data: str) -> None:
    """The fast path reads the data verbatim, so an escaped base64 character must fall through."""
    raw = _compact(data=data)
    expected = parse_message(json.dumps(json.loads(raw)), {5: POOL})  # spaced: the general path
    assert parse_message(raw, {5: POOL}) == expected
    assert expected.data == base64.b64decode(json.loads(raw)["params"]["result"]["value"]["data"][0])


def test_compact_data_with_an_escaped_quote_is_refused() -> None:
    with pytest.raises(MalformedNotification):
        parse_message(_compact(data='YW\\"j'), {5: POOL})
