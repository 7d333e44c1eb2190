"""Chinese names in context, and every other mention of a name or place already found.

The model (:mod:`core.pii.zh_ner`) finds most names; these rules add the shapes
it misses, always cut at the model's word boundaries so that a rule never eats
the next word ("记者王吉瑛报道" gives 王吉瑛, not 王吉瑛报):

* @-mentions and forwarded speakers of social media (``@刘希平``, ``//@刘希平:``);
* speaker labels at the start of a line or sentence (``郭庆祥：``);
* transliterated foreign names joined with a middle dot (``安吉丽娜·茱莉``);
* surname + given name after a job title, a kinship word or a label
  (副局长张涛, 我叫赵新民, 联系人李咏) or before a verb of saying (彭小军认为).

A candidate that the model reads as one ordinary word ("时间：", "平安") is not a name.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Final

from presidio_analyzer import LocalRecognizer, RecognizerResult
from presidio_analyzer.nlp_engine import NlpArtifacts

from core.pii.recognizers.cn_personal import NAME_RULES, SURNAMES
from core.pii.recognizers.zh_entities import artifact_words

_HAN: Final = r"[\u4e00-\u9fff]"
#: a social-media handle: up to a delimiter; without one, at most this many characters at a word boundary
_MENTION: Final = re.compile(r"@(?P<v>[^\s@:：,，。！!？?/\\\[\]【】()（）#“”\"'、；;]{1,30})")
_HANDLE_MAX: Final = 12
# characters that are never part of a given name (pronouns, particles, prepositions)
_NOT_GIVEN: Final = frozenset("我你他她它们的了是在和与也都就被把对从给向说这那个吗呢吧啊")
_SPEAKER: Final = re.compile(
    rf"(?:^|(?<=[\n。！？!?；;]))[ \t]*(?P<v>(?:{SURNAMES}){_HAN}{{1,2}})(?=[ \t]*[：:])", re.MULTILINE
)
_DOTS: Final = "·•・‧∙"
_DOT_NAME: Final = re.compile(rf"(?P<v>{_HAN}{{1,8}}(?:[{_DOTS}]{_HAN}{{1,10}})+)")
_TRIGGER: Final = (
    r"(?:我叫|名叫|叫做|姓名|名字|联系人|收件人|客户|顾客|用户|患者|病人|"
    r"副?(?:局长|处长|科长|部长|厅长|省长|市长|县长|区长|镇长|村长|校长|院长|所长|行长|社长|台长|站长|厂长|会长|"
    r"主任|书记|主席|总裁|总经理|经理|董事长|董事|总监|秘书长|秘书|主管|队长|组长|班长|教练|领队)|"
    r"记者|通讯员|编辑|主编|主持人|导演|编剧|制片人|演员|歌手|球员|选手|教授|讲师|老师|医生|护士|律师|法官|"
    r"警官|民警|发言人|代表|委员|作者|网友|同学|同事|邻居|朋友|"
    r"丈夫|老公|妻子|老婆|爱人|儿子|女儿|父亲|母亲|爸爸|妈妈|哥哥|姐姐|弟弟|妹妹|爷爷|奶奶|外公|外婆|姥姥|姥爷|"
    r"孙子|孙女|女婿|儿媳|男友|女友|未婚夫|未婚妻)"
)
_AFTER_TRIGGER: Final = re.compile(rf"{_TRIGGER}(?:是|叫|为|：|:)?[ \t]?(?P<v>(?:{SURNAMES}){_HAN}{{1,2}})")
_BEFORE_SAYING: Final = re.compile(
    rf"(?P<v>(?:{SURNAMES}){_HAN}{{1,2}})(?=说|认为|表示|指出|称|告诉|介绍|透露|回忆|坦言|强调|解释|补充|交代|承认|否认|"
    r"证实|回应|答道|问道|直言)"
)
_CLOSING: Final = frozenset("，,。.、；;：:！!？?）)】]」』\n ")
# tags of words that are names or may be: LAC's person, other proper noun, unknown
_NAMEISH: Final = frozenset({"PER", "nz", "nr", "xc"})

_PROPAGATED: Final = frozenset({"PERSON", "LOCATION", "ADDRESS"})
# a name's spelling in Latin letters in brackets right after it: 威尔莱特（WillWright）
_GLOSS: Final = re.compile(r"[ \t]?[（(](?P<v>[A-Za-z][A-Za-z .'\-]{0,40}?)[）)]")
_MIN_CHARS: Final = 2
_MAX_NAMES: Final = 200


class ChineseNameRecognizer(LocalRecognizer):
    def __init__(self) -> None:
        super().__init__(
            supported_entities=["PERSON"], name="HushChineseNamesInContext", supported_language="zh"
        )

    def load(self) -> None:
        """Nothing to load: patterns are compiled at import."""

    def analyze(
        self, text: str, entities: list[str], nlp_artifacts: NlpArtifacts | None = None
    ) -> list[RecognizerResult]:
        aligned = nlp_artifacts is not None and nlp_artifacts.tokens is not None
        words = artifact_words(nlp_artifacts) if nlp_artifacts is not None and aligned else []
        starts = {s for s, _, _ in words}
        ends = {e for _, e, _ in words}
        common = {(s, e) for s, e, tag in words if tag not in _NAMEISH}

        def fits(s: int, e: int, strong: bool = False) -> bool:
            """A whole word (or words) of the model, and not one ordinary word; after a job title or a
            label (``strong``), an ordinary word closed by punctuation is a name too: "记者马力）"."""
            if any(c in _NOT_GIVEN for c in text[s + 1 : e]):
                return False
            if not aligned:
                return True
            if s not in starts or e not in ends:
                return False
            return (s, e) not in common or (strong and (e == len(text) or text[e] in _CLOSING))

        out: list[RecognizerResult] = []
        for m in _MENTION.finditer(text):
            s, e = m.span("v")
            delimited = e == len(text) or e - s < 30
            if not delimited or (aligned and e - s > _HANDLE_MAX):
                limit = s + _HANDLE_MAX
                e = max((x for x in ends if s < x <= limit), default=min(e, limit))
            out.append(RecognizerResult("PERSON", s, e, 0.8))
        for m in _DOT_NAME.finditer(text):
            s, e = m.span("v")
            if aligned:
                # the words on either side of the dots, not the whole run of characters
                dots = [i for i in range(s, e) if text[i] in _DOTS]
                s = max((x for x in starts if s <= x < dots[0]), default=s)
                e = min((x for x in ends if dots[-1] + 1 < x <= e), default=e)
            out.append(RecognizerResult("PERSON", s, e, 0.8))
        rules = ((_SPEAKER, 0.6), (_AFTER_TRIGGER, 0.7), (_BEFORE_SAYING, 0.6), *NAME_RULES)
        for pattern, score in rules:
            strong = pattern is _AFTER_TRIGGER
            for m in pattern.finditer(text):
                s, e = m.span("v")
                # the longest candidate that ends on a word boundary (a surname alone only before a title)
                for end in range(e, s, -1):
                    if (end > s + 1 or e == s + 1) and fits(s, end, strong):
                        out.append(RecognizerResult("PERSON", s, end, score))
                        break
        return out


def propagate_chinese(text: str, found: Sequence[RecognizerResult]) -> list[RecognizerResult]:
    """Every other mention of a name or place found once (two characters or more), as in English."""
    values: dict[str, tuple[str, float]] = {}
    spans = {(r.start, r.end) for r in found}
    extra: list[RecognizerResult] = []
    for r in found:
        if r.entity_type == "PERSON":
            g = _GLOSS.match(text, r.end)
            if g is not None:
                extra.append(RecognizerResult("PERSON", *g.span("v"), 0.7))
    for r in found:
        if r.entity_type in _PROPAGATED and r.end - r.start >= _MIN_CHARS:
            value = text[r.start : r.end]
            if not value.isascii() and value.strip() == value:
                old = values.get(value)
                if old is None or old[1] < r.score:
                    values[value] = (r.entity_type, float(r.score))
    if not values:
        return extra
    names = sorted(values, key=len, reverse=True)[:_MAX_NAMES]
    pattern = re.compile("|".join(map(re.escape, names)))
    for m in pattern.finditer(text):
        if m.span() not in spans:
            kind, score = values[m.group(0)]
            extra.append(RecognizerResult(kind, m.start(), m.end(), min(score, 0.6)))
    return extra
