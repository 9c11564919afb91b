"""The reverse proxy: chatguard as an aiohttp service (``chatguard serve``)."""
