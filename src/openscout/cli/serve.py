"""`openscout serve`: the web workbench and the OpenAI-compatible API on one port."""

from __future__ import annotations

import secrets
from urllib.parse import quote

import typer

from openscout.cli.output import console, esc, log_inert_to_stderr, print_json
from openscout.config import get_settings
from openscout.errors import ConfigError
from openscout.server.limits import DEFAULT_LANE_CTX, Limits

MIN_NETWORK_KEY_CHARS = 12  # a key that guards a server others can reach


def check_bind(host: str, api_key: str | None) -> None:
    """Refuse to listen beyond loopback without a key: anyone on the network could use it."""
    from openscout.loopback import is_loopback

    if api_key and not all(" " <= c <= "~" for c in api_key):
        raise ConfigError(  # HTTP headers arrive as Latin-1: such a key never matched a Bearer
            "the API key must be printable ASCII: clients send it in an HTTP header",
            hint="use a random key, e.g. python -c 'import secrets; print(secrets.token_urlsafe())'",
        )
    if api_key and api_key != api_key.strip():  # HTTP drops a header value's outer blanks:
        raise ConfigError(  # only the ?key= login could use such a key (30th probe)
            "the API key begins or ends with a blank, which no Authorization header can carry",
            hint="remove the blanks around it",
        )
    if is_loopback(host):
        return
    if not api_key:
        raise ConfigError(
            f"refusing to listen on {host} without an API key",
            hint="pass --api-key KEY or set OPENSCOUT_API_KEY (or keep the default 127.0.0.1)",
        )
    if len(api_key) < MIN_NETWORK_KEY_CHARS:  # ' ' let every client in (sixteenth probe)
        raise ConfigError(
            f"refusing to listen on {host} with a key of fewer than"
            f" {MIN_NETWORK_KEY_CHARS} characters",
            hint="use a long random key, e.g. python -c 'import secrets; print(secrets.token_urlsafe())'",
        )


def bind_address(host: str) -> str:
    """The address as uvicorn takes it: '[::1]', as written in a URL, is ::1."""
    host = host.strip()
    return host[1:-1] if host.startswith("[") and host.endswith("]") else host


def check_can_listen(host: str, port: int) -> None:
    """Bind once before anything is printed: a busy port or a name that is not this
    machine's is our error with a hint, not uvicorn's log line after the URL was shown."""
    import socket

    try:
        family, kind, proto, _, address = socket.getaddrinfo(
            host, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE
        )[0]
    except (socket.gaierror, UnicodeError) as e:
        raise ConfigError(
            f"cannot listen on {host[:80]!r}: not an address of this machine",
            hint="e.g. 127.0.0.1 (the default), ::1, or 0.0.0.0 with --api-key",
        ) from e
    with socket.socket(family, kind, proto) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as uvicorn binds
        try:
            probe.bind(address)
        except OSError as e:
            raise ConfigError(
                f"cannot listen on {host}:{port}: {e.strerror or e}",
                hint="another program may hold the port: choose another with --port",
            ) from e


def register(app: typer.Typer) -> None:
    @app.command("serve")
    def serve_cmd(
        host: str = typer.Option(None, "--host", help="address to listen on (default 127.0.0.1)"),
        port: int = typer.Option(None, "--port", min=1, max=65535, help="port (default 8765)"),
        api_key: str = typer.Option(
            None, "--api-key", help="require this bearer key (or OPENSCOUT_API_KEY)"
        ),
        allow_host: list[str] = typer.Option(
            None, "--allow-host", help="extra Host name clients may use (repeatable)"
        ),
        preload: list[str] = typer.Option(
            None,
            "--preload",
            help="model to load at start (repeatable; default: the bundled SmolLM2)",
        ),
        generate_key: bool = typer.Option(
            False, "--generate-key", help="make up a random key and print it"
        ),
        lanes: int = typer.Option(
            Limits.lanes,
            "--lanes",
            min=1,
            max=64,
            help="concurrent requests one llama.cpp model decodes together (1: one at a time)",
        ),
        lane_ctx: int = typer.Option(
            None,
            "--lane-ctx",
            min=128,
            max=131072,
            help=f"tokens per lane, prompt + answer (default: the model's n_ctx, at most {DEFAULT_LANE_CTX})",
        ),
        json_out: bool = typer.Option(
            False, "--json", help="print the address as JSON, then serve"
        ),
    ) -> None:
        """Serve the web workbench and the OpenAI-compatible API (/v1) on one port."""
        import uvicorn

        from openscout.engines.bundled import SMOLLM2_ID
        from openscout.models import list_models
        from openscout.server.app import create_app
        from openscout.server.http_protocol import DeadlineProtocol, raise_open_file_limit

        settings = get_settings()
        host = bind_address(host or settings.host)
        port = port or settings.port
        key = api_key or settings.api_key or None
        if generate_key and not key:
            key = secrets.token_urlsafe(24)
        check_bind(host, key)
        check_can_listen(host, port)
        ids = {m.id for m in list_models(settings)}
        wanted = list(preload) if preload else ([SMOLLM2_ID] if SMOLLM2_ID in ids else [])
        application = create_app(
            settings,
            limits=Limits(lanes=lanes, lane_ctx=lane_ctx),
            api_key=key,
            bind_host=host,
            allow_hosts=allow_host or (),
            preload=wanted,
        )
        shown = "127.0.0.1" if host in ("0.0.0.0", "::") else host
        shown = f"[{shown}]" if ":" in shown else shown
        url = f"http://{shown}:{port}/"
        login = f"{url}?key={quote(key, safe='')}" if key else url  # a key may hold & or #
        if json_out:
            shown_key = {"login_url": login} if generate_key and key else {}
            print_json({"url": url, "api": f"{url}v1", "auth": bool(key), **shown_key})
        else:
            # soft_wrap: a URL is never broken across lines, so it can be copied whole
            console.print(
                f"openscout workbench: [bold]{esc(login)}[/]", highlight=False, soft_wrap=True
            )
            console.print(
                f"OpenAI-compatible API: {url}v1"
                + ("  (Authorization: Bearer <key>)" if key else ""),
                markup=False,
                highlight=False,
            )
        log_inert_to_stderr()  # uvicorn's own config would print untrusted text raw
        raise_open_file_limit()  # each connection is a file: run out of them much later
        uvicorn.run(
            application,
            host=host,
            port=port,
            log_level="warning",
            log_config=None,
            timeout_graceful_shutdown=5,
            http=DeadlineProtocol,  # a head that never ends cannot hold a connection
        )
