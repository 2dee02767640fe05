"""What a page shows of text that may name this machine: links only for http(s), and files of
the serving machine by their names only (pages reach anyone the server answers; 30th to 32nd
probes found the home folder, the data dir and the install in sources and errors)."""

from __future__ import annotations

import re
from pathlib import Path
from urllib.parse import unquote, urlsplit

from openscout.config import Settings
from openscout.errors import OpenscoutError


def safe_url(url: object) -> str | None:
    """Only http(s) links reach an href: a javascript: URL in a card stays text."""
    text = str(url) if url is not None else ""
    return text if text.startswith(("https://", "http://")) else None


def source_text(url: object) -> str:
    """A source that is not a link, as a page shows it: a file of the serving machine by its
    name only (a fine-tune's sources named the home folder, the data dir, the database and
    the install: 30th probe)."""
    text = str(url) if url is not None else ""
    if text[:5].lower() == "file:":
        text = unquote(urlsplit(text).path)
    elif not _LOCAL_PATH.match(text):
        return text
    return f"{_SEPARATOR.split(text.rstrip('/'))[-1]} (a file on the serving machine)"


def page_error(e: OpenscoutError, settings: Settings) -> str:
    """An error as a page shows it: a file it names by its name only, as in source_text
    (a damaged machines.yaml put the data dir's path on the model and catalog pages: 31st
    probe). The folders openscout knows are taken out whole, whatever their names hold
    (spaces, quotes, colons: 32nd probe); any other absolute path loses all but its name."""
    text = e.message
    for root in _known_roots(settings):
        text = text.replace(root, "/")  # "/" + the rest: a path the pattern below cuts short
    return _ABSOLUTE_PATH.sub(lambda m: m.group("name"), text)


def _known_roots(settings: Settings) -> list[str]:
    """Folders of this machine an error may name, longest first (a data dir inside home)."""
    folders = {settings.home, settings.models_dir, Path.home(), Path(__file__).parents[2]}
    roots = {str(f) for f in folders} | {str(f.resolve()) for f in folders}
    return sorted((r for r in roots if len(r) > 1), key=len, reverse=True)


_LOCAL_PATH = re.compile(r"^(/|~|\\\\|[A-Za-z]:[/\\])")  # POSIX, home, UNC, drive: the whole text
_SEPARATOR = re.compile(r"[/\\]")
# an absolute path (POSIX, home, drive, UNC) not inside a word or a URL: "/a/b/c.yaml" -> c.yaml
_ABSOLUTE_PATH = re.compile(
    r"(?<![\w.:/\\~-])(?:~|[A-Za-z]:)?[/\\]{1,2}(?:[^\s/\\:'\"]+[/\\])*(?P<name>[^\s/\\:'\"]+)"
)
