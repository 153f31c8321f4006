"""``seqlab lm``: train, evaluate and query n-gram language models (ARPA files).

    seqlab lm train --order 3 --smoothing kneser-ney corpus.txt -o model.arpa
    seqlab lm ppl model.arpa test.txt          # SRILM-style perplexity summary
    seqlab lm score model.arpa < sentences.txt  # one log10 probability per line
    seqlab lm query model.arpa "a sentence"     # per-token table

``-`` stands for standard input (TEXT) or standard output (``-o``); ``.gz`` ARPA files are
read and written compressed. String sentences are split into units with ``--unit``
(``word``, ``char`` with ``--space-token``, or ``spm`` with ``--spm-model``).
"""

from __future__ import annotations

import argparse
import sys

__all__ = ["register"]


def _add_units(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--unit", choices=("word", "char", "spm"), default="word", help="LM units (default word)"
    )
    p.add_argument("--spm-model", metavar="M", help="sentencepiece model for --unit spm")
    p.add_argument(
        "--space-token", default="|", help="visible space symbol for --unit char (default |)"
    )


def register(subparsers: argparse._SubParsersAction) -> None:
    lm = subparsers.add_parser(
        "lm",
        help="n-gram language models (train, ppl, score, query)",
        description="Train, evaluate and query n-gram language models (ARPA files).",
        epilog="examples:\n" + __doc__.split("\n\n")[1],
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    sub = lm.add_subparsers(dest="lm_command", metavar="ACTION", required=True)

    p = sub.add_parser("train", help="count and smooth a text into an ARPA model")
    p.add_argument("text", metavar="TEXT", help="training text, one sentence per line (- = stdin)")
    p.add_argument(
        "-o", "--output", required=True, help="output ARPA file (- = stdout, .gz = gzip)"
    )
    p.add_argument("--order", type=int, default=3, help="n-gram order (default 3)")
    p.add_argument(
        "--smoothing",
        choices=("mle", "laplace", "add-k", "witten-bell", "kneser-ney"),
        default="kneser-ney",
        help="smoothing method (default kneser-ney)",
    )
    p.add_argument("--k", type=float, default=0.5, help="constant of add-k smoothing (default 0.5)")
    p.add_argument(
        "--prune",
        type=int,
        nargs="+",
        default=[],
        metavar="T",
        help="count thresholds per order, from unigrams (first must be 0); count <= T is dropped; "
        "the last value repeats for higher orders, as lmplz --prune",
    )
    p.add_argument(
        "--vocab", metavar="FILE", help="keep only the units listed in FILE (others -> <unk>)"
    )
    p.add_argument(
        "--vocab-size",
        type=int,
        metavar="K",
        help="keep the K most frequent units (others -> <unk>)",
    )
    p.add_argument(
        "--discount-fallback",
        type=float,
        nargs=3,
        default=[0.5, 1.0, 1.5],
        metavar=("D1", "D2", "D3"),
        help="Kneser-Ney discounts for orders whose estimate fails (default 0.5 1 1.5)",
    )
    p.add_argument(
        "--no-discount-fallback",
        action="store_true",
        help="fail instead of using fallback discounts",
    )
    _add_units(p)
    p.set_defaults(func=_train)

    p = sub.add_parser("ppl", help="perplexity of a text (SRILM ngram -ppl summary)")
    p.add_argument("model", help="ARPA file")
    p.add_argument("text", metavar="TEXT", help="one sentence per line (- = stdin)")
    _add_units(p)
    p.set_defaults(func=_ppl)

    p = sub.add_parser("score", help="log10 probability of each input line")
    p.add_argument("model", help="ARPA file")
    p.add_argument(
        "text", metavar="TEXT", nargs="?", default="-", help="sentences (default - = stdin)"
    )
    p.add_argument("-o", "--output", default="-", help="output file (default - = stdout)")
    p.add_argument("--no-bos", action="store_true", help="do not condition on <s>")
    p.add_argument("--no-eos", action="store_true", help="do not score </s>")
    _add_units(p)
    p.set_defaults(func=_score)

    p = sub.add_parser("query", help="per-token table: token, n-gram order, log10 p, OOV")
    p.add_argument("model", help="ARPA file")
    p.add_argument("sentence", nargs="+", help="sentence(s) to score, each one argument")
    _add_units(p)
    p.set_defaults(func=_query)


def _load(args: argparse.Namespace):
    from seqlab.lm import load_arpa

    return load_arpa(
        args.model, unit=args.unit, spm_model=args.spm_model, space_token=args.space_token
    )


def _lines(path: str) -> list[str]:
    from seqlab.lm.estimate import read_lines

    return list(read_lines(path))


def _train(args: argparse.Namespace) -> int:
    from tqdm import tqdm

    from seqlab.io import check_output_is_not_an_input
    from seqlab.lm import TrainConfig, count_text, estimate_tables, write_arpa

    config = TrainConfig(
        order=args.order,
        smoothing=args.smoothing,
        k=args.k,
        unit=args.unit,
        spm_model=args.spm_model,
        space_token=args.space_token,
        prune=tuple(args.prune),
        vocab_size=args.vocab_size,
        vocab_file=args.vocab,
        discount_fallback=None if args.no_discount_fallback else tuple(args.discount_fallback),
    )
    check_output_is_not_an_input(args.output, args.text, config.vocab_file)
    with tqdm(desc="counting", unit=" sent", file=sys.stderr, disable=None) as bar:
        counts = count_text(args.text, config, progress=bar.update)
        bar.set_description(f"smoothing ({config.smoothing})")
        tables = estimate_tables(counts, config)
        bar.set_description("writing")
        write_arpa(tables, args.output)
        bar.set_description("done")
    sizes = " ".join(f"{k}-grams={n}" for k, n in enumerate(tables.counts(), start=1))
    print(
        f"seqlab lm train: {counts.num_sentences} sentences, vocabulary {len(tables.vocab)}, {sizes}",
        file=sys.stderr,
    )
    return 0


def _ppl(args: argparse.Namespace) -> int:
    lm = _load(args)
    stats = lm.perplexity(line for line in _lines(args.text) if line.strip())
    print(f"file {args.text}: {stats}")
    return 0


def _score(args: argparse.Namespace) -> int:
    from seqlab.io import atomic_write, check_output_is_not_an_input

    lm = _load(args)
    check_output_is_not_an_input(args.output, args.text, args.model)
    scores = lm.score_batch(_lines(args.text), bos=not args.no_bos, eos=not args.no_eos)
    with atomic_write(args.output) as f:
        f.write("".join(f"{s:.6f}\n" for s in scores.tolist()))
    return 0


def _query(args: argparse.Namespace) -> int:
    lm = _load(args)
    for sentence in args.sentence:
        units = lm.tokenize(sentence) + ["</s>"]
        rows = list(zip(units, lm.full_scores(sentence)))
        width = max(5, *(len(u) for u in units))
        print(f"{'token':<{width}}  order  log10p      OOV")
        for unit, (logp, length, oov) in rows:
            print(f"{unit:<{width}}  {length:>5}  {logp:>10.6f}  {'yes' if oov else 'no'}")
        print(f"{'total':<{width}}  {'':>5}  {sum(r[1][0] for r in rows):>10.6f}")
    return 0
