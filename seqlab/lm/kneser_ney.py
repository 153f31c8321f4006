"""Interpolated modified Kneser-Ney smoothing with KenLM lmplz's conventions.

Adjusted counts ``a``: raw counts for the highest order and for n-grams starting with ``<s>``
(they have no left context); otherwise the continuation count ``N1+(. w1..wk)``, the number of
distinct words seen before the n-gram. The unigram ``<s>`` gets 0 (it is never predicted).

Discounts per order from the count-of-counts ``n1..n4`` of the adjusted counts (Chen &
Goodman eq. 26): ``Y = n1 / (n1 + 2 n2)``, ``D1 = 1 - 2 Y n2/n1``, ``D2 = 2 - 3 Y n3/n2``,
``D3+ = 3 - 4 Y n4/n3``. When a count-of-count is 0 or a discount falls outside ``[0, j]``
(tiny or artificial data) lmplz stops unless ``--discount_fallback``; seqlab uses the fallback
``(0.5, 1.0, 1.5)`` for that order (with a warning) unless ``fallback=None``.

Probabilities (``D(a) = D_min(a,3)``, ``D(0) = 0``)::

    u(w | h)  = (a(h w) - D(a(h w))) / sum_v a(h v)
    gamma(h)  = sum_v D(a(h v)) / sum_v a(h v)
    p(w | h)  = u(w | h) + gamma(h) p(w | h')        p(w) = u(w) + gamma() / |V'|

with ``|V'|`` the vocabulary without ``<s>`` (``<unk>`` included): like lmplz, ``<unk>`` (if
unseen) gets only its share of the uniform distribution, ``gamma() / |V'|``.
"""

from __future__ import annotations

import warnings

import numpy as np

from seqlab.lm.counting import NGramCounts
from seqlab.lm.errors import DiscountError
from seqlab.lm.smoothing import Estimate, context_totals, predicted_size
from seqlab.lm.vocab import BOS_ID

DEFAULT_FALLBACK = (0.5, 1.0, 1.5)


def adjusted_counts(counts: NGramCounts) -> list[np.ndarray]:
    """KenLM's adjusted counts per order: int64 arrays aligned with ``counts.orders``."""
    orders = counts.orders
    first = orders[0].word  # first word of every n-gram, order by order
    starts_bos: list[np.ndarray] = []
    for k, oc in enumerate(orders, start=1):
        if k > 1:
            first = first[oc.context]
        starts_bos.append(first == BOS_ID)
    adjusted = [None] * counts.order
    adjusted[-1] = orders[-1].count.copy()
    for k in range(counts.order - 1, 0, -1):
        oc = orders[k - 1]
        left = np.bincount(orders[k].suffix, minlength=len(oc)).astype(np.int64)
        adjusted[k - 1] = np.where(starts_bos[k - 1], oc.count, left)
    adjusted[0] = adjusted[0].copy()
    adjusted[0][BOS_ID] = 0
    return adjusted  # type: ignore[return-value]


def discounts_from_counts(adjusted: np.ndarray) -> tuple[float, float, float]:
    """``(D1, D2, D3+)`` from the count-of-counts of one order's adjusted counts.

    Raises:
        DiscountError: a count-of-count ``n1..n4`` is 0 or a discount is outside ``[0, j]``.
    """
    n = np.bincount(np.minimum(adjusted, 5), minlength=6)[:5].astype(np.float64)
    for j in range(1, 5):
        if n[j] == 0:
            raise DiscountError(f"no n-grams with adjusted count {j}")
    y = n[1] / (n[1] + 2.0 * n[2])
    d = tuple(j - (j + 1) * y * n[j + 1] / n[j] for j in (1, 2, 3))
    for j, dj in enumerate(d, start=1):
        if not 0.0 <= dj <= j:
            raise DiscountError(f"discount D{j} = {dj:.4f} out of range [0, {j}]")
    return d  # type: ignore[return-value]


def kneser_ney(
    counts: NGramCounts,
    fallback: tuple[float, float, float] | None = DEFAULT_FALLBACK,
    discounts: list[tuple[float, float, float]] | None = None,
) -> Estimate:
    """Interpolated modified Kneser-Ney estimate (see module docstring).

    Args:
        counts: n-gram counts of orders 1..N.
        fallback: discounts used for an order whose closed-form discounts fail; ``None`` raises
            :class:`DiscountError` instead.
        discounts: explicit ``(D1, D2, D3+)`` per order, overriding the estimate.
    """
    adjusted = adjusted_counts(counts)
    if discounts is None:
        discounts = []
        for k, a in enumerate(adjusted, start=1):
            try:
                discounts.append(discounts_from_counts(a))
            except DiscountError as e:
                if fallback is None:
                    raise DiscountError(
                        f"Kneser-Ney discounts for order {k}: {e}; tiny or artificial data "
                        "(use a discount fallback)"
                    ) from e
                warnings.warn(
                    f"Kneser-Ney order {k}: {e}; using fallback discounts {tuple(fallback)}",
                    stacklevel=2,
                )
                discounts.append(tuple(float(x) for x in fallback))  # type: ignore[arg-type]
    prob: list[np.ndarray] = []
    gamma: list[np.ndarray] = []
    for k, (oc, a) in enumerate(zip(counts.orders, adjusted), start=1):
        table = np.array([0.0, *discounts[k - 1]])
        d = table[np.minimum(a, 3)]
        if k == 1:
            denom = float(a.sum())
            g = float(d.sum()) / denom
            p = (a - d) / denom + g / predicted_size(len(a))
            p[BOS_ID] = 0.0
            prob.append(p)
            continue
        n = len(prob[-1])
        denom = context_totals(oc, n, a.astype(np.float64))
        safe = np.where(denom > 0, denom, 1.0)
        g = np.where(denom > 0, context_totals(oc, n, d) / safe, 1.0)
        prob.append((a - d) / safe[oc.context] + g[oc.context] * prob[-1][oc.suffix])
        gamma.append(g)
    gamma.append(np.ones(len(prob[-1])))
    return Estimate(prob=prob, gamma=gamma, discounts=[tuple(x) for x in discounts])
