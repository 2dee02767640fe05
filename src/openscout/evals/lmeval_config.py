"""The fields of an lm-eval task YAML, each read as the kind the harness expects.

A task file is the user's (or a stranger's) data: `num_fewshot: "abc"` or `generation_kwargs:
5` should be an error naming the field, not Python's own words from deep inside the loader
(tenth probe, issue 17).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from openscout.errors import DataFileError, PatternError
from openscout.evals import patterns

MAX_FEWSHOT = 1000
MAX_GEN_TOKENS = 1_000_000
MAX_INCLUDES = 8  # files deep: the harness's templates nest two or three

# Fields the reader acts on, and fields that change nothing it computes. Anything else would
# be dropped without a word and the run scored as if it were the task the file describes
# (`include:` and `process_docs` were: twenty-seventh probe), so it is refused, named.
READ_FIELDS = frozenset(
    {
        "task", "output_type", "dataset_path", "dataset_kwargs", "test_split",
        "validation_split", "doc_to_text", "doc_to_choice", "doc_to_target",
        "target_delimiter", "fewshot_delimiter", "description", "num_fewshot",
        "fewshot_split", "fewshot_config", "generation_kwargs", "metric_list", "filter_list",
        "metadata", "repeats",
    }
)  # fmt: skip
INERT_FIELDS = frozenset(
    {
        "tag", "group", "group_alias", "task_alias", "dataset_name", "training_split",
        "should_decontaminate", "doc_to_decontamination_query",
    }
)  # fmt: skip
READ_GENERATION = frozenset({"until", "max_gen_toks", "do_sample", "temperature"})
READ_FILTERS = frozenset({"regex", "take_first"})


def read_task_file(path: Path, seen: tuple[Path, ...] = ()) -> Any:
    """A task file with its `include:` resolved as the harness does: the named file (relative
    to this one) first, then this file's own fields over it."""
    from openscout import yamlfile

    cfg = yamlfile.load_file(path)
    if not isinstance(cfg, dict) or "include" not in cfg:
        return cfg
    included = cfg.pop("include")
    if not isinstance(included, str) or not included:
        raise DataFileError("include must name a task file", path=str(path), field="include")
    base_path = (path.parent / included).resolve()
    chain = (*seen, path.resolve())
    if base_path in chain:
        raise DataFileError(
            f"include of {included} comes back to a file that includes it",
            path=str(path),
            field="include",
        )
    if len(seen) >= MAX_INCLUDES:
        raise DataFileError(
            f"include nests more than {MAX_INCLUDES} files deep", path=str(path), field="include"
        )
    try:
        base = read_task_file(base_path, chain)
    except DataFileError as e:  # named from the task the user gave, down to the fault
        raise DataFileError(
            f"include of {included}: {e.message}", path=str(path), field="include", hint=e.hint
        ) from e
    if not isinstance(base, dict):
        raise DataFileError(
            f"include of {included}: that file is not a mapping of fields",
            path=str(path),
            field="include",
        )
    return {**base, **cfg}


class TaskConfig:
    def __init__(self, cfg: Any, path: Path) -> None:
        if not isinstance(cfg, dict):
            raise DataFileError("a task file is a mapping of fields", path=str(path))
        self.cfg, self.path = cfg, path

    def check_fields(self) -> None:
        """Refuse what the reader would ignore though it changes what is asked or scored."""
        unread = sorted(str(k) for k in self.cfg if k not in READ_FIELDS | INERT_FIELDS)
        if unread:
            raise self.bad(unread[0], _NOT_READ)
        gen = self.mapping("generation_kwargs")
        unread = sorted(str(k) for k in gen if k not in READ_GENERATION)
        if unread:
            raise self.bad(f"generation_kwargs.{unread[0]}", _NOT_READ)
        if gen.get("do_sample") or (gen.get("temperature") or 0) != 0:
            raise self.bad("generation_kwargs", "asks for sampling: openscout runs tasks greedily")
        for flt in self.mappings("filter_list"):
            for fn in self.mappings("filter", within=flt):
                if fn.get("function") not in READ_FILTERS:
                    raise self.bad(f"filter function {_shown(fn.get('function'))}", _NOT_READ)
        if self.get("repeats", 1) != 1:
            raise self.bad("repeats", "must be 1: openscout asks each document once")
        if self.get("fewshot_config") not in (None, {"sampler": "first_n"}):
            raise self.bad(
                "fewshot_config", "may only say `sampler: first_n` (openscout takes the first N)"
            )

    def bad(self, field: str, msg: str) -> DataFileError:
        return DataFileError(f"{field} {msg}", path=str(self.path), field=field)

    def get(self, name: str, default: Any = None) -> Any:
        value = self.cfg.get(name, default)
        return default if value is None else value

    def text(self, name: str, default: str, within: dict[str, Any] | None = None) -> str:
        value = (self.cfg if within is None else within).get(name, default)
        if value is None:
            return default
        if isinstance(value, bool) or not isinstance(value, str | int | float):
            raise self.bad(name, f"must be text, not {_kind(value)}")
        return str(value)

    def integer(
        self, name: str, default: int, low: int, high: int, within: dict[str, Any] | None = None
    ) -> int:
        value = (self.cfg if within is None else within).get(name, default)
        if value is None:
            return default
        digits = value.strip() if isinstance(value, str) else ""
        if digits.isascii() and digits.isdigit() and len(digits) <= 9:  # int("²") raises
            value = int(digits)
        if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
            raise self.bad(
                name, f"must be a whole number from {low} to {high}, not {_shown(value)}"
            )
        return value

    def pattern(self, name: str, default: str, within: dict[str, Any] | None = None) -> str:
        """A regular expression, checked as it will be matched (it crashed scoring after
        every answer was in, and again on each resume: fifteenth probe)."""
        return self._checked_pattern(name, self.text(name, default, within))

    def pattern_list(self, name: str, within: dict[str, Any] | None = None) -> list[str]:
        return [self._checked_pattern(name, p) for p in self.texts(name, [], within)]

    def _checked_pattern(self, name: str, value: str) -> str:
        try:
            patterns.check(value)
        except PatternError as e:
            raise self.bad(name, f"holds a {e.message}") from e
        return value

    def mapping(self, name: str, within: dict[str, Any] | None = None) -> dict[str, Any]:
        value = (self.cfg if within is None else within).get(name)
        if value is None:
            return {}
        if not isinstance(value, dict):
            raise self.bad(name, f"must be a mapping, not {_kind(value)}")
        return value

    def mappings(self, name: str, within: dict[str, Any] | None = None) -> list[dict[str, Any]]:
        """A list of mappings (metric_list, filter_list, a filter's steps)."""
        value = (self.cfg if within is None else within).get(name)
        if value is None:
            return []
        if not isinstance(value, list) or not all(isinstance(v, dict) for v in value):
            raise self.bad(name, "must be a list of mappings")
        return value

    def texts(
        self, name: str, default: list[str], within: dict[str, Any] | None = None
    ) -> list[str]:
        """One text or a list of texts (`until`)."""
        value = (self.cfg if within is None else within).get(name, default)
        if value is None:
            return default
        if isinstance(value, str):
            return [value]
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            raise self.bad(name, "must be a text or a list of texts")
        return value


_NOT_READ = (
    "is not read by openscout's task reader: a run would not be the task this file describes"
    " (docs/evals.md lists what is read)"
)


def _kind(value: Any) -> str:
    return {dict: "a mapping", list: "a list", bool: "true/false"}.get(
        type(value), type(value).__name__
    )


def _shown(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 40 else text[:37] + "..."
