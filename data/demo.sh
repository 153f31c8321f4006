#!/usr/bin/env bash
# Scoring demo: WER and CER of a small ASR hypothesis against its reference (Kaldi text files),
# with a per-utterance alignment report. Usage: bash data/demo.sh [VENV]   (default .venv)
# One reference utterance has no hypothesis on purpose: it is reported and counted as deleted.
set -euo pipefail
VENV=${1:-.venv}
DEMO=$(cd "$(dirname "$0")/demo" && pwd)
SEQLAB="$VENV/bin/seqlab"
OUT=$(mktemp -d "${TMPDIR:-/tmp}/seqlab-demo.XXXXXX")

echo "== WER: $DEMO/hyp.txt against $DEMO/ref.txt"
"$SEQLAB" score --ref "$DEMO/ref.txt" --hyp "$DEMO/hyp.txt" --details "$OUT/errs-wer.txt"
echo
echo "== CER"
"$SEQLAB" score --ref "$DEMO/ref.txt" --hyp "$DEMO/hyp.txt" --cer --details "$OUT/errs-cer.txt"
echo
echo "== Per-utterance alignments ($OUT/errs-wer.txt), utterances with errors:"
awk '/^id: /{block=$0; next} /^Scores: /{keep = ($7 + $8 + $9 > 0); if (keep) print block} keep' \
    "$OUT/errs-wer.txt" | head -n 30
echo "..."
echo "Full reports: $OUT/errs-wer.txt $OUT/errs-cer.txt"
