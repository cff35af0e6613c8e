"""Config: the shipped files load; every kind of bad input names the file and the key."""

from __future__ import annotations

from pathlib import Path

import pytest

from mevbot.config import SOL_MINT, USDC_MINT, ConfigError, load_config, parse_config, redacted

CONFIGS = Path(__file__).resolve().parent.parent / "configs"


def test_shipped_sandbox_config_runs_on_the_sandbox_and_trades() -> None:
    config = load_config(CONFIGS / "sandbox.toml")
    assert config.uses_sandbox
    assert config.effective_dry_run is False
    assert config.sandbox.slot_ms == 400


def test_shipped_mainnet_config_is_dry_run() -> None:
    config = load_config(CONFIGS / "mainnet.toml")
    assert not config.uses_sandbox
    assert config.effective_dry_run is True
    assert [region.name for region in config.jito.regions] == ["ny", "amsterdam", "frankfurt"]


def test_a_real_node_without_an_explicit_dry_run_defaults_to_dry_run() -> None:
    config = parse_config({"node": {"rpc_urls": ["http://x"], "ws_urls": ["ws://x"]}, "keys": {"keypair_path": "k"},
                           "market": {"mints": [SOL_MINT, USDC_MINT]}})  # fmt: skip
    assert config.dry_run is None and config.effective_dry_run is True


def test_config_is_frozen() -> None:
    config = parse_config({})
    with pytest.raises(AttributeError):
        config.search.max_hops = 2  # type: ignore[misc]


@pytest.mark.parametrize(
    ("text", "key", "expected"),
    [
        ("dry_run = 1", "dry_run", "true or false"),
        ("[search]\nmax_hops = 7", "search.max_hops", "from 2 to 4"),
        ("[search]\nmax_hopz = 3", "search.max_hopz", "known keys"),
        ("[searc]\nmax_hops = 3", "searc", "known keys"),
        ("[sandbox]\njito_slot_share = 1.5", "sandbox.jito_slot_share", "from 0.0 to 1.0"),
        ("[sandbox]\nslot_ms = 'fast'", "sandbox.slot_ms", "an integer"),
        ("[sandbox]\nstatus_reasons = 'no'", "sandbox.status_reasons", "expected true or false"),
        ("[node]\ncommitment = 'final'", "node.commitment", "'processed'"),
        ("[[jito.regions]]\nname = 'ny'\nurl = 3", "jito.regions[0].url", "a string"),
        ("search = 3", "search", "a table"),
        ("warm_interval_ms = -1", "warm_interval_ms", "from 0.0 to 1000.0"),
        ("warm_interval_ms = 0.25", "warm_interval_ms", "0 (off) or from 1.0"),
        (f"[node]\nrpc_urls = ['http://x']\nws_urls = ['ws://x']\n[market]\npools = ['{SOL_MINT}']", "keys.keypair_path",
         "keypair"),
        ("[node]\nrpc_urls = ['http://x']\nws_urls = ['ws://x']\n[keys]\nkeypair_path = 'k'", "market", "pools or mints"),
        ("[market]\nmints = ['So11111111111111111111111111111111111111112', 'USDC']", "market.mints[1]",
         "base58 account address"),
    ],
)
def test_bad_values_name_the_file_and_key(tmp_path: Path, text: str, key: str, expected: str) -> None:
    path = tmp_path / "bad.toml"
    path.write_text(text)
    with pytest.raises(ConfigError) as info:
        load_config(path)
    assert info.value.key == key
    assert str(path) in str(info.value)
    assert expected in str(info.value)


def test_invalid_toml_and_missing_file_are_config_errors(tmp_path: Path) -> None:
    bad = tmp_path / "broken.toml"
    bad.write_text("x = [")
    with pytest.raises(ConfigError, match="valid TOML"):
        load_config(bad)
    with pytest.raises(ConfigError, match="readable"):
        load_config(tmp_path / "absent.toml")


def test_secrets_are_masked() -> None:
    config = parse_config({"jito": {"auth_uuid": "f00d-secret-uuid"}})
    shown = redacted(config)
    assert shown["jito"]["auth_uuid"] == "***"
    assert "f00d-secret-uuid" not in repr(shown)
