"""Errors in OpenAI's shape: a real HTTP status plus {"error": {message, type, param, code}}.

Messages never carry file system paths or stack traces: unexpected exceptions become a plain
500 "internal error" and are logged on the server side only.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from openscout.errors import (
    CapabilityError,
    ChatTemplateError,
    ClientGoneError,
    ConfigError,
    ContextLengthError,
    DataFileError,
    EngineError,
    ModelFileError,
    ModelNotFoundError,
    ModelNotPreparedError,
    NotFoundError,
    OpenscoutError,
    StoreError,
    is_damaged_database,
    is_database_busy,
    is_out_of_disk,
    is_out_of_memory,
)

log = logging.getLogger("openscout.server")

_TYPES = {
    400: "invalid_request_error",
    401: "authentication_error",
    403: "permission_error",
    404: "not_found_error",
    405: "invalid_request_error",
    413: "invalid_request_error",
    429: "rate_limit_error",
    500: "server_error",
    502: "server_error",
    503: "server_error",
}


class APIError(Exception):
    def __init__(
        self,
        status: int,
        message: str,
        *,
        code: str | None = None,
        param: str | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.status, self.message, self.code, self.param = status, message, code, param
        self.headers = headers or {}


def error_body(
    status: int, message: str, code: str | None = None, param: str | None = None
) -> dict[str, Any]:
    return {
        "error": {
            "message": message,
            "type": _TYPES.get(status, "invalid_request_error"),
            "param": param,
            "code": code,
        }
    }


def error_response(
    status: int,
    message: str,
    code: str | None = None,
    param: str | None = None,
    headers: dict[str, str] | None = None,
) -> JSONResponse:
    return JSONResponse(
        error_body(status, message, code, param), status_code=status, headers=headers
    )


OUT_OF_MEMORY = "the server ran out of memory for this request; try again later"
# the disk must be freed outside openscout: deleting a chat writes too, so on a full disk it
# fails as well, and "try again once some is freed" left the user waiting (41st probe)
OUT_OF_DISK = (
    "the disk holding the server's data is full; free space on that disk (even deleting a"
    " chat needs a little), then try again"
)
DATABASE_BUSY = "the server's database is locked by another program; try again shortly"


def unexpected(e: Exception) -> tuple[int, str, str, dict[str, str]]:
    """What a failure nothing handled answers: the machine's limits are 503s worth asking
    again (a full disk answered 500 "internal error": 33rd probe), anything else a 500."""
    if is_out_of_memory(e):
        return 503, OUT_OF_MEMORY, "out_of_memory", {"Retry-After": "5"}
    if is_out_of_disk(e):
        return 503, OUT_OF_DISK, "out_of_disk_space", {"Retry-After": "60"}
    if is_database_busy(e):  # another program's write (a backup, sqlite3): over soon
        return 503, DATABASE_BUSY, "store_error", {"Retry-After": "5"}
    if is_damaged_database(e):
        return 503, "the server's database cannot be used", "store_error", {}
    return 500, "internal error", "internal_error", {}


def from_openscout(e: OpenscoutError) -> APIError:
    """Map our own errors to a status. Messages are ours, written without paths."""
    msg = e.message + (f" ({e.hint})" if e.hint else "")
    if isinstance(e, StoreError):  # its message names the database's path (33rd probe)
        status, message, code, headers = unexpected(e)
        if status == 500:
            status, message, code = 503, "the server's database cannot be used", "store_error"
        return APIError(status, message + "; see the server log", code=code, headers=headers)
    if isinstance(e, ModelNotFoundError):
        return APIError(404, e.message, code="model_not_found", param="model")
    if isinstance(e, CapabilityError):
        return APIError(400, msg, code="unsupported")
    if isinstance(e, ContextLengthError):
        return APIError(400, msg, code="context_length_exceeded")
    if isinstance(e, ChatTemplateError):  # these messages, not the model: vLLM answers 400 too
        return APIError(400, msg, code="chat_template_error", param="messages")
    if isinstance(e, DataFileError) and e.path and e.path.endswith("models.yaml"):
        where = f" at line {e.line}" if e.line else ""
        return APIError(
            503,
            f"models.yaml cannot be read{where}; see the server log",
            code="registry_unreadable",
        )
    if isinstance(e, ModelNotPreparedError):
        return APIError(503, msg, code="model_not_prepared", param="model")
    if isinstance(e, ModelFileError | ConfigError | DataFileError):
        if is_out_of_disk(e):  # no room to assemble the embedded Gemma: the disk, not the model
            status, message, code, headers = unexpected(e)
            return APIError(status, message, code=code, headers=headers)
        return APIError(
            503, "the model could not be loaded; see the server log", code="model_unavailable"
        )
    if isinstance(e, EngineError):
        return APIError(502, f"the model failed to answer: {e.message}", code="engine_error")
    if isinstance(e, NotFoundError):
        return APIError(404, msg, code="not_found")
    if isinstance(e, ClientGoneError):  # nobody reads it; nginx's code for a closed request
        return APIError(499, msg, code="client_closed_request")
    return APIError(400, msg)


def _param(loc: tuple[Any, ...]) -> str | None:
    parts = [str(x) for x in loc if x != "body"]
    return ".".join(parts) or None


# what a field that takes several forms (a union) accepts, said once instead of pydantic's
# first form's complaint: a token id of -1 was "prompt.constrained-str: Input should be a
# valid string" (31st probe, low)
UNION_FORMS = {
    "prompt": "a non-empty text, a non-empty list of them, a non-empty list of token ids"
    " (whole numbers from 0) or a non-empty list of such lists",
    "stop": "a text or a list of texts",
    "content": "a text, a list of content parts or null",
}


def _union_tag(part: Any) -> bool:
    """pydantic's name for one form of a union in an error's place: 'str', 'list[str]',
    'constrained-int', 'ContentPart'; never one of our field names."""
    return isinstance(part, str) and (
        "[" in part or "-" in part or part in ("str", "int", "float", "bool") or part[:1].isupper()
    )


def validation_message(errors: Sequence[Any]) -> tuple[str, str | None]:
    """The first problem of a request as (message, param), in the client's terms."""
    first = errors[0] if errors else {"loc": (), "msg": "invalid request"}
    loc = tuple(first.get("loc", ()))
    tag = next((i for i, part in enumerate(loc) if _union_tag(part)), None)
    param = _param(loc if tag is None else loc[:tag])
    msg = str(first.get("msg", "invalid request"))
    if tag is not None:
        forms = UNION_FORMS.get(str(loc[tag - 1]))
        return (f"{param} must be {forms}" if forms else f"{param}: no form fits ({msg})"), param
    return (f"{param}: {msg}" if param else msg), param


def install(app: FastAPI) -> None:
    @app.exception_handler(APIError)
    async def _api_error(request: Request, e: APIError) -> JSONResponse:
        return error_response(e.status, e.message, e.code, e.param, e.headers)

    @app.exception_handler(OpenscoutError)
    async def _ours(request: Request, e: OpenscoutError) -> JSONResponse:
        api = from_openscout(e)
        if api.status >= 500:
            log.warning("request failed: %s", e)
        return error_response(api.status, api.message, api.code, api.param, api.headers)

    @app.exception_handler(RequestValidationError)
    async def _invalid(request: Request, e: RequestValidationError) -> JSONResponse:
        message, param = validation_message(e.errors())
        return error_response(400, message, "invalid_value", param)

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, e: StarletteHTTPException) -> JSONResponse:
        message = e.detail if isinstance(e.detail, str) else "request failed"
        return error_response(e.status_code, message, headers=getattr(e, "headers", None))

    @app.exception_handler(Exception)
    async def _unexpected(request: Request, e: Exception) -> JSONResponse:
        status, message, code, headers = unexpected(e)
        log.error("%s on %s", code, request.url.path, exc_info=status == 500)
        return error_response(status, message, code, headers=headers)
