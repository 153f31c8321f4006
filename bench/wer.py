"""Throughput of corpus WER with the full S/D/I breakdown: seqlab vs jiwer vs bare editdistance.

10,000 seeded random pairs: references of 5-30 words from a 3,000-word vocabulary, hypotheses
with ~15 % random word edits (substitutions, deletions, insertions). Every contender gets the
same list of strings; each is timed as the best of ``--repeat`` runs. Prints a table of pairs/s
and ratios, measured in the same run, and a second one for 16 short pairs plus one
10,000-word pair (a long transcript must not hit a slow path).

    python bench/wer.py [--pairs 10000] [--repeat 5] [--seed 0] [--clock wall|cpu]
"""

from __future__ import annotations

import argparse
import random
import string
import time
from collections.abc import Callable

import editdistance
import jiwer
from arguments import positive_int

from seqlab.metrics import wer


def make_corpus(
    pairs: int,
    seed: int,
    vocab_size: int = 3000,
    edit_rate: float = 0.15,
    words: tuple[int, int] = (5, 30),
):
    """Seeded references (``words`` long) and hypotheses with about ``edit_rate`` word edits."""
    rng = random.Random(seed)
    vocab = sorted(
        {
            "".join(rng.choices(string.ascii_lowercase, k=rng.randint(2, 9)))
            for _ in range(vocab_size)
        }
    )
    refs, hyps = [], []
    for _ in range(pairs):
        ref = rng.choices(vocab, k=rng.randint(*words))
        hyp = []
        for word in ref:
            u = rng.random()
            if u < edit_rate / 3:  # substitution
                hyp.append(rng.choice(vocab))
            elif u < 2 * edit_rate / 3:  # deletion
                continue
            elif u < edit_rate:  # insertion after the word
                hyp.extend([word, rng.choice(vocab)])
            else:
                hyp.append(word)
        refs.append(" ".join(ref))
        hyps.append(" ".join(hyp))
    return refs, hyps


def best_time(fn: Callable[[], object], repeat: int, clock: Callable[[], float]) -> float:
    best = float("inf")
    for _ in range(repeat):
        start = clock()
        fn()
        best = min(best, clock() - start)
    return best


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pairs", type=positive_int, default=10_000)
    parser.add_argument("--repeat", type=positive_int, default=5)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument(
        "--clock",
        choices=["wall", "cpu"],
        default="wall",
        help="wall time, or this process's CPU time (steadier on a busy machine)",
    )
    args = parser.parse_args()
    refs, hyps = make_corpus(args.pairs, args.seed)

    def bare_loop() -> int:
        return sum(editdistance.eval(r.split(), h.split()) for r, h in zip(refs, hyps))

    ours = wer(refs, hyps)
    theirs = jiwer.process_words(refs, hyps)
    same = (ours.substitutions, ours.deletions, ours.insertions, ours.hits) == (
        theirs.substitutions,
        theirs.deletions,
        theirs.insertions,
        theirs.hits,
    )
    assert bare_loop() == ours.errors, "distance mismatch with editdistance"
    assert same, "S/D/I/H mismatch with jiwer"

    clock = time.perf_counter if args.clock == "wall" else time.process_time
    timings = {
        "jiwer.process_words (S/D/I)": best_time(
            lambda: jiwer.process_words(refs, hyps), args.repeat, clock
        ),
        "editdistance.eval loop (distance only)": best_time(bare_loop, args.repeat, clock),
        "seqlab.metrics.wer (S/D/I)": best_time(lambda: wer(refs, hyps), args.repeat, clock),
    }
    jiwer_rate = args.pairs / timings["jiwer.process_words (S/D/I)"]
    bare_rate = args.pairs / timings["editdistance.eval loop (distance only)"]
    print(f"{args.pairs} pairs, seed {args.seed}, best of {args.repeat}, {args.clock} clock")
    print(ours.summary())
    print("counts identical to jiwer: yes (S, D, I, hits)")
    print()
    print("| method | pairs/s | vs jiwer | vs bare editdistance |")
    print("|---|---:|---:|---:|")
    for name, seconds in timings.items():
        rate = args.pairs / seconds
        print(f"| {name} | {rate:,.0f} | {rate / jiwer_rate:.2f}x | {rate / bare_rate:.2f}x |")

    # A long transcript among short ones (a whole talk scored as one utterance): the long
    # pair must not fall into a slow path.
    short_refs, short_hyps = make_corpus(16, args.seed + 1)
    long_refs, long_hyps = make_corpus(1, args.seed + 2, words=(10_000, 10_000))
    mixed_refs, mixed_hyps = short_refs + long_refs, short_hyps + long_hyps
    mixed = {
        "jiwer.process_words": best_time(
            lambda: jiwer.process_words(mixed_refs, mixed_hyps), args.repeat, clock
        ),
        "seqlab.metrics.wer": best_time(lambda: wer(mixed_refs, mixed_hyps), args.repeat, clock),
    }
    print()
    print("16 short pairs + one 10,000-word pair")
    print("| method | seconds | vs jiwer |")
    print("|---|---:|---:|")
    for name, seconds in mixed.items():
        print(f"| {name} | {seconds:.3f} | {mixed['jiwer.process_words'] / seconds:.2f}x |")


if __name__ == "__main__":
    main()
