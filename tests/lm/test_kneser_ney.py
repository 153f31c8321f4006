"""Modified Kneser-Ney: discounts and probabilities worked by hand, and KenLM's lmplz itself.

The lmplz comparison runs only where an ``lmplz`` binary is on PATH (build it from the kenlm
source distribution, see docs/lm.md); it is not a dependency.
"""

from __future__ import annotations

import shutil
import subprocess
from fractions import Fraction
from pathlib import Path

import numpy as np
import pytest

from seqlab.lm import (
    DiscountError,
    NGramLM,
    TrainConfig,
    adjusted_counts,
    count_text,
    discounts_from_counts,
    estimate_tables,
    read_arpa,
    train_lm,
)
from tests.lm.conftest import random_corpus

LMPLZ = shutil.which("lmplz")
needs_lmplz = pytest.mark.skipif(LMPLZ is None, reason="lmplz (KenLM) not on PATH")


def test_discounts_from_count_of_counts_by_hand() -> None:
    # n1..n4 = 10, 5, 3, 2 (plus larger counts that do not matter)
    a = np.array([1] * 10 + [2] * 5 + [3] * 3 + [4] * 2 + [7, 9])
    d1, d2, d3 = discounts_from_counts(a)
    # Y = 10 / (10 + 2*5) = 0.5
    assert d1 == pytest.approx(1 - 2 * 0.5 * 5 / 10)  # 0.5
    assert d2 == pytest.approx(2 - 3 * 0.5 * 3 / 5)  # 1.1
    assert d3 == pytest.approx(3 - 4 * 0.5 * 2 / 3)  # 1.6667
    with pytest.raises(DiscountError, match="adjusted count 3"):
        discounts_from_counts(np.array([1, 1, 2, 4]))


@pytest.mark.filterwarnings("ignore:Kneser-Ney order")
def test_adjusted_counts_by_hand() -> None:
    counts = count_text(["a b c", "d b c"], TrainConfig(order=3))
    adj = adjusted_counts(counts)
    names = {w: i for i, w in enumerate(counts.vocab)}
    # unigrams: distinct left neighbours (b: a, d; c: b; a: <s>; </s>: c); <s> gets 0
    assert {w: int(adj[0][i]) for w, i in names.items()} == {
        "<unk>": 0, "<s>": 0, "</s>": 1, "a": 1, "b": 2, "c": 1, "d": 1
    }  # fmt: skip
    bigrams = dict(zip(estimate_tables(counts, TrainConfig(order=3)).ngram_strings(2), adj[1]))
    # "b c" follows a and d; "<s> a" starts with <s> so keeps its raw count
    assert bigrams["b c"] == 2 and bigrams["<s> a"] == 1 and bigrams["c </s>"] == 1
    assert np.array_equal(adj[2], counts.orders[2].count)


def test_bigram_probabilities_by_hand() -> None:
    """Corpus "a b", "a b", "b a" with fallback discounts D1=0.5, D2=1, D3+=1.5.

    Unigram adjusted counts a=b=</s>=2 (two distinct left neighbours each), total 6, |V'|=4:
    u(w) = (2-1)/6, gamma = 3*1/6 = 1/2, p(w) = 1/6 + 1/2 * 1/4 = 7/24, p(<unk>) = 1/8.
    Context <s>: a 2, b 1 -> p(a|<s>) = (2-1)/3 + (1.5/3) * 7/24 = 23/48, p(b|<s>) = 15/48,
    and the same shape after a (b 2, </s> 1) and after b (</s> 2, a 1); backoffs 1/2.
    """
    with pytest.warns(UserWarning, match="fallback"):
        lm = train_lm(["a b", "a b", "b a"], TrainConfig(order=2))
    t = lm.tables
    uni = dict(zip(t.vocab, t.orders[0].logprob))
    for w in ("a", "b", "</s>"):
        assert uni[w] == pytest.approx(np.log10(7 / 24))
    assert uni["<unk>"] == pytest.approx(np.log10(1 / 8))
    assert uni["<s>"] == -99.0
    bi = dict(zip(t.ngram_strings(2), t.orders[1].logprob))
    expect = {"<s> a": 23, "<s> b": 15, "a b": 23, "a </s>": 15, "b </s>": 23, "b a": 15}
    assert bi == pytest.approx({g: np.log10(n / 48) for g, n in expect.items()})
    assert t.orders[0].logbackoff[t.index["a"]] == pytest.approx(np.log10(0.5))
    assert lm.score("a b") == pytest.approx(3 * np.log10(23 / 48))
    # unseen bigram a -> a backs off: gamma(a) * p(a)
    assert lm.score(["a", "a"], bos=False, eos=False) == pytest.approx(
        np.log10(7 / 24) + np.log10(0.5) + np.log10(7 / 24)
    )
    assert (
        Fraction(23, 48) + Fraction(15, 48) + Fraction(1, 2) * (Fraction(1, 8) + Fraction(7, 24))
        == 1
    )


def test_no_fallback_raises() -> None:
    with pytest.raises(DiscountError, match="order 1"):
        train_lm(["a b", "b a"], TrainConfig(order=2, discount_fallback=None))


def lmplz(text: Path, arpa: Path, order: int, *extra: str) -> None:
    subprocess.run(
        [
            LMPLZ,
            "-o",
            str(order),
            "-S",
            "64M",
            "-T",
            str(arpa.parent),
            "--text",
            str(text),
            "--arpa",
            str(arpa),
            *extra,
        ],
        check=True,
        capture_output=True,
    )


def assert_same_model(ours, theirs, tol: float) -> None:
    assert ours.counts() == theirs.counts()
    for k in range(1, ours.order + 1):
        a = dict(
            zip(
                ours.ngram_strings(k),
                zip(ours.orders[k - 1].logprob, ours.orders[k - 1].logbackoff),
            )
        )
        b = dict(
            zip(
                theirs.ngram_strings(k),
                zip(theirs.orders[k - 1].logprob, theirs.orders[k - 1].logbackoff),
            )
        )
        assert a.keys() == b.keys()
        if k == 1:  # <s>: -99 (seqlab, SRILM) vs 0 (KenLM); never predicted
            a["<s>"], b["<s>"] = (0.0, a["<s>"][1]), (0.0, b["<s>"][1])
        diff = np.array([[a[g][0] - b[g][0], a[g][1] - b[g][1]] for g in a])
        assert np.abs(diff).max() < tol, (k, np.abs(diff).max(axis=0))


@needs_lmplz
@pytest.mark.filterwarnings("ignore:Kneser-Ney order")
@pytest.mark.parametrize("order", [3, 5])
def test_matches_lmplz_on_english_text(tmp_path: Path, emma_path: Path, order: int) -> None:
    # 1,000 sentences are too few for closed-form 5-gram discounts: both use the fallback there
    lmplz(emma_path, tmp_path / "kenlm.arpa", order, "--discount_fallback")
    lm = train_lm(emma_path, TrainConfig(order=order))
    assert_same_model(lm.tables, read_arpa(tmp_path / "kenlm.arpa"), 1e-3)


@needs_lmplz
@pytest.mark.filterwarnings("ignore:Kneser-Ney order")
def test_matches_lmplz_discount_fallback(tmp_path: Path) -> None:
    text = tmp_path / "tiny.txt"
    text.write_text("\n".join(random_corpus(8, sentences=30)) + "\n")
    lmplz(text, tmp_path / "kenlm.arpa", 4, "--discount_fallback")
    lm = train_lm(text, TrainConfig(order=4))
    assert_same_model(lm.tables, read_arpa(tmp_path / "kenlm.arpa"), 1e-3)
    assert isinstance(lm, NGramLM)
