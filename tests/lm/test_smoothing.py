"""Laplace / add-k / Witten-Bell against NLTK, MLE by hand, and normalization of every method.

NLTK conventions mapped onto seqlab's (see docs/lm.md): NLTK is fed the same padded sentences
``<s> w1 .. wn </s>`` as seqlab (one ``<s>``, one ``</s>``) as everygrams without the unigram
``<s>``, and its vocabulary is built without ``<s>``, so NLTK's ``|V|`` (types + ``<UNK>``)
equals seqlab's ``|V'|`` (vocabulary without the never-predicted ``<s>``) and its unigram total
excludes ``<s>``. NLTK then maps ``<s>`` in contexts to ``<UNK>``, which holds no other counts.
NLTK's ``score`` is a probability (``logscore`` is log2); seqlab's tables are log10.
"""

from __future__ import annotations

import numpy as np
import pytest
from nltk.lm import Laplace, Lidstone, Vocabulary, WittenBellInterpolated
from nltk.util import everygrams

from seqlab.lm import NGramLM, TrainConfig, count_text, estimate_tables, smooth
from seqlab.lm.smoothing import SMOOTHINGS
from tests.lm.conftest import random_corpus

ORDER = 3
pytestmark = pytest.mark.filterwarnings("ignore:Kneser-Ney order")


def nltk_fit(model, sentences: list[str]):
    padded = [["<s>", *s.split(), "</s>"] for s in sentences]
    grams = [[g for g in everygrams(p, max_len=ORDER) if g != ("<s>",)] for p in padded]
    vocab = Vocabulary([w for p in padded for w in p if w != "<s>"], unk_cutoff=1)
    model.vocab = vocab
    model.fit(grams)
    return model


def seqlab_seen(sentences: list[str], config: TrainConfig):
    """(ngram tuple, probability, lower weight of its context) for every counted n-gram."""
    counts = count_text(sentences, config)
    est = smooth(counts, config)
    names = [(w,) for w in counts.vocab]
    out = {1: list(zip(names, est.prob[0]))}
    for k in range(2, ORDER + 1):
        o = counts.orders[k - 1]
        names = [names[c] + (counts.vocab[w],) for c, w in zip(o.context, o.word)]
        out[k] = list(zip(names, est.prob[k - 1]))
    return counts, est, out


@pytest.mark.parametrize(("smoothing", "k"), [("laplace", 1.0), ("add-k", 0.1), ("add-k", 2.5)])
def test_add_k_equals_nltk(smoothing: str, k: float) -> None:
    sents = random_corpus(4, sentences=50)
    model = Laplace(ORDER) if smoothing == "laplace" else Lidstone(k, ORDER)
    nltk_fit(model, sents)
    counts, _, seen = seqlab_seen(sents, TrainConfig(order=ORDER, smoothing=smoothing, k=k))
    assert len(model.vocab) == len(counts.vocab) - 1
    checked = 0
    for order in range(1, ORDER + 1):
        for gram, p in seen[order]:
            if gram == ("<s>",):
                assert p == 0.0
                continue
            ref = model.score(gram[-1], list(gram[:-1]))
            assert p == pytest.approx(ref, abs=1e-9, rel=0)
            # NLTK's logscore is log2; seqlab's ARPA values are log10.
            assert np.log10(p) == pytest.approx(
                model.logscore(gram[-1], list(gram[:-1])) / np.log2(10), abs=1e-9
            )
            checked += 1
    assert checked > 100
    # <unk> unigram: k / (N + k |V'|) in both.
    assert seen[1][0][1] == pytest.approx(model.score("<UNK>"), abs=1e-12)


def test_witten_bell_agrees_with_nltk_interpolation() -> None:
    """NLTK's WB recursion: p(w|h) = alpha(w, h) + gamma(h) p(w|h'), same alpha and gamma.

    The definitions differ only at the bottom: NLTK's unigrams are maximum likelihood, seqlab's
    interpolate with the uniform distribution over V' (so <unk> has mass), checked by hand.
    """
    sents = random_corpus(5, sentences=50)
    model = nltk_fit(WittenBellInterpolated(ORDER), sents)
    counts, est, seen = seqlab_seen(sents, TrainConfig(order=ORDER, smoothing="witten-bell"))
    prob = {g: p for order in seen for g, p in seen[order]}
    c1 = counts.orders[0].count.astype(float)
    c1[1] = 0  # <s>
    n, types, size = c1.sum(), np.count_nonzero(c1), len(counts.vocab) - 1
    for w, c in zip(counts.vocab, c1):
        if w != "<s>":
            assert prob[(w,)] == pytest.approx((c + types / size) / (n + types), abs=1e-12)
    checked = 0
    for order in range(2, ORDER + 1):
        for gram, p in seen[order]:
            context = model.vocab.lookup(gram[:-1])
            alpha, gamma = model.estimator.alpha_gamma(gram[-1], context)
            assert p == pytest.approx(alpha + gamma * prob[gram[1:]], abs=1e-12)
            checked += 1
    assert checked > 100


def test_mle_by_hand() -> None:
    tables = estimate_tables(
        count_text(["a b", "a c", "b"], TrainConfig(order=2)), TrainConfig(order=2, smoothing="mle")
    )
    lm = NGramLM(tables)
    # unigrams: a 2, b 2, c 1, </s> 3 of 8 predicted tokens
    assert lm.score(["a"], bos=False, eos=False) == pytest.approx(np.log10(2 / 8))
    # p(a|<s>) = 2/3, p(b|a) = 1/2, p(</s>|b) = 2/2
    assert lm.score("a b") == pytest.approx(np.log10(2 / 3 * 1 / 2 * 1.0))
    # unseen bigram c -> b: backoff weight 0, i.e. probability 0 (log10 -99 + ...)
    assert lm.score(["c", "b"], bos=False, eos=False) < -90


def context_sums(lm: NGramLM) -> list[float]:
    """sum_w p(w | h) over V' for the empty context and every listed context h."""
    t = lm.tables
    words = [w for w in lm.vocab if w != "<s>"]
    contexts: list[tuple[str, ...]] = [()]
    for k in range(1, lm.order):
        names = t.ngram_strings(k)
        contexts += [tuple(names[r].split()) for r in np.flatnonzero(t.is_context(k))]
    out = []
    for h in contexts:
        scores = lm.full_scores_batch([[*h, w] for w in words], bos=False, eos=False)
        last = scores.offsets[1:] - 1
        out.append(float(np.sum(10.0 ** scores.logprob[last])))
    return out


@pytest.mark.parametrize("smoothing", SMOOTHINGS)
@pytest.mark.parametrize("prune", [(), (0, 1, 1)])
def test_every_context_sums_to_one(smoothing: str, prune: tuple[int, ...]) -> None:
    config = TrainConfig(order=3, smoothing=smoothing, k=0.3, prune=prune)
    counts = count_text(random_corpus(6, sentences=40), config)
    lm = NGramLM(estimate_tables(counts, config))
    sums = context_sums(lm)
    assert len(sums) > 20
    np.testing.assert_allclose(sums, 1.0, atol=1e-9)


def test_pruning_drops_rare_ngrams_and_their_extensions() -> None:
    config = TrainConfig(order=3, prune=(0, 1))
    counts = count_text(random_corpus(7, sentences=80), config)
    full = estimate_tables(counts, TrainConfig(order=3))
    pruned = estimate_tables(counts, config)
    assert pruned.counts()[0] == full.counts()[0]
    assert pruned.counts()[1] < full.counts()[1] and pruned.counts()[2] < full.counts()[2]
    kept = set(pruned.ngram_strings(2))
    count2 = dict(zip(full.ngram_strings(2), counts.orders[1].count))
    assert all(count2[g] > 1 for g in kept)
    for g in pruned.ngram_strings(3):
        assert " ".join(g.split()[:2]) in kept and " ".join(g.split()[1:]) in kept
