"""Normalization options, checked against jiwer's transforms where they overlap."""

from __future__ import annotations

import jiwer
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from seqlab.text import NormalizationOptions, normalize


@settings(max_examples=200, deadline=None)
@given(st.text(alphabet=st.characters(exclude_categories=["Cs", "Zl", "Zp", "Cc"]), max_size=40))
def test_punctuation_and_case_equal_jiwer(text):
    opts = NormalizationOptions(
        lowercase=True,
        remove_punctuation=True,
        keep_apostrophes=False,
        collapse_whitespace=False,
        strip=False,
    )
    expected = jiwer.Compose([jiwer.ToLowerCase(), jiwer.RemovePunctuation()])(text)
    assert normalize(text, opts) == expected


def test_apostrophes_whitespace_and_unicode_forms():
    opts = NormalizationOptions(lowercase=True, remove_punctuation=True)
    assert normalize("  Don't STOP -- now!  ", opts) == "don't stop now"
    assert normalize("'quoted' l’homme «ÉTÉ»", opts) == "quoted l’homme été"
    assert normalize("rock 'n' roll", opts) == "rock n roll"
    no_apostrophes = NormalizationOptions(remove_punctuation=True, keep_apostrophes=False)
    assert normalize("don't", no_apostrophes) == "dont"
    assert normalize(" a\t b\n\nc ") == "a b c"  # defaults: collapse + strip only
    assert normalize(" a  b ", NormalizationOptions(collapse_whitespace=False)) == "a  b"
    assert normalize("Ａ１", NormalizationOptions(unicode_form="NFKC")) == "A1"
    assert normalize("e\u0301", NormalizationOptions(unicode_form="NFC")) == "é"
    assert normalize("x", None) == "x"
    with pytest.raises(ValueError, match="unicode_form"):
        NormalizationOptions(unicode_form="nfc")
