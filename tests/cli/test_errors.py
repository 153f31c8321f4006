"""Bad input to the `seqlab` commands: exit status 1, a message naming the file, line or
option, no traceback, and no input or device destroyed by an output path."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
import torch

from seqlab.cli.main import main

ROOT = Path(__file__).resolve().parents[2]
REF = ROOT / "data" / "demo" / "ref.txt"


def _fails(args: list[str], capsys, *needles: str) -> str:
    assert main(args) == 1
    err = capsys.readouterr().err
    assert "Traceback" not in err
    for needle in needles:
        assert needle in err, err
    return err


def test_an_output_that_names_an_input_is_refused(tmp_path, capsys) -> None:
    ref = tmp_path / "ref.txt"
    ref.write_text(REF.read_text())
    before = ref.read_text()
    _fails(["score", "--ref", str(ref), "--hyp", str(ref), "--details", str(ref)], capsys,
           "--details names an input file")  # fmt: skip
    _fails(["lm", "train", str(ref), "-o", str(ref), "--order", "2"], capsys,
           "-o names an input file")  # fmt: skip
    assert ref.read_text() == before
    checkpoint = tmp_path / "model.pt"
    torch.save({"model": {}}, checkpoint)
    _fails(["export", str(checkpoint), "-o", str(checkpoint)], capsys, "names an input file")


def test_outputs_to_symlinks_follow_them(tmp_path, capsys) -> None:
    report = tmp_path / "report.txt"
    link = tmp_path / "link.txt"
    link.symlink_to(report)
    assert main(["score", "--ref", str(REF), "--hyp", str(REF), "--details", str(link)]) == 0
    assert link.is_symlink() and report.read_text()


def test_bad_values_and_files_name_themselves(tmp_path, capsys) -> None:
    scp = tmp_path / "wav.scp"
    scp.write_text(f"a {sorted((ROOT / 'data' / 'tiny' / 'wav').glob('*.flac'))[0]}\n")
    _fails(["features", "compute", str(scp), str(tmp_path / "f"), "--set", "n_mels=abc"], capsys,
           "n_mels: expected an integer")  # fmt: skip
    _fails(["features", "compute", str(scp), str(tmp_path / "f"), "--set", "n_mels=: :"], capsys,
           "--set 'n_mels=: :': cannot parse")  # fmt: skip
    model = tmp_path / "junk.model"
    model.write_bytes(os.urandom(300))
    _fails(["lm", "train", str(REF), "-o", str(tmp_path / "x.arpa"), "--unit", "spm",
            "--spm-model", str(model)], capsys, "junk.model: not a sentencepiece model")  # fmt: skip
    latin = tmp_path / "latin.txt"
    latin.write_bytes(b"abc\n\xe9t\xe9\n")
    err = _fails(["lm", "train", str(latin), "-o", str(tmp_path / "x.arpa")], capsys,
                 "latin.txt:2: not valid UTF-8")  # fmt: skip
    assert err.count("latin.txt") == 1
    arpa = tmp_path / "m.arpa"
    assert main(["lm", "train", str(REF), "-o", str(arpa), "--order", "2"]) == 0
    lines = arpa.read_text().splitlines()
    lines = [("ngram 2=999999999999999" if line.startswith("ngram 2=") else line) for line in lines]
    arpa.write_text("\n".join(lines) + "\n")
    _fails(["lm", "query", str(arpa), "the"], capsys, "declares 999999999999999 2-grams")
    _fails(["export", str(tmp_path), "-o", str(tmp_path / "m.pt")], capsys, "is a directory")


def test_train_config_errors_name_the_file_or_key(tmp_path, capsys) -> None:
    conf = tmp_path / "latin.yaml"
    conf.write_bytes(b"exp_dir: caf\xe9\n")
    _fails(["train", str(conf)], capsys, "latin.yaml: not UTF-8")
    empty = tmp_path / "empty.jsonl"
    empty.write_text("")
    conf = tmp_path / "conf.yaml"
    conf.write_text(f"data: {{train: {empty}}}\nexp_dir: {tmp_path / 'exp'}\n")
    _fails(["train", str(conf)], capsys, "empty.jsonl: no utterances")
    conf.write_text(
        f"data: {{train: {ROOT / 'data/tiny/train.jsonl'}, num_features: 23}}\n"
        f"exp_dir: {tmp_path / 'exp'}\nmodel: {{encoder: conformer, conformer: {{dim: 16, num_heads: 3}}}}\n"
    )
    _fails(["train", str(conf)], capsys, "model.conformer.num_heads: 3 heads must divide")


def test_train_settings_are_checked_before_anything_is_written(tmp_path, capsys) -> None:
    exp = tmp_path / "exp"
    conf = tmp_path / "conf.yaml"
    conf.write_text(f"data: {{train: {ROOT / 'data/tiny/train.jsonl'}}}\nexp_dir: {exp}\n")
    for override, message in (
        ("trainer.epochs=-1", "trainer.epochs must be >= 1"),
        ("optim.lr=0", "optim.lr must be > 0"),
        ("model.encoder=lstm", "model.encoder must be one of"),
        ("scheduler.name=noam", "warmup_steps must be > 0"),
    ):
        _fails(["train", str(conf), "--set", override], capsys, message)
    _fails(["train", str(conf), "--resume", str(tmp_path / "none.pt")], capsys,
           "none.pt: no such checkpoint")  # fmt: skip
    assert not exp.exists()
    with pytest.raises(SystemExit) as stop:  # a usage error, before any audio is read
        main(["features", "compute", "x.scp", str(tmp_path / "f"), "--batch-seconds", "0"])
    assert stop.value.code == 2


def test_init_and_heads_are_checked_before_anything_is_written(tmp_path, capsys) -> None:
    exp = tmp_path / "exp"
    conf = tmp_path / "conf.yaml"
    conf.write_text(f"data: {{train: {ROOT / 'data/tiny/train.jsonl'}}}\nexp_dir: {exp}\n")
    _fails(["train", str(conf), "--set", "trainer.init=bogus"], capsys, "trainer.init must be")
    _fails(["train", str(conf), "--set", "model.encoder=transformer", "--set",
            "model.transformer={dim: 16, num_heads: 3}"], capsys, "model.transformer.num_heads")  # fmt: skip
    assert not exp.exists()
