"""Smoothing of n-gram counts into an interpolated model, and its exact backoff (ARPA) form.

Every method yields an :class:`Estimate`: for each counted n-gram ``(h, w)`` its full
probability ``p(w | h)``, and for each context ``h`` the weight ``gamma(h)`` of the lower-order
distribution, such that for every ``w`` not counted after ``h``: ``p(w | h) = gamma(h) p(w | h')``
(``h'`` = ``h`` without its first word). That is exactly an ARPA backoff model, with
``backoff(h) = gamma(h)``.

Conventions shared by all methods (those of KenLM and SRILM): ``<s>`` is a context only and is
never predicted, so it is left out of the predicted vocabulary ``V' = V - 1`` (which includes
``<unk>`` and ``</s>``), and its unigram probability is 0 (written -99). Unigram
distributions sum to 1 over ``V'``; every context's distribution sums to 1 over ``V'``.

- ``mle``: ``c(h w) / c(h)``; unseen words get probability 0 (backoff weight 0, written -99).
- ``add-k`` (Lidstone, ``k = 1`` is Laplace): ``(c(h w) + k) / (c(h) + k |V'|)`` for counted
  n-grams and all unigrams; the mass left for words unseen after ``h`` is spread in proportion
  to the lower order through the backoff weight, as SRILM's ``-addsmooth`` does. This is an
  approximation: true add-k gives every unseen word ``k / (c(h) + k |V'|)``, which a backoff
  model cannot express.
- ``witten-bell`` (interpolated): ``p(w|h) = (c(h w) + N1+(h .) p(w|h')) / (c(h) + N1+(h .))``
  with raw counts at every order; unigrams interpolate with the uniform distribution over
  ``V'`` (so ``<unk>`` gets mass).
- ``kneser-ney``: see :mod:`seqlab.lm.kneser_ney`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from seqlab.lm.counting import NGramCounts, OrderCounts
from seqlab.lm.errors import LMError
from seqlab.lm.tables import LOG_ZERO, NGramTables, OrderTable
from seqlab.lm.vocab import BOS_ID

SMOOTHINGS = ("mle", "laplace", "add-k", "witten-bell", "kneser-ney")


@dataclass(frozen=True)
class Estimate:
    """A smoothed model in linear probabilities, aligned with the rows of :class:`NGramCounts`.

    Attributes:
        prob: per order k, float64 ``(M_k,)`` full probability ``p(w | h)`` of each k-gram
            (order 1: every vocabulary id, ``<s>`` = 0).
        gamma: per order k, float64 ``(M_k,)`` lower-order weight of each k-gram used as a
            context (1 for the highest order and for n-grams that are no context).
        discounts: Kneser-Ney ``(D1, D2, D3+)`` per order, else ``None``.
    """

    prob: list[np.ndarray]
    gamma: list[np.ndarray]
    discounts: list[tuple[float, float, float]] | None = None


def context_totals(oc: OrderCounts, num_contexts: int, values: np.ndarray) -> np.ndarray:
    """Sum ``values`` (aligned with the rows of ``oc``) per context row: float64 ``(num_contexts,)``."""
    return np.bincount(oc.context, weights=values, minlength=num_contexts)


def predicted_size(vocab_size: int) -> int:
    """``|V'|``: vocabulary size without ``<s>``."""
    return vocab_size - 1


def _unigram_mask(vocab_size: int) -> np.ndarray:
    mask = np.ones(vocab_size, dtype=bool)
    mask[BOS_ID] = False
    return mask


def backoff_gamma(oc: OrderCounts, prob: np.ndarray, lower_prob: np.ndarray) -> np.ndarray:
    """Backoff weights making each context's distribution sum to 1 (SRILM's computation).

    ``gamma(h) = (1 - sum_w p(w|h)) / (1 - sum_w p(w|h'))``, sums over the words counted
    after ``h``. Returns float64 ``(len(lower_prob),)``; 1 for rows that are no context and 0
    where no mass is left.
    """
    n = len(lower_prob)
    num = 1.0 - context_totals(oc, n, prob)
    den = 1.0 - context_totals(oc, n, lower_prob[oc.suffix])
    num = np.maximum(num, 0.0)
    return np.where(den > 1e-12, num / np.where(den > 1e-12, den, 1.0), 0.0)


def mle(counts: NGramCounts) -> Estimate:
    """Maximum-likelihood estimate in backoff form (see module docstring)."""
    orders = counts.orders
    mask = _unigram_mask(len(counts.vocab))
    c1 = orders[0].count.astype(np.float64) * mask
    prob = [c1 / c1.sum()]
    gamma: list[np.ndarray] = []
    for k in range(2, counts.order + 1):
        oc = orders[k - 1]
        total = context_totals(oc, len(prob[-1]), oc.count.astype(np.float64))
        p = oc.count / total[oc.context]
        gamma.append(backoff_gamma(oc, p, prob[-1]))
        prob.append(p)
    gamma.append(np.ones(len(prob[-1])))
    return Estimate(prob=prob, gamma=gamma)


def add_k(counts: NGramCounts, k: float = 1.0) -> Estimate:
    """Lidstone (add-``k``) estimate in backoff form; ``k = 1`` is Laplace (add-one)."""
    if not k > 0:
        raise LMError(f"add-k needs k > 0, got {k}")
    orders = counts.orders
    size = predicted_size(len(counts.vocab))
    mask = _unigram_mask(len(counts.vocab))
    c1 = orders[0].count.astype(np.float64)
    p1 = np.where(mask, (c1 + k) / (c1[mask].sum() + k * size), 0.0)
    prob = [p1]
    gamma: list[np.ndarray] = []
    for order in range(2, counts.order + 1):
        oc = orders[order - 1]
        total = context_totals(oc, len(prob[-1]), oc.count.astype(np.float64))
        p = (oc.count + k) / (total[oc.context] + k * size)
        gamma.append(backoff_gamma(oc, p, prob[-1]))
        prob.append(p)
    gamma.append(np.ones(len(prob[-1])))
    return Estimate(prob=prob, gamma=gamma)


def witten_bell(counts: NGramCounts) -> Estimate:
    """Interpolated Witten-Bell estimate (exact in backoff form)."""
    orders = counts.orders
    size = predicted_size(len(counts.vocab))
    mask = _unigram_mask(len(counts.vocab))
    c1 = orders[0].count.astype(np.float64) * mask
    types = float(np.count_nonzero(c1))
    p1 = np.where(mask, (c1 + types / size) / (c1.sum() + types), 0.0)
    prob = [p1]
    gamma: list[np.ndarray] = []
    for k in range(2, counts.order + 1):
        oc = orders[k - 1]
        n = len(prob[-1])
        total = context_totals(oc, n, oc.count.astype(np.float64))
        followers = np.bincount(oc.context, minlength=n).astype(np.float64)
        denom = total + followers
        g = np.where(denom > 0, followers / np.where(denom > 0, denom, 1.0), 1.0)
        p = (oc.count + followers[oc.context] * prob[-1][oc.suffix]) / denom[oc.context]
        gamma.append(g)
        prob.append(p)
    gamma.append(np.ones(len(prob[-1])))
    return Estimate(prob=prob, gamma=gamma)


def normalize_prune(prune: Sequence[int], order: int) -> list[int]:
    """Per-order count thresholds (an n-gram with count <= threshold is pruned).

    A shorter list repeats its last value for the higher orders (as lmplz's ``--prune``);
    unigrams cannot be pruned (use a vocabulary limit instead).
    """
    thresholds = [int(t) for t in prune] or [0]
    if any(t < 0 for t in thresholds):
        raise LMError(f"prune thresholds must be >= 0, got {list(prune)}")
    if thresholds[0] != 0:
        raise LMError(
            "unigrams cannot be pruned (first --prune value must be 0); limit the vocabulary"
        )
    if len(thresholds) > order:
        raise LMError(f"{len(thresholds)} prune thresholds for an order-{order} model")
    if any(b < a for a, b in zip(thresholds, thresholds[1:])):
        raise LMError(f"prune thresholds must not decrease with the order, got {thresholds}")
    return thresholds + [thresholds[-1]] * (order - len(thresholds))


def _log10(x: np.ndarray) -> np.ndarray:
    with np.errstate(divide="ignore", invalid="ignore"):
        out = np.log10(x)
    return np.where(x > 0, out, LOG_ZERO)


def to_tables(counts: NGramCounts, est: Estimate, prune: Sequence[int] = ()) -> NGramTables:
    """Write an estimate in ARPA backoff form, dropping n-grams at or under the count thresholds.

    A pruned n-gram ``(h, w)`` gets ``backoff(h) p(w | h')`` and ``backoff(h)`` is recomputed
    so that ``h``'s distribution still sums to 1: ``gamma(h) + sum_pruned alpha / (1 -
    sum_kept p(w | h'))``, ``alpha = p(w|h) - gamma(h) p(w|h')``. An n-gram whose prefix or
    suffix is pruned is pruned too, so the tables stay closed.
    """
    orders = counts.orders
    thresholds = normalize_prune(prune, counts.order)
    keep = [np.ones(len(orders[0]), dtype=bool)]
    for k in range(2, counts.order + 1):
        oc = orders[k - 1]
        keep.append((oc.count > thresholds[k - 1]) & keep[-1][oc.context] & keep[-1][oc.suffix])
    gamma = [g.copy() for g in est.gamma]
    for k in range(1, counts.order):
        child = orders[k]
        pruned = ~keep[k]
        if not pruned.any():
            continue
        lower = est.prob[k - 1][child.suffix]
        alpha = est.prob[k] - gamma[k - 1][child.context] * lower
        n = len(orders[k - 1])
        extra = np.bincount(child.context[pruned], weights=alpha[pruned], minlength=n)
        kept_lower = np.bincount(child.context[keep[k]], weights=lower[keep[k]], minlength=n)
        left = np.maximum(1.0 - kept_lower, 1e-300)
        gamma[k - 1] = np.maximum(gamma[k - 1] + extra / left, 0.0)
    tables: list[OrderTable] = []
    remap = np.arange(len(orders[0]), dtype=np.int64)
    for k in range(1, counts.order + 1):
        oc, kp = orders[k - 1], keep[k - 1]
        logprob = _log10(est.prob[k - 1][kp])
        if k == 1:
            logprob[BOS_ID] = LOG_ZERO
        is_context = np.zeros(len(oc), dtype=bool)
        if k < counts.order:
            is_context[orders[k].context[keep[k]]] = True
        logbackoff = np.where(is_context, _log10(gamma[k - 1]), 0.0)[kp]
        context = remap[oc.context[kp]] if k > 1 else oc.context
        tables.append(OrderTable(context, oc.word[kp], logprob, logbackoff))
        remap = np.cumsum(kp, dtype=np.int64) - 1
    return NGramTables(vocab=counts.vocab, orders=tables)
