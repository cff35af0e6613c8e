"""Frozen, typed configuration loaded from TOML.

Every section is a frozen dataclass; the loader walks the dataclass fields, so the schema is the
code. An unknown key, a wrong type or an out-of-range value raises one `ConfigError` that names the
file, the key and what was expected. Nothing half-valid is ever returned.
"""

from __future__ import annotations

import dataclasses
import types
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal, Union, get_args, get_origin, get_type_hints

import tomli
from solders.pubkey import Pubkey

SOL_MINT = "So11111111111111111111111111111111111111112"
USDC_MINT = "EPjFWdd5AufqSSqeM2qN1xzybapC8G4wEGGkZwyTDt1v"
USDT_MINT = "Es9vMFrzaCERmJfrF4H2FYD4KCoNkY11McCe8BenwNYB"

Commitment = Literal["processed", "confirmed", "finalized"]


class ConfigError(ValueError):
    """A config file that cannot be used, with the exact key at fault."""

    def __init__(self, file: str, key: str, expected: str, got: str) -> None:
        self.file, self.key, self.expected, self.got = file, key, expected, got
        where = f"{file}: {key}" if key else file
        super().__init__(f"{where}: expected {expected}, got {got}")


def bounded(default: Any, low: float | None = None, high: float | None = None, **meta: Any) -> Any:
    """A field with an inclusive numeric range the loader enforces."""
    return field(default=default, metadata={"min": low, "max": high, **meta})


def secret(default: str = "") -> Any:
    """A field shown masked by `mevbot config check` and never logged."""
    return field(default=default, metadata={"secret": True})


@dataclass(frozen=True)
class NodeConfig:
    """Where the chain is. No RPC URL means: start the embedded sandbox and trade against it."""

    rpc_urls: tuple[str, ...] = ()
    ws_urls: tuple[str, ...] = ()
    commitment: Commitment = "processed"
    request_timeout_s: float = bounded(2.0, 0.05, 60.0)


@dataclass(frozen=True)
class KeysConfig:
    """The trading keypair: a Solana CLI JSON file. Empty on the sandbox (it funds its own)."""

    keypair_path: str = ""


@dataclass(frozen=True)
class SearchConfig:
    base_mints: tuple[str, ...] = (SOL_MINT, USDC_MINT, USDT_MINT)
    max_hops: int = bounded(4, 2, 4)
    min_profit_lamports: int = bounded(1, 0, None)


@dataclass(frozen=True)
class MarketConfig:
    """Which pools to trade: those in `pools` (pool account addresses) and every pool, on each venue,
    whose two mints are both in `mints`. Both empty: every pool of every venue, which only the
    sandbox can serve (on mainnet it is millions of accounts), so a config with an RPC URL must
    name pools or mints."""

    pools: tuple[str, ...] = ()
    mints: tuple[str, ...] = ()


@dataclass(frozen=True)
class SandboxConfig:
    """The embedded local cluster (DESIGN §4). Ports of 0 pick free ones."""

    seed: int = bounded(1, 0, None)
    pools: int = bounded(200, 2, 100_000)
    slot_ms: int = bounded(400, 1, 60_000)
    confirmation_slots: int = bounded(2, 0, 1_000)  # a landed transaction is confirmed this many slots later
    status_reasons: bool = True  # bundle statuses say why a bundle failed (mainnet's do not)
    jito_slot_share: float = bounded(0.8, 0.0, 1.0)
    rpc_port: int = bounded(0, 0, 65535)
    ws_port: int = bounded(0, 0, 65535)
    block_engine_port: int = bounded(0, 0, 65535)
    competitors: int = bounded(1, 0, 64)
    user_swaps_per_slot: float = bounded(2.0, 0.0, 1000.0)
    rate_limit_per_s: float = bounded(50.0, 0.1, 100_000.0)
    program_binaries: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class JitoRegion:
    name: str = ""
    url: str = ""
    rate_limit_per_s: float = bounded(5.0, 0.1, 10_000.0)


@dataclass(frozen=True)
class JitoConfig:
    """Block engines. No region means: use the sandbox's block engine."""

    regions: tuple[JitoRegion, ...] = ()
    auth_uuid: str = secret()
    hedge_regions: int = bounded(2, 1, 16)
    status_deadline_s: float = bounded(30.0, 1.0, 600.0)


@dataclass(frozen=True)
class DecideConfig:
    """Decision policy and risk limits. Amounts in lamports; cycles start and end in SOL."""

    tip_fractions: tuple[float, ...] = (0.1, 0.3, 0.5, 0.7, 0.9)  # the bandit's arms; one value = a fixed tip
    max_explore_share: float = bounded(1.0, 0.0, 1.0)
    min_profit_lamports: int = bounded(10_000, 0, None)
    priority_fee_micro_lamports: int = bounded(0, 0, None)
    max_opportunity_age_slots: int = bounded(2, 0, 150)
    max_notional_lamports: int = bounded(10_000_000_000, 1, None)
    max_daily_loss_lamports: int = bounded(1_000_000_000, 0, None)
    max_failures_in_row: int = bounded(20, 1, None)
    max_tips_per_hour_lamports: int = bounded(10_000_000_000, 0, None)
    cooldown_s: float = bounded(60.0, 0.0, 86_400.0)
    max_cooldowns_per_hour: int = bounded(3, 0, None)  # one more breach within the hour halts
    # mint (or "default" for any other) → the most the wallet may hold, raw units; cycles hold none
    max_inventory: Mapping[str, int] = field(default_factory=dict, metadata={"min": 0, "max": None})


@dataclass(frozen=True)
class ControlConfig:
    """Signed operator commands. Keys are Ed25519 public keys in hex (`mevbot keygen` prints them)."""

    daemon_id: str = "mevbot"
    socket_path: str = "mevbot-control.sock"
    emergency_stop_file: str = "mevbot.STOP"  # its presence halts trading; no key needed
    operators: Mapping[str, str] = field(default_factory=dict)
    thresholds: Mapping[str, int] = field(default_factory=dict, metadata={"min": 1, "max": 16})
    max_ttl_s: float = bounded(3600.0, 1.0, 86_400.0)

    def __post_init__(self) -> None:
        """Commands the file does not mention keep the safe defaults: 1 signer to kill, 2 for the rest."""
        defaults = {"kill": 1, "resume": 2, "set-limit": 2, "set-bandit": 2}
        object.__setattr__(self, "thresholds", {**defaults, **self.thresholds})


@dataclass(frozen=True)
class PackageConfig:
    """Address lookup tables let 3- and 4-hop routes fit in 1232 bytes."""

    lookup_tables: tuple[str, ...] = ()  # existing tables to use (addresses)
    install_lookup_tables: bool | None = None  # create tables for the whole market at start; None: on the sandbox only


@dataclass(frozen=True)
class StorageConfig:
    db_path: str = "mevbot.duckdb"


@dataclass(frozen=True)
class MetricsConfig:
    """The Prometheus endpoint, also what `mevbot watch` reads. Port 0 turns it off.

    It has no authentication, so it binds loopback by default: scrape it with a local Prometheus
    agent or reach it through an SSH tunnel rather than binding a public address.
    """

    host: str = "127.0.0.1"
    port: int = bounded(9464, 0, 65535)


@dataclass(frozen=True)
class Config:
    """The whole daemon configuration. `dry_run` None means: decide from where we run."""

    dry_run: bool | None = None
    cpu_affinity: tuple[int, ...] = ()  # cores the event loop is pinned to; empty: leave as started
    warm_interval_ms: float = bounded(1.0, 0.0, 1000.0)  # idle work (rehearsal, compiles ahead, signing nonces) this often; 0: none
    node: NodeConfig = field(default_factory=NodeConfig)
    keys: KeysConfig = field(default_factory=KeysConfig)
    search: SearchConfig = field(default_factory=SearchConfig)
    market: MarketConfig = field(default_factory=MarketConfig)
    sandbox: SandboxConfig = field(default_factory=SandboxConfig)
    jito: JitoConfig = field(default_factory=JitoConfig)
    decide: DecideConfig = field(default_factory=DecideConfig)
    package: PackageConfig = field(default_factory=PackageConfig)
    storage: StorageConfig = field(default_factory=StorageConfig)
    control: ControlConfig = field(default_factory=ControlConfig)
    metrics: MetricsConfig = field(default_factory=MetricsConfig)
    source: str = field(default="<defaults>", metadata={"internal": True})

    @property
    def uses_sandbox(self) -> bool:
        return not self.node.rpc_urls

    @property
    def effective_dry_run(self) -> bool:
        """Safe default: a config that points at a real node sends nothing unless it says so."""
        if self.dry_run is not None:
            return self.dry_run
        return not self.uses_sandbox


def load_config(path: str | Path) -> Config:
    """Read and validate a TOML file; raise ConfigError naming the file and key on any fault."""
    name = str(path)
    try:
        raw = Path(path).read_bytes()
    except OSError as exc:
        raise ConfigError(name, "", "a readable TOML file", exc.strerror or str(exc)) from None
    try:
        table = tomli.loads(raw.decode("utf-8"))
    except (tomli.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise ConfigError(name, "", "valid TOML", str(exc)) from None
    return parse_config(table, source=name)


def parse_config(table: Mapping[str, Any], source: str = "<memory>") -> Config:
    config = _build(Config, table, source, "")
    _check_cross_field(config, source)
    return dataclasses.replace(config, source=source)


def _check_cross_field(config: Config, source: str) -> None:
    if config.node.rpc_urls and not config.node.ws_urls:
        raise ConfigError(source, "node.ws_urls", "one websocket URL per RPC URL when rpc_urls is set", "none")
    if 0 < config.warm_interval_ms < 1:  # uvloop's timers tick in whole milliseconds: less would spin
        raise ConfigError(source, "warm_interval_ms", "0 (off) or from 1.0 to 1000.0", repr(config.warm_interval_ms))
    if any(core < 0 for core in config.cpu_affinity):
        raise ConfigError(source, "cpu_affinity", "core numbers ≥ 0", repr(list(config.cpu_affinity)))
    fractions = config.decide.tip_fractions
    if not fractions or any(not 0.0 <= f < 1.0 for f in fractions):
        raise ConfigError(source, "decide.tip_fractions", "a non-empty array of numbers in [0, 1)", repr(list(fractions)))
    for command in config.control.thresholds:
        if command not in ("kill", "resume", "set-limit", "set-bandit"):
            raise ConfigError(source, f"control.thresholds.{command}", "kill, resume, set-limit or set-bandit", "an unknown command")
    for name, public in config.control.operators.items():
        if len(public) != 64 or any(c not in "0123456789abcdef" for c in public):
            raise ConfigError(source, f"control.operators.{name}", "an Ed25519 public key as 64 hex digits", repr(public))
    for key in ("pools", "mints"):
        for index, address in enumerate(getattr(config.market, key)):
            try:
                Pubkey.from_string(address)
            except ValueError:
                raise ConfigError(source, f"market.{key}[{index}]", "a base58 account address", repr(address)) from None
    if not config.uses_sandbox and not (config.market.pools or config.market.mints):
        raise ConfigError(source, "market", "pools or mints to trade when trading against a real node (every pool "
                          "of every venue is millions of accounts)", "neither")  # fmt: skip
    if not config.uses_sandbox and not config.keys.keypair_path:
        raise ConfigError(source, "keys.keypair_path", "a keypair file when trading against a real node", "none")


def _build(cls: type, table: Any, source: str, prefix: str) -> Any:
    if not isinstance(table, Mapping):
        raise ConfigError(source, prefix.rstrip("."), "a table", _describe(table))
    hints = get_type_hints(cls)
    public = {f.name: f for f in dataclasses.fields(cls) if not f.metadata.get("internal")}
    for key in table:
        if key not in public:
            raise ConfigError(
                source, prefix + key, f"one of the known keys ({', '.join(public)})", "an unknown key"
            )
    values = {
        name: _coerce(hints[name], table[name], public[name].metadata, source, prefix + name)
        for name in public
        if name in table
    }
    return cls(**values)


def _coerce(kind: Any, value: Any, meta: Mapping[str, Any], source: str, key: str) -> Any:
    origin = get_origin(kind)
    if origin in (Union, types.UnionType):
        options = [arg for arg in get_args(kind) if arg is not type(None)]
        return _coerce(options[0], value, meta, source, key)
    if dataclasses.is_dataclass(kind):
        return _build(kind, value, source, key + ".")
    if origin is Literal:
        choices = get_args(kind)
        if value not in choices:
            raise ConfigError(source, key, f"one of {', '.join(map(repr, choices))}", repr(value))
        return value
    if origin is tuple:
        if not isinstance(value, list):
            raise ConfigError(source, key, "an array", _describe(value))
        item = get_args(kind)[0]
        return tuple(_coerce(item, v, {}, source, f"{key}[{i}]") for i, v in enumerate(value))
    if origin is Mapping:
        if not isinstance(value, Mapping):
            raise ConfigError(source, key, "a table", _describe(value))
        item = get_args(kind)[1]
        return {str(k): _coerce(item, v, meta, source, f"{key}.{k}") for k, v in value.items()}
    if kind is bool:
        if not isinstance(value, bool):
            raise ConfigError(source, key, "true or false", _describe(value))
        return value
    if kind is int:
        if isinstance(value, bool) or not isinstance(value, int):
            raise ConfigError(source, key, "an integer", _describe(value))
        return _in_range(value, meta, source, key, "an integer")
    if kind is float:
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise ConfigError(source, key, "a number", _describe(value))
        return _in_range(float(value), meta, source, key, "a number")
    if kind is str:
        if not isinstance(value, str):
            raise ConfigError(source, key, "a string", _describe(value))
        return value
    raise TypeError(f"config schema: unsupported type {kind!r} at {key}")


def _in_range(value: float, meta: Mapping[str, Any], source: str, key: str, noun: str) -> Any:
    low, high = meta.get("min"), meta.get("max")
    if (low is not None and value < low) or (high is not None and value > high):
        if high is None:
            expected = f"{noun} ≥ {low}"
        elif low is None:
            expected = f"{noun} ≤ {high}"
        else:
            expected = f"{noun} from {low} to {high}"
        raise ConfigError(source, key, expected, repr(value))
    return value


def _describe(value: Any) -> str:
    names = {bool: "a boolean", int: "an integer", float: "a number", str: "a string", list: "an array"}
    return f"{names.get(type(value), type(value).__name__)} ({value!r})" if not isinstance(value, dict) else "a table"


def redacted(config: Config) -> dict[str, Any]:
    """The resolved config as plain data with every secret masked: safe to print or log."""
    return _redact(config)


def _redact(obj: Any) -> Any:
    if dataclasses.is_dataclass(obj):
        out: dict[str, Any] = {}
        for f in dataclasses.fields(obj):
            if f.metadata.get("internal"):
                continue
            value = getattr(obj, f.name)
            out[f.name] = ("***" if value else "") if f.metadata.get("secret") else _redact(value)
        return out
    if isinstance(obj, tuple):
        return [_redact(v) for v in obj]
    if isinstance(obj, Mapping):
        return {k: _redact(v) for k, v in obj.items()}
    return obj
