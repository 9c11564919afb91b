"""Request bodies as every endpoint reads them: one JSON object, or a typed 400."""

from __future__ import annotations

import json
from typing import Any

from aiohttp import web

from chatguard.errors import InvalidRequestError


def parse_json_object(raw: str | bytes) -> dict[str, Any]:
    """``raw`` as a JSON object; ``InvalidRequestError`` (never quoting it) otherwise."""
    try:
        body = json.loads(raw)
    except ValueError:
        raise InvalidRequestError("the request body is not valid JSON") from None
    if not isinstance(body, dict):
        raise InvalidRequestError("the request body must be a JSON object")
    return body


async def json_object(request: web.Request, *, allow_empty: bool = False) -> dict[str, Any]:
    """The request's body as a JSON object (an empty body as ``{}`` when allowed)."""
    raw = await request.read()
    if allow_empty and not raw.strip():
        return {}
    return parse_json_object(raw)
