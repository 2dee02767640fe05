"""Whether a suite's judge is one of the models it scores: a judge favours its own answers
(self-preference), and a hostile server used as the judge passed its own wrong answers and
failed its rivals' right ones, and was recommended (54th probe). `eval` says so; `compare`
refuses it before anything runs, since its pick would rest on a contestant's word."""

from __future__ import annotations

import hashlib
import ipaddress
import posixpath
import re
import socket
from pathlib import Path
from urllib.parse import urlsplit

import httpx

from openscout.config import Settings
from openscout.engines.kinds import kind_of
from openscout.errors import OpenscoutError
from openscout.models import ModelSpec


def _where(spec: ModelSpec, settings: Settings) -> tuple[str, ...]:
    """What the model answers from: its file's bytes (a copy under another path too), or its
    server and model name as the server reads them (`localhost` and `127.0.0.1` alike, the
    default port, no trailing slash, credentials or query; names in any case). Compared as
    spelt, a judge registered as `localhost` judged itself unrefused (54th probe)."""
    if spec.base_url:
        return ("url", _server(spec.base_url), _model_name(spec.model or spec.id))
    try:
        path = kind_of(spec).local_file(spec, settings)
    except OpenscoutError:  # an unresolvable file: the id alone tells it
        path = None
    if path is None:
        return ("id", spec.id)
    return ("file", _file_print(Path(path)), _file_print(Path(spec.lora)) if spec.lora else "")


def _server(url: str) -> str:
    parts = urlsplit(url.strip())
    scheme = parts.scheme.lower()
    try:
        port = parts.port or {"http": 80, "https": 443}.get(scheme)
    except ValueError:  # a port past 65535: the URL as written tells it
        return url
    # the path as the client sends it: `//v1` and `/v1/../v1` reach /v1 (55th probe)
    path = posixpath.normpath(re.sub(r"/+", "/", parts.path or "/")).rstrip("/")
    try:  # the host as the client reaches it: `127。0。0。1` is 127.0.0.1 to it (56th)
        host = httpx.URL(url.strip()).host
    except (httpx.InvalidURL, UnicodeError):
        host = parts.hostname or ""
    return f"{scheme}://{_host(host)}:{port}{path}"


def _host(name: str) -> str:
    """The host as an address where it is one, in any spelling the connection accepts
    (`127.1`, `2130706433`, `::ffff:127.0.0.1`: 55th probe), the machine's own as
    "localhost". Names are not looked up: no network is asked to compare two models."""
    name = name.lower()
    try:
        ip: ipaddress.IPv4Address | ipaddress.IPv6Address = ipaddress.ip_address(name)
    except ValueError:
        try:
            ip = ipaddress.IPv4Address(socket.inet_aton(name))
        except OSError:
            return name
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    return "localhost" if ip.is_loopback or ip.is_unspecified else str(ip)


def _file_print(path: Path) -> str:
    """A file's size and its first and last 64 KiB: the same weights under two paths match
    without reading gigabytes."""
    try:
        with path.open("rb") as f:
            size = f.seek(0, 2)
            f.seek(0)
            head = f.read(65536)
            f.seek(max(0, size - 65536))
            tail = f.read(65536)
    except OSError:
        return f"path:{path.resolve()}"
    return f"{size}:" + hashlib.sha256(head + tail).hexdigest()


def self_judged(
    judges: list[ModelSpec], models: list[ModelSpec], settings: Settings
) -> list[tuple[str, str]]:
    """(judge id, model id) for each judge that is one of the models scored: the same id,
    the same file, or the same endpoint and model name under another id."""
    out = []
    for judge in judges:
        where = _where(judge, settings)
        out += [
            (judge.id, m.id)
            for m in models
            if m.id == judge.id
            or _same_place(where, _where(m, settings), judge, m, settings)
            or _served_here(judge, m)
            or _served_here(m, judge)
        ]
    return out


def _served_here(remote: ModelSpec, local: ModelSpec) -> bool:
    """A server on this machine serving a model under a local model's id: `openscout serve`
    serves each local model so, and a judge pointed at it judged its own weights (60th)."""
    if not remote.base_url or local.base_url:
        return False
    here = _server(remote.base_url).split("://", 1)[-1].startswith("localhost:")
    return here and _model_name(remote.model or remote.id) == _model_name(local.id)


def _model_name(name: str) -> str:
    """A served model's name as its server resolves it: in any case, and without Ollama's
    implicit tag (`llama3.2` and `llama3.2:latest` are one model there: 58th probe)."""
    name = name.casefold()
    return name.removesuffix(":latest")


def _same_place(
    a: tuple[str, ...], b: tuple[str, ...], sa: ModelSpec, sb: ModelSpec, settings: Settings
) -> bool:
    """Whether two places are one; files alike in size and ends are read whole to be sure:
    two fine-tunes differing only in their middle were taken for one (55th probe)."""
    if a != b:
        return False
    if a[0] != "file":
        return True
    files = [kind_of(x).local_file(x, settings) for x in (sa, sb)]
    return len({_whole_digest(Path(f)) for f in files if f is not None}) == 1


def _whole_digest(path: Path) -> str:
    with path.open("rb") as f:
        return hashlib.file_digest(f, "sha256").hexdigest()


def who(judge: str, model: str) -> str:
    """'the judge j is m, one of the models scored (under another id)'."""
    again = " (the same model under another id)" if judge != model else ""
    return f"the judge {judge} is {model}, one of the models scored{again}"


_WHO = re.compile(r"^the judge (\S+) is (\S+), one of the models scored")


def judged_itself(notes: list[str]) -> set[str]:
    """The models a run's notes say judged themselves: their stored scores carry the mark
    wherever they are shown (the leaderboard showed 1.000 unmarked: 55th probe)."""
    return {m[2] for note in notes if (m := _WHO.match(note))}


def self_judged_notes(pairs: list[tuple[str, str]]) -> list[str]:
    return [
        f"{who(judge, model)}: it judged its own answers and its rivals'; a judge favours its"
        " own answers, so choose one that is not scored before trusting the comparison"
        for judge, model in pairs
    ]
