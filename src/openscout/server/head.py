"""HEAD is answered as GET without the body, on every route (RFC 9110 9.1: a general-purpose
server supports both). FastAPI registers a GET route for GET alone, so `curl -I`, link
checkers and uptime monitors saw every page and API list answer 405 (41st probe, low); /health
and /static had been given HEAD one by one."""

from __future__ import annotations

from starlette.types import ASGIApp, Message, Receive, Scope, Send


class HeadAsGet:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] != "HEAD":
            await self.app(scope, receive, send)
            return

        async def headers_only(message: Message) -> None:
            if message["type"] == "http.response.body":  # the GET's headers, length included
                message = {**message, "body": b""}
            await send(message)

        # a copy: the server keeps its own scope, says HEAD, and sends no body either
        await self.app({**scope, "method": "GET"}, receive, headers_only)
