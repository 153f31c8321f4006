"""Greedy-decode a data source with a trained checkpoint into a Kaldi ``text`` file.

Usage: ``python recipes/tiny/local/decode.py CKPT SOURCE OUT_TEXT``
(SOURCE: manifest, Kaldi dir, saved HF dataset or folder).
"""

from __future__ import annotations

import sys

from seqlab.io import atomic_write
from seqlab.training.experiment import greedy_transcribe


def main(checkpoint: str, source: str, out: str) -> None:
    hyps = greedy_transcribe(checkpoint, source)
    with atomic_write(out) as f:
        for utt_id in sorted(hyps):
            f.write(f"{utt_id} {hyps[utt_id]}\n")


if __name__ == "__main__":
    if len(sys.argv) != 4:
        sys.exit(__doc__)
    main(*sys.argv[1:])
