"""The CLI skeleton: version, config check exit codes, decode."""

from __future__ import annotations

import base64
import json
from pathlib import Path

from typer.testing import CliRunner

from mevbot import __version__
from mevbot.cli import app
from tests.conftest import fixtures_dir

runner = CliRunner()
CONFIGS = Path(__file__).resolve().parent.parent / "configs"
WHIRLPOOL_FIXTURE = "accounts/orca_whirlpool/whirlpool.CGGNcohZdLdeDBdhmQRGmUH1Viv1p4d1ds2aPLoiVWaR.json"


def test_version() -> None:
    result = runner.invoke(app, ["version"])
    assert result.exit_code == 0
    assert __version__ in result.stdout


def test_config_check_ok_prints_resolved_config_masked(tmp_path: Path) -> None:
    path = tmp_path / "c.toml"
    path.write_text('[jito]\nauth_uuid = "very-secret"\n')
    result = runner.invoke(app, ["config", "check", str(path)])
    assert result.exit_code == 0
    shown = json.loads(result.stdout)
    assert shown["jito"]["auth_uuid"] == "***"
    assert "very-secret" not in result.stdout


def test_config_check_bad_file_exits_2_naming_the_key(tmp_path: Path) -> None:
    path = tmp_path / "c.toml"
    path.write_text("[decide]\nmax_explore_share = 2.0\n")
    result = runner.invoke(app, ["config", "check", str(path)])
    assert result.exit_code == 2
    assert "decide.max_explore_share" in result.stderr and "from 0.0 to 1.0" in result.stderr


def test_decode_fixture_file_prints_pool_fields() -> None:
    result = runner.invoke(app, ["decode", str(fixtures_dir() / WHIRLPOOL_FIXTURE)])
    assert result.exit_code == 0, result.stderr
    assert "tick_spacing" in result.stdout
    assert "32896" in result.stdout


def test_decode_bare_base64_tries_every_venue() -> None:
    entry = json.loads((fixtures_dir() / WHIRLPOOL_FIXTURE).read_text())
    result = runner.invoke(app, ["decode", entry["data_base64"]])
    assert result.exit_code == 0, result.stderr
    assert "whirlpool" in result.stdout


def test_decode_garbage_exits_2_with_reasons() -> None:
    result = runner.invoke(app, ["decode", base64.b64encode(b"\x01" * 40).decode()])
    assert result.exit_code == 2
    assert "not a pool account" in result.stderr
    result = runner.invoke(app, ["decode", "!!not-base64!!"])
    assert result.exit_code == 2
