"""align(): a complete, consistent alignment whose ops are exactly RapidFuzz's editops."""

from __future__ import annotations

import editdistance
import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st
from rapidfuzz.distance import Levenshtein

from seqlab.metrics import align, wer
from seqlab.metrics.align import common_affix, distance_matrix

tokens = st.lists(st.sampled_from(["a", "b", "c", "ü", "中"]), max_size=15)
RAPIDFUZZ_NAMES = {"replace": "S", "delete": "D", "insert": "I"}


@settings(max_examples=400, deadline=None)
@given(tokens, tokens)
def test_alignment_is_consistent_and_matches_rapidfuzz(ref, hyp):
    ops = align(ref, hyp)
    # The ops spell out both sequences, in order, with their indices.
    assert [o.ref for o in ops if o.op != "I"] == ref
    assert [o.hyp for o in ops if o.op != "D"] == hyp
    assert [o.ref_index for o in ops if o.op != "I"] == list(range(len(ref)))
    assert [o.hyp_index for o in ops if o.op != "D"] == list(range(len(hyp)))
    for o in ops:
        assert (o.op == "=") == (o.ref is not None and o.ref == o.hyp)
        assert (o.ref_index is None) == (o.op == "I") and (o.hyp_index is None) == (o.op == "D")
    errors = [o for o in ops if o.op != "="]
    assert len(errors) == editdistance.eval(ref, hyp)
    # Same edit operations, at the same positions, as the reference implementation.
    expected = [
        (RAPIDFUZZ_NAMES[tag], i, j) for tag, i, j in Levenshtein.editops(ref, hyp).as_list()
    ]
    ours, ref_pos, hyp_pos = [], 0, 0  # rapidfuzz gives both positions for every op
    for o in ops:
        if o.op != "=":
            ours.append((o.op, ref_pos, hyp_pos))
        ref_pos += o.op != "I"
        hyp_pos += o.op != "D"
    assert ours == expected
    # Counting without ops gives the same split.
    result = wer([ref], [hyp])
    assert result.substitutions == sum(o.op == "S" for o in ops)
    assert result.deletions == sum(o.op == "D" for o in ops)
    assert result.insertions == sum(o.op == "I" for o in ops)


def test_align_example_and_empty_sides():
    assert [o.op for o in align("a b c".split(), "a x c d".split())] == ["=", "S", "=", "I"]
    assert align([], []) == []
    assert [o.op for o in align("ab", "")] == ["D", "D"]
    assert [o.op for o in align("", "ab")] == ["I", "I"]


def test_common_affix_does_not_overlap():
    assert common_affix("aaa", "aa") == (2, 0)
    assert common_affix("abcxyz", "abXyz") == (2, 2)


@settings(max_examples=100, deadline=None)
@given(tokens, tokens)
def test_distance_matrix_matches_classic_dp(ref, hyp):
    vocab = {t: k for k, t in enumerate(sorted(set(ref) | set(hyp)))}
    r = np.array([[vocab[t] for t in ref]], dtype=np.int64).reshape(1, len(ref))
    h = np.array([[vocab[t] for t in hyp]], dtype=np.int64).reshape(1, len(hyp))
    shifted = distance_matrix(r, h)[0]
    full = shifted + np.arange(len(hyp) + 1)
    for i in range(len(ref) + 1):
        for j in range(len(hyp) + 1):
            assert full[i, j] == editdistance.eval(ref[:i], hyp[:j])
