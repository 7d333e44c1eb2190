"""Where a sensitive fact begins and ends inside a long Chinese clause, read from the model's words.

Chinese notes, posts and news run many predicates into one comma-free clause
("穿拖鞋上教室被抓", "说家里的长辈在韩国去世了").  Withholding the whole clause keeps the fact
from a reader but also takes what surrounds it; :meth:`ZhFacts.extent` finds a smaller stretch
that carries the fact with its subject, from the part-of-speech tags that the Chinese model (LAC)
already gave each word and closed grammatical classes (conjunctions, particles, pronouns), never
lists of content words:

* **Start**: walking back from the sensitive term over its predicate (verbs, adverbs, particles,
  prepositions, time words) to the noun phrase before it (nouns, names, pronouns, numbers and
  measure words, adjectives, ``的`` / ``和`` and what they link, brackets).  A noun followed by
  a preposition, an adverb, a time word or a particle going back was an object or an adjunct of
  the predicate ("在 韩国", "昨天 左膝"): the walk goes on.  The fact starts at the noun phrase
  when a verb, a conjunction or punctuation stands before it in the clause ("说 | 家里的长辈在韩国
  去世了").  When the walk reaches the clause's start, or a clause-opening conjunction before any
  noun, there is no start: masking withholds from the clause that may hold the subject, as before.
* **End**: the fact runs to the clause's end unless a new clause begins inside it without a
  punctuation mark: before a clause-opening conjunction (但是, 所以 …), after a modal particle that
  ends a sentence (吧, 啊, 呢, 吗 …), before a personal pronoun right after a sentence-final particle
  ("…去世了他妈妈…"), or at a break that is not grammar (a space, ``#``, ``【】``, ``[]``, ``//``).

A Chinese clause may leave its subject out ("他穿拖鞋上教室被抓": 他 is the one caught; "他打我被抓":
so is 他), so the analyser keeps a start only when no word before it, back to where the clauses would
withhold from, may be a subject (:meth:`ZhFacts.subject_before`: a noun, name or pronoun that no verb
or preposition governs), and masking (:mod:`core.pii.operators`) checks again that no personal pronoun
or name stands there: fails closed.  Each walk reads at most MAX_WALK words (past them it gives up:
fails closed) and the other questions are answered from prefix counts, so a note costs time linear in
its length however many facts it holds.
"""

from __future__ import annotations

import re
from bisect import bisect_left, bisect_right
from collections.abc import Sequence
from typing import Final

#: LAC tags of words that can make up a noun phrase: nouns, names, places, organisations, works,
#: pronouns (他, 这个), numbers and measure words, adjectives, nominal verbs and adjectives, direction
#: and place nouns.
_NOUN_TAGS: Final = frozenset(
    {"n", "nr", "nz", "nw", "ns", "nt", "s", "f", "PER", "LOC", "ORG", "r", "m", "q", "vn", "an"}
)
#: Tags that may stand inside a noun phrase between nouns: adjectives, and the linking words of _JOINS.
_MODIFIER_TAGS: Final = frozenset({"a"})
#: Closed class: what joins or links nouns inside one phrase (的, 之; 和, 与 …: "张三和李四").
_JOINS: Final = frozenset({"的", "之", "和", "与", "及", "以及", "或", "跟", "同"})
#: Brackets and quotes inside a noun phrase ("卡杜（cadu）左膝").
_BRACKETS: Final = frozenset("（）()「」『』《》“”\"'·•")
#: What ends a noun phrase going back: a verb (the phrase is the subject of what it says: "说 家里的长辈"),
#: a conjunction, punctuation.
_ENDS_PHRASE: Final = frozenset({"v", "vd", "c", "w"})
#: Prepositions (LAC ``p``): a noun before the term that a preposition governs is part of the predicate.
_PREPOSITION: Final = "p"
#: Closed class: conjunctions that open a clause (as in operators' _ZH_LEAD), never those that join nouns
#: (和, 与, 及, 或, 跟, 同).
_CLAUSE_CONJUNCTIONS: Final = frozenset(
    {
        "但是",
        "可是",
        "不过",
        "而且",
        "并且",
        "因为",
        "由于",
        "所以",
        "因此",
        "于是",
        "虽然",
        "如果",
        "但",
        "而",
    }
)
#: Closed class: sentence-final particles, after which a personal pronoun opens a new clause.
_FINAL_PARTICLES: Final = frozenset("了啦吧啊呢吗嘛哦呀哈咯哇呗")
#: Closed class: modal particles that end a sentence (了 also marks an aspect inside one, so it is not here).
_MODAL_PARTICLES: Final = frozenset("吧啊呢吗嘛呀啦呗")
#: A personal pronoun word (我, 我们, 他们, 她, 您 …), Simplified (the text is converted first).
_PERSONAL: Final = re.compile(r"[我你您他她它咱俺][们]?")
#: Breaks that are not grammar: spaces, hashtags, bracketed headlines and emoticons, repost marks.
_BREAK: Final = re.compile(r"\s|#|【|】|\[|\]|//")

#: Tags of words that can be the subject of a clause: nouns, names, places, organisations, pronouns.
_SUBJECT_TAGS: Final = frozenset({"n", "nr", "nz", "nw", "ns", "nt", "s", "PER", "LOC", "ORG", "r"})
#: Tags of the words that make the noun after them their object, not a subject ("穿 拖鞋", "在 海边").
_GOVERNS: Final = frozenset({"v", "vd", "p"})

Word = tuple[int, int, str]
#: Words a walk from a term reads at most before giving up (then: to that side of the clause).
MAX_WALK: Final = 48


class ZhFacts:
    """The words of one Chinese text, read once, for the facts of all its sensitive terms."""

    __slots__ = ("_starts", "_subjects", "_text", "_words")

    def __init__(self, text: str, words: Sequence[Word]) -> None:
        self._text = text
        self._words = words
        self._starts = [w[0] for w in words]
        # _subjects[i]: how many of words[:i] may be the subject of a clause (see subject_before)
        counts = [0]
        for i, (_, _, tag) in enumerate(words):
            governed = i > 0 and words[i - 1][2] in _GOVERNS
            counts.append(counts[-1] + int(tag in _SUBJECT_TAGS and not governed))
        self._subjects = counts

    def extent(self, start: int, end: int, clause: tuple[int, int]) -> tuple[int | None, int | None]:
        """The fact of the term [start, end) inside ``clause`` = [clause start, clause end): (its start
        or ``None``, its end or ``None``).  ``None`` means: to that side of the clause (see the
        module's docstring)."""
        c_start, c_end = clause
        if not (c_start <= start < end <= c_end):
            return None, None
        first = bisect_right(self._starts, start) - 1
        last = bisect_left(self._starts, end) - 1
        if first < 0 or last < first:
            return None, None
        return self._start(first, c_start), self._end(last, c_end)

    def subject_before(self, lo: int, hi: int) -> bool:
        """Whether a word inside [lo, hi) may be the subject of a clause: a noun, name or pronoun that
        no verb or preposition governs (a fact after it may be said of it, its subject left out)."""
        a = bisect_left(self._starts, lo)
        b = bisect_left(self._starts, hi)
        while b > a and self._words[b - 1][1] > hi:
            b -= 1
        return self._subjects[b] > self._subjects[a]

    def first_subject(self, lo: int, hi: int) -> int | None:
        """Where the first word in [lo, hi) that may be the subject of a clause begins (see
        :meth:`subject_before`), or ``None``."""
        a = bisect_left(self._starts, lo)
        i = bisect_right(self._subjects, self._subjects[a]) - 1  # the first word past them that counts
        if i >= len(self._words) or self._words[i][1] > hi:
            return None
        return self._words[i][0]

    def _start(self, first: int, c_start: int) -> int | None:
        text, words = self._text, self._words
        in_phrase = False
        phrase_start: int | None = None
        j = first - 1
        while j >= 0 and words[j][0] >= c_start:
            if first - j > MAX_WALK:
                return None
            s, e, tag = words[j]
            piece = text[s:e]
            if in_phrase:
                if tag in _NOUN_TAGS or tag in _MODIFIER_TAGS or piece in _JOINS or piece in _BRACKETS:
                    phrase_start = s
                elif tag in _ENDS_PHRASE or _BREAK.match(piece):
                    return phrase_start
                else:
                    # a preposition, an adverb, a time word, a particle: the noun was an object or an
                    # adjunct of the predicate ("在 韩国", "昨天 左膝"); its subject is further back
                    in_phrase, phrase_start = False, None
            elif _BREAK.match(piece) or (tag == "c" and piece in _CLAUSE_CONJUNCTIONS):
                return None  # the clause's own subject was left out: it stands earlier
            elif tag in _NOUN_TAGS:
                in_phrase, phrase_start = True, s
            j -= 1
        return None  # the clause's start: its subject may be in an earlier clause

    def _end(self, last: int, c_end: int) -> int | None:
        text, words = self._text, self._words
        for k in range(last + 1, min(len(words), last + 1 + MAX_WALK)):
            s, e, tag = words[k]
            if s >= c_end:
                return None
            piece = text[s:e]
            if _BREAK.match(piece) or (tag == "c" and piece in _CLAUSE_CONJUNCTIONS):
                return s
            before = text[words[k - 1][0] : words[k - 1][1]]
            if k - 1 > last and (
                before in _MODAL_PARTICLES or (before in _FINAL_PARTICLES and _PERSONAL.fullmatch(piece))
            ):
                return s
        return None
