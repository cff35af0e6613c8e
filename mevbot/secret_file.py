"""Files that hold secret keys: written readable by their owner only, refused when others can read them.

Trading keypairs and operator keys follow the same rules, so they live here once. Errors name the
file and never quote its contents; each caller raises its own error type with its own wording.
"""

from __future__ import annotations

import json
import os
import stat
from collections.abc import Callable
from pathlib import Path


def write_secret_json(path: Path, value: object, *, replace: bool) -> None:
    """Write `value` as JSON to a file only its owner may read or write (mode 0600).

    With `replace` an existing file is truncated and set back to 0600; without it an existing file
    is left alone and `FileExistsError` raised, so a key is never overwritten by accident.
    """
    flags = os.O_WRONLY | os.O_CREAT | (os.O_TRUNC if replace else os.O_EXCL)
    fd = os.open(path, flags, 0o600)
    with os.fdopen(fd, "w") as fh:
        json.dump(value, fh)
    if replace:
        os.chmod(path, 0o600)  # O_CREAT's mode applies only to a new file


def read_secret_text(path: Path, what: str, error: Callable[[str], Exception]) -> str:
    """The text of the secret file at `path`, refused (as `error(message)`) when unreadable or
    readable by group or world; `what` names the kind of file in the message."""
    try:
        mode, raw = path.stat().st_mode, path.read_text()
    except OSError as exc:
        raise error(f"{path}: cannot read {what} file ({exc.strerror})") from None
    if mode & (stat.S_IRWXG | stat.S_IRWXO):
        raise error(f"{path}: {what} file is readable by others (mode {stat.S_IMODE(mode):o}); chmod 600 it")
    return raw
