"""ARPA writing/reading: kenlm parity of every written model, SRILM-style files, format errors."""

from __future__ import annotations

import gzip
from pathlib import Path

import kenlm
import numpy as np
import pytest

from seqlab.lm import (
    ArpaFormatError,
    NGramLM,
    TrainConfig,
    load_arpa,
    read_arpa,
    train_lm,
    write_arpa,
)
from seqlab.lm.smoothing import SMOOTHINGS
from tests.lm.conftest import random_corpus

pytestmark = pytest.mark.filterwarnings("ignore:Kneser-Ney order")


def assert_kenlm_parity(path: Path, sentences: list, lm: NGramLM | None = None) -> None:
    """Per-token (log10 p, n-gram length, OOV) and sentence scores equal kenlm.Model's (1e-4)."""
    ours = lm or load_arpa(path)
    theirs = kenlm.Model(str(path))
    assert theirs.order == ours.order
    for s in sentences:
        text = s if isinstance(s, str) else " ".join(s)
        for bos, eos in ((True, True), (False, True), (True, False), (False, False)):
            a = list(ours.full_scores(s, bos=bos, eos=eos))
            b = list(theirs.full_scores(text, bos=bos, eos=eos))
            assert len(a) == len(b)
            np.testing.assert_allclose([x[0] for x in a], [x[0] for x in b], atol=1e-4)
            assert [x[1:] for x in a] == [(n, bool(o)) for _, n, o in b]
            # kenlm sums in float32: allow its rounding (relative 1e-6) on top of 1e-4
            assert ours.score(s, bos=bos, eos=eos) == pytest.approx(
                theirs.score(text, bos=bos, eos=eos), abs=1e-4, rel=1e-6
            )


@pytest.mark.parametrize("smoothing", SMOOTHINGS)
@pytest.mark.parametrize(("order", "prune"), [(2, ()), (3, ()), (5, ()), (4, (0, 0, 1))])
def test_written_models_score_like_kenlm(
    tmp_path: Path, smoothing: str, order: int, prune: tuple
) -> None:
    train = random_corpus(10, sentences=80)
    lm = train_lm(train, TrainConfig(order=order, smoothing=smoothing, prune=prune))
    write_arpa(lm.tables, tmp_path / "m.arpa")
    tests = random_corpus(11, sentences=15, vocab=14) + ["", "w0 unseen w1 <unk> w2"]
    assert_kenlm_parity(tmp_path / "m.arpa", tests)
    # in-memory model (float64) and the reloaded file (7 significant digits) agree
    again = load_arpa(tmp_path / "m.arpa")
    np.testing.assert_allclose(again.score_batch(tests), lm.score_batch(tests), atol=1e-5)


def test_unigram_model_scores_are_sums(tmp_path: Path) -> None:
    """kenlm refuses unigram models; a unigram score is the plain sum of unigram log10 p."""
    lm = train_lm(random_corpus(14), TrainConfig(order=1, smoothing="add-k", k=0.5))
    write_arpa(lm.tables, tmp_path / "u.arpa")
    uni = load_arpa(tmp_path / "u.arpa")
    p = dict(zip(uni.vocab, uni.tables.orders[0].logprob))
    assert uni.score("w1 w0 zz") == pytest.approx(p["w1"] + p["w0"] + p["<unk>"] + p["</s>"])
    assert [n for _, n, _ in uni.full_scores("w1 zz")] == [1, 1, 1]


def test_english_kn_model_scores_like_kenlm(tmp_path: Path, emma_sentences: list[str]) -> None:
    lm = train_lm(emma_sentences[:800], TrainConfig(order=4))
    write_arpa(lm.tables, tmp_path / "emma.arpa.gz")
    assert_kenlm_parity(tmp_path / "emma.arpa.gz", emma_sentences[800:900])


def test_char_lm_for_ocr_scores_like_kenlm(tmp_path: Path, emma_sentences: list[str]) -> None:
    config = TrainConfig(order=5, unit="char")
    lm = train_lm(emma_sentences[:300], config)
    assert "|" in lm and "e" in lm
    write_arpa(lm.tables, tmp_path / "char.arpa")
    tests = [lm.tokenize(s) for s in emma_sentences[300:330]]
    assert_kenlm_parity(tmp_path / "char.arpa", tests)
    char_lm = load_arpa(tmp_path / "char.arpa", unit="char")
    assert char_lm.score("the cat") == pytest.approx(char_lm.score(list("the|cat")))
    assert char_lm.score("the cat") > char_lm.score("tge cat")


SRILM_STYLE = """\
\\data\\
ngram 1=5
ngram 2=4
ngram 3=2

\\1-grams:
-1.0\t</s>
-99\t<s>\t-0.5
-0.7\ta\t-0.3
-0.8\tb\t-0.2
-1.5\tc

\\2-grams:
-0.2\t<s> a\t-0.1
-0.4\ta b\t-0.25
-0.3\tb </s>
-0.6\tb c

\\3-grams:
-0.05\t<s> a b
-0.15\ta b c

\\end\\
"""


def test_srilm_style_file_without_unk(tmp_path: Path) -> None:
    path = tmp_path / "srilm.arpa"
    path.write_text(SRILM_STYLE)
    lm = load_arpa(path)
    assert lm.vocab[-1] == "<unk>"
    assert lm.tables.orders[0].logprob[-1] == -100.0  # added like KenLM does
    # p(</s> | b c): no "b c </s>", bo(b c) = 0, no "c </s>", bo(c) = 0, p(</s>) = -1.0
    assert lm.score("a b c") == pytest.approx(-0.2 + -0.05 + -0.15 + -1.0)
    assert_kenlm_parity(path, ["a b c", "a b", "b a x", "c c", ""])
    # text before \\data\\ (which kenlm refuses), blank lines and CRLF are tolerated
    path.write_text("made by some tool\r\n\n" + SRILM_STYLE.replace("\n", "\r\n\n"))
    assert (
        load_arpa(path).score_batch(["a b c", "b a x"]).tolist()
        == lm.score_batch(["a b c", "b a x"]).tolist()
    )


def test_missing_prefixes_and_suffixes_become_blanks(tmp_path: Path) -> None:
    """Listed "c a b" lacks its prefix "c a": a blank "c a" holds the backoff-recursion value."""
    text = SRILM_STYLE.replace("ngram 3=2", "ngram 3=3").replace(
        "-0.15\ta b c\n", "-0.15\ta b c\n-0.01\tc a b\n"
    )
    path = tmp_path / "m.arpa"
    path.write_text(text)
    t = read_arpa(path)
    bigrams = t.ngram_strings(2)
    i = bigrams.index("c a")  # blank prefix: p = bo(c) + p(a) = 0 + -0.7, backoff 0
    assert t.orders[1].logprob[i] == pytest.approx(-0.7) and t.orders[1].logbackoff[i] == 0.0
    lm = NGramLM(t)
    assert lm.score(["c", "a", "b"], bos=False, eos=False) == pytest.approx(-1.5 + -0.7 + -0.01)
    assert lm.score(["c", "a", "c"], bos=False, eos=False) == pytest.approx(
        -1.5 + -0.7 + (-0.3 + -1.5)
    )


@pytest.mark.parametrize(
    ("text", "line", "message"),
    [
        ("nothing here\n", 1, "no \\\\data\\\\"),
        ("\\data\\\nngram 2=1\n", 2, "expected 'ngram 1"),
        ("\\data\\\nngram 1=x\n", 2, "bad count"),
        ("\\data\\\nngram 1=2\n\n\\2-grams:\n", 4, "expected \\\\1-grams"),
        ("\\data\\\nngram 1=2\n\\1-grams:\n-1 <s>\n", 5, "1 1-grams but 2"),
        ("\\data\\\nngram 1=1\n\\1-grams:\n-1 <s>\n-1 </s>\n", 5, "more 1-grams"),
        ("\\data\\\nngram 1=2\n\\1-grams:\n-1 <s>\nabc </s>\n\\end\\\n", 5, "not a number"),
        ("\\data\\\nngram 1=2\n\\1-grams:\n-1 <s>\nnan </s>\n\\end\\\n", 5, "not a valid"),
        ("\\data\\\nngram 1=2\n\\1-grams:\n-1 <s>\n-1 </s> -1\n\\end\\\n", 5, "needs 2 fields"),
        ("\\data\\\nngram 1=2\n\\1-grams:\n-1 <s>\n-1 <s>\n\\end\\\n", 5, "duplicate unigram"),
        ("\\data\\\nngram 1=2\n\\1-grams:\n-1 <s>\n-1 </s>\n", 6, "missing \\\\end"),
        ("\\data\\\nngram 1=2\n\\1-grams:\n-1 <s>\n-1 </s>\n\\3-grams:\n", 6, "expected \\\\end"),
        (
            "\\data\\\nngram 1=2\nngram 2=1\n\\1-grams:\n-1 <s> 0\n-1 </s>\n\\2-grams:\n-1 <s> x\n\\end\\\n",
            8,
            "'x' is not among",
        ),
    ],
)
def test_malformed_files_name_the_line(tmp_path: Path, text: str, line: int, message: str) -> None:
    path = tmp_path / "bad.arpa"
    path.write_text(text)
    with pytest.raises(ArpaFormatError, match=rf"bad.arpa:{line}: .*{message}"):
        read_arpa(path)


def test_missing_sentence_markers_and_bad_encoding(tmp_path: Path) -> None:
    path = tmp_path / "m.arpa"
    path.write_text("\\data\\\nngram 1=1\n\\1-grams:\n-1 a\n\\end\\\n")
    with pytest.raises(ArpaFormatError, match="no <s> unigram"):
        read_arpa(path)
    path.write_bytes(b"\\data\\\nngram 1=1\n\\1-grams:\n-1 \xff\n\\end\\\n")
    with pytest.raises(ArpaFormatError, match="UTF-8"):
        read_arpa(path)
    gz = tmp_path / "m.arpa.gz"
    gz.write_bytes(gzip.compress(b"\\data\\\n")[:-5])
    with pytest.raises(ArpaFormatError):
        read_arpa(gz)


def test_round_trip_is_stable(tmp_path: Path) -> None:
    lm = train_lm(random_corpus(12), TrainConfig(order=3, smoothing="witten-bell"))
    write_arpa(lm.tables, tmp_path / "a.arpa")
    write_arpa(read_arpa(tmp_path / "a.arpa"), tmp_path / "b.arpa")
    assert (tmp_path / "a.arpa").read_text() == (tmp_path / "b.arpa").read_text()
    text = (tmp_path / "a.arpa").read_text()
    assert "\n\\data\\\nngram 1=" in text and text.endswith("\\end\\\n")
    assert "-99\t<s>\t" in text and "\t<unk>\t" in text


def test_failed_write_leaves_no_file(tmp_path: Path, monkeypatch) -> None:
    lm = train_lm(random_corpus(13), TrainConfig(order=2))
    target = tmp_path / "m.arpa"

    def explode(*args, **kwargs):
        raise MemoryError("disk full or out of memory half way")

    monkeypatch.setattr("seqlab.lm.arpa.format_lines", explode)
    with pytest.raises(MemoryError):
        write_arpa(lm.tables, target)
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("chunk", [7, 1 << 18])
def test_chunked_parsing_and_extra_entries(tmp_path: Path, monkeypatch, chunk: int) -> None:
    lm = train_lm(random_corpus(15), TrainConfig(order=3))
    path = tmp_path / "m.arpa"
    write_arpa(lm.tables, path)
    monkeypatch.setattr("seqlab.lm.arpa._LINE_CHUNK", chunk)
    again = read_arpa(path)
    for a, b in zip(lm.tables.orders, again.orders):
        assert np.array_equal(a.context, b.context) and np.array_equal(a.word, b.word)
        np.testing.assert_allclose(a.logprob, b.logprob, atol=5e-7)
    declared = lm.tables.counts()[1]
    path.write_text(path.read_text().replace(f"ngram 2={declared}\n", "ngram 2=9\n"))
    lines = path.read_text().splitlines()
    tenth = lines.index("\\2-grams:") + 10 + 1  # 1-based line number of the 10th bigram
    with pytest.raises(ArpaFormatError, match=rf"m.arpa:{tenth}: more 2-grams than the 9"):
        read_arpa(path)
