"""llm-rubric: asking a judge model whether an answer meets a rubric, and reading its
verdict. Who is at fault when the judge gives none (the answer, its length, the judge) is
asked, not guessed: the rubric alone, the room of a reasoned reply, a filler as long as the
answer (SECURITY.md, the 34th to 56th probes)."""

from __future__ import annotations

import re
from typing import Any

from openscout.engines.thinking import CLOSE, OPEN
from openscout.errors import (
    ChatTemplateError,
    ContextLengthError,
    EngineError,
    EngineResponseError,
    OpenscoutError,
)
from openscout.evals.scoring import ScoreContext

JUDGE_PROMPT = (
    "You are grading an answer against a rubric.\n\nRubric: {rubric}\n\nAnswer:\n{output}\n\n"
    "Does the answer satisfy the rubric? Reply with one word, PASS or FAIL."
)


def judge_answer(
    a: dict[str, Any], value: str, output: str, ctx: ScoreContext | None, detail: dict[str, Any]
) -> float:
    """The llm-rubric check's score of `output` (1 PASS, 0 FAIL or a miss), what the judge
    said put in `detail`."""
    if ctx is None:
        raise RuntimeError("a judge needs a scoring context")
    try:
        alone = JUDGE_PROMPT.format(rubric=value, output="")
        reply = _judge(ctx, a, JUDGE_PROMPT.format(rubric=value, output=for_judge(output)), alone)
    except (EngineError, ChatTemplateError) as e:
        why = _judge_refusal(e)
        if why is None:
            raise
        # an answer the judge refuses is a miss: left out, a model padding its wrong
        # answers had only its right ones scored (34th probe), and a provider's content
        # filter did the same (36th). One too long for the judge's context fails the
        # item: no verdict either way (a miss, long right answers lost to junk, 54th;
        # failed, the run is incomplete and compare waits, so padding wins nothing).
        # Unless the rubric alone is refused too: then the
        # suite or the judge is at fault (asked, not guessed: 510 tag characters are
        # 2,040 tokens, 35th probe)
        # asked now, not from the cache: a judge that is down, or whose key was revoked,
        # must fail the item here, not have its outage blamed on the answer
        ctx.judge(a.get("judge"), alone, fresh=True)
        prompt = JUDGE_PROMPT.format(rubric=value, output=for_judge(output))
        if _too_long(e) or _refused_for_length(ctx, a, value, output, e):
            raise _no_room(a, prompt, e, "room to read it") from e  # no verdict
        reply, unscorable = _once_more(ctx, a, (value, output, prompt, alone), e, why)
        if unscorable is not None:
            detail["unscorable"] = unscorable
    verdict = _judge_verdict(reply)
    if verdict is None and "unscorable" not in detail:
        reply = _no_verdict(ctx, a, (value, output, alone))
        verdict = _judge_verdict(reply)
        if verdict is None:
            detail["reason"] = "the judge gave no single PASS/FAIL verdict"
    detail["judge_reply"] = reply
    return verdict if verdict is not None else 0.0


def _no_verdict(ctx: ScoreContext, a: dict[str, Any], asked: tuple[str, str, str]) -> str:
    """Who is at fault for a reply with no verdict, asked: the judge, if it gives none to
    the rubric alone either (a reasoning judge spending its tokens thinking replied "" to
    every answer: 39th, 40th probes); a glitch, if asked again fresh it gives one (a one-off
    blank or "service busy" reply was the answer's miss, and cached for every rerun: 58th);
    the answer's length, if a filler as long gets none either (a judge declining long
    answers in words: 58th); else the answer (its miss). The reply to return."""
    rubric, output, alone = asked
    alone_reply = _judge(ctx, a, alone, alone, fresh=True)
    if _judge_verdict(alone_reply) is None:
        said = "replied nothing" if not alone_reply.strip() else "gave no PASS/FAIL verdict"
        raise OpenscoutError(
            f"the judge {a.get('judge')!r} {said}, even to the rubric alone",
            hint="choose a judge that answers PASS or FAIL (a reasoning model may"
            " spend its 48 tokens thinking)",
        )
    prompt = JUDGE_PROMPT.format(rubric=rubric, output=for_judge(output))
    again = _judge(ctx, a, prompt, alone, fresh=True)  # replaces the cached reply
    if _judge_verdict(again) is not None:
        return again
    filler = JUDGE_PROMPT.format(rubric=rubric, output=_filler(output))
    if _judge_verdict(_judge(ctx, a, filler, alone, fresh=True)) is None:
        raise OpenscoutError(
            f"the judge {a.get('judge')!r} gave no verdict on this answer, twice, nor on a"
            " filler as long: the answer's length is beyond what it judges",
            hint="give the suite a lower `max_tokens` (its `defaults`), or a judge that"
            " reads longer answers",
        )
    return again


# A judge's reply cut at its 48 tokens before any verdict is asked again with this room
JUDGE_ROOM_TOKENS = 512


def _judge(
    ctx: ScoreContext, a: dict[str, Any], prompt: str, alone: str, fresh: bool = False
) -> str:
    """The judge's reply, with room where it was cut before any verdict: a judge reasoning
    at length first made every judged item a silent miss, and junk tied an honest model
    (50th probe). A reply still cut fails the item; it is asked fresh before that, so that
    running the same command again asks the judge again, not its cached cut reply (51st).
    `alone`: the rubric without the answer, asked with the same room where the room was
    refused: refused too, the judge cannot judge (a cap under 512 tokens made every reasoned
    answer a silent miss: 52nd); answered, the judge's context has no room to reason about
    this answer, which it took with 48 tokens: the item fails too, saying so (scored a miss,
    every long right answer was one, and junk was recommended: 53rd)."""
    reply = ctx.judge(a.get("judge"), prompt, fresh=fresh)
    for again in (False, True):
        if _judge_verdict(reply) is not None or not getattr(reply, "cut", False):
            return reply
        try:
            reply = ctx.judge(
                a.get("judge"), prompt, fresh=fresh or again, max_tokens=JUDGE_ROOM_TOKENS
            )
        except (EngineError, ChatTemplateError) as e:
            if _judge_refusal(e) is None:
                raise
            _room_for(ctx, a, alone, e)
            if isinstance(e, ContextLengthError):
                raise _no_room(a, prompt, e, f"room for {JUDGE_ROOM_TOKENS} tokens") from e
            raise OpenscoutError(
                f"the judge {a.get('judge')!r} was cut at 48 tokens before a verdict, and"
                f" asked with {JUDGE_ROOM_TOKENS}, {_judge_refusal(e)}: {e.message}",
                hint="run the same command again; failing again, choose another judge",
            ) from e
    if _judge_verdict(reply) is None and getattr(reply, "cut", False):
        raise OpenscoutError(
            f"the judge {a.get('judge')!r} wrote {JUDGE_ROOM_TOKENS} tokens without a PASS or"
            " FAIL verdict",
            hint="choose a judge that gives its verdict first, or ask for it first in the rubric",
        )
    return reply


def _no_room(a: dict[str, Any], prompt: str, e: OpenscoutError, what: str) -> OpenscoutError:
    """The item's failure where the judge's context holds the rubric but not the answer with
    `what`: neither the answer's miss nor a verdict. Scored a miss, every long right answer
    was one, and junk was recommended, nothing said (53rd and 54th probes)."""
    return OpenscoutError(
        f"the judge {a.get('judge')!r} has no {what} in its context after this answer"
        f" ({len(prompt):,} characters with the rubric): {e.message}",
        hint="choose a judge with a longer context, or a lower `max_tokens` in the suite's"
        " `defaults` (or the test's) for shorter answers",
    )


def _room_for(ctx: ScoreContext, a: dict[str, Any], alone: str, e: OpenscoutError) -> None:
    """The rubric alone, asked with the room a cut reply was refused: refused too, the item
    fails (an OpenscoutError, not the answer's refusal), saying why."""
    try:
        ctx.judge(a.get("judge"), alone, fresh=True, max_tokens=JUDGE_ROOM_TOKENS)
    except (EngineError, ChatTemplateError) as again:
        raise OpenscoutError(
            f"the judge {a.get('judge')!r} was cut at 48 tokens before a verdict and refused"
            f" {JUDGE_ROOM_TOKENS}, even for the rubric alone: {again.message}",
            hint="choose a judge that gives its verdict first, or one that takes"
            f" {JUDGE_ROOM_TOKENS} tokens",
        ) from e


def _once_more(
    ctx: ScoreContext,
    a: dict[str, Any],
    asked: tuple[str, str, str, str],
    e: OpenscoutError,
    why: str,
) -> tuple[str, str | None]:
    """The judge's reply to the answer asked once more where its failure was transient and
    the rubric alone then went through: a judge's outage on one answer (503 through every
    retry) was blamed on the answer, and only right answers lose by that (54th probe).
    Failing again, a filler as long as the answer tells a failure that holds on the answer
    (a SAFETY block inside a 200: its miss) from an outage (the item fails, asked again:
    55th). `asked`: the rubric, the answer, the judge's prompt and the rubric alone's."""
    if not (isinstance(e, EngineError) and e.transient):
        return "", f"{why}: {e.message}"
    rubric, output, prompt, alone = asked
    try:
        return _judge(ctx, a, prompt, alone, fresh=True), None
    except (EngineError, ChatTemplateError) as again:
        if (still := _judge_refusal(again)) is None:
            raise
        if _filler_refused(ctx, a, rubric, output):
            raise OpenscoutError(
                f"the judge {a.get('judge')!r} kept failing, on this answer twice through"
                f" every retry and on a filler as long: {again.message}",
                hint="run the same command again: the failed items are asked again",
            ) from again
        return "", f"{still}: {again.message}"


def _filler_refused(ctx: ScoreContext, a: dict[str, Any], rubric: str, output: str) -> bool:
    """Whether the judge fails a filler with more tokens than the answer: what it does to
    the filler too is about length or the judge, not the answer's content. Sized by the
    answer's UTF-8 bytes, "x " a byte: sized by its characters, a Chinese answer's filler
    had a third of its tokens and passed, and the refusal was read as of content (56th)."""
    try:
        prompt = JUDGE_PROMPT.format(rubric=rubric, output=_filler(output))
        ctx.judge(a.get("judge"), prompt, fresh=True)
    except (EngineError, ChatTemplateError):
        return True
    return False


def _filler(output: str) -> str:
    return "x " * len(output.encode("utf-8", "surrogatepass"))


def _refused_for_length(
    ctx: ScoreContext, a: dict[str, Any], rubric: str, output: str, e: OpenscoutError
) -> bool:
    """Whether a 4xx for the answer was about its length, in words openscout does not know
    (LM Studio's "context length of only 450 tokens", SGLang's, Gemini's...): asked with a
    filler as long as the answer, and more tokens, the judge refuses that too. A content
    refusal lets the filler through. Scored a miss, long right answers lost to junk (55th)."""
    refusal = isinstance(e, EngineResponseError) and not e.transient
    if not (refusal and 400 <= (e.status or 0) < 500):  # type: ignore[attr-defined]
        return False
    return _filler_refused(ctx, a, rubric, output)


def _too_long(e: OpenscoutError) -> bool:
    """The judge's context, or its server's size limit (a proxy's 413, whose page names no
    context: 54th probe), has no room for the request."""
    sized = isinstance(e, EngineResponseError) and e.status in (413, 414, 431)
    return isinstance(e, ContextLengthError) or sized


def _judge_refusal(e: OpenscoutError) -> str | None:
    """How the judge refused this request, when the refusal may lie in its text (and so in
    the answer): too long, any 4xx that asking again cannot change (Azure's content filter
    answers 400, OpenRouter's moderation 403, others 451, in the status or in a 200's body),
    or the judge's chat template refusing it, or a failure that outlasted every retry (an
    upstream's 5xx inside a 200 naming a SAFETY block). A bad key, a bad model or an outage
    fails that way too: asking with the rubric alone, the caller finds it is not the answer."""
    if _too_long(e):
        return "the answer does not fit the judge"
    if isinstance(e, ChatTemplateError):
        return "the judge's chat template refused the answer"
    if isinstance(e, EngineResponseError) and not e.transient and 400 <= (e.status or 0) < 500:
        return "the judge refused the answer"
    if isinstance(e, EngineError):  # still failing after every retry, or a 3xx or 501 for it
        return "the judge kept failing on the answer"  # (38th and 39th probes)
    return None


def _words(text: str) -> list[str]:
    """The capitalised verdict words of a reply's prose, each negated one as its opposite:
    "The answer does not PASS the rubric" passed every wrong answer (60th probe)."""
    out = []
    for m in re.finditer(r"\b(PASS|FAIL)\b", text):
        if _SUPPOSED.match(text, m.end()):
            continue  # "It would PASS only if it named Paris": no verdict (61st probe)
        negated = _NEGATED.search(text[max(0, m.start() - 40) : m.start()])
        out.append({"PASS": "FAIL", "FAIL": "PASS"}[m.group(1)] if negated else m.group(1))
    return out


# "does not deserve a PASS", "can't give this answer a PASS", "rather than a FAIL" (62nd)
_NEGATED = re.compile(
    r"(?:\b(?:not|never|cannot|rather than|instead of)|n't|\bfails?\s+to)\s+(?:\w+\s+){0,4}$",
    re.IGNORECASE,
)
_SUPPOSED = re.compile(r"\s+(?:only\s+)?(?:if|unless|when)\b", re.IGNORECASE)


# A verdict on a line of its own, as judges end (or begin) their replies: "FAIL", "**PASS**",
# "FAIL: it names Lyon", "PASS - it names Paris", "Verdict: FAIL", "**Verdict:** PASS (...)".
# A reason may follow the word after a mark of its own (: - . ( ...), never a bare word:
# "PASS or FAIL?" is no verdict. "Answer:" is no label: the judge's prompt gives the answer
# under it, and a judge quoting it is not judging.
_MARKS = r"[\s*_#`\"']*"
_VERDICT_LINE = re.compile(
    rf"^{_MARKS}(?:(?:(?:final\s+)?(?:verdict|grade|result|decision|final\s+answer)"
    rf"|pass\s*(?:/|\bor\b)\s*fail){_MARKS}(?:[:=-]|->|\u2192){_MARKS}){{0,2}}"
    rf"(PASS|FAIL)\b{_MARKS}(?:[.!:;,(\[\-\u2013\u2014].*)?$",
    re.IGNORECASE,
)
VERDICT_MASK = "[verdict word removed]"


def for_judge(answer: str) -> str:
    """The answer as the judge sees it: its own verdict words masked (a capitalised PASS or
    FAIL, and any line a verdict reader would take for one), so that no verdict in the judge's
    reply can be the answer's. An answer writing "PASS" passed itself through judges that
    quote or echo it (45th probe), and reading the reply without the answer's lines let it
    delete the judge's own verdict line instead (46th). An answer whose right content is such
    a word is checked with `equals` or `contains`, not a judge. Its thinking tags too: the
    judge's reply is read after its first `</think>`, and one the judge echoed from the answer
    threw the judge's own verdict away as thinking (46th)."""
    # every break Python knows (U+2028, \f, ...) is a line here, so no line of it reads as a
    # verdict however the judge's reply is split
    lines = [VERDICT_MASK if _VERDICT_LINE.match(line) else line for line in answer.splitlines()]
    masked = re.sub(r"\b(?:PASS|FAIL)\b", VERDICT_MASK, "\n".join(lines))
    return masked.replace(CLOSE, "</thinking-tag>").replace(OPEN, "<thinking-tag>")


class JudgeReply(str):
    """A judge's reply; `cut`: it ran out of its max_tokens, its prose unfinished."""

    cut: bool = False


def _judge_verdict(text: str) -> float | None:
    """PASS or FAIL: the verdicts on lines of their own, else the capitalised words, when
    every one of them says the same. The judge saw the answer with its own verdict words
    masked (`for_judge`), so none of them is the answer's: quoted or echoed, an answer's
    "PASS" passed it (45th probe), and leaving quoted lines, code blocks or the answer's lines
    unread let the answer hide the judge's verdict (46th). Both said, or neither, is no
    verdict (a miss). Prose in lower case is no verdict ("does not pass" passed an answer:
    44th), nor is the first of two words (36th)."""
    # lines as a reader sees them: str.splitlines() also breaks at U+2028, \f and others,
    # which made a verdict line in the middle of the judge's sentence (46th probe)
    rows = re.split(r"\r\n|\r|\n", text)
    lines = [m.group(1) for line in rows if (m := _VERDICT_LINE.match(line))]
    # in a reply cut at its max_tokens only a verdict line counts: "The answer would PASS if
    # it named Paris, but it names Lyon, so the verdict is" passed Lyon (48th probe)
    words = [] if getattr(text, "cut", False) else _words(text)
    for said in (lines, words):
        kinds = {w.upper() for w in said}
        if kinds:
            return float(kinds == {"PASS"}) if len(kinds) == 1 else None
    return None
