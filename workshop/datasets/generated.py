"""Generate the project's own Alpaca-style instruction set from templates, deterministically.

`data/instructions/instruction-data.json` is written by `generate_instructions()` (CLI:
`workshop data generate`): short, consistent task families (arithmetic word problems, unit
conversions, antonyms, plurals, list reversal, sorting, dates in words, capital letters)
whose answers follow one fixed sentence pattern each, so a small model learns the pattern
in a few dozen LoRA steps and the change shows in validation loss and in its responses.
"""

from __future__ import annotations

import random
from pathlib import Path
from typing import Callable

from workshop.core.paths import DATA_DIR
from workshop.core.types import OutputFile, PositiveInt

SHIPPED_PATH = DATA_DIR / "instructions" / "instruction-data.json"  # what the package reads
DEFAULT_OUT = Path("data/instructions/instruction-data.json")  # where a rerun writes: the working directory
DEFAULT_N = 300
DEFAULT_SEED = 123

NAMES = ["Mia", "Leo", "Ava", "Noah", "Emma", "Omar", "Zoe", "Ravi", "Lena", "Sam", "Ida", "Tom"]
THINGS = ["apples", "marbles", "stickers", "books", "pencils", "coins", "cards", "shells", "stamps", "cookies"]
ANTONYMS = [
    ("hot", "cold"), ("big", "small"), ("fast", "slow"), ("happy", "sad"), ("early", "late"),
    ("light", "dark"), ("open", "closed"), ("full", "empty"), ("strong", "weak"), ("high", "low"),
    ("old", "new"), ("rich", "poor"), ("wet", "dry"), ("loud", "quiet"), ("hard", "soft"),
    ("long", "short"), ("thick", "thin"), ("clean", "dirty"), ("easy", "difficult"), ("up", "down"),
    ("inside", "outside"), ("first", "last"), ("true", "false"), ("win", "lose"), ("buy", "sell"),
    ("remember", "forget"), ("accept", "refuse"), ("arrive", "leave"), ("begin", "end"), ("push", "pull"),
]
PLURALS = [
    ("mouse", "mice"), ("child", "children"), ("tooth", "teeth"), ("foot", "feet"), ("goose", "geese"),
    ("man", "men"), ("woman", "women"), ("person", "people"), ("leaf", "leaves"), ("knife", "knives"),
    ("wolf", "wolves"), ("city", "cities"), ("baby", "babies"), ("box", "boxes"), ("bus", "buses"),
    ("church", "churches"), ("potato", "potatoes"), ("hero", "heroes"), ("cactus", "cacti"), ("sheep", "sheep"),
    ("fish", "fish"), ("ox", "oxen"), ("life", "lives"), ("wife", "wives"), ("story", "stories"),
]
UNITS = [  # (from, to, factor)
    ("kilometers", "meters", 1000), ("meters", "centimeters", 100), ("hours", "minutes", 60),
    ("minutes", "seconds", 60), ("kilograms", "grams", 1000), ("days", "hours", 24), ("weeks", "days", 7),
    ("liters", "milliliters", 1000), ("years", "months", 12),
]
WORDS = ["red", "green", "blue", "cat", "dog", "bird", "pear", "plum", "lime", "sun", "moon", "star", "oak", "pine"]
MONTHS = ["January", "February", "March", "April", "May", "June", "July", "August", "September", "October",
          "November", "December"]


def _add(rng: random.Random) -> dict:
    name, thing, a, b = rng.choice(NAMES), rng.choice(THINGS), rng.randint(2, 20), rng.randint(2, 20)
    return {"instruction": f"{name} has {a} {thing} and gets {b} more. How many {thing} does {name} have now?",
            "input": "", "output": f"{name} has {a + b} {thing}."}


def _subtract(rng: random.Random) -> dict:
    name, thing, b = rng.choice(NAMES), rng.choice(THINGS), rng.randint(2, 15)
    a = b + rng.randint(1, 20)
    return {"instruction": f"{name} had {a} {thing} and gave away {b}. How many {thing} are left?",
            "input": "", "output": f"{name} has {a - b} {thing} left."}


def _multiply(rng: random.Random) -> dict:
    thing, per, boxes = rng.choice(THINGS), rng.randint(2, 9), rng.randint(2, 9)
    return {"instruction": f"A box holds {per} {thing}. How many {thing} are in {boxes} boxes?",
            "input": "", "output": f"There are {per * boxes} {thing} in {boxes} boxes."}


def _convert(rng: random.Random) -> dict:
    src, dst, factor = rng.choice(UNITS)
    n = rng.randint(2, 12)
    return {"instruction": f"Convert the quantity to {dst}.", "input": f"{n} {src}",
            "output": f"{n} {src} is {n * factor} {dst}."}


def _antonym(rng: random.Random) -> dict:
    word, opposite = rng.choice(ANTONYMS)
    if rng.random() < 0.5:
        word, opposite = opposite, word
    return {"instruction": f'What is the opposite of "{word}"?', "input": "",
            "output": f'The opposite of "{word}" is "{opposite}".'}


def _plural(rng: random.Random) -> dict:
    word, plural = rng.choice(PLURALS)
    instruction = rng.choice(["Give the plural form of the word.", "What is the plural of this word?"])
    return {"instruction": instruction, "input": word,
            "output": f'The plural of "{word}" is "{plural}".'}


def _reverse(rng: random.Random) -> dict:
    items = rng.sample(WORDS, rng.randint(3, 5))
    return {"instruction": "Reverse the order of the items in the list.", "input": ", ".join(items),
            "output": ", ".join(reversed(items))}


def _sort(rng: random.Random) -> dict:
    numbers = rng.sample(range(1, 100), rng.randint(3, 5))
    return {"instruction": "Sort the numbers from smallest to largest.", "input": ", ".join(map(str, numbers)),
            "output": ", ".join(map(str, sorted(numbers)))}


def _date(rng: random.Random) -> dict:
    year, month, day = rng.randint(1990, 2030), rng.randint(1, 12), rng.randint(1, 28)
    return {"instruction": "Write the date in words.", "input": f"{year}-{month:02d}-{day:02d}",
            "output": f"{MONTHS[month - 1]} {day}, {year}"}


def _upper(rng: random.Random) -> dict:
    phrase = " ".join(rng.sample(WORDS, rng.randint(2, 3)))
    return {"instruction": "Rewrite the text in capital letters.", "input": phrase, "output": phrase.upper()}


TASKS: list[Callable[[random.Random], dict]] = [
    _add, _subtract, _multiply, _convert, _antonym, _plural, _reverse, _sort, _date, _upper,
]


def generate_instructions(n: int = DEFAULT_N, seed: int = DEFAULT_SEED) -> list[dict]:
    """`n` distinct entries cycling through the task families, then shuffled (same seed, same list)."""
    rng = random.Random(seed)
    entries: list[dict] = []
    seen: set[tuple[str, str]] = set()
    attempts = 0
    while len(entries) < n:
        attempts += 1
        if attempts > 100 * n:
            raise ValueError(f"could not make {n} distinct entries from the templates; ask for fewer")
        entry = TASKS[len(entries) % len(TASKS)](rng)
        key = (entry["instruction"], entry["input"])
        if key not in seen:
            seen.add(key)
            entries.append(entry)
    rng.shuffle(entries)
    return entries


def write_default(out: OutputFile = DEFAULT_OUT, n: PositiveInt = DEFAULT_N, seed: int = DEFAULT_SEED) -> Path:
    """Regenerate the project's template-made instruction set (atomically).

    Args:
        out: output .json or .jsonl (in a checkout, from its top, this is the shipped file)
        n: number of entries
        seed: generator seed (the shipped file uses the default)
    """
    from workshop.datasets.instructions import write_instructions

    return write_instructions(out, generate_instructions(n, seed))
