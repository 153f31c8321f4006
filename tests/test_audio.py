"""seqlab.audio: decoding wav/flac at several rates, resampling, errors naming the file."""

from __future__ import annotations

import wave

import librosa
import numpy as np
import pytest
import soundfile
import torch

from seqlab.audio import AudioError, audio_info, load_audio, read_wav_scp, resample, save_audio

RATES = [8000, 16000, 22050, 44100]
PCM16_STEP = 1 / 32768


def tone(rate: int, seconds: float = 0.25, freq: float = 440.0, channels: int = 1) -> np.ndarray:
    """``(N,)`` or ``(N, C)`` float64 sine (channel c at ``freq * (c + 1)``), amplitude 0.5."""
    t = np.arange(int(rate * seconds)) / rate
    waves = [0.5 * np.sin(2 * np.pi * freq * (c + 1) * t) for c in range(channels)]
    return waves[0] if channels == 1 else np.stack(waves, axis=1)


def peak_frequency(signal: np.ndarray, rate: int) -> float:
    spectrum = np.abs(np.fft.rfft(signal * np.hanning(len(signal))))
    return float(np.fft.rfftfreq(len(signal), 1 / rate)[spectrum.argmax()])


@pytest.mark.parametrize("rate", RATES)
@pytest.mark.parametrize("fmt", ["wav", "flac"])
@pytest.mark.parametrize("channels", [1, 2])
def test_load_wav_and_flac(tmp_path, rate, fmt, channels):
    data = tone(rate, channels=channels)
    path = tmp_path / f"x.{fmt}"
    soundfile.write(path, data, rate, subtype="PCM_16")
    wav, sr = load_audio(path, mono=False)
    assert sr == rate and wav.dtype == torch.float32
    assert wav.shape == (channels, len(data))
    expected = data.T.reshape(channels, -1)
    np.testing.assert_allclose(wav.numpy(), expected, atol=PCM16_STEP)
    mono, _ = load_audio(path)
    assert mono.shape == (len(data),)
    np.testing.assert_allclose(mono.numpy(), expected.mean(axis=0), atol=PCM16_STEP)
    assert audio_info(path) == (rate, len(data), channels)


def test_wav_matches_stdlib_decoder(tmp_path):
    # Independent decoder: integers written and read back with the stdlib wave module.
    samples = (tone(16000) * 32767).astype("<i2")
    path = tmp_path / "std.wav"
    with wave.open(str(path), "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(16000)
        w.writeframes(samples.tobytes())
    wav, sr = load_audio(path)
    assert sr == 16000
    np.testing.assert_array_equal(wav.numpy(), samples.astype(np.float32) / 32768)


@pytest.mark.parametrize(("orig", "new"), [(44100, 16000), (8000, 16000), (22050, 8000)])
def test_resampling_keeps_tone_and_matches_librosa(tmp_path, orig, new):
    path = tmp_path / "t.flac"
    soundfile.write(path, tone(orig, seconds=1.0, freq=1000.0), orig, subtype="PCM_24")
    wav, sr = load_audio(path, sample_rate=new)
    assert sr == new
    assert abs(len(wav) - new) <= 1  # one second of audio
    assert abs(peak_frequency(wav.numpy(), new) - 1000.0) <= 1.0
    reference = librosa.resample(tone(orig, seconds=1.0, freq=1000.0), orig_sr=orig, target_sr=new)
    inner = slice(new // 20, -new // 20)  # edges differ with the filters' padding
    np.testing.assert_allclose(wav.numpy()[inner], reference[: len(wav)][inner], atol=2e-3)


def test_resample_function_shapes_and_identity():
    x = torch.randn(2, 16000)
    assert resample(x, 16000, 16000) is x
    assert resample(x, 16000, 8000).shape == (2, 8000)
    with pytest.raises(ValueError, match="positive"):
        resample(x, 0, 16000)


def test_save_audio_round_trip(tmp_path):
    x = torch.from_numpy(tone(16000, channels=2).T.astype(np.float32))
    path = tmp_path / "out.flac"
    save_audio(path, x, 16000)
    y, sr = load_audio(path, mono=False)
    assert sr == 16000
    torch.testing.assert_close(y, x, atol=PCM16_STEP, rtol=0)


def test_unreadable_files_raise_audio_error_naming_the_file(tmp_path):
    with pytest.raises(AudioError, match="missing.wav: no such audio file"):
        load_audio(tmp_path / "missing.wav")
    empty = tmp_path / "empty.wav"
    empty.write_bytes(b"")
    with pytest.raises(AudioError, match="empty.wav: audio file is empty"):
        load_audio(empty)
    corrupt = tmp_path / "corrupt.wav"
    corrupt.write_bytes(b"RIFF\x24\x00\x00\x00WAVEfmt garbage" + bytes(64))
    with pytest.raises(AudioError, match="corrupt.wav"):
        load_audio(corrupt)
    text = tmp_path / "notes.mp4"
    text.write_text("this is not audio at all")
    with pytest.raises(AudioError, match="notes.mp4"):
        load_audio(text)
    with pytest.raises(AudioError, match="is a directory"):
        load_audio(tmp_path)
    no_samples = tmp_path / "zero.wav"
    soundfile.write(no_samples, np.zeros(0), 16000)
    with pytest.raises(AudioError, match="zero.wav: audio file holds no samples"):
        load_audio(no_samples)
    nan = tmp_path / "nan.wav"
    soundfile.write(nan, np.array([0.0, np.nan, 0.1]), 16000, subtype="FLOAT")
    with pytest.raises(AudioError, match="nan.wav: audio holds NaN"):
        load_audio(nan)
    assert issubclass(AudioError, OSError)


def test_read_wav_scp(tmp_path):
    scp = tmp_path / "wav.scp"
    scp.write_text("utt1 /data/a.wav\nutt2 rel/b.flac\n", encoding="utf-8")
    assert read_wav_scp(scp) == {"utt1": "/data/a.wav", "utt2": "rel/b.flac"}
    piped = tmp_path / "piped.scp"
    piped.write_text("utt1 /data/a.wav\nutt2 sox b.wav -t wav - |\n", encoding="utf-8")
    with pytest.raises(AudioError, match=r"piped.scp: entry 'utt2' is a piped command"):
        read_wav_scp(piped)
    ark = tmp_path / "ark.scp"
    ark.write_text("utt1 feats.ark:1234\n", encoding="utf-8")
    with pytest.raises(AudioError, match="ark.scp: entry 'utt1' points into a Kaldi archive"):
        read_wav_scp(ark)
    bare = tmp_path / "bare.scp"
    bare.write_text("utt1\n", encoding="utf-8")
    with pytest.raises(AudioError, match="bare.scp: entry 'utt1' has no audio path"):
        read_wav_scp(bare)
