"""Write a second five-shot multiple-choice task for the lm-eval comparison (issue 8): everyday
word knowledge with word options (opposites, categories, days and months, plurals, animal
sounds, young animals, capitals), in the same JSONL shape as the arithmetic task.

Why a second task: the arithmetic task's numeric options sit close together for a 135M model
(it is near chance there), so many items are near ties that rounding alone can flip. Here the
options are words of different kinds, as in the leaderboards' multiple-choice tasks, and a
small model has real preferences. Items are generated from a seed; the word lists are ours.
"""

from __future__ import annotations

import json
import random
import sys
from pathlib import Path

HERE = Path(__file__).parent / "data"

OPPOSITES = {
    "hot": "cold", "big": "small", "fast": "slow", "happy": "sad", "up": "down",
    "open": "closed", "light": "dark", "early": "late", "full": "empty", "hard": "soft",
    "old": "young", "strong": "weak", "rich": "poor", "loud": "quiet", "wet": "dry",
    "high": "low", "thick": "thin", "clean": "dirty", "long": "short", "sharp": "blunt",
    "inside": "outside", "first": "last", "push": "pull", "buy": "sell", "win": "lose",
    "day": "night", "left": "right", "true": "false", "begin": "end", "give": "take",
}  # fmt: skip
CATEGORIES = {
    "fruit": ["apple", "banana", "grape", "mango", "pear", "melon", "kiwi", "pineapple"],
    "animal": ["dog", "horse", "tiger", "rabbit", "whale", "mouse", "lion", "goat"],
    "tool": ["hammer", "pliers", "wrench", "drill", "chisel", "shovel", "screwdriver", "axe"],
    "colour": ["red", "green", "blue", "yellow", "purple", "brown", "black", "white"],
    "vehicle": ["car", "bus", "train", "bicycle", "truck", "boat", "ferry", "tram"],
    "piece of furniture": ["chair", "table", "sofa", "bed", "desk", "wardrobe", "shelf", "stool"],
    "piece of clothing": ["shirt", "coat", "sock", "hat", "scarf", "jacket", "dress", "glove"],
    "musical instrument": [
        "piano",
        "violin",
        "guitar",
        "drum",
        "flute",
        "trumpet",
        "cello",
        "harp",
    ],
}
DAYS = ["Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"]
MONTHS = [
    "January", "February", "March", "April", "May", "June", "July", "August", "September",
    "October", "November", "December",
]  # fmt: skip
PLURALS = {
    "mouse": "mice", "child": "children", "foot": "feet", "tooth": "teeth", "man": "men",
    "woman": "women", "goose": "geese", "person": "people", "leaf": "leaves", "knife": "knives",
    "wolf": "wolves", "box": "boxes", "city": "cities", "baby": "babies", "bus": "buses",
}  # fmt: skip
YOUNG = {"dog": "puppy", "cat": "kitten", "cow": "calf", "horse": "foal", "sheep": "lamb",
         "chicken": "chick", "bear": "cub", "pig": "piglet", "duck": "duckling", "frog": "tadpole"}  # fmt: skip
CAPITALS = {"France": "Paris", "Italy": "Rome", "Spain": "Madrid", "Germany": "Berlin",
            "Japan": "Tokyo", "Egypt": "Cairo", "Russia": "Moscow", "Greece": "Athens",
            "China": "Beijing", "Canada": "Ottawa", "Australia": "Canberra",
            "Portugal": "Lisbon"}  # fmt: skip
SOUNDS = {"cow": "moo", "dog": "woof", "cat": "meow", "duck": "quack", "sheep": "baa",
          "owl": "hoot", "lion": "roar", "donkey": "hee-haw", "pig": "oink", "horse": "neigh"}  # fmt: skip


def _article(noun: str) -> str:
    return "an" if noun[0] in "aeiou" else "a"


def _item(
    question: str, answer: str, pool: list[str], rng: random.Random, asked: str = ""
) -> dict[str, object]:
    """Three distractors from the pool, never the answer or the word asked about."""
    wrong = rng.sample(sorted(set(pool) - {answer, asked}), 3)
    choices = [answer, *wrong]
    rng.shuffle(choices)
    return {"question": question, "choices": choices, "label": choices.index(answer)}


def all_items(rng: random.Random) -> list[dict[str, object]]:
    items = []
    words = sorted(set(OPPOSITES) | set(OPPOSITES.values()))
    for a, b in OPPOSITES.items():
        items.append(_item(f"What is the opposite of {a}?", b, words, rng, a))
        items.append(_item(f"What is the opposite of {b}?", a, words, rng, b))
    for cat, members in CATEGORIES.items():
        others = [w for c, ms in CATEGORIES.items() if c != cat for w in ms]
        for m in members:
            wrong = rng.sample(others, 3)
            choices = [m, *wrong]
            rng.shuffle(choices)
            items.append(
                {
                    "question": f"Which of these is {_article(cat)} {cat}?",
                    "choices": choices,
                    "label": choices.index(m),
                }
            )
    for seq, kind in ((DAYS, "day"), (MONTHS, "month")):
        for i, x in enumerate(seq):
            items.append(
                _item(f"Which {kind} comes after {x}?", seq[(i + 1) % len(seq)], seq, rng, x)
            )
            items.append(_item(f"Which {kind} comes before {x}?", seq[i - 1], seq, rng, x))
    # regular -s forms as distractors ("persons" left out: it is a plural of person too)
    plurals = sorted(PLURALS.values()) + [s + "s" for s in PLURALS if s != "person"]
    for s, p in PLURALS.items():
        items.append(_item(f"What is the plural of {s}?", p, plurals, rng))
    for animal, sound in SOUNDS.items():
        items.append(
            _item(
                f"What sound does {_article(animal)} {animal} make?",
                sound,
                list(SOUNDS.values()),
                rng,
            )
        )
    for animal, young in YOUNG.items():
        items.append(_item(f"What is a young {animal} called?", young, list(YOUNG.values()), rng))
    for country, city in CAPITALS.items():
        items.append(
            _item(f"What is the capital of {country}?", city, list(CAPITALS.values()), rng)
        )
    rng.shuffle(items)
    return items


def write(seed: int = 2026) -> tuple[Path, Path]:
    """Five training rows (the shots) and every other row as the test split (>= 200)."""
    items = all_items(random.Random(seed))
    HERE.mkdir(exist_ok=True)
    train, test = HERE / "words_mc_train.jsonl", HERE / "words_mc_test.jsonl"
    train.write_text("".join(json.dumps(x) + "\n" for x in items[:5]))
    test.write_text("".join(json.dumps(x) + "\n" for x in items[5:]))
    return train, test


if __name__ == "__main__":
    print(*write(), sep="\n")
    print(sum(1 for _ in (HERE / "words_mc_test.jsonl").open()), "test items", file=sys.stderr)
