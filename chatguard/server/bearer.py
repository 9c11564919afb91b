"""Bearer-token access to a part of the service that stays closed until its token is
set (the admin API, the OpenAI-compatible channel).

Promises: while no token is configured, every request is answered 503 with a message
naming the variable that sets it; with a token, a request without
``Authorization: Bearer <token>`` (compared in constant time) is answered 401 with
``WWW-Authenticate: Bearer realm=...`` and reaches nothing else. A refusal is logged
without the token or anything else from the request.
"""

from __future__ import annotations

import hmac
import logging
from dataclasses import dataclass

from aiohttp import web
from pydantic import SecretStr

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class BearerGate:
    """How one part of the service names itself when it refuses a request."""

    name: str  # "admin API": in the 401 message and the log line
    disabled_error: str  # the 503 body's ``error``, e.g. "AdminDisabled"
    disabled_message: str  # the 503 body's ``message``: which variable sets the token
    realm: str  # the ``WWW-Authenticate`` realm

    def refusal(self, request: web.Request, configured: SecretStr | None) -> web.Response | None:
        """The answer refusing ``request``, or ``None`` when it carries the
        ``configured`` token."""
        if configured is None:
            body = {"error": self.disabled_error, "message": self.disabled_message}
            return web.json_response(body, status=503)
        scheme, _, given = request.headers.get("Authorization", "").partition(" ")
        expected = configured.get_secret_value().encode()
        if scheme.lower() == "bearer" and hmac.compare_digest(given.strip().encode(), expected):
            return None
        logger.warning("%s refused a request without a valid bearer token", self.name)
        return web.json_response(
            {"error": "Unauthorized", "message": f"a valid {self.name} bearer token is required"},
            status=401,
            headers={"WWW-Authenticate": f'Bearer realm="{self.realm}"'},
        )
