"""N-gram language models: counting, smoothing, ARPA I/O and KenLM-compatible scoring.

>>> from seqlab.lm import TrainConfig, train_lm, write_arpa, load_arpa
>>> lm = train_lm(["a b c", "a c b"], TrainConfig(order=2, smoothing="witten-bell"))
>>> lm.order
2
"""

from seqlab.lm.arpa import read_arpa, write_arpa
from seqlab.lm.counting import NGramCounts, count_ngrams, encode_corpus
from seqlab.lm.errors import ArpaFormatError, DiscountError, LMError
from seqlab.lm.estimate import TrainConfig, count_text, estimate_tables, smooth, train_lm
from seqlab.lm.kneser_ney import adjusted_counts, discounts_from_counts, kneser_ney
from seqlab.lm.model import BatchScores, NGramLM, Perplexity, State, load_arpa
from seqlab.lm.smoothing import SMOOTHINGS, Estimate, add_k, mle, to_tables, witten_bell
from seqlab.lm.tables import NGramTables, OrderTable
from seqlab.lm.units import UnitSplitter

__all__ = [
    "SMOOTHINGS",
    "ArpaFormatError",
    "BatchScores",
    "DiscountError",
    "Estimate",
    "LMError",
    "NGramCounts",
    "NGramLM",
    "NGramTables",
    "OrderTable",
    "Perplexity",
    "State",
    "TrainConfig",
    "UnitSplitter",
    "add_k",
    "adjusted_counts",
    "count_ngrams",
    "count_text",
    "discounts_from_counts",
    "encode_corpus",
    "estimate_tables",
    "kneser_ney",
    "load_arpa",
    "mle",
    "read_arpa",
    "smooth",
    "to_tables",
    "train_lm",
    "witten_bell",
    "write_arpa",
]
