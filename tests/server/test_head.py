"""HEAD is answered as GET without a body on every page and GET API route (RFC 9110 9.1);
each answered 405 but /health and /static (41st probe, low)."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

PATHS = ["/", "/chat", "/leaderboard", "/v1/models", "/ui/api/chats", "/health"]


@pytest.mark.parametrize("path", PATHS)
def test_head_answers_as_get_without_the_body(client: TestClient, path: str) -> None:
    got, head = client.get(path), client.head(path)
    assert got.status_code == head.status_code == 200, head.text
    assert head.content == b""
    for name in ("content-type", "content-security-policy", "cache-control", "content-length"):
        assert head.headers.get(name) == got.headers.get(name), name


def test_head_is_refused_where_get_is(make_client) -> None:  # type: ignore[no-untyped-def]
    client = make_client()
    r = client.head("/v1/chat/completions")  # POST only
    assert r.status_code == 405 and r.content == b""
    keyed = make_client(api_key="k" * 32)
    assert keyed.head("/v1/models").status_code == 401
    assert (
        keyed.head("/v1/models", headers={"Authorization": "Bearer " + "k" * 32}).status_code == 200
    )
