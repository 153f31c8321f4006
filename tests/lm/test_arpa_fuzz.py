"""Hypothesis fuzzing of the ARPA reader: valid models round-trip, corruptions raise cleanly."""

from __future__ import annotations

import tempfile
from pathlib import Path

import numpy as np
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from seqlab.lm import (
    ArpaFormatError,
    NGramTables,
    OrderTable,
    TrainConfig,
    count_text,
    read_arpa,
    write_arpa,
)
from seqlab.lm.estimate import estimate_tables
from seqlab.lm.smoothing import SMOOTHINGS

WORDS = st.text(alphabet="abcxyzé'-", min_size=1, max_size=3)
SENTENCES = st.lists(st.lists(WORDS, max_size=6).map(" ".join), min_size=1, max_size=12)
FUZZ = settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def tmp_file(text: str | bytes) -> Path:
    path = Path(tempfile.mkdtemp()) / "m.arpa"
    if isinstance(text, bytes):
        path.write_bytes(text)
    else:
        path.write_text(text, encoding="utf-8")
    return path


@st.composite
def models(draw) -> NGramTables:
    """Closed n-gram sets from a random corpus, with random log10 values (not normalized)."""
    sentences = draw(SENTENCES)
    config = TrainConfig(order=draw(st.integers(1, 4)), smoothing=draw(st.sampled_from(SMOOTHINGS)))
    with np.errstate(all="ignore"):
        import warnings

        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            tables = estimate_tables(count_text(sentences, config), config)
    values = st.floats(-20, 0, allow_nan=False).map(lambda x: round(x, 6))
    orders = []
    for t in tables.orders:
        n = len(t)
        prob = np.array(draw(st.lists(values, min_size=n, max_size=n)))
        bo = np.array(draw(st.lists(values, min_size=n, max_size=n)))
        orders.append(OrderTable(t.context, t.word, prob, bo))
    orders[-1] = OrderTable(
        orders[-1].context, orders[-1].word, orders[-1].logprob, np.zeros(len(orders[-1]))
    )
    return NGramTables(vocab=tables.vocab, orders=orders)


@FUZZ
@given(models())
def test_random_valid_models_round_trip(tables: NGramTables) -> None:
    path = tmp_file("")
    write_arpa(tables, path)
    back = read_arpa(path)
    assert back.vocab == tables.vocab
    for k in range(1, tables.order + 1):
        a, b = tables.orders[k - 1], back.orders[k - 1]
        assert np.array_equal(a.context, b.context) and np.array_equal(a.word, b.word)
        np.testing.assert_allclose(b.logprob, a.logprob, rtol=0, atol=1e-9)
        np.testing.assert_allclose(b.logbackoff, a.logbackoff, rtol=0, atol=1e-9)


MUTATIONS = st.sampled_from(["delete", "duplicate", "swap", "char", "truncate", "insert", "bytes"])


@FUZZ
@given(models(), MUTATIONS, st.integers(0, 10**6), st.integers(0, 10**6), st.text(max_size=12))
def test_corrupted_files_raise_arpa_format_error(
    tables: NGramTables, mutation: str, i: int, j: int, junk: str
) -> None:
    path = tmp_file("")
    write_arpa(tables, path)
    text = path.read_text(encoding="utf-8")
    lines = text.split("\n")
    a, b = i % len(lines), j % len(lines)
    data: str | bytes
    if mutation == "delete":
        del lines[a]
    elif mutation == "duplicate":
        lines.insert(a, lines[a])
    elif mutation == "swap":
        lines[a], lines[b] = lines[b], lines[a]
    elif mutation == "insert":
        lines.insert(a, junk)
    data = "\n".join(lines)
    if mutation == "char":
        pos = i % len(text)
        data = text[:pos] + (junk[:1] or "\\") + text[pos + 1 :]
    elif mutation == "truncate":
        data = text[: i % len(text)]
    elif mutation == "bytes":
        raw = text.encode("utf-8")
        pos = i % len(raw)
        data = raw[:pos] + bytes([j % 256]) + raw[pos + 1 :]
    try:
        parsed = read_arpa(tmp_file(data))
    except ArpaFormatError as e:
        assert "m.arpa" in str(e)
    else:  # a harmless mutation (e.g. of a blank line): a real model comes back
        assert isinstance(parsed, NGramTables) and len(parsed.vocab) >= 3
