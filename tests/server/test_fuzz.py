"""Whatever JSON a client sends, the API answers with a success or a 4xx in OpenAI's shape,
never a 500 (hypothesis, fixed example count)."""

from __future__ import annotations

import json
from typing import Any

from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from openscout.config import Settings
from openscout.engines.mock import MockEngine
from openscout.server.app import create_app

scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-(2**70), 2**70),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=20),
)
values = st.recursive(
    scalars,
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4)
    ),
    max_leaves=10,
)
message = st.fixed_dictionaries(
    {"role": st.sampled_from(["user", "system", "assistant", "tool", 3]), "content": values}
)
fields = {
    "model": st.sampled_from(["mock", "nope", "", 7]),
    "messages": st.one_of(st.lists(message, max_size=3), values),
    "prompt": st.one_of(st.text(max_size=30), st.lists(st.text(max_size=5), max_size=3), values),
    "max_tokens": st.one_of(st.integers(-5, 10**7), values),
    "n": st.one_of(st.integers(-2, 10), values),
    "temperature": values,
    "top_p": values,
    "stop": values,
    "seed": values,
    "stream": values,
    "stream_options": values,
    "echo": values,
    "logprobs": values,
    "extra": values,
}
bodies = st.fixed_dictionaries({}, optional=fields)


def _client() -> TestClient:
    app = create_app(Settings(), engines={"mock": MockEngine("mock")}, arena_models=[])
    return TestClient(app, base_url="http://127.0.0.1:8765", raise_server_exceptions=False)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(body=bodies, path=st.sampled_from(["/v1/chat/completions", "/v1/completions"]))
def test_random_bodies_never_crash_the_api(body: dict[str, Any], path: str) -> None:
    # json.dumps writes NaN/Infinity as bare words: not JSON, but parsers may take them
    r = CLIENT.post(path, content=json.dumps(body), headers={"Content-Type": "application/json"})
    assert r.status_code in (200, 400, 404), (r.status_code, r.text)
    if r.status_code != 200:
        err = r.json()["error"]
        assert set(err) == {"message", "type", "param", "code"} and err["message"]


CLIENT = _client()
