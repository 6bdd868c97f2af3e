"""The data directory kept to its owner: it holds the embedded store's files and the key that
seals stored credentials, which no other account on the machine should read."""

from __future__ import annotations

import logging
import stat
from pathlib import Path

__all__ = ["private_directory", "private_file"]

log = logging.getLogger(__name__)

_DIRECTORY_MODE = 0o700
_FILE_MODE = 0o600


def _tighten(path: Path, mode: int, what: str) -> None:
    """Takes group and others' access to `path` away, saying so: an operator who opened it
    on purpose finds out why it changed, and one who did not learns it had been open."""
    found = stat.S_IMODE(path.stat().st_mode)
    if not found & 0o077:
        return
    try:
        path.chmod(mode)
    except OSError as exc:
        log.warning(
            "The %s %s is open to other users (mode %o) and could not be made %o: %s",
            what,
            path,
            found,
            mode,
            exc.strerror,
        )
        return
    log.warning(
        "The %s %s was open to other users (mode %o); it is now %o.", what, path, found, mode
    )


def private_directory(path: Path) -> Path:
    """`path`, made (with its parents) if missing, readable by its owner alone."""
    path.mkdir(mode=_DIRECTORY_MODE, parents=True, exist_ok=True)
    _tighten(path, _DIRECTORY_MODE, "data directory")
    return path


def private_file(path: Path) -> None:
    """An existing file made readable by its owner alone (one made before Meterr made its
    files so, or copied in with wider permissions)."""
    _tighten(path, _FILE_MODE, "file")
