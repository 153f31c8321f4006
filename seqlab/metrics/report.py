"""Human-readable alignment reports in the style of sclite ``pralign`` / icefall ``errs-*``.

Each utterance becomes::

    id: utt1
    Scores: (#C #S #D #I) 5 1 0 1
    REF:  the cat sat on *** the mat
    HYP:  the cat sit on  a  the mat
    Eval:         S       I

Columns are padded to the display width of the longer token (East Asian wide characters count
as two cells, combining marks as zero); ``***`` fills the side that has no token.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Hashable, Sequence

from seqlab.metrics.align import EditOp, align
from seqlab.metrics.error_rate import ErrorRate

__all__ = ["alignment_lines", "details_report", "display_width"]

FILLER = "***"
VISIBLE_SPACE = "\u2423"  # shown for " " in character alignments


def display_width(text: str) -> int:
    """Terminal cells taken by ``text`` (wide CJK = 2, combining marks = 0)."""
    width = 0
    for char in text:
        if unicodedata.combining(char):
            continue
        width += 2 if unicodedata.east_asian_width(char) in "WF" else 1
    return width


def _show(token: Hashable | None) -> str:
    if token is None:
        return FILLER
    text = str(token)
    return VISIBLE_SPACE if text == " " else text


def _pad(text: str, width: int) -> str:
    return text + " " * (width - display_width(text))


def alignment_lines(ops: Sequence[EditOp]) -> tuple[str, str, str]:
    """``(ref_line, hyp_line, eval_line)`` of an alignment, columns separated by one space."""
    refs, hyps, marks = [], [], []
    for op in ops:
        ref, hyp = _show(op.ref), _show(op.hyp)
        width = max(display_width(ref), display_width(hyp))
        refs.append(_pad(ref, width))
        hyps.append(_pad(hyp, width))
        marks.append(_pad("" if op.op == "=" else op.op, width))
    return " ".join(refs).rstrip(), " ".join(hyps).rstrip(), " ".join(marks).rstrip()


def details_report(
    ids: Sequence[str],
    refs: Sequence[Sequence[Hashable]],
    hyps: Sequence[Sequence[Hashable]],
    result: ErrorRate,
) -> str:
    """Full report: summary lines, then one aligned block per utterance (input order).

    Args:
        ids: utterance ids.
        refs, hyps: the token sequences that ``result`` was computed from.
        result: the :class:`ErrorRate` of ``refs`` against ``hyps``.
    """
    lines = [result.summary(), result.sentence_summary(), ""]
    for utt_id, ref, hyp, utt in zip(ids, refs, hyps, result.utterances):
        ref_line, hyp_line, eval_line = alignment_lines(align(ref, hyp))
        lines += [
            f"id: {utt_id}",
            f"Scores: (#C #S #D #I) {utt.hits} {utt.substitutions} {utt.deletions} {utt.insertions}",
            f"REF:  {ref_line}".rstrip(),
            f"HYP:  {hyp_line}".rstrip(),
            f"Eval: {eval_line}".rstrip(),
            "",
        ]
    return "\n".join(lines)
