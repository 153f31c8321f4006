#!/usr/bin/env bash
# Tiny end-to-end ASR recipe: synthetic spoken digits -> Conformer CTC -> greedy WER/CER.
#
#   bash recipes/tiny/run.sh [--stage N] [--stop-stage M] [--conf FILE] [--python PY]
#
# Stages: 0 data (data/tiny, already shipped), 1 train, 2 average + export, 3 decode + score.
# Runs from the repository root whatever the current directory.
set -euo pipefail

stage=1
stop_stage=3
conf=recipes/tiny/conf/ctc_conformer.yaml
python=.venv/bin/python

while [[ $# -gt 0 ]]; do
  case "$1" in
    --stage) stage="$2"; shift 2 ;;
    --stop-stage) stop_stage="$2"; shift 2 ;;
    --conf) conf="$2"; shift 2 ;;
    --python) python="$2"; shift 2 ;;
    *) echo "unknown option $1" >&2; exit 1 ;;
  esac
done

cd "$(dirname "$0")/../.."
seqlab() { "$python" -m seqlab "$@"; }
exp=$("$python" -c "import yaml, sys; print(yaml.safe_load(open(sys.argv[1]))['exp_dir'])" "$conf")

if [[ $stage -le 0 && $stop_stage -ge 0 ]]; then
  echo "stage 0: synthesize data/tiny"
  "$python" recipes/tiny/local/make_data.py --out data/tiny
fi

if [[ $stage -le 1 && $stop_stage -ge 1 ]]; then
  echo "stage 1: train ($conf -> $exp)"
  seqlab train "$conf"
fi

if [[ $stage -le 2 && $stop_stage -ge 2 ]]; then
  echo "stage 2: export $exp/avg.pt (averaged last epochs) to $exp/model.pt"
  seqlab export "$exp/avg.pt" -o "$exp/model.pt"
fi

if [[ $stage -le 3 && $stop_stage -ge 3 ]]; then
  for ckpt in best avg; do
    echo "stage 3: greedy decode data/tiny/valid with $ckpt.pt"
    "$python" recipes/tiny/local/decode.py "$exp/$ckpt.pt" data/tiny/valid.jsonl "$exp/hyp_valid_$ckpt.txt"
    seqlab score --ref data/tiny/valid/text --hyp "$exp/hyp_valid_$ckpt.txt" | tee "$exp/wer_valid_$ckpt.txt"
    seqlab score --ref data/tiny/valid/text --hyp "$exp/hyp_valid_$ckpt.txt" --cer | tee "$exp/cer_valid_$ckpt.txt"
  done
fi
