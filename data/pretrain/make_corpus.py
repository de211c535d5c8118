"""Write workshop-tales.txt, the default pretraining corpus: short tales this project composes itself.

Each tale follows one pattern (a maker, a problem, three attempts, a lesson) filled from
small word lists with a fixed seed, so the text is the same on every run, and regular
enough that a tiny GPT learns its grammar within a few CPU epochs. Tales are separated by
`<|endoftext|>`, as documents are in GPT-2's training data.

    python data/pretrain/make_corpus.py          # rewrites data/pretrain/workshop-tales.txt
"""

from __future__ import annotations

import random
from pathlib import Path

OUT = Path(__file__).with_name("workshop-tales.txt")
SEED = 2024
N_TALES = 60

NAMES = ["Mira", "Tomas", "Ada", "Jonah", "Lena", "Pim", "Odile", "Kasimir", "Rosa", "Bram", "Ines", "Felix"]
TRADES = ["clockmaker", "weaver", "potter", "baker", "glassblower", "bookbinder", "smith", "carpenter"]
PLACES = ["a village by the river", "a town at the edge of the forest", "a harbour full of gulls",
          "a hill town with one crooked street", "a city of bridges", "a quiet valley"]
THINGS = {
    "clockmaker": "clock", "weaver": "loom", "potter": "kiln", "baker": "oven",
    "glassblower": "furnace", "bookbinder": "press", "smith": "anvil", "carpenter": "saw",
}
PROBLEMS = ["would not start in the cold", "made a strange humming noise", "had lost one of its small parts",
            "worked only when nobody was watching", "had grown slow and tired", "gave a different answer every day"]
HELPERS = ["an old neighbour", "a travelling tinker", "a curious child", "the miller's daughter", "a patient teacher"]
ATTEMPTS = [
    "took it apart piece by piece and laid every piece on the table",
    "wrote down each thing it did in a small notebook",
    "tried one small change at a time and kept the ones that helped",
    "asked {helper} what they had seen before",
    "cleaned every part and put it back in the same order",
    "compared it with a drawing from an old book",
]
RESULTS = ["Nothing changed.", "It was a little better.", "It worked for an hour and then stopped again.",
           "The noise grew quieter.", "For the first time, it ran all night."]
LESSONS = [
    "Small steps, checked one at a time, go further than one big leap.",
    "A notebook remembers what a tired mind forgets.",
    "Every machine can be understood if you look at it long enough.",
    "It is no shame to ask; it is a shame to guess when you could measure.",
    "What you build by hand, you understand by heart.",
]


def tale(rng: random.Random) -> str:
    """One tale: setting, problem, three attempts with results, and the lesson learned."""
    name, trade, place = rng.choice(NAMES), rng.choice(TRADES), rng.choice(PLACES)
    thing, helper = THINGS[trade], rng.choice(HELPERS)
    lines = [
        f"Once there was a {trade} named {name} who lived in {place}.",
        f"Every morning, {name} opened the workshop and looked at the {thing}.",
        f"One winter, the {thing} {rng.choice(PROBLEMS)}.",
        f'"I will find out why," said {name}.',
    ]
    for step, attempt in zip(("First", "Then", "At last"), rng.sample(ATTEMPTS, 3)):
        lines.append(f"{step}, {name} {attempt.format(helper=helper)}.")
        lines.append(RESULTS[-1] if step == "At last" else rng.choice(RESULTS[:-1]))
    lines.append(f"The people of the town came to see the {thing}, and {name} showed them how it worked.")
    lines.append(f"{name} learned this: {rng.choice(LESSONS)}")
    return " ".join(lines)


def make_corpus(seed: int = SEED, n_tales: int = N_TALES) -> str:
    """The whole corpus: `n_tales` tales separated by <|endoftext|>, ending with a newline."""
    rng = random.Random(seed)
    return "\n<|endoftext|>\n".join(tale(rng) for _ in range(n_tales)) + "\n"


if __name__ == "__main__":
    OUT.write_text(make_corpus(), encoding="utf-8")
    print(f"wrote {OUT} ({OUT.stat().st_size:,} bytes)")
