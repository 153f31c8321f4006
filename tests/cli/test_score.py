"""`seqlab score` end to end through the dispatcher, on temporary Kaldi text files."""

from __future__ import annotations

import jiwer
import pytest

from seqlab.cli.main import main

REF = """\
utt1 the cat sat on the mat
utt2 hello world
utt3 good morning everyone
utt4
utt5 Don't panic, please!
"""
HYP = """\
utt1 the cat sit on a the mat
utt2 hello world
utt4 uh
utt5 don't panic please
utt9 not in the reference
"""


@pytest.fixture
def files(tmp_path):
    ref, hyp = tmp_path / "ref.txt", tmp_path / "hyp.txt"
    ref.write_text(REF, encoding="utf-8")
    hyp.write_text(HYP, encoding="utf-8")
    return ref, hyp


def run(argv, capsys):
    code = main(["score", *map(str, argv)])
    out, err = capsys.readouterr()
    return code, out, err


def test_wer_line_matches_jiwer_and_kaldi_format(files, capsys):
    ref, hyp = files
    code, out, err = run(["--ref", ref, "--hyp", hyp], capsys)
    assert code == 0
    refs = [
        "the cat sat on the mat",
        "hello world",
        "good morning everyone",
        "",
        "Don't panic, please!",
    ]
    hyps = ["the cat sit on a the mat", "hello world", "", "uh", "don't panic please"]
    theirs = jiwer.process_words(refs, hyps)
    errors = theirs.substitutions + theirs.deletions + theirs.insertions
    total = theirs.hits + theirs.substitutions + theirs.deletions
    assert out.splitlines() == [
        f"%WER {100 * errors / total:.2f} [ {errors} / {total}, {theirs.insertions} ins, "
        f"{theirs.deletions} del, {theirs.substitutions} sub ]",
        "%SER 80.00 [ 4 / 5 ]",
    ]
    assert out.splitlines()[0] == "%WER 64.29 [ 9 / 14, 2 ins, 3 del, 4 sub ]"
    # Missing hypothesis (deletions) and hypothesis-only id (ignored) are both reported.
    assert "utt3" in err and "counted as deletions" in err
    assert "utt9" in err and "ignored" in err


def test_normalization_flags_and_cer(files, capsys):
    ref, hyp = files
    _, out, _ = run(["--ref", ref, "--hyp", hyp, "--lowercase", "--remove-punctuation"], capsys)
    assert out.splitlines()[0] == "%WER 42.86 [ 6 / 14, 2 ins, 3 del, 1 sub ]"
    _, out, _ = run(["--ref", ref, "--hyp", hyp, "--cer"], capsys)
    refs = [
        "the cat sat on the mat",
        "hello world",
        "good morning everyone",
        "",
        "Don't panic, please!",
    ]
    hyps = ["the cat sit on a the mat", "hello world", "", "uh", "don't panic please"]
    theirs = jiwer.process_characters(refs, hyps)
    assert out.startswith(
        f"%CER {100 * (theirs.substitutions + theirs.deletions + theirs.insertions) / 74:.2f} "
        f"[ {theirs.substitutions + theirs.deletions + theirs.insertions} / 74, "
        f"{theirs.insertions} ins, {theirs.deletions} del, {theirs.substitutions} sub ]"
    )


def test_details_report(files, capsys, tmp_path):
    ref, hyp = files
    details = tmp_path / "out" / "errs.txt"
    code, out, _ = run(["--ref", ref, "--hyp", hyp, "--details", details], capsys)
    assert code == 0
    text = details.read_text(encoding="utf-8")
    assert text.startswith(out)  # same summary lines first
    block = text.split("id: utt1\n", 1)[1].split("\n\n", 1)[0].splitlines()
    assert block == [
        "Scores: (#C #S #D #I) 5 1 0 1",
        "REF:  the cat sat on *** the mat",
        "HYP:  the cat sit on a   the mat",
        "Eval:         S      I",
    ]
    assert (
        "id: utt3\nScores: (#C #S #D #I) 0 0 3 0\nREF:  good morning everyone\nHYP:  ***  ***     ***"
        in text
    )
    assert "id: utt4\nScores: (#C #S #D #I) 0 0 0 1\nREF:  ***\nHYP:  uh\nEval: I" in text
    assert "utt9" not in text
    assert not list(details.parent.glob(".*.tmp"))


def test_strict_mode_names_ids_and_files(files, capsys):
    ref, hyp = files
    code, out, err = run(["--ref", ref, "--hyp", hyp, "--strict"], capsys)
    assert code == 1 and out == ""
    assert err.startswith("seqlab score: error:")
    assert "utt3" in err and "utt9" in err and str(ref) in err and str(hyp) in err


def test_strict_passes_on_matching_files(tmp_path, capsys):
    ref, hyp = tmp_path / "r", tmp_path / "h"
    ref.write_text("a 中文 字幕\nb x y\n", encoding="utf-8")
    hyp.write_text("b x y\na 中文 字母\n", encoding="utf-8")
    code, out, err = run(
        ["--ref", ref, "--hyp", hyp, "--strict", "--details", tmp_path / "d"], capsys
    )
    assert (code, err) == (0, "")
    assert out.splitlines() == ["%WER 25.00 [ 1 / 4, 0 ins, 0 del, 1 sub ]", "%SER 50.00 [ 1 / 2 ]"]
    report = (tmp_path / "d").read_text(encoding="utf-8")
    assert "REF:  中文 字幕\nHYP:  中文 字母\nEval:      S" in report  # wide chars: 2 cells each


def test_bad_input_files_exit_1(tmp_path, capsys):
    ref = tmp_path / "r"
    ref.write_text("a x\na y\n", encoding="utf-8")
    code, _, err = run(["--ref", ref, "--hyp", ref], capsys)
    assert code == 1 and f"{ref}:2: duplicate key 'a'" in err
    code, _, err = run(["--ref", tmp_path / "nope", "--hyp", ref], capsys)
    assert code == 1 and "nope" in err
