"""Vectorized n-gram counting against NLTK's n-gram utilities and collections.Counter."""

from __future__ import annotations

from collections import Counter

import numpy as np
import pytest
from nltk.util import ngrams

from seqlab.lm import LMError, TrainConfig, UnitSplitter, count_ngrams, count_text, encode_corpus
from tests.lm.conftest import random_corpus


def reference_counts(sentences: list[list[str]], order: int) -> list[Counter]:
    out = []
    for k in range(1, order + 1):
        c: Counter = Counter()
        for s in sentences:
            c.update(ngrams(["<s>", *s, "</s>"], k))
        out.append(c)
    return out


def as_counter(counts, k: int) -> Counter:
    strings = [counts.vocab]
    o = counts.orders
    names = [(w,) for w in counts.vocab]
    for j in range(2, k + 1):
        names = [names[c] + (counts.vocab[w],) for c, w in zip(o[j - 1].context, o[j - 1].word)]
    del strings
    return Counter({n: int(c) for n, c in zip(names, o[k - 1].count) if c > 0})


@pytest.mark.parametrize("order", [1, 2, 3, 5])
def test_counts_match_nltk_ngrams(order: int) -> None:
    sents = [s.split() for s in random_corpus(1, sentences=80)]
    counts = count_ngrams(encode_corpus(sents), order)
    ref = reference_counts(sents, order)
    for k in range(1, order + 1):
        assert as_counter(counts, k) == ref[k - 1]


def test_suffix_rows_point_to_the_suffix() -> None:
    counts = count_ngrams(encode_corpus([s.split() for s in random_corpus(2)]), 4)
    for k in range(2, 5):
        cur, low = counts.orders[k - 1], counts.orders[k - 2]
        # The suffix of (ctx, w) ends with w and is itself a listed (k-1)-gram.
        assert np.array_equal(low.word[cur.suffix], cur.word)
        keys = cur.context * len(counts.vocab) + cur.word
        assert np.all(np.diff(keys) > 0)


def test_char_units_make_space_visible() -> None:
    split = UnitSplitter("char")
    assert split("  ab  c ") == ["a", "b", "|", "c"]
    assert UnitSplitter("char", space_token="<space>")("a b") == ["a", "<space>", "b"]
    with pytest.raises(LMError, match="occurs literally"):
        split("a|b")
    assert split.join(split("ab c")) == "ab c"


def test_spm_units(tmp_path) -> None:
    import sentencepiece as spm

    text = tmp_path / "t.txt"
    text.write_text("\n".join(random_corpus(3, sentences=200)) + "\n")
    spm.SentencePieceTrainer.train(
        input=str(text), model_prefix=str(tmp_path / "m"), vocab_size=16, minloglevel=2
    )
    split = UnitSplitter("spm", spm_model=str(tmp_path / "m.model"))
    pieces = split("w1 w2 w10")
    assert "".join(pieces).replace("\u2581", " ").strip() == "w1 w2 w10"
    with pytest.raises(LMError, match="needs a sentencepiece model"):
        UnitSplitter("spm")


def test_vocab_limits_map_to_unk(tmp_path) -> None:
    sents = ["a a a b b c", "a b d"]
    counts = count_text(sents, TrainConfig(order=2, vocab_size=2))
    assert counts.vocab == ("<unk>", "<s>", "</s>", "a", "b")
    assert counts.orders[0].count.tolist() == [2, 2, 2, 4, 3]
    words = tmp_path / "vocab.txt"
    words.write_text("d 10\nzz 3\n")
    counts = count_text(sents, TrainConfig(order=1, vocab_file=str(words)))
    assert counts.vocab == ("<unk>", "<s>", "</s>", "d", "zz")
    assert counts.orders[0].count.tolist() == [8, 2, 2, 1, 0]


def test_markers_in_text_and_empty_input_are_errors() -> None:
    with pytest.raises(LMError, match="<s> or </s>"):
        count_text(["a </s> b"], TrainConfig(order=2))
    with pytest.raises(LMError, match="no sentences"):
        count_text([], TrainConfig(order=2))


def test_text_errors_name_the_file_and_line(tmp_path) -> None:
    path = tmp_path / "corpus.txt"
    path.write_text("a b\n" * 50 + "c <s> d\n")
    with pytest.raises(LMError, match=r"corpus\.txt:51: <s> or </s> as a word"):
        count_text(str(path), TrainConfig(order=2))
    path.write_text("a b\n" * 50 + "c | d\n")
    with pytest.raises(LMError, match=r"corpus\.txt:51: the space token '\|' occurs literally"):
        count_text(str(path), TrainConfig(order=2, unit="char"))
    path.write_bytes(b"a b\n" * 50 + b"c \xff d\n")
    with pytest.raises(LMError, match=r"corpus\.txt:51: not valid UTF-8"):
        count_text(str(path), TrainConfig(order=2))
    with pytest.raises(LMError, match="sentence 2: <s> or </s>"):
        count_text(["a", "b </s>"], TrainConfig(order=2))


def test_crlf_ends_a_line_and_a_lone_cr_is_whitespace(tmp_path) -> None:
    path = tmp_path / "corpus.txt"
    path.write_bytes(b"a b\r\nc\rd\n")  # as lmplz: two sentences, "c" and "d" split by \r
    counts = count_text(str(path), TrainConfig(order=2))
    assert counts.num_sentences == 2
    assert as_counter(counts, 2)[("c", "d")] == 1


def test_empty_sentence_counts_bos_eos() -> None:
    counts = count_text([""], TrainConfig(order=3))
    assert as_counter(counts, 2) == Counter({("<s>", "</s>"): 1})
    assert len(counts.orders[2]) == 0


def test_train_config_yaml_round_trip(tmp_path) -> None:
    import yaml

    config = TrainConfig(order=4, smoothing="add-k", k=0.2, prune=(0, 1, 2), discounts=None)
    text = yaml.safe_dump(config.to_dict())
    assert TrainConfig.from_dict(yaml.safe_load(text)) == config
    with pytest.raises(LMError, match="unknown TrainConfig fields: bogus"):
        TrainConfig.from_dict({"bogus": 1})
    with pytest.raises(LMError, match="unknown smoothing"):
        TrainConfig(smoothing="good-turing")


def test_a_byte_order_mark_does_not_stick_to_the_first_word(tmp_path) -> None:
    path = tmp_path / "bom.txt"
    path.write_bytes("\ufeffa b\na c\n".encode())
    counts = count_text(str(path), TrainConfig(order=2))
    assert "a" in counts.vocab and "\ufeffa" not in counts.vocab
