"""The project's own classification set: English sentences made grammatical or not by rule.

Each sentence is built from a frame: a subject (singular or plural), sometimes a phrase
whose noun has the other number (an "attractor": "The teacher near the windows ..."), a verb
and a complement. Half the sentences are left grammatical (label 1, acceptable); the other
half get exactly one error (label 0), made by rule and so checkable: the verb in the wrong
number ("The teachers near the window writes ...", `agreement`) or two neighbouring words
swapped ("The teacher near window the writes ...", `word order`). Every frame is used once,
so no sentence and no minimal pair is shared between the splits.

`workshop data grammar` writes `data/grammar/{train,val,test}.tsv` (CoLA's labels, a header
`sentence<TAB>label<TAB>error`), deterministically; `workshop eval classify --labels
acceptable,unacceptable` and the label-word finetuning read them as they read CoLA.
"""

from __future__ import annotations

import itertools
import random
from pathlib import Path

from workshop.core.paths import DATA_DIR
from workshop.core.types import OutputDir, PositiveInt

SHIPPED_DIR = DATA_DIR / "grammar"  # what the package reads
DEFAULT_OUT = Path("data/grammar")  # where a rerun writes: the working directory
ERRORS = ("agreement", "word order")
SPLITS = {"train": 1200, "val": 80, "test": 200}
DEFAULT_SEED = 7

SUBJECTS = [  # (singular, plural)
    ("teacher", "teachers"), ("student", "students"), ("farmer", "farmers"), ("doctor", "doctors"),
    ("child", "children"), ("neighbor", "neighbors"), ("artist", "artists"), ("driver", "drivers"),
    ("baker", "bakers"), ("girl", "girls"), ("boy", "boys"), ("woman", "women"), ("man", "men"),
    ("dog", "dogs"), ("cat", "cats"), ("nurse", "nurses"), ("pilot", "pilots"), ("singer", "singers"),
]
ATTRACTORS = [  # (preposition, singular noun, plural noun)
    ("near", "window", "windows"), ("with", "red hat", "red hats"), ("from", "village", "villages"),
    ("behind", "house", "houses"), ("next to", "tree", "trees"), ("beside", "door", "doors"),
    ("across from", "shop", "shops"), ("under", "bridge", "bridges"),
]
VERBS = [  # (singular, plural, complement): no form that could also be read as a past tense
    ("is", "are", "happy today"), ("was", "were", "tired last night"), ("has", "have", "a new bike"),
    ("runs", "run", "every morning"), ("sings", "sing", "very loudly"), ("likes", "like", "warm soup"),
    ("walks", "walk", "to the market"), ("writes", "write", "short letters"), ("plays", "play", "the piano"),
    ("watches", "watch", "the birds"), ("carries", "carry", "a heavy bag"), ("knows", "know", "the answer"),
    ("wants", "want", "more tea"), ("does", "do", "the dishes"), ("goes", "go", "home early"),
    ("eats", "eat", "an apple"), ("sleeps", "sleep", "after lunch"), ("cooks", "cook", "dinner"),
    ("paints", "paint", "the fence"), ("cleans", "clean", "the kitchen"),
]


def sentence(subject: str, attractor: str, verb: str, complement: str) -> str:
    """'The <subject>[ <attractor>] <verb> <complement>.'"""
    middle = f" {attractor}" if attractor else ""
    return f"The {subject}{middle} {verb} {complement}."


def swap_neighbours(text: str, rng: random.Random) -> str:
    """The sentence with two neighbouring words (of different spelling) swapped."""
    words = text.rstrip(".").split()
    words[0] = words[0].lower()  # "The" may move
    i = rng.choice([k for k in range(len(words) - 1) if words[k].lower() != words[k + 1].lower()])
    words[i], words[i + 1] = words[i + 1], words[i]
    return " ".join(words)[0].upper() + " ".join(words)[1:] + "."


def generate_grammar(sizes: dict[str, int] = SPLITS, seed: int = DEFAULT_SEED) -> dict[str, list[tuple[str, int, str]]]:
    """(sentence, label, error) rows per split: half acceptable (error ""), half with one error of each kind."""
    rng = random.Random(seed)
    attractor_choices = [None] + [(i, n) for i in range(len(ATTRACTORS)) for n in (0, 1)]
    frames = list(itertools.product(range(len(SUBJECTS)), (0, 1), attractor_choices, range(len(VERBS))))
    rng.shuffle(frames)
    if sum(sizes.values()) > len(frames):
        raise ValueError(f"{sum(sizes.values())} sentences asked for, the templates make {len(frames)}; ask for fewer")
    out: dict[str, list[tuple[str, int, str]]] = {}
    start = 0
    for name, n in sizes.items():
        rows = []
        for k, (s, number, attractor, v) in enumerate(frames[start : start + n]):
            error = "" if k % 2 == 0 else ERRORS[(k // 2) % 2]  # balanced labels, and error kinds
            phrase = ""
            if attractor is not None:
                prep, *nouns = ATTRACTORS[attractor[0]]
                phrase = f"{prep} the {nouns[attractor[1]]}"
            verb = VERBS[v][1 - number if error == "agreement" else number]
            text = sentence(SUBJECTS[s][number], phrase, verb, VERBS[v][2])
            rows.append((swap_neighbours(text, rng) if error == "word order" else text, int(not error), error))
        rng.shuffle(rows)
        out[name] = rows
        start += n
    return out


def write_grammar(out_dir: OutputDir = DEFAULT_OUT, train: PositiveInt = SPLITS["train"], val: PositiveInt = SPLITS["val"],
                  test: PositiveInt = SPLITS["test"], seed: int = DEFAULT_SEED) -> dict[str, Path]:
    """Write the grammar set: train/val/test TSVs of sentence, label (1 = acceptable) and error kind.

    Args:
        out_dir: folder for train.tsv, val.tsv and test.tsv (in a checkout, from its top, the shipped files)
        train: sentences in train.tsv
        val: sentences in val.tsv
        test: sentences in test.tsv
        seed: generator seed (the shipped files use the default)
    """
    from workshop.core.io import atomic_write_text

    splits = generate_grammar({"train": train, "val": val, "test": test}, seed)
    written = {}
    for name, rows in splits.items():
        text = "sentence\tlabel\terror\n" + "".join(f"{s}\t{label}\t{error}\n" for s, label, error in rows)
        written[name] = atomic_write_text(Path(out_dir) / f"{name}.tsv", text)
    return written
