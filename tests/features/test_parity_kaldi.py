"""preset="kaldi" with dither 0 vs torchaudio.compliance.kaldi (log-domain max abs error).

Log-mel errors are measured over cells within 80 dB of each utterance's peak (see
``conftest.masked_log_error``); MFCCs mix every mel bin, so their parity uses the signals whose
log-mel range fits float32 (speech, noise, odd, silence) and a float64 run on all signals.
"""

from __future__ import annotations

import pytest
import torch
import torchaudio.compliance.kaldi as kaldi

from seqlab.features import MFCC, Fbank, Spectrogram

pytestmark = pytest.mark.usefixtures("cpu_path")

RATES = (8000, 16000, 22050, 44100)
TOL = 1e-3  # log domain (natural log), float32 end to end


def _ta(fn, wav: torch.Tensor, rate: int, **opts) -> torch.Tensor:
    """torchaudio's Kaldi features of the same samples, computed in float64 (the exact answer
    up to torchaudio's float32 mel weights)."""
    opts = {"dither": 0.0, "energy_floor": 0.0, "sample_frequency": rate, **opts}
    return fn(wav.double()[None] * 32768.0, **opts)


@pytest.mark.parametrize("rate", RATES)
@pytest.mark.parametrize("kind", ["fbank", "mfcc"])
def test_defaults_on_every_signal_and_rate(
    rate: int, kind: str, make_signals, parity, log_error
) -> None:
    module = (Fbank if kind == "fbank" else MFCC)("kaldi", dither=0.0, sample_rate=rate).eval()
    ref_fn = kaldi.fbank if kind == "fbank" else kaldi.mfcc
    ref_opts = {} if kind == "fbank" else {"use_energy": True}
    for name, wav in make_signals(rate).items():
        feats, frames = module(wav[None], sample_rate=rate)
        ref = _ta(ref_fn, wav, rate, **ref_opts)
        assert feats.shape[1:] == ref.shape and int(frames[0]) == ref.shape[0], name
        if kind == "fbank":
            err = log_error(feats[0], ref)
            tol = TOL
        elif name in ("chirp", "speech_dc"):
            continue  # float32 noise in far-below-peak mel bins spreads over all cepstra
        else:
            err = float((feats[0] - ref).abs().max())
            # cepstra sum ~23 log energies times a lifter up to 12: float32 rounding of that sum
            tol = 3 * TOL
        assert err <= tol, f"{name} @ {rate}: {err}"
        parity(f"kaldi {kind} {rate} Hz {name}", err)


@pytest.mark.parametrize("kind", ["fbank", "mfcc"])
def test_float64_on_every_signal(kind: str, make_signals, parity) -> None:
    """In float64 the algorithms agree on every signal (torchaudio's float32 mel weights bound it)."""
    module = (Fbank if kind == "fbank" else MFCC)("kaldi", dither=0.0).eval()
    ref_fn = kaldi.fbank if kind == "fbank" else kaldi.mfcc
    for name, wav in make_signals(16000).items():
        feats, _ = module(wav.double()[None])
        ref = _ta(ref_fn, wav, 16000, **({} if kind == "fbank" else {"use_energy": True}))
        err = float((feats[0] - ref).abs().max())
        # the chirp's far-below-peak mel bins feel torchaudio's float32 mel weights
        assert err <= (TOL if name != "chirp" else 2 * TOL), f"{name}: {err}"
        parity(f"kaldi {kind} float64 16000 Hz {name}", err)


OPTION_CASES = [
    ({"snip_edges": False}, {"snip_edges": False}),
    ({"window": "hamming"}, {"window_type": "hamming"}),
    ({"window": "hann"}, {"window_type": "hanning"}),
    ({"window": "blackman"}, {"window_type": "blackman"}),
    ({"window": "rectangular"}, {"window_type": "rectangular"}),
    ({"use_energy": True}, {"use_energy": True}),
    ({"use_energy": True, "raw_energy": False}, {"use_energy": True, "raw_energy": False}),
    ({"use_energy": True, "energy_floor": 1.0}, {"use_energy": True, "energy_floor": 1.0}),
    (
        {"n_mels": 40, "f_min": 100.0, "f_max": -400.0},
        {"num_mel_bins": 40, "low_freq": 100.0, "high_freq": -400.0},
    ),
    ({"n_mels": 80, "f_max": 7000.0}, {"num_mel_bins": 80, "high_freq": 7000.0}),
    ({"round_to_power_of_two": False}, {"round_to_power_of_two": False}),
    (
        {"preemphasis": 0.0, "remove_dc_offset": False},
        {"preemphasis_coefficient": 0.0, "remove_dc_offset": False},
    ),
    ({"power": 1.0}, {"use_power": False}),
    ({"frame_length": 32.0, "frame_shift": 12.5}, {"frame_length": 32.0, "frame_shift": 12.5}),
]


@pytest.mark.parametrize("ours,theirs", OPTION_CASES, ids=[str(c[0]) for c in OPTION_CASES])
def test_fbank_options(ours: dict, theirs: dict, make_signals, parity, log_error) -> None:
    module = Fbank("kaldi", dither=0.0, **ours).eval()
    for name in ("speech", "speech_dc", "odd"):
        wav = make_signals(16000)[name]
        feats, _ = module(wav[None])
        ref = _ta(kaldi.fbank, wav, 16000, **theirs)
        err = log_error(feats[0], ref)
        assert err <= TOL, f"{name}: {err}"
        parity(f"kaldi fbank {ours}", err)


@pytest.mark.parametrize(
    "ours,theirs",
    [
        ({"use_energy": False}, {"use_energy": False}),
        (
            {"lifter": 0.0, "n_mfcc": 23},
            {"cepstral_lifter": 0.0, "num_ceps": 23, "use_energy": True},
        ),
        (
            {"n_mels": 40, "n_mfcc": 20, "snip_edges": False},
            {"num_mel_bins": 40, "num_ceps": 20, "snip_edges": False, "use_energy": True},
        ),
    ],
)
def test_mfcc_options(ours: dict, theirs: dict, make_signals, parity) -> None:
    module = MFCC("kaldi", dither=0.0, **ours).eval()
    wav = make_signals(16000)["speech"]
    feats, _ = module(wav[None])
    ref = _ta(kaldi.mfcc, wav, 16000, **theirs)
    err = float((feats[0] - ref).abs().max())
    assert err <= 3 * TOL
    parity(f"kaldi mfcc {ours}", err)


def test_spectrogram_matches_compute_spectrogram_feats(make_signals, parity, log_error) -> None:
    module = Spectrogram("kaldi", dither=0.0).eval()
    for name in ("speech", "noise", "silence"):
        wav = make_signals(16000)[name]
        feats, _ = module(wav[None])
        ref = _ta(kaldi.spectrogram, wav, 16000)
        err = log_error(feats[0], ref)
        assert err <= TOL, name
        parity("kaldi spectrogram", err)


def test_input_scale_is_the_int16_range(make_signals) -> None:
    """Float audio with input_scale=1 is Kaldi on [-1, 1] samples: every log-mel shifts by ln(32768^2)."""
    wav = make_signals(16000)["noise"][None]
    scaled, _ = Fbank("kaldi", dither=0.0).eval()(wav)
    unit, _ = Fbank("kaldi", dither=0.0, input_scale=1.0).eval()(wav)
    shift = 2 * torch.log(torch.tensor(32768.0))
    assert torch.allclose(scaled - unit, shift.expand_as(unit), atol=1e-3)


def test_dither_follows_training_mode_and_generator(make_signals) -> None:
    wav = make_signals(16000)["silence"][None]
    module = Fbank("kaldi")
    assert module.training and module.config.dither == 1.0
    g1, g2 = torch.Generator().manual_seed(3), torch.Generator().manual_seed(3)
    a, _ = module(wav, generator=g1)
    b, _ = module(wav, generator=g2)
    assert torch.equal(a, b) and a.std() > 0.1  # dithered silence is not constant
    module.eval()
    c, _ = module(wav)
    ref = _ta(kaldi.fbank, wav[0], 16000)
    c2, _ = module(wav)
    assert torch.equal(c, c2) and float((c[0] - ref).abs().max()) <= TOL  # eval: no dither
