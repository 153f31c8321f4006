"""Create ``data/tiny``: a few dozen synthetic spoken digit strings (eSpeak NG, 16 kHz FLAC).

Writes ``data/tiny/wav/*.flac``, Kaldi dirs ``data/tiny/{train,valid}/`` (``wav.scp``,
``text``, ``utt2spk``; audio paths relative to the repository root) and JSON-lines manifests
``data/tiny/{train,valid}.jsonl`` (audio paths relative to ``data/tiny``). Deterministic: the
same texts, voices and audio every run.

Usage (from the repository root): ``python recipes/tiny/local/make_data.py [--out data/tiny]``
"""

from __future__ import annotations

import argparse
import random
from pathlib import Path

from seqlab.audio import save_audio
from seqlab.data import Utterance, write_manifest
from seqlab.data.synthetic import synthesize
from seqlab.io import atomic_write

WORDS = ["zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine"]
# (speaker id, voice, pitch, words per minute)
SPEAKERS = [("s1", "en-us", 40, 150), ("s2", "en-us", 65, 170), ("s3", "en", 50, 160),
            ("s4", "en", 30, 140)]  # fmt: skip
SPLITS = {"train": 36, "valid": 8}
SAMPLE_RATE = 16000


def make(out: Path, seed: int = 0) -> None:
    rng = random.Random(seed)
    (out / "wav").mkdir(parents=True, exist_ok=True)
    for split, count in SPLITS.items():
        utts = []
        for i in range(count):
            spk, voice, pitch, wpm = SPEAKERS[i % len(SPEAKERS)] if split == "train" else \
                SPEAKERS[(i + 1) % len(SPEAKERS)]  # fmt: skip
            text = " ".join(rng.choice(WORDS) for _ in range(rng.randint(2, 4)))
            utt_id = f"{spk}-{split}{i:03d}"
            wave = synthesize(text, voice=voice, rate_wpm=wpm, pitch=pitch, sample_rate=SAMPLE_RATE)
            path = out / "wav" / f"{utt_id}.flac"
            save_audio(path, wave, SAMPLE_RATE)
            utts.append(Utterance(utt_id, str(path), wave.numel() / SAMPLE_RATE, text, spk))
        utts.sort(key=lambda u: u.id)
        write_manifest(out / f"{split}.jsonl", utts, relative_to=str(out))
        kaldi = out / split
        for name, column in (("wav.scp", "audio"), ("text", "text"), ("utt2spk", "speaker")):
            with atomic_write(kaldi / name) as f:
                for u in utts:
                    f.write(f"{u.id} {getattr(u, column)}\n")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default="data/tiny", help="output folder (default: data/tiny)")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    make(Path(args.out), args.seed)


if __name__ == "__main__":
    main()
