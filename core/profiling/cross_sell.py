"""Cross-sell: item-to-item co-occurrence and per-customer recommendations.

Baskets are per customer: a customer "has" a product if they bought it at least once (a binary
customer x product matrix ``B``, built with scipy.sparse).  With ``n`` customers and
``C = B^T B`` (``C[i, j]`` = customers who bought both i and j, ``C[i, i]`` = buyers of i):

* ``support(i, j) = C[i, j] / n``
* ``confidence(i -> j) = C[i, j] / C[i, i]``
* ``lift(i -> j) = confidence(i -> j) / (C[j, j] / n)``

A customer's score for a product ``j`` they have not bought is the sum of ``confidence(i -> j)``
over the products ``i`` they own (item-based collaborative filtering).  Only products with a
positive score are recommended; ties are broken by product name (ascending), so results are
deterministic.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp
from numpy.typing import NDArray

from core.errors import InputError

_CHUNK = 4096


@dataclass(frozen=True, slots=True)
class ItemPair:
    """A co-occurrence rule ``antecedent -> consequent``."""

    antecedent: str
    consequent: str
    count: int
    support: float
    confidence: float
    lift: float


@dataclass(frozen=True, slots=True)
class Recommendation:
    customer_id: str
    product: str
    score: float


@dataclass(frozen=True, slots=True, eq=False)
class Baskets:
    """The binary customer x product matrix; customers and products sorted ascending."""

    customers: tuple[str, ...]
    products: tuple[str, ...]
    matrix: sp.csr_matrix


def build_baskets(purchases: Iterable[tuple[str, str]]) -> Baskets:
    """Binary baskets from ``(customer_id, product)`` pairs (repeats collapse to one)."""
    customer_codes: dict[str, int] = {}
    product_codes: dict[str, int] = {}
    rows: list[int] = []
    cols: list[int] = []
    for customer_id, product in purchases:
        rows.append(customer_codes.setdefault(customer_id, len(customer_codes)))
        cols.append(product_codes.setdefault(product, len(product_codes)))
    return _baskets_from_codes(list(customer_codes), list(product_codes), rows, cols)


def _baskets_from_codes(
    customers: Sequence[str], products: Sequence[str], rows: Sequence[int], cols: Sequence[int]
) -> Baskets:
    # Re-code so that both axes are in ascending name order (the deterministic tie-break).
    c_order = np.argsort(np.array(customers, dtype=object), kind="stable")
    p_order = np.argsort(np.array(products, dtype=object), kind="stable")
    c_rank = np.empty(len(customers), dtype=np.int64)
    c_rank[c_order] = np.arange(len(customers))
    p_rank = np.empty(len(products), dtype=np.int64)
    p_rank[p_order] = np.arange(len(products))
    r = c_rank[np.asarray(rows, dtype=np.int64)]
    c = p_rank[np.asarray(cols, dtype=np.int64)]
    data = np.ones(r.size, dtype=np.float64)
    matrix = sp.csr_matrix((data, (r, c)), shape=(len(customers), len(products)))
    matrix.sum_duplicates()
    matrix.data[:] = 1.0
    return Baskets(
        customers=tuple(customers[int(k)] for k in c_order),
        products=tuple(products[int(k)] for k in p_order),
        matrix=matrix,
    )


def co_occurrence(baskets: Baskets) -> NDArray[np.float64]:
    """``C = B^T B`` as a dense product x product array (counts of customers)."""
    counts = (baskets.matrix.T @ baskets.matrix).toarray()
    return np.asarray(counts, dtype=np.float64)


def _confidence(counts: NDArray[np.float64]) -> NDArray[np.float64]:
    buyers = np.diag(counts).copy()
    conf = np.divide(counts, buyers[:, None], out=np.zeros_like(counts), where=buyers[:, None] > 0)
    np.fill_diagonal(conf, 0.0)
    return conf


def item_pairs(baskets: Baskets, *, min_support: float = 0.0, min_count: int = 1) -> list[ItemPair]:
    """All rules ``i -> j`` (i != j) with ``count >= min_count`` and ``support >= min_support``.

    Ordered by lift, then confidence (both descending), then antecedent and consequent names.
    """
    n = baskets.matrix.shape[0]
    if n == 0:
        return []
    counts = co_occurrence(baskets)
    buyers = np.diag(counts).copy()
    conf = _confidence(counts)
    support = counts / n
    lift = np.divide(conf, buyers[None, :] / n, out=np.zeros_like(conf), where=buyers[None, :] > 0)
    mask = (counts >= max(min_count, 1)) & (support >= min_support)
    np.fill_diagonal(mask, False)
    ii, jj = np.nonzero(mask)
    # Products are in name order, so (-lift, -conf, i, j) is a total, deterministic order.
    order = np.lexsort((jj, ii, -conf[ii, jj], -lift[ii, jj]))
    names = baskets.products
    return [
        ItemPair(
            names[int(i)],
            names[int(j)],
            int(counts[i, j]),
            float(support[i, j]),
            float(conf[i, j]),
            float(lift[i, j]),
        )
        for i, j in zip(ii[order].tolist(), jj[order].tolist(), strict=True)
    ]


def recommend(baskets: Baskets, *, top_n: int = 3) -> dict[str, list[Recommendation]]:
    """Per customer, up to ``top_n`` products not yet bought, best first (every customer present)."""
    if top_n < 1:
        raise InputError("top_n must be at least 1")
    matrix = baskets.matrix
    n_customers, n_products = matrix.shape
    result: dict[str, list[Recommendation]] = {}
    if n_products == 0:
        return {c: [] for c in baskets.customers}
    conf = _confidence(co_occurrence(baskets))
    k = min(top_n, n_products)
    for start in range(0, n_customers, _CHUNK):
        block = matrix[start : start + _CHUNK]
        scores = np.asarray(block @ conf)
        owned = block.toarray() > 0
        scores[owned] = 0.0
        # Stable sort on -score keeps ascending product (name) order among ties.
        top = np.argsort(-scores, axis=1, kind="stable")[:, :k]
        top_scores = np.take_along_axis(scores, top, axis=1)
        for offset, (cols, vals) in enumerate(zip(top.tolist(), top_scores.tolist(), strict=True)):
            customer = baskets.customers[start + offset]
            result[customer] = [
                Recommendation(customer, baskets.products[j], s)
                for j, s in zip(cols, vals, strict=True)
                if s > 0
            ]
    return result
