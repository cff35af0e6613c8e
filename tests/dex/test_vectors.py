"""Every case of every shared vector file, one pytest case each.

The folder comes from `MEVBOT_VECTORS` (default ../shared/vectors), so the same checks run on any
folder in the same formats. A file the folder lacks shows up as one skipped case, not silence.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import vectors_dir
from tests.dex.cases_constant_product import check_constant_product_case
from tests.dex.cases_whirlpool import check_whirlpool_program_case, check_whirlpool_quote_case


def _read_cases(path: Path) -> Iterator[Any]:
    if path.suffix == ".jsonl":
        with path.open() as fh:
            for line in fh:
                if line.strip():
                    yield json.loads(line)
    else:
        yield from json.loads(path.read_text())


def _params(relative: str) -> list[Any]:
    path = vectors_dir() / relative
    if not path.exists():
        return [pytest.param(None, id=f"{relative}-missing", marks=pytest.mark.skip(reason=f"{path} not found"))]
    return [pytest.param(case, id=f"{relative}:{index + 1}") for index, case in enumerate(_read_cases(path))]


def _run(check: Callable[[Any], None], case: Any) -> None:
    check(case)


@pytest.mark.parametrize("case", _params("constant_product.jsonl"))
def test_constant_product(case: dict[str, Any]) -> None:
    _run(check_constant_product_case, case)


@pytest.mark.parametrize("case", _params("whirlpool/swap_test_cases.json"))
def test_whirlpool_program_cases(case: dict[str, Any]) -> None:
    _run(check_whirlpool_program_case, case)


@pytest.mark.parametrize("case", _params("whirlpool/swap_test_cases_splash_pool.json"))
def test_whirlpool_splash_pool_cases(case: dict[str, Any]) -> None:
    _run(check_whirlpool_program_case, case)


@pytest.mark.parametrize("case", _params("whirlpool_quotes.jsonl"))
def test_whirlpool_quotes(case: dict[str, Any]) -> None:
    _run(check_whirlpool_quote_case, case)
