"""The OpenAPI schema the server publishes, made true to what it answers.

FastAPI documents a `422` with its own validation shape on every route with input; openscout
answers `400` with OpenAI's error object instead, and its security middleware can answer
400/401/403/413 on any route. This module rewrites each operation's responses to the statuses
it can really give, all with the one error shape, and documents the SSE stream of the
generation routes. Schemathesis (tests/reliability/test_schemathesis.py) holds it to this.
"""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI

from openscout.server.limits import Limits

ERROR_SCHEMA: dict[str, Any] = {
    "type": "object",
    "required": ["error"],
    "properties": {
        "error": {
            "type": "object",
            "required": ["message", "type", "param", "code"],
            "properties": {
                "message": {"type": "string", "minLength": 1},
                "type": {"type": "string"},
                "param": {"type": ["string", "null"]},
                "code": {"type": ["string", "null"]},
            },
        }
    },
}

_WHY = {
    "400": "Invalid request, or a Host header that is not allowed (DNS rebinding)",
    "401": "Missing or wrong API key (only when the server has one)",
    "403": "A cross-origin request",
    "404": "Unknown model, chat or battle",
    "408": "The request body did not arrive in time",
    "409": "The battle is already over",
    "413": "The request body is too large",
    "429": "Too many requests are waiting for this model (see Retry-After)",
    "499": "The client closed the request before the answer was complete",
    "500": "The model could not be loaded",
    "502": "The model failed to answer",
    "503": "The server is busy (see Retry-After)",
}
_RETRY_AFTER = {"Retry-After": {"schema": {"type": "integer"}, "description": "seconds"}}
_GENERATION = (
    "/v1/chat/completions",
    "/v1/completions",
    "/ui/api/arena/battles/{battle_id}/answer",
)
_TOKENIZER = ("/tokenizer_info", "/tokenize", "/detokenize")
# Before OpenAPI 3.2 the schema of an event stream describes each event: `data` is a JSON
# chunk, an error object or the final `[DONE]`.
_SSE = {
    "text/event-stream": {
        "schema": {
            "type": "object",
            "required": ["data"],
            "properties": {"data": {"type": "string", "minLength": 1}},
        }
    }
}


def _statuses(path: str, method: str, op: dict[str, Any]) -> list[str]:
    if path == "/health":
        return ["400"]  # only the Host check applies
    codes = {"400", "401", "403"}
    if method in ("post", "put", "patch", "delete"):
        codes |= {"408", "413", "503"}  # the body: too slow, too large, too many read at once
    if op.get("parameters") or path.startswith(("/v1/", "/ui/api/chats", "/ui/api/arena")):
        codes.add("404")
    if path.startswith(_GENERATION):
        codes |= {"429", "499", "500", "502", "503"}
    if path in _TOKENIZER:  # a model is loaded and queued for, as for generation
        codes |= {"404", "429", "500", "503"}
    if path.startswith("/ui/api/arena/battles/{battle_id}/"):
        codes.add("409")
    if path == "/ui/api/arena/battles":
        codes.add("404")  # too few models to pair
    return sorted(codes)


def _bound(prop: dict[str, Any], **bounds: Any) -> None:
    """Add bounds to the non-null branch of an optional field (or to the field itself)."""
    for branch in prop.get("anyOf", [prop]):
        if branch.get("type") not in (None, "null"):
            branch.update(bounds)


def _tighten(schemas: dict[str, Any], limits: Limits) -> None:
    """Write the server's configured bounds into the request schemas (pydantic's classes are
    shared by every app, the limits belong to this one), so a schema-valid request is one the
    server accepts, apart from what depends on the model (its context, its capabilities)."""
    stop_item = {"type": "string", "maxLength": limits.max_stop_chars}
    for name in ("ChatRequest", "CompletionRequest"):
        props = schemas[name]["properties"]
        props["stop"]["anyOf"] = [
            stop_item,
            {"type": "array", "items": stop_item, "maxItems": limits.max_stop},
            {"type": "null"},
        ]
        _bound(props["n"], maximum=limits.max_n)
        _bound(props["max_tokens"], maximum=limits.max_tokens)
    chat = schemas["ChatRequest"]["properties"]
    chat["messages"]["maxItems"] = limits.max_messages
    for key in ("max_tokens", "max_completion_tokens"):
        _bound(chat[key], minimum=1, maximum=limits.max_tokens)
    completion = schemas["CompletionRequest"]["properties"]
    _bound(completion["logprobs"], maximum=limits.max_logprobs)
    text = {"type": "string", "minLength": 1, "maxLength": limits.max_total_chars}
    ids = {"type": "array", "items": {"type": "integer", "minimum": 0}, "minItems": 1}
    ids["maxItems"] = limits.max_total_chars
    completion["prompt"]["anyOf"] = [  # text, texts, token ids, lists of token ids; not empty
        text,
        {"type": "array", "items": text, "minItems": 1, "maxItems": limits.max_prompts},
        ids,
        {"type": "array", "items": ids, "minItems": 1, "maxItems": limits.max_prompts},
    ]
    _bound(chat["top_logprobs"], maximum=limits.max_logprobs)
    _bound(schemas["ChatSettings"]["properties"]["max_tokens"], maximum=limits.max_tokens)
    tokenize = schemas["TokenizeRequest"]["properties"]
    _bound(tokenize["prompt"], maxLength=limits.max_total_chars)
    tokenize["messages"]["anyOf"][0]["maxItems"] = limits.max_messages
    schemas["DetokenizeRequest"]["properties"]["tokens"]["maxItems"] = limits.max_total_chars
    message = schemas["ChatMessageIn"]["properties"]
    message["role"] = {"type": "string", "enum": ["system", "developer", "user", "assistant"]}
    content = {"type": "string", "maxLength": limits.max_message_chars}
    message["content"]["anyOf"][0] = content
    schemas["ContentPart"]["properties"]["type"] = {"type": "string", "enum": ["text"]}


def install(app: FastAPI, limits: Limits, *, secured: bool) -> None:
    """Replace app.openapi with a version whose bounds and error responses match the server's."""
    plain = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is not None:
            return app.openapi_schema
        schema = plain()
        components = schema.setdefault("components", {}).setdefault("schemas", {})
        components.pop("HTTPValidationError", None)
        components.pop("ValidationError", None)
        components["Error"] = ERROR_SCHEMA
        _tighten(components, limits)
        if secured:  # one bearer key in front of everything but /health
            schema["components"]["securitySchemes"] = {
                "bearerAuth": {"type": "http", "scheme": "bearer"}
            }
        ref = {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}
        html = {**ref, "text/html": {"schema": {"type": "string"}}}
        for path, item in schema.get("paths", {}).items():
            for method, op in item.items():
                responses = op.setdefault("responses", {})
                responses.pop("422", None)
                if secured and path != "/health":
                    op["security"] = [{"bearerAuth": []}]
                # pages answer errors as HTML (the 401 too, for a browser that asks for HTML)
                page = "text/html" in responses.get("200", {}).get("content", {})
                for code in _statuses(path, method, op):
                    resp: dict[str, Any] = {
                        "description": _WHY[code],
                        "content": html if page else ref,
                    }
                    if code in ("429", "503"):
                        resp["headers"] = _RETRY_AFTER
                    responses[code] = resp
                if path.startswith(_GENERATION) and "200" in responses:
                    content = responses["200"].setdefault("content", {})
                    content.update(_SSE)
        app.openapi_schema = schema
        return schema

    app.openapi = openapi  # type: ignore[method-assign]
