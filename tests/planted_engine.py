"""An engine on a small planted universe with its market attached and no node: what engine tests
drive by hand (`process_updates`, `execute`, `keep_warm`)."""

from __future__ import annotations

from pathlib import Path

from solders.address_lookup_table_account import AddressLookupTableAccount
from solders.hash import Hash
from solders.pubkey import Pubkey

from mevbot.config import parse_config
from mevbot.dex.spl_token import NATIVE_MINT
from mevbot.engine import Endpoints, Engine
from mevbot.market.model import MarketModel
from mevbot.observe.store import Store
from mevbot.package.keys import TradingKey
from mevbot.package.route import market_accounts
from mevbot.sandbox.bundles import TIP_ACCOUNTS
from mevbot.sandbox.universe import generate_universe


def planted_engine(db_path: Path, *, dry_run: bool = True, warm_interval_ms: float = 1.0) -> tuple[Engine, Store]:
    """A 40-pool universe with two planted cycles, lookup tables for every pool; the caller closes the store."""
    config = parse_config({
        "dry_run": dry_run, "warm_interval_ms": warm_interval_ms,
        "decide": {"min_profit_lamports": 1, "max_notional_lamports": 10**18},
        "storage": {"db_path": str(db_path)}, "metrics": {"port": 0},
    })  # fmt: skip
    endpoints = Endpoints((), (), (("sandbox", "http://127.0.0.1:1"),), Path("unused"), base_mints=(NATIVE_MINT,))
    engine = Engine(config, endpoints)
    store = Store(config.storage.db_path)
    engine.open_state(store, TradingKey.generate())
    model, _ = MarketModel.from_accounts(generate_universe(7, 40, planted=2).accounts)
    accounts = market_accounts(model.registry, range(len(model.registry)), engine.key.pubkey)
    tables = [AddressLookupTableAccount(Pubkey.new_unique(), accounts[i : i + 256]) for i in range(0, len(accounts), 256)]
    engine.attach_market(model, slot=0, blockhash=Hash.new_unique(), tip_accounts=list(TIP_ACCOUNTS),
                         lookup_tables=tables)  # fmt: skip
    return engine, store
