"""/v1/openapi.json is generated from the route table: valid OpenAPI 3.1, complete, and the
suite's answers are checked against it (see tests/support/contract.py)."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from openapi_spec_validator import validate

from meterr.rest_compat import v1_routes
from tests.conftest import KeyFactory, bearer
from tests.support.contract import OpenApiContract


@pytest.fixture(scope="module")
async def document(client: httpx.AsyncClient) -> dict[str, Any]:
    answer = await client.get("/v1/openapi.json")
    assert answer.status_code == 200
    return dict(answer.json())


def _operations(document: dict[str, Any]) -> list[tuple[str, str, dict[str, Any]]]:
    return [
        (path, method, operation)
        for path, methods in document["paths"].items()
        for method, operation in methods.items()
    ]


def test_the_document_is_valid_openapi_3_1(document: dict[str, Any]) -> None:
    assert document["openapi"] == "3.1.0"
    validate(document)


def test_every_route_is_described(document: dict[str, Any]) -> None:
    routes = v1_routes()
    described = {(path, method.upper()) for path, method, _ in _operations(document)}
    served = {
        (route.path, method)
        for route in routes
        for method in (route.methods or ())
        if method != "HEAD"
    }
    assert served == described


def test_every_answer_names_its_fields(document: dict[str, Any]) -> None:
    """No bare `{"type": "object"}`: each JSON answer is a model whose fields are listed."""
    schemas = document["components"]["schemas"]
    for path, method, operation in _operations(document):
        if path == "/openapi.json":
            continue
        for status, answer in operation["responses"].items():
            schema = answer.get("content", {}).get("application/json", {}).get("schema")
            if schema is None:
                continue
            references = [
                option["$ref"] for option in schema.get("anyOf", [schema]) if "$ref" in option
            ]
            assert references, f"{method} {path} {status} answers an unnamed shape"
            for reference in references:
                model = schemas[reference.rsplit("/", 1)[1]]
                assert (
                    model.get("properties")
                    or model.get("additionalProperties")
                    or (model.get("anyOf"))
                ), f"{method} {path} {status}: {reference} lists no fields"


def test_errors_are_documented_with_the_envelope(document: dict[str, Any]) -> None:
    envelope = document["components"]["responses"]["Error"]["content"]["application/json"]
    error = document["components"]["schemas"][envelope["schema"]["$ref"].rsplit("/", 1)[1]]
    assert error["required"] == ["error"]
    for path, method, operation in _operations(document):
        if path != "/openapi.json":
            assert operation["responses"]["500"] == {"$ref": "#/components/responses/Error"}
        if "security" not in operation:
            assert "401" in operation["responses"], (method, path)


def test_query_parameters_carry_their_bounds_and_defaults(document: dict[str, Any]) -> None:
    parameters = {p["name"]: p for p in document["paths"]["/usage/history"]["get"]["parameters"]}
    assert parameters["limit"]["schema"] == {
        "type": "integer",
        "minimum": 1,
        "maximum": 1000,
        "default": 100,
    }
    interval = document["components"]["schemas"]["Interval"]
    assert interval["enum"] == ["hour", "day", "week", "month"]
    assert parameters["interval"]["schema"]["default"] == "day"
    tolerance = {
        p["name"]: p
        for p in document["paths"]["/providers/{connection_id}/reconciliation"]["get"]["parameters"]
    }["tolerance"]
    assert "5" in str(tolerance["schema"]["default"])


def test_the_contract_check_fails_an_answer_that_drifts(document: dict[str, Any]) -> None:
    contract = OpenApiContract(document)
    good = b'{"budgets": []}'
    contract.check("GET", "/budgets", 200, good, "application/json")
    with pytest.raises(AssertionError, match="budgets"):
        contract.check("GET", "/budgets", 200, b'{"budgets": [], "extra": 1}', "application/json")
    with pytest.raises(AssertionError, match="status 418"):
        contract.check("GET", "/budgets", 418, good, "application/json")
    with pytest.raises(AssertionError, match="error"):
        contract.check("GET", "/budgets", 401, good, "application/json")
    with pytest.raises(AssertionError, match="not documented"):
        contract.check("PUT", "/budgets", 200, good, "application/json")
    with pytest.raises(AssertionError, match="error"):
        contract.check("PUT", "/budgets", 405, good, "application/json")


async def test_an_unknown_query_parameter_is_refused_by_name(
    client: httpx.AsyncClient, make_key: KeyFactory
) -> None:
    key = await make_key()
    answer = await client.get("/v1/costs", params={"group-by": "model"}, headers=bearer(key))
    assert answer.status_code == 400
    error = answer.json()["error"]
    assert error["code"] == "invalid_input"
    assert error["details"]["fields"] == {"group-by": "unknown field"}


@pytest.mark.parametrize(
    ("path", "params", "field"),
    [
        ("/v1/usage/history", {"interval": "decade"}, "interval"),
        ("/v1/usage/history", {"limit": "0"}, "limit"),
        ("/v1/usage/history", {"limit": "9" * 5000}, "limit"),
        ("/v1/teams", {"limit": "many"}, "limit"),
        ("/v1/costs/forecast", {"horizon": "999"}, "horizon"),
        ("/v1/budgets/check", {"estimated_cost": "1e999990"}, "estimated_cost"),
        ("/v1/budgets/check", {"estimated_tokens": "-1"}, "estimated_tokens"),
        ("/v1/prices/import", {"dry_run": "perhaps"}, "dry_run"),
    ],
)
async def test_query_values_are_checked_against_their_model(
    client: httpx.AsyncClient, make_key: KeyFactory, path: str, params: dict[str, str], field: str
) -> None:
    key = await make_key()
    method = "POST" if path.endswith("import") else "GET"
    answer = await client.request(method, path, params=params, headers=bearer(key), json={})
    assert answer.status_code == 400, answer.text
    assert set(answer.json()["error"]["details"]["fields"]) == {field}
