"""The HTML pages: /, /catalog, /models/{id}, /chat, /compare, /arena, /leaderboard.

Templates run with autoescaping on, so model output, model cards and names are always text.
Pages carry no inline script (the CSP forbids it): behaviour lives in /static/*.js, and data
for scripts travels in `<script type="application/json">` blocks, which browsers never run.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from fastapi import APIRouter, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import FileResponse, HTMLResponse, Response
from fastapi.templating import Jinja2Templates
from jinja2 import Environment, FileSystemLoader, select_autoescape

from openscout import __version__, chats
from openscout.arena import battles as arena
from openscout.arena.ratings import Rating
from openscout.catalog.machine import PROFILES
from openscout.chat_prompt import BASE_MARK
from openscout.errors import OpenscoutError
from openscout.server import data, shown
from openscout.server.pool import ModelPool
from openscout.server.security import CSP
from openscout.server.ui_api import arena_models, current_ratings
from openscout.units import human_bytes

HERE = Path(__file__).parent


def templates() -> Jinja2Templates:
    env = Environment(
        loader=FileSystemLoader(HERE / "templates"),
        autoescape=select_autoescape(["html"], default=True, default_for_string=True),
    )
    env.globals["version"] = __version__
    env.globals["human_bytes"] = human_bytes  # the one size format (openscout.units)
    env.globals["safe_url"] = shown.safe_url  # what may become a link
    env.globals["source_text"] = shown.source_text  # what stays text, paths left out
    return Jinja2Templates(env=env)


def make_router(pool: ModelPool) -> APIRouter:
    r = APIRouter(default_response_class=HTMLResponse)
    tpl = templates()
    settings = pool.settings

    def render(
        request: Request, name: str, page: str, status: int = 200, **ctx: object
    ) -> HTMLResponse:
        return tpl.TemplateResponse(request, name, {"page": page, **ctx}, status_code=status)

    def model_rows() -> list[dict[str, Any]]:
        return [{**s.model_dump(), "state": pool.state(s.id).state} for s in pool.specs()]

    async def ratings() -> list[Rating]:
        return await run_in_threadpool(current_ratings, pool)

    @r.get("/")
    async def index(request: Request) -> HTMLResponse:
        return render(
            request,
            "index.html",
            "overview",
            models=model_rows(),
            # counted, not listed, and off the event loop (10,000 chats listed on it held
            # /health 1.5 s under ten views; nineteenth probe)
            n_chats=await run_in_threadpool(chats.count_chats, settings),
            n_votes=await run_in_threadpool(arena.vote_count, settings),
            # off the event loop: the first read after a change of the user's catalog files
            # parses them (a bad 2.7 MB file held /health 20 s, seventeenth probe)
            n_catalog=await run_in_threadpool(data.catalog_size, settings),
        )

    @r.get("/chat")
    async def chat(request: Request) -> HTMLResponse:
        rows = model_rows()
        default = next(
            (m["id"] for m in rows if m["prompt_format"] == "chat"), rows[0]["id"] if rows else ""
        )
        return render(
            request, "chat.html", "chat", models=rows, default_model=default, base_mark=BASE_MARK
        )

    @r.get("/compare")
    async def compare(request: Request) -> HTMLResponse:
        return render(request, "compare.html", "compare", models=model_rows())

    @r.get("/arena")
    async def arena_page(request: Request) -> HTMLResponse:
        return render(request, "arena.html", "arena", n_models=len(arena_models(pool)))

    def leaderboard_data() -> dict[str, Any]:
        specs = pool.specs()
        evals = data.eval_rows(settings, specs)
        return {
            "n_votes": arena.vote_count(settings),
            "evals": evals,
            "charts": data.comparison_charts(settings),
            "published": data.published_rows(settings, specs, evals),
        }

    @r.get("/leaderboard")
    async def leaderboard(request: Request) -> HTMLResponse:
        # off the event loop: it reads the store, reports and the imported results cache
        ctx = await run_in_threadpool(leaderboard_data)
        page = render(request, "leaderboard.html", "leaderboard", ratings=await ratings(), **ctx)
        if ctx["charts"]:  # plotly.js adds <style> elements: styles only, scripts stay 'self'
            page.headers["Content-Security-Policy"] = CSP.replace(
                "style-src 'self'", "style-src 'self' 'unsafe-inline'"
            )
        return page

    @r.get(
        "/vendor/plotly.min.js",
        response_class=Response,
        responses={
            200: {"content": {"text/javascript": {}}},
            404: {"content": {"text/plain": {}}},
        },
    )
    async def plotly_js() -> Response:
        """plotly.js from the installed plotly package: served locally, never from a CDN."""
        path = data.plotly_js_path()
        if path is None:
            return Response("plotly is not installed", status_code=404, media_type="text/plain")
        return FileResponse(
            path, media_type="text/javascript", headers={"Cache-Control": "max-age=86400"}
        )

    @r.get("/catalog")
    async def catalog(request: Request) -> HTMLResponse:
        query = data.CatalogQuery.from_params(request.query_params)
        result = await run_in_threadpool(data.search_catalog, query, settings)
        return render(
            request,
            "catalog.html",
            "catalog",
            q=query,
            result=result,
            license_filters=data.LICENSE_FILTERS,
            labels=list(data.LABELS),
            text_filters=data.TEXT_FILTERS,
            sorts=data.SORTS,
            machine_profiles=list(PROFILES),
        )

    @r.get("/models/{model_id:path}", response_class=HTMLResponse)
    async def model_page(request: Request, model_id: str) -> HTMLResponse:
        target_q = data.MachineParams.from_params(request.query_params)
        try:
            target = target_q.target(settings)
        except OpenscoutError as e:  # a bad size or an unknown machine: this machine, and why
            target, target_error = None, shown.page_error(e, settings)
        else:
            target_error = None
        # off the event loop: it reads GGUF headers, the catalog and the store
        view = await run_in_threadpool(data.model_view, pool, model_id, target)
        if view is None:
            return render(
                request,
                "error.html",
                "",
                status=404,
                title="Model not found",
                message=f"No registered or catalogued model is called {model_id!r}.",
            )
        ids = {spec.id for spec in view.specs}
        rated = [x for x in await ratings() if x.model in ids and x.votes] if ids else []
        return render(
            request,
            "model.html",
            "",
            arena=rated,
            target_q=target_q,
            target_error=target_error,
            **view.context(),
        )

    return r
