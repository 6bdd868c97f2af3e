"""The package's public surface and its deployment files."""

from __future__ import annotations

import importlib
import pkgutil
from pathlib import Path
from types import ModuleType

import pytest
import yaml

import meterr
from meterr.config import Settings

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = sorted(
    name for _, name, is_package in pkgutil.iter_modules(meterr.__path__, "meterr.") if is_package
)


def test_every_subpackage_declares_what_it_offers() -> None:
    assert {"meterr.auth", "meterr.pricing", "meterr.resolvers", "meterr.schema"} <= set(PACKAGES)
    for name in PACKAGES:
        module = importlib.import_module(name)
        assert module.__doc__, f"{name} has no docstring"
        assert hasattr(module, "__all__"), f"{name} has no __all__"


@pytest.mark.parametrize("name", PACKAGES)
def test_public_names_exist_and_nothing_else_leaks(name: str) -> None:
    module = importlib.import_module(name)
    exported = set(module.__all__)
    for public in exported:
        assert hasattr(module, public), f"{name}.{public} is declared but missing"
    leaked = {
        attribute
        for attribute, value in vars(module).items()
        if not attribute.startswith("_")
        and attribute not in exported
        and not (hasattr(value, "__name__") and getattr(value, "__package__", None) == name)
        and not (isinstance(value, ModuleType) and value.__name__.startswith(f"{name}."))
        and attribute != "annotations"
    }
    assert not leaked, f"{name} exposes names outside __all__: {sorted(leaked)}"


def test_compose_file_configures_settings_meterr_reads() -> None:
    compose = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
    service = compose["services"]["meterr"]
    known = {"MONGODB_URL"} | {f"METERR_{name.upper()}" for name in Settings.model_fields}
    assert set(service["environment"]) <= known
    assert "MONGODB_URL" in service["environment"]
    for dependency in service["depends_on"]:
        assert dependency in compose["services"]
