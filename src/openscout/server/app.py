"""The application factory: `create_app(settings)` -> FastAPI app with API, pages and security.

`engines` is a hook for tests and embedding: engines passed in are served under their ids next
to the registered models (tests inject MockEngines with scripted answers this way).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Iterable, Sequence
from pathlib import Path
from typing import Any

from fastapi import FastAPI
from fastapi.staticfiles import StaticFiles

from openscout.config import Settings, get_settings
from openscout.engines.base import Engine
from openscout.errors import DataFileError, QueueFullError
from openscout.server import errors, openapi
from openscout.server.head import HeadAsGet
from openscout.server.limits import Limits
from openscout.server.pool import ModelPool
from openscout.server.security import SecurityMiddleware, default_allowed_hosts
from openscout.store import lock_wait
from openscout.store.lock_wait import LockWait

log = logging.getLogger("openscout.server")

HERE = Path(__file__).parent


def create_app(
    settings: Settings | None = None,
    *,
    limits: Limits | None = None,
    engines: dict[str, Engine] | None = None,
    api_key: str | None = None,
    bind_host: str | None = None,
    allow_hosts: Iterable[str] = (),
    preload: Sequence[str] = (),
    arena_models: Sequence[str] | None = None,
) -> FastAPI:
    settings = settings or get_settings()
    limits = limits or Limits()
    key = api_key if api_key is not None else settings.api_key
    pool = ModelPool(settings, limits, engines, arena_models)

    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        task = asyncio.create_task(pool.preload(list(preload))) if preload else None
        yield
        if task is not None:
            task.cancel()

    app = FastAPI(title="openscout", docs_url=None, redoc_url=None, lifespan=lifespan)
    app.state.pool = pool
    app.state.settings = settings
    app.state.limits = limits
    app.state.preload = list(preload)
    errors.install(app)

    @app.exception_handler(QueueFullError)
    async def _queue_full(request: Any, e: QueueFullError) -> Any:
        return errors.error_response(
            e.status, e.message, "queue_full", headers={"Retry-After": str(limits.retry_after_s)}
        )

    @app.get("/health")
    async def health() -> dict[str, Any]:
        models = []
        try:
            specs = pool.specs()
        except DataFileError as e:  # models.yaml damaged while serving: say so, keep answering
            log.error("%s", e)
            where = f" at line {e.line}" if e.line else ""
            return {"status": "error", "ready": False, "models": [], "error": f"models.yaml{where}"}
        for s in specs:
            st = pool.state(s.id)
            # public route: a load error may name files; its text is in the server log
            error = "could not be loaded; see the server log" if st.error else None
            models.append({"id": s.id, "state": st.state, "error": error})
        ready = all(pool.has_loaded(m) for m in preload)  # preloading done
        return {"status": "ok", "ready": ready, "models": models}

    # HEAD too, as a PUT's 405 says: a monitor's HEAD was a 405 (33rd probe); one schema entry
    app.add_api_route("/health", health, methods=["HEAD"], include_in_schema=False)

    from openscout.server.api import make_router
    from openscout.server.pages import make_router as make_pages
    from openscout.server.tokenizer_api import make_router as make_tokenizer
    from openscout.server.ui_api import make_router as make_ui

    app.include_router(make_router(pool))
    app.include_router(make_tokenizer(pool))
    app.include_router(make_ui(pool))
    app.include_router(make_pages(pool))
    app.mount("/static", StaticFiles(directory=HERE / "static"), name="static")
    openapi.install(app, limits, secured=bool(key))
    app.add_middleware(HeadAsGet)  # innermost: the guards in front see the HEAD itself
    app.add_middleware(
        RequestLockWait, wait=LockWait(limits.db_lock_wait_s, limits.db_lock_waiters)
    )
    app.add_middleware(
        SecurityMiddleware,
        api_key=key,
        allowed_hosts=default_allowed_hosts(bind_host or settings.host, allow_hosts),
        limits=limits,
    )
    return app


class RequestLockWait:
    """The database connections a request opens, in its worker threads too, wait for another
    program's lock as `wait` says (store/lock_wait.py), not a command's 30 s."""

    def __init__(self, app: Any, wait: LockWait) -> None:
        self.app, self.wait = app, wait

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        token = lock_wait.for_requests(self.wait)
        try:
            await self.app(scope, receive, send)
        finally:
            lock_wait.done(token)
