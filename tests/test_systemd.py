"""systemd units verify; sd_notify speaks the datagram protocol; pinning sets the thread's affinity."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import threading
from pathlib import Path

import pytest

from mevbot.systemd import pin_to_cores, sd_notify, watchdog_interval_s

UNITS = Path(__file__).resolve().parent.parent / "systemd"


@pytest.mark.parametrize("unit", ["mevbot.service", "mevbot-sandbox.service"])
def test_units_pass_systemd_analyze_verify(tmp_path: Path, unit: str) -> None:
    analyze = shutil.which("systemd-analyze")
    if analyze is None:
        if os.environ.get("CI"):
            pytest.fail("systemd-analyze missing in CI: .ci/run installs systemd")
        pytest.skip("systemd-analyze not installed")
    mevbot = Path(sys.executable).parent / "mevbot"
    text = (UNITS / unit).read_text().replace("/opt/mevbot/.venv/bin/mevbot", str(mevbot))
    (tmp_path / unit).write_text(text)
    result = subprocess.run([analyze, "verify", str(tmp_path / unit)], capture_output=True, text=True, timeout=60)
    problems = [line for line in (result.stdout + result.stderr).splitlines() if unit in line or "error" in line.lower()]
    assert result.returncode == 0 and not problems, result.stdout + result.stderr


def test_sd_notify_sends_datagrams(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = str(tmp_path / "notify")
    with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as listener:
        listener.bind(path)
        monkeypatch.setenv("NOTIFY_SOCKET", path)
        assert sd_notify("READY=1", "STATUS=trading")
        assert listener.recv(1024) == b"READY=1\nSTATUS=trading"
    monkeypatch.delenv("NOTIFY_SOCKET")
    assert sd_notify("WATCHDOG=1") is False


def test_watchdog_interval(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("WATCHDOG_USEC", "10000000")
    monkeypatch.setenv("WATCHDOG_PID", str(os.getpid()))
    assert watchdog_interval_s() == 5.0
    monkeypatch.setenv("WATCHDOG_PID", "1")
    assert watchdog_interval_s() is None


def test_pin_to_cores_sets_the_calling_threads_affinity() -> None:
    seen: dict[str, object] = {}

    def pinned() -> None:
        seen["reported"] = pin_to_cores((0,))
        seen["actual"] = os.sched_getaffinity(0)

    thread = threading.Thread(target=pinned)
    thread.start()
    thread.join()
    assert seen == {"reported": (0,), "actual": {0}}
    with pytest.raises(ValueError, match="do not exist"):
        pin_to_cores((4096,))
