"""The tokenizer interface shared by every tokenizer, and loading any saved tokenizer.

Every tokenizer maps text to a list of integer ids in ``[0, vocab_size)`` and back. CTC models
need a blank id; seqlab tokenizers reserve id 0 for it and id 1 for the unknown symbol, so
the same model code works with any of them.
"""

from __future__ import annotations

import json
import os
from abc import ABC, abstractmethod
from collections.abc import Iterable
from pathlib import Path
from typing import TypeVar

__all__ = ["Tokenizer", "TokenizerError", "load_tokenizer"]

T = TypeVar("T", bound="Tokenizer")


class TokenizerError(ValueError):
    """A tokenizer cannot be built, saved, loaded or applied; the message names the cause."""


class Tokenizer(ABC):
    """Text <-> ids. Subclasses: ``CharTokenizer``, ``WordTokenizer``, ``SentencePieceTokenizer``.

    Ids run from 0 to ``vocab_size - 1``; :attr:`tokens` lists the token of each id.
    """

    kind: str = ""  # name stored in saved files, used by :func:`load_tokenizer`

    # Set by every subclass's constructor: the token of each id, the blank id (None if there
    # is none) and the id that out-of-vocabulary input maps to.
    _tokens: list[str]
    _blank_id: int | None
    _unk_id: int

    @property
    def tokens(self) -> list[str]:
        """The token string of every id, ``tokens[i]`` for id ``i`` (a copy)."""
        return list(self._tokens)

    @property
    def blank_id(self) -> int | None:
        """Id of the CTC blank (0 for tokenizers built by seqlab), ``None`` if there is none."""
        return self._blank_id

    @property
    def unk_id(self) -> int:
        """Id that out-of-vocabulary input maps to."""
        return self._unk_id

    @abstractmethod
    def encode(self, text: str) -> list[int]:
        """Ids of ``text``; unknown pieces map to :attr:`unk_id`."""

    @abstractmethod
    def decode(self, ids: Iterable[int]) -> str:
        """Text of ``ids``; blank ids are skipped (CTC output may still hold them)."""

    @abstractmethod
    def save(self, path: str | os.PathLike) -> None:
        """Write the tokenizer to ``path`` atomically; :meth:`load` reads it back."""

    @property
    def vocab_size(self) -> int:
        """Number of ids, blank and unk included (the output size of a CTC model)."""
        return len(self._tokens)

    def id_to_token(self, index: int) -> str:
        """Token string of id ``index``."""
        if not 0 <= index < self.vocab_size:
            raise TokenizerError(f"id {index} out of range [0, {self.vocab_size})")
        return self._tokens[index]

    def token_to_id(self, token: str) -> int:
        """Id of a token string (:attr:`unk_id` if it is not in the vocabulary)."""
        return self._token_index().get(token, self.unk_id)

    def _token_index(self) -> dict[str, int]:
        index = self.__dict__.get("_token_index_cache")
        if index is None:
            index = {tok: i for i, tok in enumerate(self._tokens)}
            self.__dict__["_token_index_cache"] = index
        return index

    @classmethod
    def load(cls: type[T], path: str | os.PathLike) -> T:
        """Load a tokenizer saved by :meth:`save` (any kind through ``Tokenizer.load``)."""
        tokenizer = load_tokenizer(path)
        if not isinstance(tokenizer, cls):
            raise TokenizerError(
                f"{path}: holds a {type(tokenizer).__name__}, not a {cls.__name__}"
            )
        return tokenizer

    def _check_ids(self, ids: Iterable[int]) -> list[int]:
        ids = [int(i) for i in ids]
        bad = [i for i in ids if not 0 <= i < self.vocab_size]
        if bad:
            raise TokenizerError(f"ids {bad[:5]} out of range [0, {self.vocab_size})")
        return ids


def load_tokenizer(path: str | os.PathLike) -> Tokenizer:
    """Load any saved tokenizer: seqlab JSON files (char, word) or sentencepiece ``.model``."""
    from seqlab.text.char import CharTokenizer
    from seqlab.text.spm import SentencePieceTokenizer
    from seqlab.text.word import WordTokenizer

    path = Path(path)
    try:
        data = path.read_bytes()
    except OSError as e:
        raise TokenizerError(f"{path}: cannot read tokenizer ({e.strerror or e})") from e
    if not data.lstrip().startswith(b"{"):
        return SentencePieceTokenizer.load_model(path)
    try:
        state = json.loads(data.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as e:
        raise TokenizerError(f"{path}: not a valid tokenizer JSON file ({e})") from e
    kinds = {c.kind: c for c in (CharTokenizer, WordTokenizer)}
    kind = state.get("kind") if isinstance(state, dict) else None
    if kind not in kinds:
        raise TokenizerError(
            f"{path}: unknown tokenizer kind {kind!r}; expected one of {sorted(kinds)}"
        )
    return kinds[kind].from_state(state, source=str(path))
