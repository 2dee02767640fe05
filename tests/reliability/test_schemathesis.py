"""The API fuzzed from its own OpenAPI schema (schemathesis, every built-in check).

Every operation the schema declares gets a fixed number of derandomized examples, positive and
negative, sent in-process to the ASGI app with the real security middleware (an API key, a
loopback Host). The checks hold the server to its schema: no 5xx, only documented statuses and
content types, responses in the declared shape, schema-valid requests accepted, schema-invalid
ones refused with a 4xx, and 401 when the key is left off.
"""

from __future__ import annotations

import atexit
import shutil
import tempfile
from pathlib import Path
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.config import SchemathesisConfig
from schemathesis.specs.openapi.checks import positive_data_acceptance

from openscout.config import Settings
from openscout.engines.mock import MockEngine
from openscout.server.app import create_app
from openscout.server.limits import Limits

KEY = "st-test-key"
BASE = "http://127.0.0.1:8765"
EXAMPLES = 30
AUTH = {"Authorization": f"Bearer {KEY}"}
STATUSES: dict[str, set[int]] = {}


def _app() -> Any:
    # module level (schemathesis parametrizes at import), so its own data dir, not the fixture's
    home = Path(tempfile.mkdtemp(prefix="openscout-st-"))
    atexit.register(shutil.rmtree, home, ignore_errors=True)
    engines = {
        "mock": MockEngine("mock", max_parallel=2),
        "mock2": MockEngine("mock2", default="a fixed answer", max_parallel=2),
    }
    # max_tokens bound = the mock's context (2048), so the schema states the real bound
    return create_app(
        Settings(home=home),
        engines=engines,  # type: ignore[arg-type]
        arena_models=["mock", "mock2"],
        api_key=KEY,
        limits=Limits(max_tokens=2048),
    )


APP = _app()
# A body over the size limit is refused with 413 before it is parsed: a rejection like any other.
REJECTED = ["400", "401", "403", "404", "405", "406", "409", "413", "415", "422", "428", "429"]
CONFIG = SchemathesisConfig.from_dict(
    {"checks": {"negative_data_rejection": {"expected-statuses": REJECTED}}}
)
# The schema as the server publishes it at /openapi.json (the loader's own Host would be refused)
schema = schemathesis.openapi.from_dict(APP.openapi(), config=CONFIG)
schema.app = APP


@pytest.mark.slow
@schema.parametrize()
@settings(
    max_examples=EXAMPLES,
    derandomize=True,
    deadline=None,
    database=None,
    suppress_health_check=list(HealthCheck),
)
def test_api_holds_to_its_schema(case: schemathesis.Case) -> None:
    excluded = []
    body = case.body if isinstance(case.body, dict) else {}
    positive = case.meta is not None and case.meta.generation.mode.is_positive
    if positive and isinstance(body.get("model"), str) and len(body["model"]) % 2:
        # a random name is a 404; point half of the valid requests at a real (mock) model
        body["model"] = "mock"
    token_ids = isinstance(body.get("prompt"), list) and not all(
        isinstance(p, str) for p in body["prompt"]
    )
    if case.path == "/v1/completions" and (body.get("logprobs") is not None or token_ids):
        # per-token logprobs and token-id prompts depend on the engine (the mock has neither:
        # 400 "unsupported")
        excluded.append(positive_data_acceptance)
    if case.path == "/v1/chat/completions" and body.get("logprobs"):
        excluded.append(positive_data_acceptance)
    if case.path in ("/tokenize", "/detokenize", "/tokenizer_info"):
        # the mock cannot tokenize (400 "unsupported"); which model, when none is named,
        # depends on the server's preloads
        excluded.append(positive_data_acceptance)
    r = case.call_and_validate(base_url=BASE, headers=AUTH, excluded_checks=excluded)
    STATUSES.setdefault(case.operation.label, set()).add(r.status_code)


def test_the_fuzz_reached_past_the_key_and_into_the_models() -> None:
    """Guard against a fuzz that only ever met the 401 or 404 (it would prove nothing)."""
    if not STATUSES:
        pytest.skip("run together with test_api_holds_to_its_schema")
    assert 200 in STATUSES["POST /v1/chat/completions"], STATUSES
    assert 200 in STATUSES["POST /v1/completions"], STATUSES
    assert 400 in STATUSES["POST /v1/chat/completions"], STATUSES
    assert all(codes != {401} for codes in STATUSES.values()), STATUSES
