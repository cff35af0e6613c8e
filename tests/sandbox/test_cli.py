"""`mevbot sandbox` as an operator runs it: endpoints printed, a 0600 keypair file, SIGTERM stops it."""

from __future__ import annotations

import json
import os
import re
import signal
import stat
import subprocess
import sys
import time
from pathlib import Path

import httpx


def _read_until(process: subprocess.Popen[str], marker: str, timeout: float = 30.0) -> str:
    seen = ""
    deadline = time.monotonic() + timeout
    while marker not in seen:
        assert time.monotonic() < deadline, f"no {marker!r} in: {seen}"
        line = process.stdout.readline()  # type: ignore[union-attr]
        assert line, f"the sandbox exited early: {seen}"
        seen += line
    return seen


def test_the_sandbox_command_serves_until_sigterm() -> None:
    command = [
        sys.executable,
        "-m",
        "mevbot.cli",
        "sandbox",
        "--seed",
        "5",
        "--pools",
        "12",
        "--slot-ms",
        "50",
    ]
    env = {**os.environ, "COLUMNS": "200", "NO_COLOR": "1"}
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
    try:
        output = _read_until(process, "Ctrl-C")
        rpc_url = re.search(r"rpc\s*│\s*(http://127\.0\.0\.1:\d+)", output).group(1)  # type: ignore[union-attr]
        keypair_path = Path(re.search(r"payer keypair file\s*│\s*(\S+)", output).group(1))  # type: ignore[union-attr]
        assert re.search(r"block engine\s*│\s*http://127\.0\.0\.1:\d+", output)
        assert re.search(r"pubsub\s*│\s*ws://127\.0\.0\.1:\d+", output)

        assert stat.S_IMODE(keypair_path.stat().st_mode) == 0o600
        secret = json.loads(keypair_path.read_text())
        assert len(secret) == 64
        assert ",".join(str(b) for b in secret[:8]) not in output.replace(" ", "")
        answer = httpx.post(rpc_url, json={"jsonrpc": "2.0", "id": 1, "method": "getHealth"}).json()
        assert answer["result"] == "ok"
    finally:
        process.send_signal(signal.SIGTERM)
        process.wait(timeout=20)
    assert process.returncode == 0, process.stderr.read()  # type: ignore[union-attr]
    assert not keypair_path.exists()
