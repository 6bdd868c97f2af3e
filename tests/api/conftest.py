"""The fixtures of the API tests: a door, REST or GraphQL, onto the module's app."""

from __future__ import annotations

import httpx
import pytest

from tests.support.doors import DOORS, Door


@pytest.fixture(params=list(DOORS))
def door(request: pytest.FixtureRequest, client: httpx.AsyncClient) -> Door:
    """Each test that takes it runs twice: through REST (/v1) and through GraphQL."""
    door: Door = DOORS[request.param](client)
    return door
