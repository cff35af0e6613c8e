"""Shared test settings: where the shared vectors and fixtures live."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
SHARED = ROOT.parent / "shared"


def vectors_dir() -> Path:
    """`MEVBOT_VECTORS` if set, else ../shared/vectors next to the checkout."""
    return Path(os.environ.get("MEVBOT_VECTORS", SHARED / "vectors"))


def fixtures_dir() -> Path:
    return Path(os.environ.get("MEVBOT_FIXTURES", SHARED / "fixtures"))


@pytest.fixture(scope="session")
def fixtures_path() -> Path:
    return fixtures_dir()
