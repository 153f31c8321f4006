"""NGramLM queries: decoder states vs kenlm's BaseScore, batch vs single, perplexity conventions."""

from __future__ import annotations

import math
from pathlib import Path

import kenlm
import numpy as np
import pytest

from seqlab.lm import LMError, NGramLM, TrainConfig, load_arpa, train_lm, write_arpa

pytestmark = pytest.mark.filterwarnings("ignore:Kneser-Ney order")


@pytest.fixture(scope="module")
def emma_models(
    tmp_path_factory, emma_sentences: list[str]
) -> tuple[NGramLM, kenlm.Model, list[str]]:
    path = tmp_path_factory.mktemp("lm") / "emma4.arpa"
    write_arpa(train_lm(emma_sentences[:900], TrainConfig(order=4)).tables, path)
    return load_arpa(path), kenlm.Model(str(path)), emma_sentences[900:960]


def test_advance_matches_kenlm_base_score(emma_models) -> None:
    lm, ken, tests = emma_models
    for sentence in tests + ["zzz the qqq"]:
        state, ks = lm.begin_state(), kenlm.State()
        ken.BeginSentenceWrite(ks)
        total = 0.0
        for word in sentence.split() + ["</s>"]:
            out = kenlm.State()
            expected = ken.BaseScore(ks, word, out)
            state, logp = lm.advance(state, word)
            assert logp == pytest.approx(expected, abs=1e-4)
            assert len(state) <= lm.order - 1
            ks, total = out, total + logp
        assert total == pytest.approx(lm.score(sentence), abs=1e-9)


def test_null_state_and_ids(emma_models) -> None:
    lm, ken, tests = emma_models
    state, total = lm.null_state(), 0.0
    for word in tests[0].split():
        state, logp = lm.advance(state, lm.word_id(word))  # ids work as tokens too
        total += logp
    assert total == pytest.approx(lm.score(tests[0], bos=False, eos=False), abs=1e-9)
    assert total == pytest.approx(ken.score(tests[0], bos=False, eos=False), abs=1e-3)


def test_advance_takes_any_integer_id_and_rejects_unknown_ids(emma_models) -> None:
    import torch

    lm, _, _ = emma_models
    word = lm.word_id("emma")
    want = lm.advance(lm.begin_state(), "emma")
    for token in (word, np.int64(word), np.int32(word), torch.tensor(word)):
        assert lm.advance(lm.begin_state(), token) == want  # an argmax id is not <unk>
    for bad in (-1, len(lm.vocab)):
        with pytest.raises(LMError, match=f"token id {bad} outside"):
            lm.advance(lm.begin_state(), bad)


def test_words_split_on_ascii_whitespace_like_kenlm(emma_models, tmp_path: Path) -> None:
    lm, ken, _ = emma_models
    for sentence in ("what is it\xa0? said emma", "a\u3000b  c\td\x1ce"):
        ours = list(lm.full_scores(sentence))
        theirs = list(ken.full_scores(sentence))
        assert len(ours) == len(theirs)
        for (p, n, oov), (kp, kn, koov) in zip(ours, theirs):
            assert (p, n, oov) == (pytest.approx(kp, abs=1e-4), kn, koov)
        assert lm.score(sentence) == pytest.approx(ken.score(sentence), abs=1e-3)
    trained = train_lm(["x\xa0y z", "x\xa0y"], TrainConfig(order=2, smoothing="mle"))
    assert "x\xa0y" in trained.vocab and "x" not in trained.vocab


def test_equal_states_have_equal_futures(emma_models) -> None:
    lm, _, tests = emma_models
    states: dict = {}
    for sentence in tests[:30]:
        words = sentence.split()
        state = lm.begin_state()
        for i, w in enumerate(words):
            state, _ = lm.advance(state, w)
            states.setdefault(state, []).append(words[: i + 1])
    probe = ["the", ",", "she", "of", "</s>", "zzz"]
    shared = [h for h in states.values() if len(h) > 1]
    assert shared, "expected some histories to share a minimized state"
    for histories in shared:
        futures = {
            tuple(round(lm.score([*h, w], eos=False) - lm.score(h, eos=False), 9) for w in probe)
            for h in histories
        }
        assert len(futures) == 1
    hash(lm.begin_state())
    assert lm.begin_state() == (lm.bos_id,)


def test_batch_equals_single_and_empty_input(emma_models) -> None:
    lm, _, tests = emma_models
    batch = lm.score_batch(tests)
    assert batch.shape == (len(tests),)
    np.testing.assert_allclose(batch, [lm.score(s) for s in tests], atol=1e-12)
    assert lm.score_batch([]).shape == (0,)
    b = lm.full_scores_batch(["the emma", "", "zzzz"])
    assert b.offsets.tolist() == [0, 3, 4, 6]
    assert b.oov.tolist() == [False, False, False, False, True, False]
    assert b.is_eos.tolist() == [False, False, True, True, False, True]


def test_perplexity_follows_srilm_conventions(emma_models) -> None:
    lm, ken, tests = emma_models
    sentences = tests[:20] + ["the zzz qqq ."]
    stats = lm.perplexity(sentences)
    scores = [list(lm.full_scores(s)) for s in sentences]
    words = sum(len(s.split()) for s in sentences)
    oovs = sum(o for sc in scores for _, _, o in sc)
    logprob = sum(p for sc in scores for p, _, o in sc if not o)
    assert oovs >= 2  # zzz, qqq and words unseen in the 900 training sentences
    assert (stats.sentences, stats.words, stats.oovs, stats.zeroprobs) == (21, words, oovs, 0)
    assert stats.logprob == pytest.approx(logprob)
    assert stats.ppl == pytest.approx(10 ** (-logprob / (words - oovs + 21)))
    assert stats.ppl1 == pytest.approx(10 ** (-logprob / (words - oovs)))
    assert "21 sentences" in str(stats) and "ppl1=" in str(stats)
    # one sentence without OOVs: kenlm's per-sentence perplexity
    one = lm.perplexity([tests[0]])
    assert one.ppl == pytest.approx(ken.perplexity(tests[0]), rel=1e-4)
    # all OOV: no word left for ppl1, which SRILM prints as "undefined"
    assert str(lm.perplexity(["zzz"])).endswith("ppl1= undefined")


def test_zero_probabilities_are_counted_apart(tmp_path: Path) -> None:
    lm = train_lm(["a b", "b a"], TrainConfig(order=2, smoothing="mle"))
    stats = lm.perplexity(["a a"])  # p(a | a) = 0 under MLE
    assert stats.zeroprobs == 1 and stats.oovs == 0
    assert math.isfinite(stats.ppl)


def test_char_lm_states_for_ocr(emma_sentences: list[str]) -> None:
    """A character LM scores with the same states a CTC/OCR beam search would use."""
    lm = train_lm(emma_sentences[:200], TrainConfig(order=6, unit="char", smoothing="witten-bell"))
    text = "she was happy"
    state, total = lm.begin_state(), 0.0
    for ch in text:
        state, logp = lm.advance(state, "|" if ch == " " else ch)
        total += logp
    _, end = lm.advance(state, "</s>")
    assert total + end == pytest.approx(lm.score(text), abs=1e-9)
    assert lm.tokenize(text)[3] == "|"
    assert lm.score("she was happy") > lm.score("she wos hapqy")
