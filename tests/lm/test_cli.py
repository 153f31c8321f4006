"""``seqlab lm train|ppl|score|query`` end to end (stdin/stdout, atomic output, errors)."""

from __future__ import annotations

import io
import sys
from pathlib import Path

import kenlm
import pytest

from seqlab.cli.main import main


@pytest.fixture
def model(tmp_path: Path, emma_path: Path) -> Path:
    out = tmp_path / "m.arpa"
    assert main(["lm", "train", "--order", "3", str(emma_path), "-o", str(out)]) == 0
    return out


def test_train_writes_a_kenlm_readable_model(tmp_path: Path, emma_path: Path, capsys) -> None:
    out = tmp_path / "m.arpa"
    assert (
        main(
            [
                "lm",
                "train",
                str(emma_path),
                "--order",
                "5",
                "--smoothing",
                "witten-bell",
                "-o",
                str(out),
            ]
        )
        == 0
    )
    assert kenlm.Model(str(out)).order == 5
    assert "1000 sentences" in capsys.readouterr().err


def test_train_from_stdin_to_stdout(monkeypatch, capsys) -> None:
    monkeypatch.setattr(sys, "stdin", io.StringIO("a b c\na c b\nb\n"))
    args = ["lm", "train", "--order", "2", "--smoothing", "add-k", "--k", "0.1", "-", "-o", "-"]
    assert main(args) == 0
    out = capsys.readouterr().out
    assert out.startswith("\n\\data\\\nngram 1=6\nngram 2=") and out.endswith("\\end\\\n")


@pytest.mark.filterwarnings("ignore:Kneser-Ney order")  # a 2-word vocabulary: fallback discounts
def test_char_and_vocab_options(tmp_path: Path, emma_path: Path) -> None:
    vocab = tmp_path / "v.txt"
    vocab.write_text("the\nand\n")
    out = tmp_path / "w.arpa"
    assert (
        main(["lm", "train", "--order", "2", "--vocab", str(vocab), str(emma_path), "-o", str(out)])
        == 0
    )
    assert "ngram 1=5" in out.read_text()
    out = tmp_path / "c.arpa.gz"
    args = ["lm", "train", str(emma_path), "--order", "4", "--unit", "char", "--prune", "0", "1"]
    args += ["-o", str(out)]
    assert main(args) == 0
    assert kenlm.Model(str(out)).order == 4


def test_ppl_score_query(model: Path, emma_path: Path, monkeypatch, capsys) -> None:
    capsys.readouterr()
    assert main(["lm", "ppl", str(model), str(emma_path)]) == 0
    out = capsys.readouterr().out
    assert "1000 sentences" in out and "OOVs" in out and "ppl=" in out and "ppl1=" in out
    monkeypatch.setattr(sys, "stdin", io.StringIO("emma was happy .\nzzz\n"))
    assert main(["lm", "score", str(model)]) == 0
    scores = [float(x) for x in capsys.readouterr().out.split()]
    ken = kenlm.Model(str(model))
    assert scores == pytest.approx([ken.score("emma was happy ."), ken.score("zzz")], abs=1e-4)
    assert main(["lm", "query", str(model), "emma was zzz"]) == 0
    table = capsys.readouterr().out.splitlines()
    assert table[0].split() == ["token", "order", "log10p", "OOV"]
    assert table[3].split()[0] == "zzz" and table[3].split()[-1] == "yes"
    assert table[4].split()[0] == "</s>" and table[-1].startswith("total")


def test_errors_exit_1_and_leave_no_output(tmp_path: Path, emma_path: Path, capsys) -> None:
    bad = tmp_path / "bad.arpa"
    bad.write_text("\\data\\\nngram 1=x\n")
    assert main(["lm", "ppl", str(bad), str(emma_path)]) == 1
    assert "bad.arpa:2" in capsys.readouterr().err
    out = tmp_path / "never.arpa"
    args = ["lm", "train", str(emma_path), "--order", "2", "--prune", "1", "-o", str(out)]
    assert main(args) == 1
    assert "unigrams cannot be pruned" in capsys.readouterr().err
    assert not out.exists()
