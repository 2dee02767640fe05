"""The local workbench: web pages and an OpenAI-compatible API on one port.

`create_app(settings)` builds the FastAPI application (see app.py); `openscout serve` runs it
under uvicorn. Security defaults (loopback bind, bearer key, Host allow-list, CSP, bounds) are
described in SECURITY.md and implemented in security.py and schemas.py.
"""

from __future__ import annotations

from typing import Any


def create_app(*args: Any, **kwargs: Any) -> Any:
    from openscout.server.app import create_app as _create_app

    return _create_app(*args, **kwargs)
