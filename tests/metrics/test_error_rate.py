"""WER/CER against jiwer (independent reference): S, D, I and hits must be identical."""

from __future__ import annotations

import math
import random
from unittest.mock import patch

import jiwer
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from seqlab.metrics import MetricError, cer, wer
from seqlab.metrics import counts as counts_module
from seqlab.text import NormalizationOptions

# Few distinct words so that ties between alignments (S vs D+I) are frequent; unicode included.
WORDS = ["a", "b", "c", "dé", "ß", "中文", "🙂", "naïve"]
word_lists = st.lists(st.sampled_from(WORDS), max_size=12)
sentences = word_lists.map(" ".join)
CHARS = "ab c中é🙂 ü"
char_strings = st.text(alphabet=CHARS, max_size=25)


def jiwer_counts(out) -> tuple[int, int, int, int]:
    return out.substitutions, out.deletions, out.insertions, out.hits


def our_counts(result) -> tuple[int, int, int, int]:
    return result.substitutions, result.deletions, result.insertions, result.hits


@settings(max_examples=300, deadline=None)
@given(st.lists(st.tuples(sentences, sentences), min_size=1, max_size=8))
def test_wer_counts_equal_jiwer(pairs):
    refs, hyps = [p[0] for p in pairs], [p[1] for p in pairs]
    ours = wer(refs, hyps)
    assert our_counts(ours) == jiwer_counts(jiwer.process_words(refs, hyps))
    with patch.object(counts_module, "_FEW_PAIRS", 0):  # batched numpy path, not plain Python
        assert (wer(refs, hyps).counts == ours.counts).all()
    for (ref, hyp), utt in zip(pairs, ours.utterances):
        theirs = jiwer.process_words(ref, hyp)
        assert (utt.substitutions, utt.deletions, utt.insertions, utt.hits) == jiwer_counts(theirs)
        assert utt.ref_len == len(ref.split()) and utt.hyp_len == len(hyp.split())
    assert ours.ref_len == sum(len(r.split()) for r in refs)
    assert ours.hyp_len == sum(len(h.split()) for h in hyps)
    assert ours.sentence_errors == sum(u.errors > 0 for u in ours.utterances)


@settings(max_examples=300, deadline=None)
@given(st.lists(st.tuples(char_strings, char_strings), min_size=1, max_size=8))
def test_cer_counts_equal_jiwer(pairs):
    refs, hyps = [p[0] for p in pairs], [p[1] for p in pairs]
    ours = cer(refs, hyps)
    assert our_counts(ours) == jiwer_counts(jiwer.process_characters(refs, hyps))
    with patch.object(counts_module, "_FEW_PAIRS", 0):
        assert (cer(refs, hyps).counts == ours.counts).all()
    assert ours.ref_len == sum(len(r.strip()) for r in refs)


def random_corpus(seed: int, pairs: int, vocab: int, max_len: int):
    rng = random.Random(seed)
    refs, hyps = [], []
    for _ in range(pairs):
        ref = [rng.randrange(vocab) for _ in range(rng.randint(0, max_len))]
        if rng.random() < 0.5:
            hyp = [t if rng.random() > 0.3 else rng.randrange(vocab) for t in ref]
            hyp = [t for t in hyp if rng.random() > 0.1]
        else:
            hyp = [rng.randrange(vocab) for _ in range(rng.randint(0, max_len))]
        refs.append([f"w{t}" for t in ref])
        hyps.append([f"w{t}" for t in hyp])
    return refs, hyps


@pytest.mark.parametrize(
    ("chunk_cells", "block"), [(counts_module._CHUNK_CELLS, counts_module._BLOCK), (64, 7)]
)
def test_batched_path_equals_jiwer_on_long_sequences(monkeypatch, chunk_cells, block):
    # Lengths past 64 tokens exercise RapidFuzz's multi-word bit-parallel path and seqlab's
    # matrix fallback; a tiny cell budget forces many chunks of different shapes through the
    # batched backtraces, and tiny blocks split the corpus at many places while tokenizing.
    monkeypatch.setattr(counts_module, "_CHUNK_CELLS", chunk_cells)
    monkeypatch.setattr(counts_module, "_BLOCK", block)
    refs, hyps = random_corpus(seed=3, pairs=300, vocab=4, max_len=120)
    ours = wer(refs, hyps)
    theirs = jiwer.process_words([" ".join(r) for r in refs], [" ".join(h) for h in hyps])
    assert our_counts(ours) == jiwer_counts(theirs)
    for ref, hyp, utt in zip(refs, hyps, ours.utterances):
        one = jiwer.process_words(" ".join(ref), " ".join(hyp))
        assert (utt.substitutions, utt.deletions, utt.insertions, utt.hits) == jiwer_counts(one)
    # The same corpus as strings goes through the str.split fast path.
    as_text = wer([" ".join(r) for r in refs], [" ".join(h) for h in hyps])
    assert (as_text.counts == ours.counts).all()


def test_a_few_long_pairs_among_many_equal_jiwer():
    """Long pairs fill a chunk alone; they take the Python-integer backtrace (the numpy one
    would loop over every 64-bit word of every column in Python)."""
    short_refs, short_hyps = random_corpus(seed=4, pairs=20, vocab=6, max_len=20)
    long_refs, long_hyps = random_corpus(seed=5, pairs=3, vocab=50, max_len=3000)
    refs, hyps = short_refs + long_refs, short_hyps + long_hyps
    assert max(map(len, refs)) > 1000
    ours = wer(refs, hyps)
    for ref, hyp, utt in zip(refs, hyps, ours.utterances):
        one = jiwer.process_words(" ".join(ref), " ".join(hyp))
        assert (utt.substitutions, utt.deletions, utt.insertions, utt.hits) == jiwer_counts(one)


@pytest.mark.parametrize(
    ("ref", "hyp", "expected"),
    [
        ("a b", "b c", (2, 0, 0, 0)),  # 2 S, though 1 D + 1 I (+ 1 hit) is as short
        ("a b", "c a", (0, 1, 1, 1)),  # 1 D + 1 I, though 2 S is as short
    ],
)
def test_ties_are_broken_like_jiwer(ref, hyp, expected):
    assert our_counts(wer([ref], [hyp])) == jiwer_counts(jiwer.process_words(ref, hyp)) == expected


def test_summary_lines_and_rates():
    result = wer(
        ["the cat sat on the mat", "hello world", "a b"],
        ["the cat sat on mat", "hello word", "a b"],
    )
    assert result.errors == 2 and result.ref_len == 10
    assert result.rate == pytest.approx(0.2)
    assert result.summary() == "%WER 20.00 [ 2 / 10, 0 ins, 1 del, 1 sub ]"
    assert result.sentence_summary() == "%SER 66.67 [ 2 / 3 ]"
    assert str(result) == result.summary()
    assert result.as_dict()["errors"] == 2
    assert [u.rate for u in result.utterances] == pytest.approx([1 / 6, 0.5, 0.0])
    assert cer(["ab"], ["abc"]).summary() == "%CER 50.00 [ 1 / 2, 1 ins, 0 del, 0 sub ]"


def test_empty_reference_convention():
    silent = wer([""], [""])
    assert (silent.errors, silent.ref_len, silent.rate) == (0, 0, 0.0)
    noisy = wer(["", "  "], ["uh", "oh no"])
    assert (noisy.insertions, noisy.ref_len) == (3, 0)
    assert math.isinf(noisy.rate)
    assert noisy.summary() == "%WER inf [ 3 / 0, 3 ins, 0 del, 0 sub ]"
    assert math.isinf(noisy.utterances[0].rate)
    mixed = wer(["", "a b"], ["x", "a b"])
    assert mixed.rate == pytest.approx(0.5)  # corpus level: 1 insertion / 2 reference words
    empty = wer([], [])
    assert (empty.rate, empty.sentences, empty.sentence_error_rate) == (0.0, 0, 0.0)
    deleted = wer(["a b c"], [""])
    assert (deleted.deletions, deleted.rate) == (3, 1.0)


def test_token_lists_and_normalization():
    # Pre-tokenized input: OCR graphemes that are more than one code point each.
    ref = [["ก", "ำ", "x"], ["e\u0301", "b"]]
    hyp = [["ก", "x"], ["e\u0301", "c"]]
    result = cer(ref, hyp)
    assert (result.deletions, result.substitutions, result.ref_len) == (1, 1, 5)
    opts = NormalizationOptions(lowercase=True, remove_punctuation=True)
    assert wer(["Hello, World!"], ["hello world"], normalization=opts).errors == 0
    assert wer(["Hello, World!"], ["hello world"]).errors == 2
    assert cer(["a  b"], ["a b"]).deletions == 1  # inner whitespace counts, as in jiwer.cer
    assert cer(["a  b"], ["a b"], normalization=NormalizationOptions()).errors == 0


def test_mismatched_inputs_raise():
    with pytest.raises(MetricError, match="2 references but 1 hypotheses"):
        wer(["a", "b"], ["a"])
    with pytest.raises(MetricError, match="lists of transcripts"):
        wer("a b", "a b")
    assert isinstance(MetricError("x"), ValueError)


def test_checkpointed_backtrace_of_long_pairs_equals_the_full_one(monkeypatch):
    """Past FULL_BACKTRACE_BITS a pair keeps every sqrt(m)-th column and recomputes blocks
    during the backtrace: the same counts, in O(n sqrt(m)) memory."""
    from seqlab.metrics import bitparallel

    refs, hyps = random_corpus(seed=6, pairs=60, vocab=5, max_len=200)
    full = wer(refs, hyps).counts
    monkeypatch.setattr(bitparallel, "FULL_BACKTRACE_BITS", 0)
    monkeypatch.setattr(counts_module, "_FEW_PAIRS", 100)  # every pair through deletions_one
    checkpointed = wer(refs, hyps)
    assert (checkpointed.counts == full).all()
    theirs = jiwer.process_words([" ".join(r) for r in refs], [" ".join(h) for h in hyps])
    assert our_counts(checkpointed) == jiwer_counts(theirs)
