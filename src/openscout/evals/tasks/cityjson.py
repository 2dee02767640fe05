"""`city-json`: name the city and the country a text mentions, as JSON {"city", "country"}.

A narrow output format, checked by code (the answer must parse as exactly that JSON object),
made for showing what a fine-tune does (`openscout tune`, docs/customise.md). The cities are
split in two: the built-in suite asks about the held-out cities only, and `train_examples`
writes chat examples about the other cities, so a model tuned on the training split is
measured on cities and texts it has not seen.
"""

from __future__ import annotations

import json
import random
from typing import Any

from openscout.evals.items import Item
from openscout.evals.tasks.words import NAMES, THINGS, WEEKDAYS, WORDS

PLACES = (
    ("Lyon", "France"), ("Porto", "Portugal"), ("Kraków", "Poland"), ("Osaka", "Japan"),
    ("Valencia", "Spain"), ("Hamburg", "Germany"), ("Bergen", "Norway"), ("Cork", "Ireland"),
    ("Turin", "Italy"), ("Ghent", "Belgium"), ("Utrecht", "Netherlands"), ("Basel", "Switzerland"),
    ("Graz", "Austria"), ("Brno", "Czechia"), ("Tartu", "Estonia"), ("Malmö", "Sweden"),
    ("Aarhus", "Denmark"), ("Tampere", "Finland"), ("Cluj-Napoca", "Romania"), ("Plovdiv", "Bulgaria"),
    ("Thessaloniki", "Greece"), ("Izmir", "Turkey"), ("Haifa", "Israel"), ("Alexandria", "Egypt"),
    ("Fez", "Morocco"), ("Mombasa", "Kenya"), ("Durban", "South Africa"), ("Kumasi", "Ghana"),
    ("Lagos", "Nigeria"), ("Pune", "India"), ("Kandy", "Sri Lanka"), ("Chiang Mai", "Thailand"),
    ("Da Nang", "Vietnam"), ("Cebu", "Philippines"), ("Busan", "South Korea"), ("Chengdu", "China"),
    ("Sapporo", "Japan"), ("Perth", "Australia"), ("Dunedin", "New Zealand"), ("Calgary", "Canada"),
    ("Quebec City", "Canada"), ("Denver", "United States"), ("Austin", "United States"),
    ("Monterrey", "Mexico"), ("Medellín", "Colombia"), ("Cusco", "Peru"), ("Valparaíso", "Chile"),
    ("Rosario", "Argentina"), ("Recife", "Brazil"), ("Montevideo", "Uruguay"), ("Seville", "Spain"),
    ("Leeds", "United Kingdom"), ("Glasgow", "United Kingdom"), ("Bordeaux", "France"),
    ("Munich", "Germany"), ("Bologna", "Italy"), ("Split", "Croatia"), ("Ljubljana", "Slovenia"),
    ("Riga", "Latvia"), ("Vilnius", "Lithuania"),
)  # fmt: skip
HELD_OUT = frozenset(PLACES[i] for i in range(len(PLACES)) if i % 4 == 3)  # 15 of 60
TRAIN_PLACES = tuple(p for p in PLACES if p not in HELD_OUT)
TEMPLATES = (
    "{name} spent {weekday} walking around {city}, {country}, and came back with {thing}.",
    "Our new office in {city} ({country}) opens on {weekday}.",
    "{name} wrote from {city} in {country}: the {word} arrived safely.",
    "After landing in {city}, {country}, {name} took a taxi to the hotel.",
    "The conference will be held in {city}, {country}, next {weekday}.",
    "{name} moved to {country} last year and now works in {city}.",
    "Shipping address: {n} {word_title} Street, {city}, {country}.",
    "{name}'s grandmother still lives in {city}; {country} has changed a lot since then.",
    "Weather note for {weekday}: rain over {city} and most of {country}.",
    "In {country}, {name} liked {city} best, mostly for its {thing}.",
)
INSTRUCTION = "Which city and country does this text mention? Reply in JSON.\n\n"


def _text(rng: random.Random, place: tuple[str, str]) -> str:
    word = rng.choice(WORDS)
    return rng.choice(TEMPLATES).format(
        name=rng.choice(NAMES),
        weekday=rng.choice(WEEKDAYS),
        city=place[0],
        country=place[1],
        thing=rng.choice(THINGS),
        word=word,
        word_title=word.title(),
        n=rng.randint(2, 240),
    )


def answer(place: tuple[str, str]) -> str:
    return json.dumps({"city": place[0], "country": place[1]}, ensure_ascii=False)


MAX_MISSES = 100  # draws in a row that repeat a text before a repeat is let in
# items of the held-out suite: its 15 cities make about 60,000 distinct texts
MAX_SUITE_SIZE = 20_000


def _pairs(
    rng: random.Random, places: tuple[tuple[str, str], ...], n: int
) -> list[tuple[str, tuple[str, str]]]:
    out, seen, misses = [], set(), 0
    while len(out) < n:
        place = rng.choice(places)
        text = _text(rng, place)
        # a text already drawn is drawn again, unless every recent draw was one: past the
        # distinct texts there are, this looped for ever (seventeenth probe: 100,000 items)
        if text in seen and len(seen) < 20 * n and misses < MAX_MISSES:
            misses += 1
            continue
        misses = 0
        seen.add(text)
        out.append((text, place))
    return out


def make(rng: random.Random, n: int) -> list[Item]:
    """The held-out split as suite items: the answer must be the JSON object, nothing else."""
    items = []
    for i, (text, place) in enumerate(_pairs(rng, tuple(sorted(HELD_OUT)), n)):
        value = {"city": place[0], "country": place[1]}
        items.append(
            Item(
                id=f"city-json-{i:03d}",
                kind="generate",
                prompt=INSTRUCTION + text,
                check="assertions",
                target=answer(place),
                completion_prompt=f"Text: {text}\nJSON:",
                max_tokens=40,
                check_data={
                    "assertions": [{"type": "equals", "value": value, "weight": 1.0}],
                    "threshold": 1.0,
                },
                meta={"task": "city-json", "split": "held-out"},
            )
        )
    return items


def train_examples(seed: int, n: int) -> list[dict[str, Any]]:
    """The training split as chat examples (the JSONL lines `openscout tune` reads)."""
    rng = random.Random(f"city-json:train:{seed}")
    return [
        {
            "messages": [
                {"role": "user", "content": INSTRUCTION + text},
                {"role": "assistant", "content": answer(place)},
            ]
        }
        for text, place in _pairs(rng, TRAIN_PLACES, n)
    ]
