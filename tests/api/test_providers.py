"""Providers and connections: prices per provider, credentials sealed at rest."""

from __future__ import annotations

import json
import os
import stat
from pathlib import Path
from typing import Any

import httpx
import pytest

from meterr.auth import Role, Sealer, SealError, load_secret_key
from meterr.store import Store
from tests.conftest import KeyFactory, bearer

SECRET = "sk-proj-abcdefghijklmnop1234"


async def connect(client: httpx.AsyncClient, key: str, **body: Any) -> httpx.Response:
    payload = {"provider": "openai", "name": "production", "api_key": SECRET, **body}
    return await client.post("/v1/providers/connect", headers=bearer(key), json=payload)


async def test_providers_list_every_provider_with_its_models_and_connections(
    client: httpx.AsyncClient, make_key: KeyFactory
) -> None:
    key = await make_key()
    listed = (await client.get("/v1/providers", headers=bearer(key))).json()["providers"]
    by_name = {provider["name"]: provider for provider in listed}
    assert {"openai", "anthropic", "google", "mistral", "cohere"} <= set(by_name)
    assert by_name["openai"]["connectable"] is True
    assert by_name["mistral"]["connectable"] is False
    assert by_name["openai"]["connected"] is False
    gpt4o = next(m for m in by_name["openai"]["models"] if m["model"] == "gpt-4o")
    assert gpt4o["input"] == "2.5"

    assert (await connect(client, key)).status_code == 201
    listed = (await client.get("/v1/providers", headers=bearer(key))).json()["providers"]
    openai = next(p for p in listed if p["name"] == "openai")
    assert openai["connected"] is True
    assert [c["name"] for c in openai["connections"]] == ["production"]


async def test_a_connection_shows_only_the_last_four_characters_of_its_credential(
    client: httpx.AsyncClient, make_key: KeyFactory, store: Store
) -> None:
    key = await make_key()
    response = await connect(client, key, mode="reconcile", options={"project_id": "proj_1"})
    assert response.status_code == 201
    connection = response.json()
    assert connection["api_key"] == "...1234"
    assert (connection["provider"], connection["mode"]) == ("openai", "reconcile")
    assert connection["options"] == {"project_ids": ["proj_1"]}, "one project, in one form"
    fetched = await client.get(f"/v1/providers/{connection['id']}", headers=bearer(key))
    assert fetched.json() == connection
    stored = await store.connections.collection.find_one({"_id": connection["id"]})
    assert stored is not None
    assert SECRET not in json.dumps(stored, default=str), "the credential is sealed at rest"
    assert SECRET not in fetched.text


async def test_bad_connections_are_refused_and_names_are_unique_per_provider(
    client: httpx.AsyncClient, make_key: KeyFactory
) -> None:
    key = await make_key()
    assert (await connect(client, key)).status_code == 201
    duplicate = await connect(client, key)
    assert duplicate.status_code == 409
    assert (await connect(client, key, provider="anthropic")).status_code == 201
    for body, field in (
        ({"provider": "mistral"}, "provider"),
        ({"api_key": "short"}, "api_key"),
        ({"mode": "mirror"}, "mode"),
        ({"secret": "x"}, "secret"),
        ({"options": {"blob": "x" * 5000}}, "options"),
        ({"options": {"projects": ["proj_1"]}}, "options.projects"),
        ({"options": {"project_ids": "proj_1"}}, "options.project_ids"),
    ):
        response = await connect(client, key, name="other", **body)
        assert response.status_code == 400, body
        assert field in response.json()["error"]["details"]["fields"]


async def test_connections_are_deleted_belong_to_their_organization_and_need_admin(
    client: httpx.AsyncClient, make_key: KeyFactory, store: Store
) -> None:
    org = "provider-owners"
    key = await make_key(org=org)
    reader = await make_key(org=org, role=Role.READ)
    stranger = await make_key()
    connection = (await connect(client, key)).json()
    path = f"/v1/providers/{connection['id']}"
    assert (await client.get(path, headers=bearer(stranger))).status_code == 404
    assert (await client.delete(path, headers=bearer(stranger))).status_code == 404
    assert (await connect(client, reader, name="mine")).status_code == 403
    assert (await client.get(path, headers=bearer(reader))).status_code == 200
    assert (await client.delete(path, headers=bearer(key))).status_code == 204
    assert await store.connections.collection.find_one({"_id": connection["id"]}) is None
    assert (await client.get(path, headers=bearer(key))).status_code == 404


def test_a_sealed_credential_opens_only_for_its_record_and_key() -> None:
    sealer = Sealer(os.urandom(32))
    sealed = sealer.seal(SECRET, "connection-a")
    assert sealer.open(sealed, "connection-a") == SECRET
    with pytest.raises(SealError):
        sealer.open(sealed, "connection-b")
    with pytest.raises(SealError):
        Sealer(os.urandom(32)).open(sealed, "connection-a")


def test_the_secret_key_is_made_once_in_the_data_directory_unless_configured(
    tmp_path: Path,
) -> None:
    made = load_secret_key(None, tmp_path)
    assert len(made) == 32
    assert stat.S_IMODE((tmp_path / "secret.key").stat().st_mode) == 0o600
    assert load_secret_key(None, tmp_path) == made
    configured = "A" * 43
    assert load_secret_key(configured, tmp_path) != made
    with pytest.raises(ValueError, match="32 bytes"):
        load_secret_key("too-short", tmp_path)
