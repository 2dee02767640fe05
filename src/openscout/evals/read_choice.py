"""Which option a generated multiple-choice answer picks.

The answer is read as a person reads it. Each option's text found in the answer first stands
for its option, so the letters inside "Vitamin C" or "Both A and B" are no letters (the
56th fix read "B. Vitamin C" as C: 57th probe). Then every place that names an option (a
letter, a letter with its text, the text alone) is weighed by what surrounds it, in order:
a conclusion in the answer's own words ("the answer is B", "答案是B"), a verdict after it
("B is correct", "B: yes", "A) ... - wrong"), "so B" or "it's B", a letter the answer ends
or opens with, an option's text it ends or opens with, a pick said in the first person
("I'd pick B"), the first place left. A negation before it ("not D", "rather than C"), a
verdict against it, a pick supposed or others' ("Some might pick D"), a run of letters ruled
out together ("so A, B and D are wrong") and the options merely listed in order are never
the pick.

Piling patterns on one another broke earlier readings each time (55th to 60th probes):
`tests/evals/test_read_choice.py` holds every answer style the probes found, read as one,
and each change is run against the probes' sweeps of tens of thousands of answers.
"""

from __future__ import annotations

import bisect
import itertools
import json
import re
import unicodedata
from dataclasses import dataclass

from openscout.evals.items import LETTERS

READ_CHARS = 8_000  # of a longer answer, its first and last so many characters are read
_FIRST_MARK = 0xE000  # an option's text becomes one private-use character

_OUR_MARKS = re.compile("[\ue000-\ue019]")
_EMPHASIS = re.compile(r"[*_`]+")
_LATEX_TEXT = re.compile(r"\\(?:text|textbf|mathrm|mathbf)\{\s*([^{}]{1,40}?)\s*\}")
_BOXED = re.compile(r"\\boxed\{\s*([^{}]{1,40}?)\s*\}")
_SHORT_TAG = re.compile(r"</?[A-Za-z][\w-]{0,20}>")
_QUOTED_LETTER = re.compile(r"""['"“”‘’「」『』«»]([A-Za-z])['"“”‘’「」『』«»]""")
# NFKC makes full-width letters and most punctuation ASCII; these two it keeps
_CJK_STOPS = str.maketrans({"。": ". ", "、": ", "})
_JSON_KEYS = ("answer", "choice", "option", "final_answer", "correct_answer", "letter", "label")

# what opens a conclusion: the answer's own words for it first, the last of them first; then
# words that also open asides ("P.S. Option C is also nice", "some people pick A": 58th probe)
_CUE = re.compile(r"(?:\b(?:answer|final|correct)\b|->|=>|\u2192|答案|答え|正解|回答)", re.I)
# "so A": a conclusion where no verdict says otherwise ("B is correct. Hence D, ...")
_SO = re.compile(
    r"\b(?:so|therefore|thus|hence)\b(?!\s+(?:is|are|was|were|do|does|did)\b)"
    # "It's B. Hope this helps!" (59th probe), at a sentence's start: not "nothing in it is"
    r"|(?:^|(?<=[.!?:,])\s*|(?<=think )|(?<=believe )|(?<=guess ))it(?:'s|\s+is|\s+will\s+be)\b"
    r"|\bI(?:'d|\s+would)?\s+say\b",
    re.IGNORECASE | re.MULTILINE,
)
# a pick said in the first person, or labelled: "some might pick D", "the option D refers
# to ..." and "if ..., the choice would be D" are asides (60th probe)
_WEAK_CUE = re.compile(
    r"(?:\b(?:I|we|I'd|I'll|we'd|let's|let us)\b(?:\s+\w+){0,2}?\s+(?:pick|choose|select"
    r"|go with|opt for)\b|\bmy\s+(?:final\s+)?(?:choice|pick|option)\b|\b(?:choice|option|pick)"
    r"\s*[:=]|选项|选择|选)",
    re.IGNORECASE,
)
# after "so", only "the answer is" and the like: "Thus option D describes ..." is no pick
_SO_FILLER = re.compile(
    r"(?:[ \t:,]+|:\s*\n\s*|(?:it's|it|is|the|answer|must|would|be)\b)*", re.IGNORECASE
)
# the words between a cue and the pick
_FILLER = re.compile(  # a new line only after a colon: "Answer:\nB", not "- correct\nB. Paris"
    r"(?:[ \t:=,\-\u2013\u2014]+|:\s*\n\s*|(?:is|are|was|would|will|must|should|be|it's|it|the|my|our"
    r"|final|correct|right|best|answer|choice|option|letter|one|then|here|definitely"
    r"|clearly|probably|likely)\b|是|为|は|です)*",
    re.IGNORECASE,
)
# after "the answer is", the capital A is the letter before these words, an article before others
_AFTER_A_LETTER = re.compile(
    r"\s+(?:because|since|as|for|given|which|and|with|here|rather|over|instead|but|or)\b"
)

# a verdict right after a place that names an option
_COPULA = r"(?:is|it's|'s|seems|looks|would be|must be|should be|will be|appears|sounds)"
_LEAD = r"^[\s)\].,:*]*(?:\([^()]{0,60}\)\s*)?(?:[-\u2013\u2014:=?]\s*)?"
_POSITIVE = re.compile(
    _LEAD
    + r"(?:it is\b|(?:is|are) not (?:wrong|incorrect)\b|(?:isn't|aren't) (?:wrong|incorrect)\b"
    r"|(?:this|that) is (?:it|the one)\b|that's (?:it|the one)\b"
    r"|(?:(?:this|it|that)\s+)?(?:fits|matches|makes sense|for sure|looks good|sounds right)\b"
    # "is the most appropriate answer", "would be my choice", "is the one to pick"
    r"|(?:(?:this|that|it)\s+)?" + _COPULA + r"\s+(?:the|my|our)\s+(?:\w+\s+){0,2}?"
    r"(?:answer|choice|pick|option|one)\b(?!\s+(?:if|for|when|had|of)\b)"
    r"|(?:(?:this|that|it)\s+)?(?:" + _COPULA + r"\s+)?(?:(?:definitely|clearly|certainly"
    r"|probably|likely|indeed|also|the|my|our|final|most)\s+)*(?:correct|right|true|yes|best)\b"
    # not "would be right for a different question", "right next to"
    r"(?!\s+(?:if|for|when|had|next|now|here|there|on|at|in|by|of)\b)"
    r"|[\u2713\u2714\u2705])",
    re.IGNORECASE,
)
_RETRACTION = re.compile(
    r"\b(?:wait|actually|on second thought|correction|scratch that|I was wrong|that's wrong)\b",
    re.IGNORECASE,
)
# words on the other options or the question after a pick ("A) Lyon — Nothing else is
# false here", "No other option works": 62nd probe), not a verdict against it
_OF_THE_OTHERS = re.compile(
    r"[\s:,.)\-\u2013\u2014]*(?:nothing|none|no other|the others?|everything else|all others"
    r"|the (?:statement|question|premise))\b",
    re.IGNORECASE,
)
_NOTHING_WRONG = re.compile(
    r"\b(?:nothing|not|no|never)\s+(?:\w+\s+)?(?:wrong|incorrect|false)\b", re.I
)
_MARKED_RIGHT = re.compile(r"(?:[\u2713\u2714\u2705]|\[[xX]\])[\s*]*$")
# what a verdict on the letter "A" (not the article) or "I" (not the pronoun) opens with
_SAID_OF = re.compile(
    r"\s*(?:is|was|would|seems|looks|it is|must|should|makes|sounds|for sure|[:\-\u2013\u2014])",
    re.I,
)
_NEGATIVE_VERDICT = re.compile(
    _LEAD
    # "- no", "? No." but not "- no question", "No doubt"
    + r"(?:(?:no|nope)(?=\s*(?:[.,;:!)]|$))|(?:false|wrong|incorrect"
    r"|not (?:it|this one|correct|right))\b)|" + _LEAD + r"[\u2717\u2718\u274c\u00d7]",
    re.IGNORECASE,
)
_NEGATIVE_WORDS = re.compile(
    r"\b(?:wrong|incorrect|false|ruled out|rule out|eliminated?|excluded?|distractors?|mistakes?"
    r"|tempting|a trap|does not apply|do not apply|doesn't apply|don't apply|not it|nope"
    r"|less (?:relevant|likely)|unlikely|irrelevant|would have been"
    r"|(?:does not|doesn't|do not|don't) (?:fit|match|work|hold)"
    r"|not (?:the )?(?:correct|right|best|answer))\b"
    # "C is not." (a bare "is not" describes: "Nice is not a capital" answers a NOT question)
    r"|\b(?:is not|isn't|are not|aren't)(?:\s+(?:it|correct|right|the (?:answer|one)))?\s*$",
    re.IGNORECASE,
)
# a negation that belongs to the place named after it: "not D", "rather than C"
_NEGATION_BEFORE = re.compile(
    r"(?:\b(?:not|rather than|instead of|over|except|excluding|unlike|nor|but not|eliminating"
    r"|as opposed to"
    r"|ruling out|confused with(?: option)?)|n't|\b(?:incorrect|wrong)\s*:"
    # "I would not pick D", "I wouldn't choose D"
    r"|(?:\bnot|\bnever|n't)\s+(?:(?:pick|choose|select|say|go with|recommend|be|option)\s+)+"
    r"|\b(?:mistake|error|trap)\s+(?:is|would be)\s+to\s+(?:answer|pick|choose|say|select))"
    r"[\s:(\[]*$",
    re.IGNORECASE,
)
# a capitalised word right before a letter makes it a name, unless the word is a cue
_NAMED = re.compile(
    r"(?<![\w.])(?![A-Z][a-z]+ly\b|(?:Answer|Option|Choice|Final|Correct|So|Therefore|Thus"
    r"|Hence|Pick|Select|Choose|Letter|Maybe|Perhaps|Yes|Well|Okay|Then|Is|Its|It's|Not)\b)"
    r"[A-Z][a-z]+ $"
)
_SENTENCE_END = re.compile(r"[;!?\n]|\.(?=\s|$)")
# a clause ends at a sentence's end, but "Lyon? No." is one; a capitalised word after a word
# starts a sentence written without its stop ("A. Lyon No other option fits": 62nd probe)
_CLAUSE_END = re.compile(
    r"[;!\n]|\.(?=\s|$)|\?(?=\s|$)(?!\s*(?:[Nn]o|[Nn]ope|[Yy]es|[Yy]ep)\b)"
    r"|(?:^|(?<=[a-z0-9\ue000-\ue019]))\s+(?=[A-Z][a-z])",
)
# a place in a sentence that supposes ("If the question asked ..., the choice would be D")
# or speaks of others' picks ("Some might pick D")
_HYPOTHETICAL = re.compile(
    r"\b(?:might|may|could|often|usually|sometimes)\s+(?:\w+\s+)?(?:pick|choose|select"
    r"|say|think|go with)\b|\b(?:could|might|may)\s+(?:also\s+)?be\b"
    r"|\b(?:many|some|most|others)\b(?:\s+\w+)?\s+(?:think|pick|choose|say|assume|guess)\b"
    r"|\bif\b[^.!?]*\bwould\b"  # "Note: if ..., the answer would be C" (61st probe)
    # "the most common wrong answer is A" (61st)
    r"|\b(?:wrong|incorrect|tempting|common|naive|trick)\s+(?:answer|choice|option|pick)\b",
    re.IGNORECASE,
)
_ASIDE = re.compile(r"\b(?:because|since|while|whereas|although|though)\b", re.IGNORECASE)
# between two options listed: marks, blanks, "and", "or", "option" (not words on them)
_LISTED = re.compile(r"[\s,;.:)\](\[*_-]*(?:(?:and|or|option|choice)\b[\s,;.:)\](\[*_-]*)?", re.I)
_JOINED = re.compile(r"\s*(?:,|&|/|and|or|,\s*and|,\s*or)\s*", re.IGNORECASE)


@dataclass
class _Place:
    """Where the answer names an option."""

    index: int
    start: int
    end: int
    kind: str  # "letter", "pair" (a letter with its text) or "text"
    weak: bool = False  # a lower-case letter, read only right after a cue
    article: bool = False  # "A" or "I" before a lower-case word
    name: bool = False  # the end of a name: "Vitamin C", "Hepatitis B", "Plan B"
    negative: bool = False
    positive: bool = False
    in_list: bool = False  # "A, B and D": letters named together
    echoed: bool = False  # one of the options listed in order


def extract_choice(text: str, choices: tuple[str, ...]) -> int | None:
    """Index of the chosen option: a letter (A., (B), 'answer is C') or the option's text."""
    letters = LETTERS[: len(choices)]
    if len(text) > 2 * READ_CHARS:  # an answer's pick is at its start or its end
        text = text[:READ_CHARS] + "\n" + text[-READ_CHARS:]
    if isinstance(from_json := json_answer(text), str) and from_json != text:
        return extract_choice(from_json, choices)
    plain = plain_marks(text)
    masked = _masked(plain, choices, letters)
    places = _places(masked, letters)
    _weigh(masked, places, len(choices))
    # "The answer is C. Wait, that's wrong. It's B.": what follows the last retraction
    retracted = [m.end() for m in _RETRACTION.finditer(masked)]
    if retracted and any(p.start >= retracted[-1] for p in places):
        places = [p for p in places if p.start >= retracted[-1]]
    rules = (_alone_on_last_line, _after_cue, _by_verdict, _after_so, _ends_on_letter)
    rules += (_opens_with_letter, _ends_on_text, _opens_with_text, _after_weak_cue)
    for rule in (*rules, _first):
        if (picked := rule(masked, places, letters)) is not None:
            return picked
    if any(p.kind != "letter" for p in places):  # its options named, and none the pick
        return None
    return _inside_a_word(plain, choices, letters)


def plain_marks(text: str) -> str:
    """The answer without the marks around a letter that are no part of it: Markdown's
    emphasis and code (54th probe), LaTeX's `\\boxed{B}` and `\\text{B}`, short tags
    (`<answer>B</answer>`, 55th), quotes around a letter, full-width forms (57th)."""
    text = unicodedata.normalize("NFKC", text).translate(_CJK_STOPS)
    text = _EMPHASIS.sub("", text)
    text = _BOXED.sub(r" \1 ", _LATEX_TEXT.sub(r"\1", text))
    text = _SHORT_TAG.sub(" ", text)
    return _QUOTED_LETTER.sub(r" \1 ", text)


def json_answer(text: str, keys: tuple[str, ...] = _JSON_KEYS) -> str | int | float | None:
    """The value of an "answer" (or "choice", ...) key where the whole answer is a JSON
    object, fenced or not: `{"answer": "B"}` was read as no choice (57th probe), and
    `{"answer": 18, "reasoning": "... = 9"}` as 9 (61st)."""
    t = text.strip()
    if t.startswith("```"):
        t = t.strip("`").strip()
        t = (t[4:] if t[:4].lower() == "json" else t).strip()
    if not (t.startswith("{") and t.endswith("}")) or len(t) > 100_000:
        return None
    try:
        data = json.loads(t)
    except (ValueError, RecursionError):
        return None
    if not isinstance(data, dict):
        return None
    found = {str(k).lower(): v for k, v in data.items()}
    for k in keys:
        if isinstance(found.get(k), (str, int, float)) and not isinstance(found[k], bool):
            return found[k]
    return None


def _masked(plain: str, choices: tuple[str, ...], letters: str) -> str:
    """Each option's text, as a whole word and in any case, replaced by one character that
    stands for it; the longest first. Options that are letters themselves (an lm-eval task
    whose choices are "A".."D") stay letters."""
    plain = _OUR_MARKS.sub(" ", plain)  # an answer's own stand-ins are no options
    order = sorted(range(len(choices)), key=lambda i: -len(choices[i].strip()))
    for i in order:
        c = choices[i].strip()
        words = r"\s+".join(re.escape(w) for w in plain_marks(c).split())
        if not words or (len(c) == 1 and c.upper() in letters):
            continue
        plain = re.sub(r"(?<!\w)" + words + r"(?!\w)", chr(_FIRST_MARK + i), plain, flags=re.I)
    return plain


def _mark_index(ch: str, n: int) -> int | None:
    i = ord(ch) - _FIRST_MARK
    return i if 0 <= i < n else None


def _places(masked: str, letters: str) -> list[_Place]:
    n = len(letters)
    places: list[_Place] = []
    taken: set[int] = set()  # option texts made part of a pair
    whole = masked.strip()
    alone = re.fullmatch(r"[(\[]?([A-Za-z])[)\].:]?", whole)
    for m in re.finditer(r"(?<![A-Za-z0-9'’])([A-Za-z])(?![A-Za-z0-9])(?!['’][A-Za-z])", masked):
        ch = m.group(1)
        if ch.upper() not in letters:
            continue
        index, end = letters.index(ch.upper()), m.end()
        start = m.start() - (m.start() > 0 and masked[m.start() - 1] in "([")
        after = masked[end : end + 80]
        # its own option's text on the same line: "B. Lyon is not the capital" is B and a
        # word on Lyon, not a pair contradicting itself (59th probe)
        pair = re.match(
            r"[)\]]?[ \t]*[.:)\-\u2013\u2014]?[ \t]*\(?[ \t]*([\ue000-\ue019])\)?", after
        )
        kind = "letter"
        if pair and _mark_index(pair.group(1), n) == index:
            kind, end = "pair", end + pair.end()
            taken.add(m.end() + pair.start(1))
        dotted = masked[m.start() - 1 : m.start()] == "."  # "i.e. Paris"
        weak = ch.islower() and not (
            alone or (kind == "pair" and not dotted) or (after.startswith(")") and not dotted)
        )
        article = ch in "AI" and re.match(r"\s+[a-z]", after) is not None
        name = kind == "letter" and _NAMED.search(masked[max(0, m.start() - 40) : m.start()])
        places.append(_Place(index, start, end, kind, weak=weak, article=article, name=bool(name)))
    for m in re.finditer(r"[\ue000-\ue019]", masked):
        index = _mark_index(m.group(), n)
        if index is None or m.start() in taken:
            continue
        behind = re.match(r"\s*[(\[]([A-Z])[)\]]", masked[m.end() :])  # "Paris (B)"
        if behind and behind.group(1) in letters:
            places.append(
                _Place(letters.index(behind.group(1)), m.start(), m.end() + behind.end(), "text")
            )
            continue
        places.append(_Place(index, m.start(), m.end(), "text"))
    places.sort(key=lambda p: p.start)
    # a letter that is the "(B)" after an option's text is part of that pair
    spans = [(p.start, p.end) for p in places if p.kind == "pair"]
    return [p for p in places if p.kind != "letter" or not any(s < p.start < e for s, e in spans)]


def _weigh(masked: str, places: list[_Place], n: int) -> None:
    """Each place's verdict, negation, list and echo."""
    # a lower-case letter or an article ("is a distractor") ends no one's clause
    bounds = [q for q in places if not (q.weak or q.article)]
    starts, ends = [q.start for q in bounds], [q.end for q in bounds]  # both ascending
    for p in places:
        if p.weak:  # read only alone after a cue: a thousand "a"s weighed cost seconds
            continue
        k = bisect.bisect_left(starts, p.end)
        nxt = starts[k] if k < len(starts) else len(masked)
        clause = masked[p.end : min(nxt, p.end + 200)]  # a verdict is near what it judges
        stop = _CLAUSE_END.search(clause)  # not at "?": "Lyon? No." (59th probe)
        own = clause[: stop.start()] if stop else clause
        # what follows "because" is about the others ("B, because the others do not match")
        own = _ASIDE.split(own, maxsplit=1)[0]
        # "B) Paris, not D": the "not" is D's
        if stop is None and k < len(starts) and (before_next := _NEGATION_BEFORE.search(own)):
            own = own[: before_next.start()]
        k = bisect.bisect_right(ends, p.start)
        prev_end = ends[k - 1] if k else 0
        lead = masked[max(prev_end, p.start - 200) : p.start]
        lead = lead[max((m.end() for m in _SENTENCE_END.finditer(lead)), default=0) :][-80:]
        # a verdict right after it outweighs words further on ("A is the best answer,
        # since Paris and Nice do not apply")
        denied = _NEGATION_BEFORE.search(lead) or _HYPOTHETICAL.search(lead)
        p.positive = not denied and bool(
            _POSITIVE.match(own) or _MARKED_RIGHT.search(lead)  # "✅ B) Paris", "- [x] B"
        )
        if p.positive and p.article and not _SAID_OF.match(own):
            p.positive = False  # "I pick C", "I answer with C": the pronoun (60th probe)
        p.negative = not p.positive and bool(
            denied
            or _NEGATIVE_VERDICT.match(own)
            or (
                _NEGATIVE_WORDS.search(own[:48])
                and not _OF_THE_OTHERS.match(own)
                and not _NOTHING_WRONG.search(own[:48])  # "nothing wrong with it" (62nd)
            )
        )
        if p.positive:
            p.article = False
    for a, b in itertools.pairwise(places):
        if a.name or b.name:
            continue
        if a.index != b.index and _JOINED.fullmatch(masked[a.end : b.start]):
            a.in_list = b.in_list = True
    # options listed in order (A, B, C ... or their texts), none with a word on it: an echo
    # of the question. Three or more, and all of them or all but one.
    listed = [p for p in places if p.kind != "letter"]  # bare letters: a list, not an echo
    run: list[_Place] = []
    for p in [*listed, None]:
        if (
            p is not None
            and run
            and p.index > run[-1].index
            and p.kind == run[-1].kind
            and _LISTED.fullmatch(masked[run[-1].end : p.start])
        ):
            run.append(p)
            continue
        if len(run) >= max(3, n - 1) and not any(q.negative or q.positive for q in run):
            for q in run:
                q.echoed = True
        run = [p] if p is not None else []


def _usable(p: _Place) -> bool:
    return not (p.weak or p.article or p.name or p.negative or p.in_list or p.echoed)


def _alone_on_last_line(masked: str, places: list[_Place], letters: str) -> int | None:
    lines = [x.strip() for x in masked.strip().splitlines() if x.strip()]
    last = re.fullmatch(r"[(\[]?([A-Za-z])[)\].:]?", lines[-1]) if lines else None
    if last and last.group(1).upper() in letters:
        return letters.index(last.group(1).upper())
    return None


def _after_cue(masked: str, places: list[_Place], letters: str) -> int | None:
    """The place right after the last cue that is followed by one."""
    return _after(_CUE, masked, places)


def _after_so(masked: str, places: list[_Place], letters: str) -> int | None:
    return _after(_SO, masked, places, _SO_FILLER)


def _after_weak_cue(masked: str, places: list[_Place], letters: str) -> int | None:
    """After "option", "pick", "so" ...: these open asides as often as conclusions ("B.
    Option D would be Ottawa": 60th probe), so only where nothing surer decides."""
    return _after(_WEAK_CUE, masked, places)


def _after(
    cues: re.Pattern[str], masked: str, places: list[_Place], filler: re.Pattern[str] = _FILLER
) -> int | None:
    starts = {p.start: p for p in places}
    for cue in reversed(list(cues.finditer(masked))):
        at = filler.match(masked, cue.end(), cue.end() + 80).end()
        p = starts.get(at)
        if p is None or p.negative or p.in_list or p.echoed:
            continue
        if p.weak and not re.match(r"[)\].:,!]?\s*(?:$|\n)", masked[p.end :]):
            continue
        if p.article and not _AFTER_A_LETTER.match(masked[p.end :]):
            continue
        return p.index
    return None


def _by_verdict(masked: str, places: list[_Place], letters: str) -> int | None:
    said = {p.index for p in places if p.positive and not (p.weak or p.in_list or p.name)}
    return said.pop() if len(said) == 1 else None


def _ends_on_letter(masked: str, places: list[_Place], letters: str) -> int | None:
    """A letter the answer ends on ("Paris? Yes: B.")."""
    return _at_end(masked, places, "letter")


def _opens_with_letter(masked: str, places: list[_Place], letters: str) -> int | None:
    """A letter, or a letter with its text, the answer opens with ("B\n\nThe option D ...")."""
    return _at_start(masked, places, ("letter", "pair"))


def _ends_on_text(masked: str, places: list[_Place], letters: str) -> int | None:
    """An option's text the answer ends on ("Lyon is big, but the capital is Paris.")."""
    return _at_end(masked, places, "text")


def _opens_with_text(masked: str, places: list[_Place], letters: str) -> int | None:
    return _at_start(masked, places, ("text",))


def _at_end(masked: str, places: list[_Place], kind: str) -> int | None:
    if not places or (p := places[-1]).kind != kind or not _usable(p):
        return None
    if re.fullmatch(r"[\s.!)\]]*", masked[p.end :]):
        return p.index
    return None


def _at_start(masked: str, places: list[_Place], kinds: tuple[str, ...]) -> int | None:
    lead = len(masked) - len(masked.lstrip(" \t\n#>"))
    first = places[0] if places else None
    if first and first.start == lead and first.kind in kinds and _usable(first):
        return first.index
    return None


def _first(masked: str, places: list[_Place], letters: str) -> int | None:
    return next((p.index for p in places if _usable(p)), None)


def _inside_a_word(plain: str, choices: tuple[str, ...], letters: str) -> int | None:
    """Last, an option's text inside a word: no whole word anywhere, the longest at the
    first place ("x1000y")."""
    low = plain.lower()
    hits = [
        (low.find(c.lower()), -len(c), i)
        for i, c in enumerate(choices)
        if c and not (len(c) == 1 and c.upper() in letters) and c.lower() in low
    ]
    return min(hits)[2] if hits else None
