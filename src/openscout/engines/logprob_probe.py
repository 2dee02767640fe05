"""Can a server's prompt log-probs (`/v1/completions` with `echo` and `logprobs`) be trusted?

The OpenAI convention: the log-prob reported for prompt token i comes from the distribution
after tokens 0..i-1. llama-cpp-python's server reports, for some models, the distribution
after tokens 0..i instead (shifted by one token); scores made from those are wrong.

The probe sends a text every model continues with near certainty (counting), and checks each
position's reported top-1 token against two hypotheses: it predicts the token reported at
that position (aligned), or the next one (shifted by one). Counting alternates numbers and
commas, so a token never equals its successor and the two hypotheses never both match.
Pure: the engine sends the request, this module reads the answer.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

PROBE_TEXT = ", ".join(str(i) for i in range(1, 13))
# Share of checked positions that must agree with one hypothesis (and at most half as many
# with the other) for a verdict; a model that cannot count gives no verdict at all.
AGREEMENT = 0.6
# Without top log-probs: mean log-prob of the predictable half, aligned vs shifted.
ALIGNED_MEAN_LP = -1.0
SHIFTED_MEAN_LP = -3.0


@dataclass(frozen=True)
class ProbeVerdict:
    trusted: bool
    verdict: str  # aligned | shifted | unclear | failed
    detail: str

    @property
    def basis(self) -> str:
        return f"probe: {self.verdict}; {self.detail}"


def judge_alignment(logprobs: Any, text: str = PROBE_TEXT) -> ProbeVerdict:
    """Read an echo response's `choices[0].logprobs` for PROBE_TEXT (or `text`). The answer
    is the upstream's: lists of other lengths or values of other kinds are a failed probe,
    never a crash (lists of unequal length were an IndexError; twelfth probe)."""
    try:
        return _judge(logprobs, text)
    except (TypeError, KeyError, IndexError, ValueError, AttributeError):
        return ProbeVerdict(False, "failed", "malformed echo log-probs in the answer")


def _judge(logprobs: Any, text: str) -> ProbeVerdict:
    try:
        tokens = list(logprobs["tokens"])
        offsets = list(logprobs["text_offset"])
        lps = list(logprobs["token_logprobs"])
        tops = list(logprobs.get("top_logprobs") or [None] * len(tokens))
    except (TypeError, KeyError):
        return ProbeVerdict(False, "failed", "no echo log-probs in the answer")
    # Only the echoed text: a server may add a generated token after it.
    n = sum(1 for off in offsets if off < len(text))
    if n < 10 or min(len(lps), len(tokens), len(tops)) < n:
        return ProbeVerdict(False, "failed", f"only {n} echoed tokens")
    # The second half of the counting is predictable to any model worth scoring.
    checked = range(n // 2, n - 1)
    if any(isinstance(tops[i], dict) and tops[i] for i in checked):
        aligned = shifted = 0
        for i in checked:
            top = tops[i]
            if not isinstance(top, dict) or not top:
                continue
            best = max(top, key=lambda k: top[k])
            aligned += best == tokens[i]
            shifted += best == tokens[i + 1]
        total = len(checked)
        detail = (
            f"top-1 matches the token itself at {aligned}/{total}, the next at {shifted}/{total}"
        )
        if aligned >= AGREEMENT * total and aligned > 2 * shifted:
            return ProbeVerdict(True, "aligned", detail)
        if shifted >= AGREEMENT * total and shifted > 2 * aligned:
            return ProbeVerdict(False, "shifted by one token", detail)
        return ProbeVerdict(False, "unclear", detail)
    values = [float(lps[i]) for i in checked if lps[i] is not None]
    if not values:
        return ProbeVerdict(False, "failed", "no log-prob values")
    mean = sum(values) / len(values)
    detail = f"mean log-prob {mean:.2f} on predictable tokens (no top log-probs)"
    if mean >= ALIGNED_MEAN_LP:
        return ProbeVerdict(True, "aligned", detail)
    if mean <= SHIFTED_MEAN_LP:
        return ProbeVerdict(False, "shifted by one token", detail)
    return ProbeVerdict(False, "unclear", detail)
