"""The data directory and what Meterr keeps in it are readable by the account running Meterr
alone: made so when new, tightened (with a warning) when found open to others."""

from __future__ import annotations

import logging
import stat
from pathlib import Path

import pytest

from meterr.auth import load_secret_key
from meterr.config import Settings
from meterr.store import open_store


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def open_to_others(root: Path) -> list[tuple[str, str]]:
    """Every file and directory under `root` (itself included) that others may read."""
    found = [root, *root.rglob("*")]
    return [(str(path), oct(mode(path))) for path in found if mode(path) & 0o077]


async def test_the_embedded_store_makes_its_data_directory_and_files_private(
    tmp_path: Path,
) -> None:
    data_dir = tmp_path / "new" / "meterr-data"
    settings = Settings(mongodb_url=None, data_dir=data_dir)
    async with open_store(settings, database="meterr_private_files") as store:
        await store.db["probe"].insert_one({"written": True})
        load_secret_key(None, data_dir)
        assert mode(data_dir) == 0o700
        assert (data_dir / "embedded-server.json").exists()
        assert open_to_others(data_dir) == []
    assert (data_dir / "secret.key").exists()
    assert (data_dir / "secantusd.log").exists()
    assert any((data_dir / "db").iterdir())
    assert open_to_others(data_dir) == []


def test_a_new_data_directory_and_secret_key_are_private(tmp_path: Path) -> None:
    data_dir = tmp_path / "keys-only"
    load_secret_key(None, data_dir)
    assert mode(data_dir) == 0o700
    assert mode(data_dir / "secret.key") == 0o600


def test_a_data_directory_and_key_open_to_others_are_tightened_with_a_warning(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    data_dir = tmp_path / "opened"
    key = load_secret_key(None, data_dir)
    data_dir.chmod(0o755)
    (data_dir / "secret.key").chmod(0o644)
    with caplog.at_level(logging.WARNING, logger="meterr.data_dir"):
        assert load_secret_key(None, data_dir) == key
    assert mode(data_dir) == 0o700
    assert mode(data_dir / "secret.key") == 0o600
    warned = [record.getMessage() for record in caplog.records]
    assert any(str(data_dir) in line and "755" in line for line in warned), warned
    assert any("secret.key" in line and "644" in line for line in warned), warned


def test_a_private_data_directory_is_left_alone_without_a_word(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    data_dir = tmp_path / "private"
    load_secret_key(None, data_dir)
    data_dir.chmod(0o500)  # tighter than Meterr makes it: the operator's choice
    try:
        with caplog.at_level(logging.WARNING, logger="meterr.data_dir"):
            load_secret_key(None, data_dir)
        assert mode(data_dir) == 0o500
        assert caplog.records == []
    finally:
        data_dir.chmod(0o700)
