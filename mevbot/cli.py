"""The `mevbot` command. Thin: parse the arguments, load the config, call one function, render with rich.

Exit codes: 0 success, 1 runtime failure, 2 bad input (config, file, arguments).
"""

from __future__ import annotations

import base64
import binascii
import dataclasses
import json
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.table import Table
from solders.pubkey import Pubkey

from mevbot import __version__
from mevbot.config import ConfigError, load_config, redacted

app = typer.Typer(
    name="mevbot",
    help="A Solana MEV searcher daemon: exact venue math, cycle search, Jito bundles.",
    no_args_is_help=True,
    add_completion=False,
)
config_app = typer.Typer(help="Inspect configuration files.", no_args_is_help=True)
app.add_typer(config_app, name="config")
audit_app = typer.Typer(help="Check the audit chains in the store.", no_args_is_help=True)
app.add_typer(audit_app, name="audit")
bundle_app = typer.Typer(help="Ask a block engine about bundles.", no_args_is_help=True)
app.add_typer(bundle_app, name="bundle")

console = Console()
errors = Console(stderr=True, soft_wrap=True)

EXIT_BAD_INPUT = 2


def fail(message: str, code: int = EXIT_BAD_INPUT) -> typer.Exit:
    """Print an error to stderr and return the Exit to raise."""
    errors.print(f"[bold red]error:[/] {message}", highlight=False)
    return typer.Exit(code)


@app.command()
def version() -> None:
    """Print the mevbot version."""
    console.print(f"mevbot {__version__}")


@config_app.command("check")
def config_check(file: Annotated[Path, typer.Argument(help="TOML config file")]) -> None:
    """Validate FILE and print the resolved config with secrets masked (exit 0), or the error (exit 2)."""
    try:
        config = load_config(file)
    except ConfigError as exc:
        raise fail(str(exc)) from None
    console.print_json(json.dumps({**redacted(config), "effective_dry_run": config.effective_dry_run}))


@app.command()
def decode(
    account: Annotated[str, typer.Argument(help="an account JSON file (pubkey, owner, data_base64) or base64 bytes")],
    owner: Annotated[str | None, typer.Option(help="owning program id, when ACCOUNT is bare base64")] = None,
) -> None:
    """Decode a pool account of a supported venue and print its fields."""
    from mevbot.dex.base import DexError
    from mevbot.dex.registry import VENUES, UnknownVenue, venue_for_program

    try:
        address, owner_key, data = _read_account_argument(account, owner)
    except ValueError as exc:
        raise fail(str(exc)) from None
    try:
        candidates = [venue_for_program(owner_key)] if owner_key is not None else list(VENUES)
    except UnknownVenue as exc:
        raise fail(str(exc)) from None
    reasons = []
    for venue in candidates:
        try:
            pool = venue.decode_pool(address, data, owner_key)
        except DexError as exc:
            reasons.append(f"{venue.name}: {exc}")
            continue
        console.print(_fields_table(f"{venue.name} {type(pool).__name__} {address}", pool))
        return
    raise fail("not a pool account of a supported venue:\n  " + "\n  ".join(reasons))


DbOption = Annotated[Path, typer.Option("--db", help="DuckDB file (the daemon's storage.db_path)")]


@app.command()
def stats(
    db: DbOption = Path("mevbot.duckdb"),
    since: Annotated[str, typer.Option(help="window: 90s, 15m, 1h, 1d, 2w")] = "1d",
    by: Annotated[str | None, typer.Option(help="group by route, venue, region or hour")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="print JSON instead of tables")] = False,
) -> None:
    """PnL, bundles sent/landed/lost/failed, land rate, tips, per-group figures. Safe while the daemon runs."""
    import time

    from mevbot.observe.stats import parse_since, summarize
    from mevbot.observe.store import open_reader

    if by is not None and by not in ("route", "venue", "region", "hour"):
        raise fail(f"--by {by!r}: expected route, venue, region or hour")
    try:
        window = parse_since(since)
        store = open_reader(db)
    except (ValueError, FileNotFoundError) as exc:
        raise fail(str(exc)) from None
    try:
        summary = summarize(store, since_ts=time.time() - window, by=by)  # type: ignore[arg-type]
    finally:
        store.close()
    if as_json:
        console.print_json(json.dumps(summary.as_json()))
        return
    from mevbot.observe.render import stats_tables

    for table in stats_tables(summary, since=since, by=by):
        console.print(table)


@app.command()
def bandit(db: DbOption = Path("mevbot.duckdb")) -> None:
    """Each bandit arm's posterior, pulls and mean reward, and the current best arm."""
    from mevbot.observe.recorder import load_bandit_arms
    from mevbot.observe.render import bandit_tables
    from mevbot.observe.store import open_reader

    try:
        store = open_reader(db)
    except FileNotFoundError as exc:
        raise fail(str(exc)) from None
    try:
        saved = load_bandit_arms(store)
    finally:
        store.close()
    if not saved:
        console.print("no bandit state recorded yet")
        return
    for table in bandit_tables(saved):
        console.print(table)


@audit_app.command("verify")
def audit_verify(db: DbOption = Path("mevbot.duckdb")) -> None:
    """Walk the Decision DNA chain and the control ack chain; report the first break (exit 1 if any)."""
    from mevbot.observe.dna import verify_chain
    from mevbot.observe.store import open_reader

    try:
        store = open_reader(db)
    except FileNotFoundError as exc:
        raise fail(str(exc)) from None
    try:
        chains = {
            name: store.query(f"SELECT seq, prev_hash, payload, hash FROM {table} ORDER BY seq")
            for name, table in (("decision", "decisions"), ("control ack", "control_acks"))
        }
    finally:
        store.close()
    for name, rows in chains.items():
        broken = verify_chain(rows)
        if broken is not None:
            raise fail(f"{name} chain broken at record {broken.seq}: {broken.problem}", code=1)
        console.print(f"{name} chain intact: {len(rows)} records")


ConfigOption = Annotated[Path | None, typer.Option("--config", help="TOML config file")]


def _load(config: Path | None) -> Any:
    from mevbot.config import Config

    if config is None:
        return Config()
    try:
        return load_config(config)
    except ConfigError as exc:
        raise fail(str(exc)) from None


@app.command()
def run(
    config: ConfigOption = None,
    slots: Annotated[int | None, typer.Option(help="stop after this many slots")] = None,
    duration: Annotated[float | None, typer.Option(help="stop after this many seconds")] = None,
) -> None:
    """Run the trading loop. With no RPC configured it starts the sandbox in-process and trades against it.

    Exit codes: 0 clean stop, 1 runtime failure, 2 bad config or arguments, 3 stopped with trading halted.
    """
    if slots is not None and duration is not None:
        raise fail("give --slots or --duration, not both")
    settings = _load(config)
    from mevbot.daemon import run_from_cli

    raise typer.Exit(run_from_cli(settings, slots=slots, duration=duration, console=console))


@app.command()
def watch(
    url: Annotated[str | None, typer.Option("--url", help="default http://127.0.0.1:9464/metrics")] = None,
    config: ConfigOption = None,
    interval: Annotated[float, typer.Option("--interval", min=0.1, help="seconds between scrapes")] = 1.0,
    once: Annotated[bool, typer.Option("--once", help="print one panel and exit")] = False,
) -> None:
    """The live panel of a running daemon, read from its metrics endpoint (exit 1 if unreachable)."""
    from rich.live import Live

    from mevbot.observe.metrics import DEFAULT_URL, ScrapeError, metrics_url, watch_panels

    if url is not None and config is not None:
        raise fail("give --url or --config, not both")
    if config is not None:
        metrics = _load(config).metrics
        if metrics.port == 0:
            raise fail(f"{config}: metrics.port = 0: the endpoint is off")
        url = metrics_url(metrics.host, metrics.port)
    panels = watch_panels(url or DEFAULT_URL, interval=interval, once=once)
    try:
        if once:
            console.print(next(panels))
            return
        with Live(next(panels), console=console, auto_refresh=False) as live:
            for table in panels:
                live.update(table, refresh=True)
    except ScrapeError as exc:
        raise fail(str(exc), code=1) from None
    except KeyboardInterrupt:
        pass


@app.command()
def keygen(out: Annotated[Path, typer.Option("--out", help="where to write the new operator key (mode 0600)")]) -> None:
    """Make an operator's Ed25519 key; prints the public key to put in the daemon's [control.operators]."""
    from mevbot.control.envelope import OperatorKey

    key = OperatorKey.generate()
    try:
        key.write(out)
    except FileExistsError:
        raise fail(f"{out} exists; refusing to overwrite a key") from None
    except OSError as exc:
        raise fail(f"{out}: {exc.strerror}") from None
    console.print(key.public_hex)


def _parse_args(pairs: list[str]) -> dict[str, Any]:
    args: dict[str, Any] = {}
    for pair in pairs:
        name, sep, value = pair.partition("=")
        if not sep or not name:
            raise fail(f"argument {pair!r}: expected NAME=VALUE")
        try:
            args[name] = json.loads(value)
        except ValueError:
            args[name] = value
    return args


@app.command()
def sign(
    command: Annotated[str, typer.Argument(help="kill, resume, set-limit or set-bandit")],
    args: Annotated[list[str] | None, typer.Argument(help="NAME=VALUE arguments")] = None,
    key: Annotated[Path, typer.Option("--key", help="operator key file")] = Path("operator.key"),
    append_to: Annotated[Path | None, typer.Option("--append-to", help="co-sign this envelope file in place")] = None,
    out: Annotated[Path | None, typer.Option("--out", help="write the new envelope here (default: stdout)")] = None,
    config: ConfigOption = None,
    ttl: Annotated[float, typer.Option(help="seconds until the envelope expires")] = 300.0,
) -> None:
    """Produce a signed command envelope, or co-sign an existing one (--append-to)."""
    from mevbot.control.envelope import (
        EnvelopeError,
        co_sign,
        load_operator_key,
        new_envelope,
        parse_envelope,
    )

    try:
        operator = load_operator_key(key)
        if append_to is not None:
            envelope = parse_envelope(append_to.read_bytes())
            if envelope["command"] != command or (args and envelope["args"] != _parse_args(args)):
                raise EnvelopeError(f"{append_to} holds {envelope['command']} {envelope['args']}, not what was asked")
        else:
            daemon_id = _load(config).control.daemon_id
            envelope = new_envelope(command, _parse_args(args or []), daemon_id=daemon_id, ttl_s=ttl)
    except (EnvelopeError, OSError) as exc:
        raise fail(str(exc)) from None
    signed = json.dumps(co_sign(envelope, operator), indent=2)
    target = append_to or out
    if target is None:
        console.print(signed, highlight=False, soft_wrap=True)
        return
    target.write_text(signed + "\n")
    errors.print(f"{target}: {len(json.loads(signed)['signatures'])} signature(s)")


def _deliver(envelope_bytes: bytes, socket_path: str) -> None:
    import asyncio

    from mevbot.control.socket import send_envelope

    try:
        ack = asyncio.run(send_envelope(socket_path, envelope_bytes))
    except (OSError, ConnectionError, TimeoutError) as exc:
        raise fail(f"control socket {socket_path}: {exc}", code=1) from None
    console.print_json(json.dumps(ack))
    if not ack.get("accepted"):
        raise typer.Exit(1)


@app.command()
def send(
    envelope: Annotated[Path, typer.Argument(help="signed envelope file")],
    config: ConfigOption = None,
    socket: Annotated[str | None, typer.Option("--socket", help="control socket path")] = None,
) -> None:
    """Deliver a signed envelope to the running daemon; prints its ack (exit 0 accepted, 1 refused)."""
    try:
        raw = envelope.read_bytes()
    except OSError as exc:
        raise fail(f"{envelope}: {exc.strerror}") from None
    _deliver(raw, socket or _load(config).control.socket_path)


@app.command()
def kill(
    key: Annotated[Path, typer.Option("--key", help="operator key file")] = Path("operator.key"),
    config: ConfigOption = None,
    socket: Annotated[str | None, typer.Option("--socket", help="control socket path")] = None,
    reason: Annotated[str, typer.Option(help="recorded with the halt")] = "operator kill",
) -> None:
    """Sign a kill with one key and send it: the daemon halts all sends within one loop iteration."""
    from mevbot.control.envelope import EnvelopeError, co_sign, load_operator_key, new_envelope

    settings = _load(config)
    try:
        envelope = co_sign(
            new_envelope("kill", {"reason": reason}, daemon_id=settings.control.daemon_id, ttl_s=60),
            load_operator_key(key),
        )
    except EnvelopeError as exc:
        raise fail(str(exc)) from None
    _deliver(json.dumps(envelope).encode(), socket or settings.control.socket_path)


def _read_account_argument(account: str, owner: str | None) -> tuple[Pubkey, Pubkey | None, bytes]:
    path = Path(account)
    owner_key = _pubkey(owner, "--owner") if owner else None
    if path.exists():
        try:
            entry = json.loads(path.read_text())
            data = base64.b64decode(entry["data_base64"], validate=True)
        except (OSError, ValueError, KeyError, TypeError) as exc:
            raise ValueError(f"{path}: not an account JSON file ({exc})") from None
        address = _pubkey(entry.get("pubkey") or str(Pubkey.default()), "pubkey")
        return address, owner_key or _pubkey(entry["owner"], "owner"), data
    try:
        return Pubkey.default(), owner_key, base64.b64decode(account, validate=True)
    except binascii.Error:
        raise ValueError(f"{account!r} is neither a file nor base64") from None


def _pubkey(text: str, what: str) -> Pubkey:
    try:
        return Pubkey.from_string(text)
    except ValueError:
        raise ValueError(f"{what}: {text!r} is not a base58 public key") from None


def _fields_table(title: str, obj: Any) -> Table:
    table = Table(title=title, show_header=True, header_style="bold")
    table.add_column("field")
    table.add_column("value", overflow="fold")
    for f in dataclasses.fields(obj):
        value = getattr(obj, f.name)
        if isinstance(value, tuple | list) and len(value) > 8:
            value = f"[{len(value)} items]"
        table.add_row(f.name, str(value))
    return table


@app.command("scan")
def scan_command(
    snapshot: Annotated[
        Path | None, typer.Option("--snapshot", help="JSON list of {pubkey, owner, lamports, data_base64}")
    ] = None,
    synthetic: Annotated[int | None, typer.Option("--synthetic", help="seed of a synthetic universe to scan")] = None,
    pools: Annotated[int, typer.Option("--pools", help="pools in the synthetic universe")] = 2000,
    top: Annotated[int, typer.Option("--top", min=1, help="opportunities to print")] = 10,
    min_profit: Annotated[
        int, typer.Option("--min-profit", min=1, help="least profit in lamports (raw units of the first base mint)")
    ] = 1,
) -> None:
    """Find arbitrage cycles in an account snapshot or a synthetic universe; print the best, exactly priced."""
    from mevbot.ingest.snapshot import SnapshotError, read_snapshot
    from mevbot.sandbox.universe import generate_universe
    from mevbot.search.engine import DEFAULT_BASE_MINTS
    from mevbot.search.render import scan_tables
    from mevbot.search.scan import scan

    if (snapshot is None) == (synthetic is None):
        raise fail("give exactly one of --snapshot FILE or --synthetic SEED")
    labels: dict[Pubkey, str] = {}
    if snapshot is not None:
        try:
            loaded = read_snapshot(snapshot)
        except SnapshotError as exc:
            raise fail(f"{snapshot}: {exc}") from None
        for bad in loaded.bad_entries:
            errors.print(f"[yellow]bad entry {bad.index}:[/] {bad.reason}", highlight=False)
        accounts, base_mints = loaded.accounts, DEFAULT_BASE_MINTS
    else:
        try:
            universe = generate_universe(synthetic, pools)  # type: ignore[arg-type]
        except ValueError as exc:
            raise fail(str(exc)) from None
        accounts, base_mints = universe.accounts, universe.base_mints
        labels = {token.mint: token.symbol for token in universe.tokens}
    report = scan(accounts, base_mints, top=top, min_profit=min_profit)
    for table in scan_tables(report, labels):
        console.print(table)


@app.command("sandbox")
def sandbox_command(
    config: ConfigOption = None,
    seed: Annotated[int | None, typer.Option("--seed", min=0, help="universe and flow seed")] = None,
    rpc_port: Annotated[int | None, typer.Option("--rpc-port", min=0, max=65535, help="0 picks one")] = None,
    ws_port: Annotated[int | None, typer.Option("--ws-port", min=0, max=65535, help="0 picks one")] = None,
    block_engine_port: Annotated[int | None, typer.Option("--block-engine-port", min=0, max=65535)] = None,
    pools: Annotated[int | None, typer.Option("--pools", min=8, help="pools in the synthetic universe")] = None,
    slot_ms: Annotated[int | None, typer.Option("--slot-ms", min=1, help="milliseconds per slot")] = None,
) -> None:
    """Run the local cluster alone (RPC, PubSub, block engine) until Ctrl-C or SIGTERM."""
    import asyncio

    from mevbot.sandbox.cluster import run_sandbox
    from mevbot.sandbox.settings import settings_from_config

    overrides = {"seed": seed, "rpc_port": rpc_port, "ws_port": ws_port, "block_engine_port": block_engine_port,
                 "pools": pools, "slot_ms": slot_ms}  # fmt: skip
    try:
        settings = settings_from_config(_load(config).sandbox, **overrides)
    except ValueError as exc:
        raise fail(str(exc)) from None

    def ready(sandbox: Any) -> None:
        table = Table(title=f"mevbot sandbox (seed {settings.seed}, {len(sandbox.universe.pools)} pools)")
        table.add_column("endpoint")
        table.add_column("value")
        for name, value in (("rpc", sandbox.rpc_url), ("pubsub", sandbox.ws_url),
                            ("block engine", sandbox.block_engine_url), ("payer", str(sandbox.payer_pubkey)),
                            ("payer keypair file", str(sandbox.payer_keypair_path))):  # fmt: skip
            table.add_row(name, value)
        console.print(table)
        console.print("Ctrl-C stops the sandbox.")

    try:
        asyncio.run(run_sandbox(settings, ready))
    except OSError as exc:
        raise fail(f"cannot start the sandbox: {exc}", code=1) from None


@app.command("simulate")
def simulate_command(
    route: Annotated[list[str], typer.Argument(help="pool addresses in hop order, each optionally POOL:a2b or POOL:b2a")],
    snapshot: Annotated[Path, typer.Option("--snapshot", help="JSON list of {pubkey, owner, lamports, data_base64}")],
    amount: Annotated[int, typer.Option("--amount", help="raw units of the start token to put in")],
    start_mint: Annotated[str | None, typer.Option("--start-mint", help="the token the route starts with")] = None,
    tip: Annotated[int, typer.Option("--tip", min=0, help="lamports tipped to a Jito tip account (0: none)")] = 10_000,
) -> None:
    """Replay a route exactly on a snapshot, then run its signed transaction in a LiteSVM fork.

    The owner is a throwaway key funded in the fork with exactly --amount of the start token: the
    balance changes shown are the route's alone.
    """
    from solders.address_lookup_table_account import ID as LOOKUP_TABLE_PROGRAM_ID
    from solders.address_lookup_table_account import AddressLookupTableAccount
    from solders.hash import Hash

    from mevbot.events import Account
    from mevbot.ingest.snapshot import SnapshotError, read_snapshot
    from mevbot.market.model import MarketModel
    from mevbot.package.keys import TradingKey
    from mevbot.package.lookup_tables import lookup_table_bytes
    from mevbot.package.route import compute_unit_limit, route_accounts, route_bundle, route_plan
    from mevbot.package.transaction import PackageError, Tip
    from mevbot.sandbox.bundles import TIP_ACCOUNTS
    from mevbot.simulate.preflight import ForkPreflight, Preflight
    from mevbot.simulate.render import preflight_tables, rejection_text, replay_table
    from mevbot.simulate.replay import Rejection
    from mevbot.simulate.route_spec import parse_route, route_opportunity

    try:
        loaded = read_snapshot(snapshot)
        specs = parse_route(route)
        start = _pubkey(start_mint, "--start-mint") if start_mint else None
        model, _ = MarketModel.from_accounts(loaded.accounts)
        opportunity = route_opportunity(model, specs, amount, start)
    except (SnapshotError, ValueError) as exc:
        raise fail(str(exc)) from None
    if isinstance(opportunity, Rejection):
        errors.print(rejection_text("replay", opportunity), highlight=False)
        raise typer.Exit(1)
    console.print(replay_table(opportunity))

    key = TradingKey.generate()  # a what-if owner: the snapshot holds no wallet of ours
    fork = ForkPreflight(loaded.accounts)
    fork.fund(key.pubkey, 10**12, {mint: 0 for mint in opportunity.token_path} | {opportunity.mint: amount})
    plan = route_plan(opportunity, model.registry, key.pubkey)
    tables: list[AddressLookupTableAccount] = []
    tip_spec = Tip(TIP_ACCOUNTS[0], tip) if tip else None
    try:
        draft = route_bundle(key, plan, Hash.default(), tip=tip_spec)
    except PackageError as exc:
        if exc.reason != "too_large":
            raise fail(str(exc), code=1) from None
        table = AddressLookupTableAccount(Pubkey.new_unique(), list(route_accounts(plan)))
        fork.load([Account(table.key, LOOKUP_TABLE_PROGRAM_ID, 10**9, lookup_table_bytes(table.addresses))])
        tables = [table]
        draft = route_bundle(key, plan, Hash.default(), tip=tip_spec, lookup_tables=tables)
    final = draft
    report = fork.run(draft.transactions[0], require_tip=tip > 0)
    if isinstance(report, Preflight):
        final = route_bundle(key, plan, Hash.default(), tip=tip_spec, units_consumed=report.units_consumed, lookup_tables=tables)
        report = fork.run(final.transactions[0], require_tip=tip > 0)
    if isinstance(report, Rejection):
        errors.print(rejection_text("preflight", report), highlight=False)
        raise typer.Exit(1)
    size = len(bytes(final.transactions[0]))
    for rendered in preflight_tables(opportunity, report, compute_unit_limit=compute_unit_limit(report.units_consumed),
                                     size=size, lookup_table=bool(tables)):  # fmt: skip
        console.print(rendered)


@bundle_app.command("status")
def bundle_status(
    ids: Annotated[list[str], typer.Argument(help="bundle ids (64 hex characters)")],
    block_engine: Annotated[str | None, typer.Option("--block-engine", help="block engine URL")] = None,
    config: ConfigOption = None,
) -> None:
    """Ask the block engine (getInflightBundleStatuses and getBundleStatuses) about bundles."""
    import asyncio
    import re

    from mevbot.submit.jito import BlockEngineClient, BlockEngineError
    from mevbot.submit.render import bundle_status_table

    for identifier in ids:
        if not re.fullmatch(r"[0-9a-f]{64}", identifier):
            raise fail(f"{identifier!r} is not a bundle id (64 lowercase hex characters)")
    if block_engine is None:
        regions = _load(config).jito.regions
        if not regions:
            raise fail("give --block-engine URL (the config names no jito region)")
        block_engine = regions[0].url
    if not block_engine.startswith(("http://", "https://")):
        raise fail(f"--block-engine {block_engine!r}: expected an http(s) URL")

    async def ask() -> tuple[list[Any], list[Any]]:
        client = BlockEngineClient("cli", block_engine)
        try:
            inflight, landed = [], []
            for start in range(0, len(ids), 5):  # the API takes at most five ids a call
                chunk = list(ids[start : start + 5])
                inflight += await client.inflight_statuses(chunk)
                landed += await client.bundle_statuses(chunk)
            return inflight, landed
        finally:
            await client.close()

    try:
        inflight, landed = asyncio.run(ask())
    except BlockEngineError as exc:
        raise fail(str(exc), code=1) from None
    if len(landed) != len(ids):
        raise fail(f"getBundleStatuses answered {len(landed)} values for {len(ids)} ids", code=1)
    console.print(bundle_status_table(ids, inflight, landed))


def main() -> None:
    app()


if __name__ == "__main__":
    main()
