"""Dataset: features vs torchaudio's Kaldi fbank, augmentation determinism, bad input, collate."""

from __future__ import annotations

import logging

import torch
import torchaudio

from seqlab.audio import load_audio
from seqlab.data import (
    ASRDataset,
    DataConfig,
    Utterance,
    collate,
    filter_utterances,
    min_ctc_frames,
    read_manifest,
    speed_perturb,
)
from seqlab.data.pipeline import build_dataset, build_frontend, build_loader
from seqlab.text import CharTokenizer


def _tok(utts):
    return CharTokenizer.build([u.text for u in utts])


def test_features_match_torchaudio_kaldi_fbank(tiny_dir):
    utts = read_manifest(tiny_dir / "train.jsonl")[:2]
    frontend = build_frontend(DataConfig(num_features=40))
    ds = ASRDataset(utts, _tok(utts), frontend)
    for i, utt in enumerate(utts):
        item = ds[i]
        wave, _ = load_audio(utt.audio)
        ref = torchaudio.compliance.kaldi.fbank(
            wave.unsqueeze(0) * 32768, num_mel_bins=40, dither=0.0, energy_floor=0.0
        )
        assert item["features"].shape == ref.shape
        torch.testing.assert_close(item["features"], ref, atol=2e-3, rtol=1e-3)
        assert item["tokens"].tolist() == ds.tokenizer.encode(utt.text)


def test_speed_perturb_matches_torchaudio_speed():
    wave = torch.randn(16000)
    for factor in (0.9, 1.1):
        ours = speed_perturb(wave, 16000, factor)
        ref, _ = torchaudio.functional.speed(wave.unsqueeze(0), 16000, factor)
        torch.testing.assert_close(ours, ref[0])
        assert abs(ours.numel() - 16000 / factor) <= 1
    assert speed_perturb(wave, 16000, 1.0) is wave


def test_training_items_are_deterministic_per_epoch_and_index(tiny_dir):
    cfg = DataConfig(num_features=40, speed_perturb=(0.9, 1.0, 1.1), dither=1.0)
    utts = read_manifest(tiny_dir / "train.jsonl")[:4]
    tok = _tok(utts)
    ds = build_dataset(cfg, str(tiny_dir / "train.jsonl"), tok, lambda n: n // 4, train=True)
    ds.utterances = utts
    a = [ds[i]["features"] for i in range(4)]
    b = [ds[i]["features"] for i in range(4)]
    assert all(torch.equal(x, y) for x, y in zip(a, b))
    ds.set_epoch(1)
    c = [ds[i]["features"] for i in range(4)]
    assert any(x.shape != y.shape or not torch.equal(x, y) for x, y in zip(a, c))
    assert any((x == 0).all(dim=0).any() for x in c), "SpecAugment masked some bins"


def test_filter_counts_every_kind_of_bad_input(tiny_dir):
    good = read_manifest(tiny_dir / "train.jsonl")[0]
    tok = CharTokenizer.build(["abc def", good.text])
    utts = [
        good,
        Utterance("empty", good.audio, good.duration, "  "),
        Utterance("missing", "/nonexistent/x.wav", 1.0, "abc"),
        Utterance("short", good.audio, 0.03, "abc"),
        Utterance("labels", good.audio, 0.2, "abc def abc def abc def"),
        Utterance("oov", good.audio, good.duration, "abc xyz"),
    ]
    kept, report = filter_utterances(
        utts, tok, num_frames=lambda n: 1 + (n - 400) // 160 if n >= 400 else 0,
        output_frames=lambda t: max(0, ((t - 1) // 2 - 1) // 2), sample_rate=16000,
    )  # fmt: skip
    assert [u.id for u in kept] == [good.id, "oov"]
    assert report.skipped == {"empty transcript": 1, "missing audio file": 1,
                              "too short for the subsampling": 1,
                              "too short for its label length (CTC)": 1}  # fmt: skip
    assert report.oov_utterances == 1
    assert "skipped 4" in report.summary()
    assert min_ctc_frames([1, 1, 2, 2, 2]) == 8


def test_unreadable_audio_is_dropped_by_collate_not_raised(tmp_path, tiny_dir, caplog):
    good = read_manifest(tiny_dir / "train.jsonl")[0]
    corrupt = tmp_path / "bad.wav"
    corrupt.write_bytes(b"RIFF not really a wav file")
    utts = [good, Utterance("bad", str(corrupt), 1.0, good.text)]
    ds = ASRDataset(utts, _tok(utts), build_frontend(DataConfig(num_features=23)))
    with caplog.at_level(logging.WARNING):
        batch = collate([ds[0], ds[1]])
    assert batch["failed"] == 1 and batch["ids"] == [good.id]
    assert "skipping bad" in caplog.text
    empty = collate([None])
    assert empty["failed"] == 1 and empty["features"].numel() == 0


def test_collate_pads_with_lengths():
    items = [
        {"id": "a", "text": "ab", "features": torch.ones(5, 3), "tokens": torch.tensor([1, 2])},
        {"id": "b", "text": "c", "features": torch.full((2, 3), 2.0), "tokens": torch.tensor([3])},
    ]
    batch = collate(items)
    assert batch["features"].shape == (2, 5, 3) and batch["lengths"].tolist() == [5, 2]
    assert torch.all(batch["features"][1, 2:] == 0)
    assert batch["targets"].tolist() == [[1, 2], [3, 0]] and batch["target_lengths"].tolist() == [
        2,
        1,
    ]


def test_loader_with_workers_gives_the_same_batches(tiny_dir):
    cfg = DataConfig(num_features=40, max_frames=600, speed_perturb=(0.9, 1.1))
    utts = read_manifest(tiny_dir / "train.jsonl")
    tok = _tok(utts)
    ds = build_dataset(cfg, str(tiny_dir / "train.jsonl"), tok, lambda n: n // 4, train=True)
    serial = list(build_loader(ds, cfg, shuffle=True, seed=5))
    parallel = list(build_loader(ds, DataConfig(**{**cfg.__dict__, "num_workers": 2}), True, 5))
    assert len(serial) == len(parallel) > 1
    for a, b in zip(serial, parallel):
        assert a["ids"] == b["ids"] and torch.equal(a["features"], b["features"])
        assert a["lengths"].numel() * a["lengths"].max() <= 600 or len(a["ids"]) == 1


def test_evaluation_loaders_split_ranks_unevenly_so_nothing_is_counted_twice(tiny_dir, monkeypatch):
    """Training loaders repeat batches so every rank steps alike; evaluation loaders
    (``shuffle=False``) must not, or validation under DDP would count utterances twice."""
    import seqlab.training.distributed as dist_utils

    cfg = DataConfig(num_features=40, max_frames=250)
    utts = read_manifest(tiny_dir / "valid.jsonl")
    ds = build_dataset(cfg, str(tiny_dir / "valid.jsonl"), _tok(utts), lambda n: n // 4, False)
    monkeypatch.setattr(dist_utils, "world_size", lambda: 2)
    seen = []
    for r in (0, 1):
        monkeypatch.setattr(dist_utils, "rank", lambda r=r: r)
        loader = build_loader(ds, cfg, shuffle=False)
        assert loader.batch_sampler.even is False
        seen += [i for batch in loader for i in batch["ids"]]
        assert build_loader(ds, cfg, shuffle=True).batch_sampler.even is True
    assert sorted(seen) == sorted(u.id for u in utts)


def test_datasets_sharing_modules_keep_their_own_mode(tiny_dir):
    """A training and a validation dataset built from one frontend and one SpecAugment: the
    validation one must not switch the training one's dither and masks off."""
    from seqlab.features import SpecAugment

    cfg = DataConfig(num_features=40, dither=1.0)
    utts = read_manifest(tiny_dir / "train.jsonl")[:2]
    frontend, spec = build_frontend(cfg), SpecAugment(2, 10, 2, 0.2)
    train = ASRDataset(utts, _tok(utts), frontend, specaugment=spec, train=True)
    valid = ASRDataset(utts, _tok(utts), frontend, specaugment=spec, train=False)
    assert train.frontend.training and train.specaugment.training
    assert not valid.frontend.training and not valid.specaugment.training
    assert (train[0]["features"] == 0).all(dim=0).any(), "training items are still masked"
