"""Offline speech synthesis with eSpeak NG (through the ``espeakng_loader`` wheel), for tests,
demos and tiny corpora that need real speech-like audio without a network.

eSpeak NG is driven directly with ``ctypes``: initialized once per process in synchronous mode
(audio delivered to a callback), every call serialized by a lock, so :func:`synthesize` is safe
to call many times from any thread.

Determinism: eSpeak's pitch flutter and roughness generators keep state across calls, so the
same text would come out slightly different on each call. seqlab therefore runs eSpeak on an
overlay of the bundled data (symlinks in a temporary directory) that adds one voice variant,
``seqlab`` (``flutter 0``, ``roughness 0``), and uses it whenever ``voice`` names no variant:
the same arguments then give the same samples. A voice with an explicit variant
(``en-us+f3``) is used as given and may vary from call to call.

>>> wav = synthesize("hello world", sample_rate=16000)   # float32 (N,), in [-1, 1]
"""

from __future__ import annotations

import atexit
import ctypes
import os
import shutil
import tempfile
import threading

import numpy as np
import torch

from seqlab.audio import resample

__all__ = ["SynthesisError", "NATIVE_RATE", "synthesize", "list_voices"]

NATIVE_RATE = 22050  # eSpeak NG's output rate in Hz
_AUDIO_OUTPUT_SYNCHRONOUS = 2
_INITIALIZE_DONT_EXIT = 0x8000
_CHARS_UTF8 = 1
_POS_CHARACTER = 1
_RATE, _PITCH = 1, 3  # espeak_PARAMETER values
_SEED = 1
_VARIANT = "seqlab"
_VARIANT_TEXT = "language variant\nname seqlab\nflutter 0\nroughness 0\n"
_CALLBACK = ctypes.CFUNCTYPE(
    ctypes.c_int, ctypes.POINTER(ctypes.c_short), ctypes.c_int, ctypes.c_void_p
)

_lock = threading.Lock()
_state: dict[str, object] = {}


class SynthesisError(RuntimeError):
    """eSpeak NG is unavailable or rejected the request (the message says which argument)."""


def _library() -> ctypes.CDLL:
    """Load and initialize libespeak-ng once; the caller holds ``_lock``."""
    if "lib" in _state:
        return _state["lib"]  # type: ignore[return-value]
    try:
        import espeakng_loader
    except ImportError as e:  # pragma: no cover - depends on the environment
        raise SynthesisError(
            "speech synthesis needs the 'espeakng-loader' package (pip install espeakng-loader)"
        ) from e
    lib = ctypes.CDLL(espeakng_loader.get_library_path())
    lib.espeak_Initialize.restype = ctypes.c_int
    lib.espeak_Initialize.argtypes = [ctypes.c_int, ctypes.c_int, ctypes.c_char_p, ctypes.c_int]
    lib.espeak_SetSynthCallback.argtypes = [_CALLBACK]
    lib.espeak_SetVoiceByName.argtypes = [ctypes.c_char_p]
    lib.espeak_SetVoiceByName.restype = ctypes.c_int
    lib.espeak_SetParameter.argtypes = [ctypes.c_int, ctypes.c_int, ctypes.c_int]
    lib.espeak_SetParameter.restype = ctypes.c_int
    lib.espeak_Synth.argtypes = [
        ctypes.c_void_p,
        ctypes.c_size_t,
        ctypes.c_uint,
        ctypes.c_int,
        ctypes.c_uint,
        ctypes.c_uint,
        ctypes.c_void_p,
        ctypes.c_void_p,
    ]
    lib.espeak_Synth.restype = ctypes.c_int
    lib.espeak_Synchronize.restype = ctypes.c_int
    lib.espeak_ng_SetRandSeed.argtypes = [ctypes.c_long]
    data = _overlay(espeakng_loader.get_data_path()).encode()
    rate = lib.espeak_Initialize(_AUDIO_OUTPUT_SYNCHRONOUS, 0, data, _INITIALIZE_DONT_EXIT)
    if rate <= 0:
        raise SynthesisError(
            f"espeak_Initialize failed (returned {rate}) with data at {data.decode()}"
        )
    chunks: list[np.ndarray] = []

    def on_audio(wav: ctypes.POINTER(ctypes.c_short), count: int, events: ctypes.c_void_p) -> int:
        if wav and count > 0:
            chunks.append(np.ctypeslib.as_array(wav, shape=(count,)).copy())
        return 0  # continue synthesis

    callback = _CALLBACK(on_audio)
    lib.espeak_SetSynthCallback(callback)
    _state.update(lib=lib, rate=rate, chunks=chunks, callback=callback)  # keep the callback alive
    return lib


def _overlay(data: str) -> str:
    """A temporary ``espeak-ng-data`` of symlinks to ``data`` plus the steady ``seqlab`` variant."""
    root = tempfile.mkdtemp(prefix="seqlab-espeak-")
    atexit.register(shutil.rmtree, root, True)
    target = os.path.join(root, "espeak-ng-data")
    voices = os.path.join(target, "voices")
    variants = os.path.join(voices, "!v")
    os.makedirs(variants)
    for name in os.listdir(data):
        if name != "voices":
            os.symlink(os.path.join(data, name), os.path.join(target, name))
    for name in os.listdir(os.path.join(data, "voices")):
        if name != "!v":
            os.symlink(os.path.join(data, "voices", name), os.path.join(voices, name))
    shipped = os.path.join(data, "voices", "!v")
    for name in os.listdir(shipped) if os.path.isdir(shipped) else []:
        os.symlink(os.path.join(shipped, name), os.path.join(variants, name))
    with open(os.path.join(variants, _VARIANT), "w", encoding="utf-8") as f:
        f.write(_VARIANT_TEXT)
    return target


def synthesize(
    text: str,
    voice: str = "en-us",
    rate_wpm: int = 160,
    pitch: int = 50,
    sample_rate: int = 16000,
) -> torch.Tensor:
    """Speak ``text`` with eSpeak NG and return float32 samples ``(N,)`` in ``[-1, 1]``.

    Args:
        text: UTF-8 text (non-empty after stripping).
        voice: an eSpeak NG voice name such as ``en-us``, ``en``, ``de``, ``fr``; without a
            ``+variant`` the deterministic ``seqlab`` variant is added.
        rate_wpm: speaking rate in words per minute (eSpeak accepts 80-450).
        pitch: base pitch 0-100.
        sample_rate: output rate in Hz; eSpeak renders at 22050 Hz and the audio is resampled
            with :func:`seqlab.audio.resample`.

    Raises:
        SynthesisError: empty text, unknown voice, out-of-range rate/pitch, or a library failure.
    """
    if not text or not text.strip():
        raise SynthesisError("synthesize: text is empty")
    if not 80 <= rate_wpm <= 450:
        raise SynthesisError(f"synthesize: rate_wpm must be in [80, 450], got {rate_wpm}")
    if not 0 <= pitch <= 100:
        raise SynthesisError(f"synthesize: pitch must be in [0, 100], got {pitch}")
    if sample_rate <= 0:
        raise SynthesisError(f"synthesize: sample_rate must be positive, got {sample_rate}")
    encoded = text.encode("utf-8") + b"\0"
    with _lock:
        lib = _library()
        chunks: list[np.ndarray] = _state["chunks"]  # type: ignore[assignment]
        chunks.clear()
        name = voice if "+" in voice else f"{voice}+{_VARIANT}"
        if lib.espeak_SetVoiceByName(name.encode()) != 0:
            raise SynthesisError(f"synthesize: unknown eSpeak NG voice {voice!r}")
        lib.espeak_ng_SetRandSeed(_SEED)  # eSpeak's noise sources: same args, same samples
        lib.espeak_SetParameter(_RATE, int(rate_wpm), 0)
        lib.espeak_SetParameter(_PITCH, int(pitch), 0)
        status = lib.espeak_Synth(
            encoded, len(encoded), 0, _POS_CHARACTER, 0, _CHARS_UTF8, None, None
        )
        lib.espeak_Synchronize()
        if status != 0:
            raise SynthesisError(
                f"synthesize: espeak_Synth failed with status {status} for {text[:40]!r}"
            )
        audio = np.concatenate(chunks) if chunks else np.zeros(0, dtype=np.int16)
        chunks.clear()
        native = int(_state["rate"])  # type: ignore[arg-type]
    if audio.size == 0:
        raise SynthesisError(f"synthesize: eSpeak NG produced no audio for {text[:40]!r}")
    wav = torch.from_numpy(audio.astype(np.float32) / 32768.0)
    return resample(wav, native, sample_rate).contiguous()


def list_voices() -> list[str]:
    """Names of the voices shipped with the bundled eSpeak NG data (``voices/`` and ``lang/``)."""
    import os

    import espeakng_loader

    root = os.path.join(espeakng_loader.get_data_path(), "lang")
    names = []
    for _dirpath, _dirs, files in os.walk(root):
        names.extend(files)
    return sorted(names)
