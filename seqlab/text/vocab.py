"""Shared mechanics of tokenizers with an explicit token list (characters, words).

Saved as UTF-8 JSON: ``{"kind": ..., "version": 1, "tokens": [...], <options>}``; the id of a
token is its position in ``tokens``.
"""

from __future__ import annotations

import json
import os
from collections import Counter
from collections.abc import Iterable
from typing import Any, TypeVar

from seqlab.io import atomic_write
from seqlab.text.base import Tokenizer, TokenizerError

__all__ = ["VocabTokenizer"]

V = TypeVar("V", bound="VocabTokenizer")
FORMAT_VERSION = 1


class VocabTokenizer(Tokenizer):
    """A tokenizer defined by its token list plus blank and unk symbols (present in the list)."""

    def __init__(self, tokens: Iterable[str], blank: str | None = "<blank>", unk: str = "<unk>"):
        self._tokens = list(tokens)
        if len(set(self._tokens)) != len(self._tokens):
            dupes = sorted(t for t, c in Counter(self._tokens).items() if c > 1)
            raise TokenizerError(f"duplicate tokens in vocabulary: {dupes[:5]}")
        index = {tok: i for i, tok in enumerate(self._tokens)}
        for name, symbol in (("blank", blank), ("unk", unk)):
            if symbol is not None and symbol not in index:
                raise TokenizerError(f"{name} symbol {symbol!r} is not in the vocabulary")
        self.blank, self.unk = blank, unk
        self._blank_id = None if blank is None else index[blank]
        self._unk_id = index[unk]
        self._index = index

    def _token_index(self) -> dict[str, int]:
        return self._index

    def options(self) -> dict[str, Any]:
        """Constructor keyword arguments besides ``tokens`` (saved with the vocabulary)."""
        return {"blank": self.blank, "unk": self.unk}

    def save(self, path: str | os.PathLike) -> None:
        state = {
            "kind": self.kind,
            "version": FORMAT_VERSION,
            **self.options(),
            "tokens": self._tokens,
        }
        with atomic_write(path) as f:
            json.dump(state, f, ensure_ascii=False, indent=1)
            f.write("\n")

    @classmethod
    def from_state(cls: type[V], state: dict[str, Any], source: str = "<state>") -> V:
        """Rebuild from the JSON dictionary written by :meth:`save`."""
        if state.get("version") != FORMAT_VERSION:
            raise TokenizerError(
                f"{source}: unsupported tokenizer format version {state.get('version')!r}"
            )
        options = {k: v for k, v in state.items() if k not in ("kind", "version", "tokens")}
        try:
            return cls(state["tokens"], **options)
        except TokenizerError as e:  # e.g. duplicate tokens, a special symbol missing
            raise TokenizerError(f"{source}: {e}") from e
        except (KeyError, TypeError) as e:
            raise TokenizerError(f"{source}: malformed {cls.kind} tokenizer file ({e})") from e

    def __eq__(self, other: object) -> bool:
        return type(other) is type(self) and (self._tokens, self.options()) == (
            other._tokens,  # type: ignore[attr-defined]
            other.options(),  # type: ignore[attr-defined]
        )

    def __repr__(self) -> str:
        return f"{type(self).__name__}(vocab_size={self.vocab_size}, {self.options()})"


def specials_first(blank: str | None, unk: str, *others: str | None) -> list[str]:
    """The special symbols in id order (blank 0, unk 1, then ``others``), skipping ``None``."""
    out: list[str] = []
    for symbol in (blank, unk, *others):
        if symbol is not None and symbol not in out:
            out.append(symbol)
    return out
