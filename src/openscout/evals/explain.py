"""Why an item scored what it did, in words: one short line per failed check.

Pure: it reads a stored item (as `openscout runs show --json` prints it: the item's spec under
input.item, the scorer's detail, the score) and returns plain sentences. `runs show` prints
them per failed item; the per-assertion figures stay in --json.
"""

from __future__ import annotations

from typing import Any

from openscout.errors import recorded

_CLIP = 40


REASON_CHARS = 300


def _q(value: Any) -> str:
    """A short value: a text quoted (long ones cut with an ellipsis: the whole is in --json),
    a number as it reads ('41', not '41.0')."""
    if isinstance(value, bool) or not isinstance(value, str | int | float):
        text = repr(value)
    elif isinstance(value, int | float):
        return f"{value:g}"
    else:
        text = value
    text = " ".join(text.split())
    text = text if len(text) <= _CLIP else text[: _CLIP - 1] + "…"
    return repr(text) if isinstance(value, str) else text


def _assertion_line(a: dict[str, Any], spec: dict[str, Any] | None, output: str) -> str:
    """Why one assertion did not pass: what it asked for and what the answer had."""
    kind = str(a.get("type", "?"))
    value = (spec or {}).get("value")
    where = f" (line {a['line']})" if a.get("line") else ""
    base = kind.removeprefix("not-")
    negated = kind.startswith("not-")
    if a.get("unscorable"):  # the answer could not be checked (a judge refused it, ...)
        why = str(recorded(str(a["unscorable"]), REASON_CHARS))
    elif a.get("reason"):  # cut: runs recorded before reasons were cut hold megabytes
        why = str(recorded(str(a["reason"]), REASON_CHARS))
    elif base in ("contains", "icontains"):
        why = f"{_q(value)} " + ("was found" if negated else "was not found")
    elif base == "regex":
        why = f"{_q(value)} " + ("matched" if negated else "did not match")
    elif base == "equals":
        why = f"the answer {'equals' if negated else 'is not'} {_q(value)}"
    elif base == "is-json":
        why = "the answer is JSON" if negated else "the answer is not JSON"
    elif base == "max-length":
        why = f"{len(output)} characters, " + (
            f"at most {value} allowed" if not negated else f"more than {value} required"
        )
    elif base == "similar":
        cos, thr = a.get("cosine"), a.get("threshold")
        if isinstance(cos, int | float) and isinstance(thr, int | float):
            rel = "below" if not negated else "at or above"
            why = f"similarity {cos:.2f} {rel} the threshold {thr:.2f}"
        else:
            why = "not similar enough"
    elif base == "llm-rubric":
        reply = a.get("judge_reply")
        why = (
            "the judge said "
            + ("PASS" if negated else "FAIL")
            + (f": {_q(reply)}" if reply else "")
        )
    elif base == "python":
        why = f"the expression gave {a.get('value')!r}"
    else:
        why = f"scored {a.get('score', 0):.2f}"
    weight = a.get("weight")
    tail = f", weight {weight:g}" if isinstance(weight, int | float) and weight != 1 else ""
    return f"{kind}{where}: {why}{tail}"


def _assertions(item: dict[str, Any], spec: dict[str, Any]) -> list[str]:
    detail = item.get("detail") or {}
    results = detail.get("assertions") or []
    asked = spec.get("assertions") or []
    output = item.get("output") or ""
    lines = [
        _assertion_line(a, asked[i] if i < len(asked) else None, output)
        for i, a in enumerate(results)
        if float(a.get("score") or 0.0) < 1.0
    ]
    weighted = (item.get("metrics") or {}).get("weighted")
    threshold = detail.get("threshold")
    if isinstance(weighted, int | float) and isinstance(threshold, int | float):
        lines.append(f"weighted score {weighted:.2f}, needed {threshold:.2f}")
    return lines


def _expected(item: dict[str, Any], spec_item: dict[str, Any]) -> list[str]:
    detail = item.get("detail") or {}
    target = spec_item.get("target")
    check = spec_item.get("check")
    if detail.get("method") == "loglikelihood" or (
        spec_item.get("kind") == "choice" and "pick" in detail
    ):
        choices = spec_item.get("choices") or []
        pick = detail.get("pick")
        if isinstance(pick, int) and isinstance(target, int) and pick < len(choices):
            right = choices[target] if target < len(choices) else target
            return [f"most likely option {_q(choices[pick])}, right one {_q(right)}"]
        return []
    if check == "ifeval":
        missed = [k for k, ok in (detail.get("followed") or {}).items() if not ok]
        return [f"instruction not followed: {k}" for k in missed]
    if check == "choice" and isinstance(target, int):
        choices = spec_item.get("choices") or []
        right = choices[target] if target < len(choices) else target
        got = detail.get("extracted")
        read = "no option could be read" if got is None else f"read option {got}"
        return [f"{read}, right one {_q(right)}"]
    if "extracted" in detail:
        got = detail["extracted"]
        read = "nothing could be read from the answer" if got is None else f"read {_q(got)}"
        return [f"{read}, expected {_q(target)}"]
    return []


def failure_reasons(item: dict[str, Any]) -> list[str]:
    """Why a stored item did not get full marks; [] when it did (or nothing is known)."""
    if item.get("error"):  # cut: runs recorded before errors were cut hold megabytes
        first = (str(item["error"])[: 2 * REASON_CHARS].splitlines() or [""])[0]
        return [str(recorded(first, REASON_CHARS))]
    score = item.get("score")
    if score is None or float(score) >= 1.0:
        return []
    spec_item = ((item.get("input") or {}).get("item")) or {}
    spec = spec_item.get("spec") or spec_item.get("check_data") or {}
    if spec_item.get("check") == "assertions" or "assertions" in (item.get("detail") or {}):
        return _assertions(item, spec)
    return _expected(item, spec_item)
