"""The service as an ASGI application, and what serves it over HTTP (uvicorn's configuration,
websocket writes, cross-origin access, request metrics): the only code besides the two doors
that knows the web framework."""

from __future__ import annotations

from meterr.app.application import create_app

__all__ = ["create_app"]
