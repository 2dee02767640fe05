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


class TaskConfig:
    def __init__(self, cfg: Any, path: Path) -> None:
        if not isinstance(cfg, dict):
            raise DataFileError("a task file is a mapping of fields", path=str(path))
        self.cfg, self.path = cfg, path

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
        if isinstance(value, str) and value.strip().isdigit() and len(value.strip()) <= 9:
            value = int(value)
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


def _kind(value: Any) -> str:
    return {dict: "a mapping", list: "a list", bool: "true/false"}.get(
        type(value), type(value).__name__
    )


def _shown(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 40 else text[:37] + "..."
