"""Text side of the pipeline: tokenizers (char, word, sentencepiece) and normalization.

All tokenizers share :class:`Tokenizer` (``encode``, ``decode``, ``vocab_size``, ``blank_id``,
``unk_id``, ``save``, ``load``); :func:`load_tokenizer` reads any saved one.
"""

from seqlab.text.base import Tokenizer, TokenizerError, load_tokenizer
from seqlab.text.char import CharTokenizer
from seqlab.text.normalize import NormalizationOptions, normalize
from seqlab.text.spm import SentencePieceTokenizer
from seqlab.text.word import WordTokenizer

__all__ = [
    "CharTokenizer",
    "NormalizationOptions",
    "SentencePieceTokenizer",
    "Tokenizer",
    "TokenizerError",
    "WordTokenizer",
    "load_tokenizer",
    "normalize",
]
