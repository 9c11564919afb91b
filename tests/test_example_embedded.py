"""The embedded example, served on a real port: the bot sees placeholders, the user values."""

from __future__ import annotations

from aiohttp.test_utils import TestClient, TestServer

from examples.embedded_aiohttp import make_app


async def test_embedded_backend_redacts_before_the_bot_and_restores_after() -> None:
    async with TestClient(TestServer(make_app(), host="127.0.0.1")) as client:
        response = await client.post(
            "/messages", json={"conversation": "c1", "text": "Hi, my name is Anna Keller"}
        )
        assert response.status == 200
        body = await response.json()
        assert body["sent_to_bot"] == "Hi, my name is <PERSON_1>"
        assert body["reply"] == "Hello Anna Keller, how can I help?"

        bad = await client.post("/messages", data=b"{not json")
        assert bad.status == 400
