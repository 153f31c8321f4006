"""Subword tokenizer backed by the sentencepiece library (BPE or unigram models).

Id layout of models trained here: ``0`` the CTC blank (sentencepiece's padding piece, named
``<blank>``), ``1`` ``<unk>``, then user-defined symbols, then the learned pieces. There is no
BOS/EOS (CTC does not use them; attention decoders add their own). Models trained elsewhere
load too; their blank is their ``pad`` piece if they have one, else ``blank_id`` is ``None``.
"""

from __future__ import annotations

import io
import os
from collections.abc import Iterable, Iterator
from pathlib import Path

import sentencepiece

from seqlab.io import atomic_write
from seqlab.text.base import Tokenizer, TokenizerError

__all__ = ["SentencePieceTokenizer"]

MODEL_TYPES = ("bpe", "unigram", "char", "word")


class SentencePieceTokenizer(Tokenizer):
    """Wrap a trained ``sentencepiece`` model (serialized proto bytes).

    >>> tok = SentencePieceTokenizer.train(["the cat sat on the mat"] * 50, vocab_size=20)
    >>> tok.decode(tok.encode("the cat"))
    'the cat'
    """

    kind = "sentencepiece"

    def __init__(self, model_proto: bytes, source: str = "<memory>"):
        self._proto = bytes(model_proto)
        self._sp = sentencepiece.SentencePieceProcessor()
        try:
            self._sp.LoadFromSerializedProto(self._proto)
        except (RuntimeError, OSError) as e:
            raise TokenizerError(f"{source}: not a sentencepiece model ({e})") from e
        self._tokens = [self._sp.IdToPiece(i) for i in range(self._sp.GetPieceSize())]
        pad = self._sp.pad_id()
        self._blank_id = pad if pad >= 0 else None
        self._unk_id = self._sp.unk_id()

    @classmethod
    def train(
        cls,
        texts_or_file: str | os.PathLike | Iterable[str],
        vocab_size: int,
        model_type: str = "bpe",
        character_coverage: float = 1.0,
        user_defined_symbols: Iterable[str] = (),
        blank: str = "<blank>",
        unk: str = "<unk>",
        num_threads: int = 1,
        **options: object,
    ) -> SentencePieceTokenizer:
        """Train a model on a text file (one sentence per line) or an iterable of strings.

        Args:
            texts_or_file: a path, or the training sentences themselves.
            vocab_size: total number of ids, blank and unk included.
            model_type: ``"bpe"`` or ``"unigram"`` (``"char"``/``"word"`` also accepted).
            character_coverage: fraction of characters covered (1.0 for small alphabets).
            user_defined_symbols: pieces that are never split (ids right after unk).
            blank, unk: names of the pieces with ids 0 and 1.
            num_threads: trainer threads (1 keeps training deterministic).
            options: any other ``sentencepiece`` trainer option, e.g. ``max_sentence_length``.

        The model is trained in memory; call :meth:`save` to write it.
        """
        if model_type not in MODEL_TYPES:
            raise TokenizerError(f"model_type must be one of {MODEL_TYPES}, got {model_type!r}")
        source: dict[str, object]
        if isinstance(texts_or_file, (str, os.PathLike)):
            path = Path(texts_or_file)
            if not path.is_file():
                raise TokenizerError(f"{path}: no such training text file")
            source = {"input": str(path)}
            name = str(path)
        else:
            source = {"sentence_iterator": _non_empty(texts_or_file)}
            name = "<iterator>"
        model = io.BytesIO()
        try:
            sentencepiece.SentencePieceTrainer.train(
                **source,
                model_writer=model,
                vocab_size=vocab_size,
                model_type=model_type,
                character_coverage=character_coverage,
                user_defined_symbols=list(user_defined_symbols),
                pad_id=0,
                pad_piece=blank,
                unk_id=1,
                unk_piece=unk,
                bos_id=-1,
                eos_id=-1,
                num_threads=num_threads,
                minloglevel=2,
                **options,
            )
        except RuntimeError as e:
            raise TokenizerError(f"sentencepiece training on {name} failed: {e}") from e
        return cls(model.getvalue(), source=name)

    @classmethod
    def load_model(cls, path: str | os.PathLike) -> SentencePieceTokenizer:
        """Read a ``.model`` file (written by :meth:`save` or by ``spm_train``)."""
        try:
            data = Path(path).read_bytes()
        except OSError as e:
            raise TokenizerError(
                f"{path}: cannot read sentencepiece model ({e.strerror or e})"
            ) from e
        return cls(data, source=str(path))

    def save(self, path: str | os.PathLike) -> None:
        with atomic_write(path, "wb") as f:
            f.write(self._proto)

    @property
    def processor(self) -> sentencepiece.SentencePieceProcessor:
        """The underlying ``SentencePieceProcessor`` (sampling, n-best...)."""
        return self._sp

    def encode(self, text: str) -> list[int]:
        return self._sp.EncodeAsIds(text)

    def decode(self, ids: Iterable[int]) -> str:
        blank = self._blank_id
        return self._sp.DecodeIds([i for i in self._check_ids(ids) if i != blank])

    def __eq__(self, other: object) -> bool:
        return isinstance(other, SentencePieceTokenizer) and other._proto == self._proto

    def __repr__(self) -> str:
        return f"SentencePieceTokenizer(vocab_size={self.vocab_size})"


def _non_empty(texts: Iterable[str]) -> Iterator[str]:
    """Sentences for the trainer; empty lines are skipped (sentencepiece rejects them)."""
    for text in texts:
        if not isinstance(text, str):
            raise TokenizerError(f"training sentences must be str, got {type(text).__name__}")
        if text.strip():
            yield text
