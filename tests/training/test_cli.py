"""``seqlab train`` / ``seqlab export`` end to end on data/tiny."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
import yaml

from seqlab.cli.main import main
from seqlab.config import load_yaml
from seqlab.data import read_manifest
from seqlab.metrics import cer
from seqlab.training import ExperimentConfig, load_checkpoint
from seqlab.training.experiment import greedy_transcribe, load_trained_model
from seqlab.training.export import load_exported

ROOT = Path(__file__).resolve().parents[2]
QUICK = {
    "data": {"train": str(ROOT / "data/tiny/train.jsonl"), "valid": str(ROOT / "data/tiny/valid.jsonl"),
             "num_features": 23, "cmvn": "auto", "max_frames": 1500, "freq_width": 4},
    "model": {"type": "joint", "encoder": "transformer",
              "transformer": {"dim": 16, "num_layers": 1, "num_heads": 2, "ffn_dim": 32},
              "decoder": {"num_layers": 1, "num_heads": 2, "ffn_dim": 32}, "max_decode_len": 20},
    "scheduler": {"name": "noam", "warmup_steps": 2},
    "trainer": {"epochs": 1, "progress": False, "tensorboard": False},
}  # fmt: skip


def test_cli_train_resume_and_export_quick(tmp_path, capsys):
    conf = tmp_path / "conf.yaml"
    conf.write_text(yaml.safe_dump(QUICK))
    exp = tmp_path / "exp #1: a"  # taken literally, not parsed as YAML
    assert main(["train", str(conf), "--exp-dir", str(exp), "--set", "optim.lr=3e-3"]) == 0
    assert "trained 1 epochs" in capsys.readouterr().out
    saved = load_yaml(ExperimentConfig, exp / "config.yaml")
    assert saved.optim.lr == 3e-3 and saved.exp_dir == str(exp) and saved.model.type == "joint"
    assert (exp / "tokenizer.json").is_file() and (exp / "cmvn.ark").is_file()

    args = ["train", str(conf), "--exp-dir", str(exp), "--set", "optim.lr=3e-3",
            "--set", "trainer.epochs=2", "--resume", str(exp / "last.pt")]  # fmt: skip
    assert main(args) == 0
    state = load_checkpoint(exp / "last.pt")
    assert state["epoch"] == 2 and len(state["history"]) == 2

    assert main(["export", str(exp / "best.pt"), "-o", str(tmp_path / "model.pt")]) == 0
    model, cfg = load_trained_model(exp / "best.pt")
    exported = load_exported(tmp_path / "model.pt")
    x, lengths = torch.randn(3, 120, 23), torch.tensor([120, 90, 40])
    with torch.no_grad():
        ref, ref_len = model(x, lengths)
        out, out_len = exported(x, lengths)
    torch.testing.assert_close(out, ref)
    assert torch.equal(out_len, ref_len)

    # Reloading for decoding (config, tokenizer, CMVN beside the checkpoint) reproduces the
    # greedy CER the trainer measured for the epoch saved as best.pt.
    hyps = greedy_transcribe(exp / "best.pt", QUICK["data"]["valid"])
    refs = {u.id: u.text for u in read_manifest(QUICK["data"]["valid"])}
    assert hyps.keys() == refs.keys()
    ids = sorted(refs)
    best_record = load_checkpoint(exp / "best.pt")["history"][-1]
    assert cer([refs[i] for i in ids], [hyps[i] for i in ids]).rate == pytest.approx(
        best_record["valid_cer"]
    )


def test_cli_reports_config_errors(tmp_path, capsys):
    conf = tmp_path / "conf.yaml"
    conf.write_text(yaml.safe_dump(QUICK))
    assert main(["train", str(conf), "--set", "trainer.epochs=two"]) == 1
    assert "trainer.epochs: expected an integer" in capsys.readouterr().err


@pytest.mark.slow
def test_recipe_config_learns_tiny_digits(tmp_path):
    """The recipe's Conformer CTC config reaches a low CER on the held-out tiny speakers."""
    conf = ROOT / "recipes/tiny/conf/ctc_conformer.yaml"
    data = ROOT / "data/tiny"
    args = ["train", str(conf), "--exp-dir", str(tmp_path / "exp"),
            "--set", f"data.train={data / 'train.jsonl'}", "--set", f"data.valid={data / 'valid.jsonl'}",
            "--set", "trainer.progress=false"]  # fmt: skip
    assert main(args) == 0
    history = load_checkpoint(tmp_path / "exp" / "last.pt")["history"]
    assert min(h["valid_cer"] for h in history) < 0.5


def test_bad_input_is_skipped_and_counted_not_fatal(tmp_path, caplog):
    import json
    import logging

    rows = [json.loads(x) for x in (ROOT / "data/tiny/train.jsonl").read_text().splitlines()][:8]
    for row in rows:
        row["audio"] = str(ROOT / "data/tiny" / row["audio"])
    corrupt = tmp_path / "corrupt.flac"
    corrupt.write_bytes(b"fLaC but not really")
    rows += [
        {"id": "empty", "audio": rows[0]["audio"], "duration": 1.0, "text": ""},
        {"id": "missing", "audio": str(tmp_path / "nope.flac"), "duration": 1.0, "text": "one"},
        {"id": "corrupt", "audio": str(corrupt), "duration": 1.0, "text": "two"},
        {"id": "oov", "audio": rows[1]["audio"], "duration": rows[1]["duration"], "text": "z€ro"},
    ]
    manifest = tmp_path / "train.jsonl"
    manifest.write_text("".join(json.dumps(r) + "\n" for r in rows))
    cfg = {**QUICK, "data": {**QUICK["data"], "valid": "", "cmvn": ""}}
    cfg["data"]["train"] = str(manifest)
    cfg["model"] = {**QUICK["model"], "type": "ctc"}
    conf = tmp_path / "conf.yaml"
    conf.write_text(yaml.safe_dump(cfg))
    with caplog.at_level(logging.INFO):
        assert main(["train", str(conf), "--exp-dir", str(tmp_path / "exp")]) == 0
    assert "skipped 2 (1 empty transcript, 1 missing audio file)" in caplog.text
    assert "skipping corrupt" in caplog.text and "1 unreadable items" in caplog.text


def test_fresh_run_recomputes_auto_cmvn_and_resume_checks_its_dimension(tmp_path):
    from seqlab.config import ConfigError, from_dict
    from seqlab.features import GlobalCMVN
    from seqlab.training.experiment import _cmvn

    exp = tmp_path / "exp"
    exp.mkdir()
    stale = GlobalCMVN(40)
    stale.update(torch.randn(1, 5, 40))
    stale.save(exp / "cmvn.ark")  # left by an earlier run with 40-dim features
    cfg = from_dict(ExperimentConfig, {**QUICK, "exp_dir": str(exp)})  # 23-dim features
    with pytest.raises(ConfigError, match=r"cmvn\.ark: CMVN stats of 40-dim features"):
        _cmvn(cfg, exp, fresh=False)
    assert _cmvn(cfg, exp, fresh=True).num_features == 23
    assert _cmvn(cfg, exp, fresh=False).num_features == 23
