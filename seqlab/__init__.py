"""seqlab: sequence recognition toolkit for speech (ASR) and text (OCR) in PyTorch.

The package mirrors the pipeline: ``audio`` -> ``features`` -> ``models`` -> ``losses`` /
``decoding`` -> ``text`` -> ``metrics``, with ``lm`` (n-gram language models), ``data`` and
``training`` beside it. Lower layers never import higher ones.
"""

__version__ = "0.1.0"
