"""``seqlab score``: WER/CER of Kaldi-style hypothesis text against a reference text.

    seqlab score --ref data/test/text --hyp exp/decode/text [--cer] [--details errs.txt]

Prints ``%WER 12.34 [ 123 / 1000, 12 ins, 34 del, 77 sub ]`` and ``%SER 40.00 [ 4 / 10 ]``.
Reference utterances without a hypothesis count as all deletions and hypothesis-only ids are
ignored (as Kaldi ``compute-wer``); both are reported on stderr, and are errors with
``--strict``.
"""

from __future__ import annotations

import argparse
import sys

__all__ = ["ScoreError", "register", "run"]


class ScoreError(ValueError):
    """The reference and hypothesis files do not match (with ``--strict``)."""


def register(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser(
        "score",
        help="word/character error rate of a hypothesis text file",
        description=__doc__.splitlines()[0].strip("`"),
    )
    p.add_argument("--ref", required=True, help="reference Kaldi text file (utt-id words...)")
    p.add_argument("--hyp", required=True, help="hypothesis Kaldi text file (utt-id words...)")
    p.add_argument("--cer", action="store_true", help="character error rate instead of WER")
    p.add_argument("--details", metavar="FILE", help="write a per-utterance alignment report")
    p.add_argument(
        "--strict", action="store_true", help="fail when an utterance id is in only one file"
    )
    p.add_argument("--lowercase", action="store_true", help="lowercase both sides first")
    p.add_argument(
        "--remove-punctuation",
        action="store_true",
        help="delete Unicode punctuation (apostrophes inside words are kept)",
    )
    p.set_defaults(func=run)


def _listing(ids: list[str], limit: int = 10) -> str:
    shown = ", ".join(ids[:limit])
    return shown + (f", ... ({len(ids) - limit} more)" if len(ids) > limit else "")


def run(args: argparse.Namespace) -> int:
    from seqlab.io import atomic_write, check_output_is_not_an_input, read_table
    from seqlab.metrics import cer, wer
    from seqlab.metrics.report import details_report
    from seqlab.text import NormalizationOptions, normalize

    check_output_is_not_an_input(args.details, args.ref, args.hyp, option="--details")
    refs, hyps = read_table(args.ref), read_table(args.hyp)
    missing = [utt for utt in refs if utt not in hyps]
    extra = [utt for utt in hyps if utt not in refs]
    if args.strict and (missing or extra):
        problems = []
        if missing:
            problems.append(
                f"{len(missing)} id(s) of {args.ref} missing from {args.hyp}: {_listing(missing)}"
            )
        if extra:
            problems.append(
                f"{len(extra)} id(s) of {args.hyp} not in {args.ref}: {_listing(extra)}"
            )
        raise ScoreError("; ".join(problems))
    if missing:
        print(
            f"seqlab score: warning: {len(missing)} utterance(s) of {args.ref} have no hypothesis "
            f"in {args.hyp}, counted as deletions: {_listing(missing)}",
            file=sys.stderr,
        )
    if extra:
        print(
            f"seqlab score: warning: {len(extra)} utterance(s) of {args.hyp} are not in "
            f"{args.ref}, ignored: {_listing(extra)}",
            file=sys.stderr,
        )

    options = NormalizationOptions(
        lowercase=args.lowercase, remove_punctuation=args.remove_punctuation
    )
    ids = list(refs)
    ref_words = [normalize(refs[utt], options).split() for utt in ids]
    hyp_words = [normalize(hyps.get(utt, ""), options).split() for utt in ids]
    if args.cer:
        ref_tokens: list = [" ".join(words) for words in ref_words]
        hyp_tokens: list = [" ".join(words) for words in hyp_words]
        result = cer(ref_tokens, hyp_tokens)
    else:
        ref_tokens, hyp_tokens = ref_words, hyp_words
        result = wer(ref_tokens, hyp_tokens)
    print(result.summary())
    print(result.sentence_summary())
    if args.details:
        report = details_report(ids, ref_tokens, hyp_tokens, result)
        with atomic_write(args.details) as f:
            f.write(report)
    return 0
