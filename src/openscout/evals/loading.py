"""Finding a suite by name or path: built-in generators, user YAML suites, lm-eval task files."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from openscout.errors import DataFileError, OpenscoutError
from openscout.evals.assertions import weighed
from openscout.evals.items import Item, items_json


@dataclass
class LoadedSuite:
    name: str
    version: str
    description: str
    source: str  # "builtin" or the file it came from
    items: list[Item]
    judges: list[str] = field(default_factory=list)  # model ids its assertions ask to judge
    whole: int | None = None  # items in the file before --limit (None: made to the size asked)

    def __post_init__(self) -> None:
        check_label_lengths(self)

    @property
    def notes(self) -> list[str]:
        """What the suite cannot tell: an answer that says nothing useful passes an item whose
        checks that say what an answer must not be reach its threshold alone (a server
        answering "." to everything was the "safest" model and recommended: 47th probe), in
        every item or in a share of them (nine such items and one positive gave "x" 0.90
        without a word: 49th probe; a threshold of 0.5, or a positive check of weight 0, let
        the negative checks pass an item alone, unsaid: 51st)."""
        checked = [it for it in self.items if _checks(it)]
        free = [it for it in checked if _passed_saying_nothing(it)]
        if not free or len(free) < NEGATIVE_SHARE_NOTED * len(checked):
            return []
        kinds = sorted({a["type"] for it in free for a in _checks(it) if _says_what_not(a)})
        why = (
            f"their checks of what an answer must not be ({', '.join(kinds)}) reach the"
            " threshold without one of what it must hold"
            if kinds
            else "their threshold is reached with no check holding"
        )
        fix = (
            "add a check of what a right answer holds (icontains, llm-rubric, ...), with the"
            " weight to count, before choosing a model on it"
        )
        if len(free) == len(checked):
            return [
                f"an answer that says nothing useful passes every item of {self.name}: {why}; {fix}"
            ]
        return [
            f"{len(free):,} of {len(checked):,} items of {self.name} are passed by an answer"
            f" that says nothing useful, which scores {len(free) / len(checked):.2f} on the"
            f" suite: {why}; {fix}"
        ]

    @property
    def digest(self) -> str:
        return hashlib.sha256(items_json(self.items).encode()).hexdigest()


# a share of items an empty answer passes below this moves a score too little to be noted
NEGATIVE_SHARE_NOTED = 0.1


def _checks(item: Item) -> list[dict[str, Any]]:
    return list((item.check_data or {}).get("assertions", ()))


def _says_what_not(check: dict[str, Any]) -> bool:
    return check["type"].startswith("not-") or check["type"] == "max-length"


def _passed_saying_nothing(item: Item) -> bool:
    """Whether an answer holding nothing the checks look for passes the item: its checks of
    what an answer must not be hold, every other fails, weighed as score_assertions does."""
    checks = _checks(item)
    return weighed(item.check_data, [float(_says_what_not(a)) for a in checks])[1]


# Characters a suite's labels may hold. They are stored with every run and shown on every
# page that lists runs: three suites named with 15 MiB each made /leaderboard 367 MB of HTML
# and 1 GB per view (twenty-seventh probe). Texts the model reads are bounded elsewhere.
LABEL_CHARS = {"name": 200, "version": 64, "description": 2000}
ITEM_LABEL_CHARS = 300  # a test's id, and the task a breakdown groups it under


def check_label_lengths(suite: LoadedSuite) -> None:
    def refuse(what: str, size: int, bound: int) -> DataFileError:
        return DataFileError(
            f"the suite's {what} is {size:,} characters long (at most {bound:,})",
            path=suite.source,
            hint="labels are shown on every page that lists runs: keep them short",
        )

    for what, bound in LABEL_CHARS.items():
        size = len(getattr(suite, what))
        if size > bound:
            raise refuse(what, size, bound)
    for item in suite.items:
        task = str(item.meta.get("task", ""))
        for what, text in (("test id", item.id), ("test description (its task)", task)):
            if len(text) > ITEM_LABEL_CHARS:
                raise refuse(f"{what} {text[:40]!r}...", len(text), ITEM_LABEL_CHARS)


def list_suites() -> list[dict[str, Any]]:
    """The built-in suites: name, version, description, default size."""
    from openscout.evals.tasks import builtin_suites

    return [
        {
            "name": s.name,
            "version": s.version,
            "description": s.description,
            "default_size": s.default_size,
        }
        for s in builtin_suites().values()
    ]


def _top_keys(path: Path) -> set[str] | None:
    """The keys of the file's top-level mapping (None when it cannot be read: the loader
    it goes to reports why, with the line)."""
    from openscout import yamlfile

    try:
        return yamlfile.top_keys(yamlfile.read_text(path), str(path))
    except OpenscoutError:
        return None


def _is_lmeval_file(path: Path) -> bool:
    """lm-eval documents (.json, .jsonl) or task YAML, else a suite of ours. A suite written
    as JSON (JSON is YAML) was read as documents and refused as "expected a list of
    documents" (fortieth probe): an object with `tests` or `prompts` is a suite."""
    if path.suffix == ".jsonl":
        return True
    if path.suffix == ".json":
        keys = _top_keys(path)
        return keys is None or not keys & {"tests", "prompts"}
    if path.suffix in (".yaml", ".yml"):
        keys = _top_keys(path) or set()
        return ("task" in keys or "include" in keys) and "tests" not in keys
    return False


def load_suite(
    name_or_path: str | Path,
    seed: int = 0,
    limit: int | None = None,
    *,
    trust_python: bool = False,
) -> LoadedSuite:
    """A built-in suite by name (sized by `limit`), or a file (its first `limit` items).
    `trust_python`: the user trusts the file to run its `python` assertions."""
    from openscout.evals.tasks import builtin_suites

    if limit is not None and limit < 1:
        raise OpenscoutError(f"--limit must be at least 1, not {limit}")
    builtin = builtin_suites().get(str(name_or_path))
    if builtin is not None:
        items = builtin.generate(seed, limit)
        return LoadedSuite(builtin.name, builtin.version, builtin.description, "builtin", items)
    path = Path(name_or_path).expanduser()
    if not path.exists():
        known = ", ".join(builtin_suites())
        raise OpenscoutError(
            f"no built-in suite and no file named {str(name_or_path)!r}",
            hint=f"built-in suites: {known}; or give a YAML suite / lm-eval JSON(L) file",
        )
    if _is_lmeval_file(path):
        from openscout.evals.lmeval_format import load_lmeval

        suite = load_lmeval(path)
    else:
        from openscout.evals.suite import load_user_suite

        suite = load_user_suite(path, limit, trust_python=trust_python)
    if suite.name in builtin_suites():
        # results are listed by suite name: a two-item file called `quick` was shown on the
        # leaderboard, and beside published scores, as the built-in suite (38th probe)
        raise DataFileError(
            f"the suite is named {suite.name!r}, as a built-in suite is",
            path=str(path),
            hint="give it another `name` (or `task`), so its results are not taken for the"
            " built-in suite's",
        )
    if suite.whole is None:
        suite.whole = len(suite.items)
    if limit is not None:
        suite.items = suite.items[:limit]
    return suite
