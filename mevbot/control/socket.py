"""The control socket: a unix socket only its owner can open, one envelope in, one ack out.

Wire format: the client writes the envelope's JSON bytes and closes its write side; the daemon answers
with one JSON object (the ack) and closes.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import os
from pathlib import Path
from typing import Any

from mevbot.control.envelope import MAX_ENVELOPE_BYTES
from mevbot.control.gate import ControlGate

log = logging.getLogger(__name__)


async def serve_control(gate: ControlGate, path: str | Path) -> asyncio.AbstractServer:
    path = Path(path)
    with contextlib.suppress(FileNotFoundError):
        path.unlink()
    old_umask = os.umask(0o177)  # the socket is created 0600: only the daemon's user may connect
    try:
        server = await asyncio.start_unix_server(lambda r, w: _serve_one(gate, r, w), path=str(path))
    finally:
        os.umask(old_umask)
    os.chmod(path, 0o600)
    return server


async def _serve_one(gate: ControlGate, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    try:
        raw = await asyncio.wait_for(_read_to_eof(reader, MAX_ENVELOPE_BYTES + 1), timeout=5.0)
        ack = await gate.handle(raw)
        writer.write(json.dumps(ack.as_json()).encode())
        await writer.drain()
    except (TimeoutError, ConnectionError) as exc:
        log.warning("control socket: client dropped: %s", exc)
    finally:
        writer.close()
        with contextlib.suppress(ConnectionError):
            await writer.wait_closed()


async def _read_to_eof(reader: asyncio.StreamReader, limit: int) -> bytes:
    """Everything the client sent, stopping early once past `limit` (parse_envelope refuses that)."""
    chunks: list[bytes] = []
    size = 0
    while size <= limit:
        chunk = await reader.read(65_536)
        if not chunk:
            break
        chunks.append(chunk)
        size += len(chunk)
    return b"".join(chunks)


async def send_envelope(path: str | Path, envelope_bytes: bytes, timeout_s: float = 10.0) -> dict[str, Any]:
    reader, writer = await asyncio.wait_for(asyncio.open_unix_connection(str(path)), timeout_s)
    try:
        writer.write(envelope_bytes)
        await writer.drain()
        writer.write_eof()
        reply = await asyncio.wait_for(reader.read(), timeout_s)
    finally:
        writer.close()
    try:
        ack = json.loads(reply)
    except ValueError:
        raise ConnectionError("control socket answered with something that is not JSON") from None
    if not isinstance(ack, dict):
        raise ConnectionError("control socket answered with something that is not an ack")
    return ack
