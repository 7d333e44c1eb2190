"""Phone numbers with work bounded by the note, not by how many digits an attacker types.

Presidio's :class:`PhoneRecognizer` runs libphonenumber's matcher once per
region over the whole text; every digit group is a candidate that the matcher
parses (about 0.1 ms each), so 20 KB of ``1-1-1…`` or of ``12345678 `` cost
one to two seconds of CPU across fourteen regions, and the cost grows with
the number of regions times the number of digit groups.

:class:`BoundedPhoneRecognizer` keeps Presidio's exact matching where it is
affordable and fails closed where it is not:

* digit groups that could be a phone number (7 to 16 digits, single spaces,
  hyphens or dots between them, an optional leading ``+``) are counted with a
  linear-time pattern;
* up to :data:`EXACT_GROUPS` groups, the regions' matchers run as in Presidio,
  each allowed at most :data:`MAX_TRIES` invalid candidates (libphonenumber's
  own ``max_tries``);
* beyond that (a table of numbers, a pasted log, an attack) every such group is
  reported as a phone number at a lower score, without parsing: masked rather
  than parsed, so the cost stays linear in the length of the note.
"""

from __future__ import annotations

import re
from typing import Final

import phonenumbers
from presidio_analyzer import AnalysisExplanation, EntityRecognizer, RecognizerResult
from presidio_analyzer.nlp_engine import NlpArtifacts
from presidio_analyzer.predefined_recognizers import PhoneRecognizer

EXACT_GROUPS: Final = 48
"""Digit groups up to which each region's matcher runs (about 48 x 14 parses at most)."""
MAX_TRIES: Final = 64
"""Invalid candidates each region's matcher may try before it gives up (libphonenumber's max_tries)."""
FALLBACK_SCORE: Final = 0.5

#: A phone-shaped digit group: 7 to 16 digits, each optionally after one space, hyphen or dot, not inside a
#: longer run of digits.  Every step consumes a digit, so a position has one way to match: linear time.
PHONE_GROUP: Final = re.compile(r"(?<![\d+])\+?\d(?:[ \-.]?\d){6,15}(?![\d])")


class BoundedPhoneRecognizer(PhoneRecognizer):
    """Presidio's phone recognizer with a per-note budget (see the module docstring)."""

    def analyze(
        self, text: str, entities: list[str], nlp_artifacts: NlpArtifacts | None = None
    ) -> list[RecognizerResult]:
        groups = [m.span() for m in PHONE_GROUP.finditer(text)]
        if len(groups) > EXACT_GROUPS:
            return [self._result(start, end, FALLBACK_SCORE, "unparsed digit group") for start, end in groups]
        results: list[RecognizerResult] = []
        leniency = 1 if self.leniency is None else self.leniency
        for region in self.supported_regions:
            matcher = phonenumbers.PhoneNumberMatcher(text, region, leniency=leniency, max_tries=MAX_TRIES)
            for match in matcher:
                start = match.start
                if text.startswith("(", start) and ")" not in match.raw_string:
                    start += 1  # "(07700 900123)": the bracket around the number, not an area code's
                results.append(self._result(start, match.end, self.SCORE, f"region {region}"))
        deduped: list[RecognizerResult] = EntityRecognizer.remove_duplicates(results)
        return deduped

    def _result(self, start: int, end: int, score: float, how: str) -> RecognizerResult:
        return RecognizerResult(
            entity_type=self.supported_entities[0],
            start=start,
            end=end,
            score=score,
            analysis_explanation=AnalysisExplanation(
                recognizer=type(self).__name__, original_score=score, textual_explanation=how
            ),
            recognition_metadata={
                RecognizerResult.RECOGNIZER_NAME_KEY: type(self).__name__,
                RecognizerResult.RECOGNIZER_IDENTIFIER_KEY: self.id,
            },
        )


__all__ = ["EXACT_GROUPS", "MAX_TRIES", "PHONE_GROUP", "BoundedPhoneRecognizer"]
