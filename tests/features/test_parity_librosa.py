"""preset="librosa" vs librosa 0.11: melspectrogram, power_to_db, mfcc, delta."""

from __future__ import annotations

import librosa
import numpy as np
import pytest
import torch

from seqlab.features import MFCC, Deltas, Fbank, Spectrogram
from seqlab.features import functional as F

pytestmark = pytest.mark.usefixtures("cpu_path")

RATES = (8000, 16000, 22050, 44100)
TOL = 1e-3  # dB


@pytest.mark.parametrize("rate", RATES)
def test_melspectrogram_power_to_db_and_mfcc(rate: int, make_signals, parity, log_error) -> None:
    fbank = Fbank("librosa", sample_rate=rate).eval()
    mfcc = MFCC("librosa", sample_rate=rate).eval()
    for name, wav in make_signals(rate).items():
        y = wav.double().numpy()  # librosa in float64: the exact answer for these samples
        ref_db = librosa.power_to_db(librosa.feature.melspectrogram(y=y, sr=rate))
        ours, frames = fbank(wav[None], sample_rate=rate)
        assert int(frames[0]) == ref_db.shape[1]
        full = float(np.abs(ours[0].numpy().T - ref_db).max())
        # cells more than 60 dB under the peak of a DC-offset signal carry float32 FFT noise
        # (up to ~3e-3 dB); everything within 60 dB meets the tolerance
        err = log_error(ours[0], torch.from_numpy(ref_db.T), 60.0)
        assert err <= TOL and full <= 5 * TOL, f"{name} @ {rate}: {err}, {full}"
        parity(f"librosa melspectrogram+power_to_db {rate} Hz {name} (60 dB)", err)
        parity(f"librosa melspectrogram+power_to_db {rate} Hz {name} (all)", full)
        ref = librosa.feature.mfcc(y=y, sr=rate)
        ours, _ = mfcc(wav[None], sample_rate=rate)
        err = float(np.abs(ours[0].numpy().T - ref).max())
        # silence is -100 dB in all 128 bins: C0 = -1131, where float32 holds ~1e-4
        assert err <= TOL + 2e-6 * np.abs(ref).max(), f"mfcc {name} @ {rate}: {err}"
        parity(f"librosa mfcc {rate} Hz {name}", err)
        # in float64 every cell matches, however far under the peak (to librosa's float32
        # filterbank weights, ~1e-7 relative): the float32 residue above is rounding
        db64, _ = fbank(wav[None].double(), sample_rate=rate)
        mfcc64, _ = mfcc(wav[None].double(), sample_rate=rate)
        err64 = max(
            float(np.abs(db64[0].numpy().T - ref_db).max()),
            float(np.abs(mfcc64[0].numpy().T - ref).max()),
        )
        assert err64 <= 1e-5, f"float64 {name} @ {rate}: {err64}"
        parity(f"librosa float64 melspectrogram dB + mfcc {rate} Hz {name} (all)", err64)


CASES = [
    ({"mel_scale": "htk"}, {"htk": True}),
    ({"mel_norm": None}, {"mel_norm": None}),
    (
        {"frame_length": 512, "frame_shift": 128, "win_length": 400},
        {"n_fft": 512, "hop_length": 128, "win_length": 400},
    ),
    ({"center": False}, {"center": False}),
    ({"pad_mode": "reflect"}, {"pad_mode": "reflect"}),
    ({"n_mels": 40, "f_min": 60.0, "f_max": 7600.0}, {"n_mels": 40, "fmin": 60.0, "fmax": 7600.0}),
    ({"window": "hamming"}, {"window": "hamming"}),
    ({"power": 1.0}, {"power": 1.0}),
]


@pytest.mark.parametrize("ours,theirs", CASES, ids=[str(c[0]) for c in CASES])
def test_mfcc_options(ours: dict, theirs: dict, make_signals, parity) -> None:
    module = MFCC("librosa", sample_rate=16000, n_mfcc=13, lifter=22.0, **ours).eval()
    for name in ("speech", "odd"):
        wav = make_signals(16000)[name]
        ref = librosa.feature.mfcc(y=wav.numpy(), sr=16000, n_mfcc=13, lifter=22, **theirs)
        feats, _ = module(wav[None])
        err = float(np.abs(feats[0].numpy().T - ref).max())
        # the lifter scales cepstra (and their float32 rounding) by up to 12
        assert err <= 5 * TOL, f"{name}: {err}"
        parity(f"librosa mfcc {ours}", err)


def test_power_to_db_ref_amin_top_db() -> None:
    s = np.abs(np.random.default_rng(0).standard_normal((40, 30))) ** 3
    for kw in ({}, {"ref": 10.0, "amin": 1e-5, "top_db": 40.0}, {"top_db": None}):
        ref = librosa.power_to_db(s, **kw)
        ours = F.power_to_db(torch.from_numpy(s).T, **kw).T.numpy()
        assert np.abs(ours - ref).max() < 1e-9


def test_power_spectrogram_in_db(make_signals, parity) -> None:
    """Per-bin STFT power in float64 (in float32, bins 60 dB down hold FFT rounding noise)."""
    wav = make_signals(22050)["speech"].double()
    ref = librosa.power_to_db(np.abs(librosa.stft(wav.numpy())) ** 2)
    ours, _ = Spectrogram("librosa").eval()(wav[None])
    err = float(np.abs(ours[0].numpy().T - ref).max())
    assert err <= 1e-6
    parity("librosa stft power_to_db float64", err)


@pytest.mark.parametrize("order", [1, 2])
def test_delta_matches_librosa(order: int, make_signals, parity) -> None:
    feats, frames = MFCC("librosa", sample_rate=16000).eval()(make_signals(16000)["speech"][None])
    ref = librosa.feature.delta(feats[0].numpy().T, order=order)
    ours = F.delta(feats, frames, width=9, order=order)[0].numpy().T
    err = float(np.abs(ours - ref).max())
    assert err <= 1e-4
    parity(f"librosa delta order {order}", err)
    stacked = Deltas(order=2, style="librosa")(feats, frames)
    assert torch.equal(stacked[..., : feats.shape[-1]], feats)


def test_mel_filterbank_and_scales_match_librosa() -> None:
    for htk in (False, True):
        for norm in ("slaney", None):
            ref = librosa.filters.mel(
                sr=16000, n_fft=512, n_mels=40, fmin=30, fmax=7000, htk=htk, norm=norm
            )
            ours = F.mel_filterbank(
                512,
                40,
                16000,
                30.0,
                7000.0,
                scale="htk" if htk else "slaney",
                norm=norm,
                dtype=torch.float64,
            )
            assert np.abs(ours.numpy().T - ref).max() < 1e-6
    hz = np.array([0.0, 100.0, 999.0, 1000.0, 4000.0, 11025.0])
    for scale, htk in (("slaney", False), ("htk", True)):
        mel = F.hz_to_mel(torch.from_numpy(hz), scale).numpy()
        assert np.allclose(mel, librosa.hz_to_mel(hz, htk=htk))
        assert np.allclose(F.mel_to_hz(torch.from_numpy(mel), scale).numpy(), hz)
