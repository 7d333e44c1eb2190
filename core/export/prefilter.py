"""A literal pre-filter over several sensitive-term lists: skip the regexes when no match is possible.

The derivation of the literals (the classic "required factor" of every term
fragment, rarest candidate first, word-anchored for word-bounded lists) lives in
:mod:`core.pii.terms`; text is read through the same skeleton as every other
check (:func:`core.pii.normaliser.skeletons`: look-alikes, spacing, leetspeak and
Traditional Chinese folded).  The outbound gate uses the screen's own pre-filters
(:class:`core.pii.screen.SensitiveScreen`); this module serves callers that hold
their own term lists.  False from :meth:`TermPrefilter.maybe` means no term of
the lists can match; True means "run the patterns".
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from core.pii.normaliser import skeletons
from core.pii.terms import TermPrefilter as _ListPrefilter
from core.pii.terms import required_literals

__all__ = ["TermPrefilter", "required_literals"]


class TermPrefilter:
    """``maybe(text)`` is False only when no term of the lists can match ``text``'s skeleton.

    Each list is ``(terms, word_bounded)`` or just ``terms`` (then matched anywhere, as the
    Chinese lists are: a word-anchored literal would be wrong for them).
    """

    def __init__(
        self, term_lists: Iterable[Mapping[str, tuple[str, ...]] | tuple[Mapping[str, tuple[str, ...]], bool]]
    ) -> None:
        self._filters: list[_ListPrefilter] = []
        for item in term_lists:
            terms, bounded = item if isinstance(item, tuple) else (item, False)
            self._filters.append(_ListPrefilter(dict(terms), word_bounded=bounded))
        self.exact = all(f.exact for f in self._filters)

    def maybe(self, text: str) -> bool:
        return any(
            self.maybe_skeleton(view) for norm in skeletons(text) for view in (norm.text, *norm.variants)
        )

    def maybe_skeleton(self, view: str) -> bool:
        """As :meth:`maybe`, for text that is already a skeleton."""
        return any(f.may_match(view) for f in self._filters)
