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
from core.pii.recognizers.zh_entities import HONORIFIC as _HONORIFIC
from core.pii.recognizers.zh_entities import artifact_words

_HAN: Final = r"[\u4e00-\u9fff]"
#: a social-media handle: up to a delimiter; without one, at most this many characters at a word boundary
_MENTION: Final = re.compile(r"@(?P<v>[^\s@:：,，。！!？?/\\\[\]【】()（）#“”\"'、；;]{1,30})")
_HANDLE_MAX: Final = 12
# what closes a handle for certain: a colon (a forwarded speaker), white space, the next mention, a slash
_HANDLE_END: Final = frozenset(":：@/ \t\n")
# words that do not continue a handle that runs on into the sentence: localisers, particles, prepositions,
# conjunctions, verbs, adverbs, pronouns, interjections
_RUNS_ON: Final = frozenset({"f", "u", "p", "c", "v", "d", "r", "xc"})
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
# LAC's tags of function words, numbers and time words: prepositions, conjunctions, particles, adverbs,
# pronouns, measure words, numerals, localisers
_FUNCTION_TAGS: Final = frozenset({"p", "c", "u", "d", "r", "q", "m", "f", "TIME", "w"})

# agentive suffixes of nouns of profession or role: 分析师, 通讯员, 队长, 记者, 作家, 法官, 选手
_AGENT_SUFFIX: Final = frozenset("师员长者官")
_APPOSED_TAGS: Final = frozenset({"n", "nz", "nr", "PER", "xc"})
_PREDICATE_TAGS: Final = frozenset({"v", "vd", "p", "d", "c"})
_NAME_WORD: Final = re.compile(rf"{_HAN}{{2,3}}")
# a given name: no honorific or kinship head ("陈先生" is a surname and a title, found by the title rules).
# Used with fullmatch on a one- or two-character slice, so the look-ahead needs to see two characters at
# most; bounded, it stays linear wherever the pattern is run.
_GIVEN_OK: Final = re.compile(
    r"(?!.{0,2}(?:先生|女士|小姐|太太|夫人|某))[^我你他她它们的了是在和与也都就被把对从给向说这那个]{1,2}"
)

_HAN_CHAR: Final = re.compile(_HAN)
# characters whose doubling is a kinship word (妈妈, 宝宝) or distributive ("every": 人人, 天天, 家家, 个个)
_NOT_DOUBLED_NAME: Final = frozenset("爸妈哥姐弟妹爷奶叔婶舅姑伯公婆姥太宝娃人天年月日家处事时次个样步")
_DOUBLED_TAGS: Final = frozenset({"n", "nz", "nr", "PER", "a", "v", "vn"})
_SUBJECT_OF: Final = frozenset({"v", "d", "a", "p"})

_PROPAGATED: Final = frozenset({"PERSON", "LOCATION", "ADDRESS"})
# a name's spelling in Latin letters in brackets right after it: 威尔莱特（WillWright）
_GLOSS: Final = re.compile(r"[ \t]?[（(](?P<v>[A-Za-z][A-Za-z .'\-]{0,40}?)[）)]")
_MIN_CHARS: Final = 2
# a full name: a one-character surname and a two-character given name, all Chinese characters
_FULL_NAME: Final = re.compile(rf"(?:{SURNAMES}){_HAN}{{2}}")
_SURNAME_CHAR: Final = re.compile(rf"(?:{SURNAMES})")
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
        # a surname character that the model reads as a one-character function word ("和/c 心理",
        # "向/p 大家", "上周/TIME") does not start a name there
        function = {s for s, e, tag in words if e == s + 1 and tag in _FUNCTION_TAGS}
        glued = {e: s for s, e, _ in words}  # word end -> word start

        def fits(s: int, e: int, strong: bool = False) -> bool:
            """A whole word (or words) of the model, and not one ordinary word; after a job title or a
            label (``strong``), an ordinary word closed by punctuation is a name too: "记者马力）"."""
            if any(c in _NOT_GIVEN for c in text[s + 1 : e]):
                return False
            if not aligned:
                return True
            if s in function:
                return False
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
            if aligned and e < len(text) and text[e] not in _HANDLE_END and text[e + 1 : e + 2] != "@":
                # not closed as a handle is ("@name:", "@name @other", "@name，@other", the end): it runs on into the
                # sentence ("@逆转三国里面的阵容是"), and ends before the first function word or verb after its
                # first word
                e = min((a for a, b, tag in words if s < a < e and tag in _RUNS_ON), default=e)
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
                if strong and aligned and e in ends and glued.get(e, e) <= m.start():
                    # the model read the title and the name as one word ("大队长方剑民"): the name is its tail
                    if not any(c in _NOT_GIVEN for c in text[s + 1 : e]):
                        out.append(RecognizerResult("PERSON", s, e, score))
                    continue
                # the longest candidate that ends on a word boundary (a surname alone only before a title)
                for end in range(e, s, -1):
                    if (end > s + 1 or e == s + 1) and fits(s, end, strong):
                        # the name, not the title read with it ("邵老师表示", "经理方总"): "<PERSON>老师"
                        title = _HONORIFIC.search(text, s + 1, end)
                        out.append(RecognizerResult("PERSON", s, title.start() if title else end, score))
                        break
        out.extend(RecognizerResult("PERSON", s, e, 0.6) for s, e in _after_agent_noun(text, words))
        out.extend(RecognizerResult("PERSON", s, e, 0.5) for s, e in _reduplicated_nicknames(text, words))
        return out


def _after_agent_noun(text: str, words: Sequence[tuple[int, int, str]]) -> list[tuple[int, int]]:
    """A name in apposition after a noun of agent ("分析师 高源 表示", "记者 官平）", "通讯员 天法宣）"):
    a word of two or more characters ending in an agentive suffix (师, 员, 长, 者, 官), then a
    two- or three-character noun or name of the model, then punctuation, the end, or a predicate."""
    out: list[tuple[int, int]] = []
    for i in range(len(words) - 1):
        s0, e0, tag0 = words[i]
        s, e, tag = words[i + 1]
        if tag0 != "n" or e0 - s0 < 2 or text[e0 - 1] not in _AGENT_SUFFIX or s != e0:
            continue
        if tag not in _APPOSED_TAGS or not _NAME_WORD.fullmatch(text[s:e]):
            continue
        if tag == "n" and not (_SURNAME_CHAR.match(text, s) and _GIVEN_OK.fullmatch(text, s + 1, e)):
            continue  # an ordinary noun of the model must at least look like surname + given name
        nxt = words[i + 2] if i + 2 < len(words) else None
        if nxt is None or text[nxt[0]] in _CLOSING or nxt[2] in _PREDICATE_TAGS:
            out.append((s, e))
    return out


def _reduplicated_nicknames(text: str, words: Sequence[tuple[int, int, str]]) -> list[tuple[int, int]]:
    """Pet names made by doubling a character (壮壮, 兔兔, 圆圆) where a name stands: a doubled word of the
    model that opens a clause and is followed by its predicate ("，壮壮很幸福"), or is the object of a verb
    closed by punctuation ("感谢兔兔，").  Doubled kinship words (妈妈), distributive doubling (人人, 天天)
    and the model's adverbs, measure words and interjections (刚刚, 个个, 哈哈) are not names."""
    out: list[tuple[int, int]] = []
    for i, (s, e, tag) in enumerate(words):
        if e - s != 2 or text[s] != text[s + 1] or _HAN_CHAR.fullmatch(text[s]) is None:
            continue
        if text[s] in _NOT_DOUBLED_NAME or tag not in _DOUBLED_TAGS:
            continue
        before = text[s - 1] if s else "\n"
        after = text[e] if e < len(text) else "\n"
        next_tag = words[i + 1][2] if i + 1 < len(words) else "w"
        opens = (before in _CLOSING or before in "@#") and next_tag in _SUBJECT_OF
        object_of = i > 0 and words[i - 1][2] == "v" and after in _CLOSING and tag != "v"
        if opens or object_of:
            out.append((s, e))
    return out


def propagate_chinese(
    text: str, found: Sequence[RecognizerResult], words: Sequence[tuple[int, int, str]] | None = None
) -> list[RecognizerResult]:
    """Every other mention of a name or place found once (two characters or more), as in English; and,
    as English finds a person again by a first name alone, the two-character given name of a full
    Chinese name found once (胡小亭 ... 小亭) where it starts a word of the model (``words``); and a
    one-character name the model found ("盈讨厌婷") wherever the model reads that character as a word of
    its own that is not a function word ("说婷，", "盈的闺蜜"), never inside a longer word."""
    word_starts = {a for a, _, _ in words} if words is not None else None
    extra_single = _single_names(text, found, words) if words is not None else []
    values: dict[str, tuple[str, float]] = {}
    given: set[str] = set()
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
                if r.entity_type == "PERSON" and len(value) == 3 and _FULL_NAME.fullmatch(value):
                    given.add(value[1:])
    for name in given:
        # only a given name not already a value (a name found on its own keeps its own score)
        if name not in values:
            values[name] = ("PERSON", 0.0)
    extra.extend(extra_single)
    if not values:
        return extra
    names = sorted(values, key=len, reverse=True)[:_MAX_NAMES]
    pattern = re.compile("|".join(map(re.escape, names)))
    for m in pattern.finditer(text):
        if m.span() not in spans:
            kind, score = values[m.group(0)]
            if score == 0.0:  # a given name alone: a word of its own, not the tail of the full name
                if (word_starts is not None and m.start() not in word_starts) or _after_surname(
                    text, m.start()
                ):
                    continue
                score = 0.5
            extra.append(RecognizerResult(kind, m.start(), m.end(), min(score, 0.6)))
    return extra


def _single_names(
    text: str, found: Sequence[RecognizerResult], words: Sequence[tuple[int, int, str]]
) -> list[RecognizerResult]:
    singles = {
        text[r.start]
        for r in found
        if r.entity_type == "PERSON" and r.end == r.start + 1 and _HAN_CHAR.fullmatch(text[r.start])
    }
    if not singles:
        return []
    spans = {(r.start, r.end) for r in found}
    return [
        RecognizerResult("PERSON", a, b, 0.5)
        for a, b, tag in words
        if b == a + 1 and text[a] in singles and tag not in _FUNCTION_TAGS and (a, b) not in spans
    ]


def _after_surname(text: str, start: int) -> bool:
    return start > 0 and _SURNAME_CHAR.fullmatch(text[start - 1]) is not None
