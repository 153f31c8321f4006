"""The feature domain's exception."""

from __future__ import annotations


class FeatureError(ValueError):
    """Invalid feature input or configuration; the message names the offending argument or row.

    Raised for NaN/inf samples, a sample rate that does not match the configuration, lengths
    that do not fit the batch, unknown option values, and malformed statistics files (with the
    file and line).
    """
