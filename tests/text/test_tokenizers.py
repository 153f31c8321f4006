"""Tokenizers: round trips (unicode included), unk handling, id layout, save/load."""

from __future__ import annotations

import json

import pytest
import sentencepiece
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from seqlab.text import (
    CharTokenizer,
    SentencePieceTokenizer,
    Tokenizer,
    TokenizerError,
    WordTokenizer,
    load_tokenizer,
)

TEXTS = ["hello world", "héllo wörld", "日本語 テキスト", "naïve café 🙂"]
CORPUS = [
    "the quick brown fox jumps over the lazy dog",
    "a stitch in time saves nine",
    "she sells sea shells by the sea shore",
    "über naïve café façade",
    "the rain in spain stays mainly in the plain",
] * 20


def test_char_layout_and_round_trip():
    tok = CharTokenizer.build(TEXTS)
    assert (tok.blank_id, tok.unk_id, tok.token_to_id("|")) == (0, 1, 2)
    assert tok.tokens[:3] == ["<blank>", "<unk>", "|"]
    assert tok.tokens[3:] == sorted(set("".join(TEXTS)) - {" "})
    assert tok.vocab_size == len(tok.tokens)
    for text in TEXTS:
        ids = tok.encode(text)
        assert len(ids) == len(text) and tok.unk_id not in ids
        assert tok.decode(ids) == text
    assert tok.id_to_token(tok.encode(" ")[0]) == "|"


@settings(max_examples=100, deadline=None)
@given(st.text(max_size=30))
def test_char_round_trip_any_unicode(text):
    assume("|" not in text)  # reserved space symbol: see test_char_rejects_literal_space_symbol
    tok = CharTokenizer.build([text, "x"])
    assert tok.decode(tok.encode(text)) == text


def test_char_unknown_blank_and_options():
    tok = CharTokenizer.build(["abc abc", "abd"], min_count=2, extra_chars="z")
    assert "d" not in tok.tokens and "z" in tok.tokens
    assert tok.encode("adz") == [tok.token_to_id("a"), tok.unk_id, tok.token_to_id("z")]
    assert tok.decode([tok.blank_id, tok.token_to_id("a"), tok.blank_id]) == "a"  # blanks skipped
    assert tok.decode([tok.unk_id]) == "<unk>"
    literal = CharTokenizer.build(["a b"], space=" ", blank=None)
    assert literal.blank_id is None and literal.tokens == ["<unk>", " ", "a", "b"]
    assert literal.decode(literal.encode("a b")) == "a b"
    with pytest.raises(TokenizerError, match="out of range"):
        tok.decode([tok.vocab_size])
    with pytest.raises(TokenizerError, match="out of range"):
        tok.id_to_token(-1)


def test_char_rejects_literal_space_symbol():
    with pytest.raises(TokenizerError, match="occurs literally"):
        CharTokenizer.build(["a|b"])
    tok = CharTokenizer.build(["a b"])
    assert tok.encode("a|") == [tok.token_to_id("a"), tok.unk_id]


def test_word_tokenizer_counts_and_limits():
    tok = WordTokenizer.build(["b a a", "c a b", "d"], min_count=1, max_size=2)
    assert tok.tokens == ["<blank>", "<unk>", "a", "b"]  # by count, ties alphabetical
    assert tok.encode("a  c b") == [2, tok.unk_id, 3]
    assert tok.decode([2, 0, 3]) == "a b"
    full = WordTokenizer.build(["b a a", "c a b", "d"], min_count=2)
    assert full.tokens[2:] == ["a", "b"]
    for text in ["héllo wörld", "日本語 テキスト 🙂"]:
        words = WordTokenizer.build([text])
        assert words.decode(words.encode(text)) == text


@pytest.mark.parametrize(
    "tok",
    [
        CharTokenizer.build(TEXTS, space="_"),
        WordTokenizer.build(TEXTS, blank=None),
    ],
    ids=["char", "word"],
)
def test_vocab_tokenizers_save_and_load(tmp_path, tok):
    path = tmp_path / "tok.json"
    tok.save(path)
    json.loads(path.read_text(encoding="utf-8"))  # plain JSON, UTF-8
    assert not list(tmp_path.glob(".*.tmp"))  # atomic write left no temp file
    again = load_tokenizer(path)
    assert again == tok and type(again) is type(tok)
    assert type(tok).load(path) == tok and Tokenizer.load(path) == tok
    for text in TEXTS:
        assert again.encode(text) == tok.encode(text)
    other = WordTokenizer if isinstance(tok, CharTokenizer) else CharTokenizer
    with pytest.raises(TokenizerError, match="not a"):
        other.load(path)


def test_load_errors_name_the_file(tmp_path):
    with pytest.raises(TokenizerError, match="missing.json"):
        load_tokenizer(tmp_path / "missing.json")
    bad = tmp_path / "bad.json"
    bad.write_text('{"kind": "morse", "tokens": []}')
    with pytest.raises(TokenizerError, match="bad.json.*unknown tokenizer kind 'morse'"):
        load_tokenizer(bad)
    broken = tmp_path / "broken.json"
    broken.write_text('{"kind": "char", ')
    with pytest.raises(TokenizerError, match="broken.json"):
        load_tokenizer(broken)
    junk = tmp_path / "junk.model"
    junk.write_bytes(b"\x00\x01 not a model")
    with pytest.raises(TokenizerError, match="junk.model"):
        load_tokenizer(junk)
    good = tmp_path / "good.json"
    CharTokenizer.build(["ab"]).save(good)
    state = json.loads(good.read_text())
    for name, edit, message in (
        ("dup.json", lambda t: t + [t[-1]], "duplicate tokens"),
        ("noblank.json", lambda t: t[1:], "blank symbol"),
    ):
        (tmp_path / name).write_text(json.dumps({**state, "tokens": edit(state["tokens"])}))
        with pytest.raises(TokenizerError, match=f"{name}: .*{message}"):
            load_tokenizer(tmp_path / name)


@pytest.mark.parametrize("model_type", ["bpe", "unigram"])
def test_sentencepiece_train_from_iterator(tmp_path, model_type):
    tok = SentencePieceTokenizer.train(iter(CORPUS), vocab_size=40, model_type=model_type)
    assert (tok.vocab_size, tok.blank_id, tok.unk_id) == (40, 0, 1)
    assert tok.tokens[:2] == ["<blank>", "<unk>"]
    for text in set(CORPUS):
        ids = tok.encode(text)
        assert ids and min(ids) >= 2  # never emits blank or unk on seen text
        assert tok.decode(ids) == text
    assert tok.decode([0, *tok.encode("the sea"), 0]) == "the sea"  # blanks skipped
    # Same ids as the sentencepiece library itself on the saved model.
    path = tmp_path / "sp.model"
    tok.save(path)
    reference = sentencepiece.SentencePieceProcessor(model_file=str(path))
    assert reference.pad_id() == 0 and reference.unk_id() == 1
    for text in ["the lazy fox", "über café", "zzz qqq"]:
        assert tok.encode(text) == reference.encode(text)
    again = SentencePieceTokenizer.load(path)
    assert again == tok and load_tokenizer(path) == tok


def test_sentencepiece_train_from_file_with_symbols(tmp_path):
    corpus = tmp_path / "corpus.txt"
    corpus.write_text("\n".join(CORPUS) + "\n", encoding="utf-8")
    tok = SentencePieceTokenizer.train(corpus, vocab_size=50, user_defined_symbols=["<noise>"])
    assert tok.token_to_id("<noise>") == 2
    assert tok.encode("<noise>")[-1] == 2  # kept whole (possibly after a word-boundary piece)
    assert tok.decode(tok.encode("she sells sea shells")) == "she sells sea shells"
    assert tok.encode("ж")[-1] == tok.unk_id


def test_sentencepiece_errors(tmp_path):
    with pytest.raises(TokenizerError, match="no such training text file"):
        SentencePieceTokenizer.train(tmp_path / "nope.txt", vocab_size=10)
    with pytest.raises(TokenizerError, match="Vocabulary size too high"):
        SentencePieceTokenizer.train(["ab ab"] * 3, vocab_size=500)
    with pytest.raises(TokenizerError, match="model_type"):
        SentencePieceTokenizer.train(["ab"], vocab_size=10, model_type="wordpiece")
