"""Chinese names in context, and every other mention of a name or place already found.

The model (:mod:`core.pii.zh_ner`) finds most names; these rules add the shapes
it misses, always cut at the model's word boundaries so that a rule never eats
the next word ("记者王吉瑛报道" gives 王吉瑛, not 王吉瑛报):

* @-mentions and forwarded speakers of social media (``@刘希平``, ``//@刘希平:``);
* speaker labels at the start of a line or sentence (``郭庆祥：``);
* transliterated foreign names joined with a middle dot (``安吉丽娜·茱莉``);
* surname + given name after a job title, a kinship word or a label
  (副局长张涛, 我叫赵新民, 联系人李咏) or before a verb of saying (彭小军认为);
* a person word of the model's second reading (:data:`core.pii.zh_ner.NAME_HINT`) that has the
  shape of a full name or is a word in Latin letters, where the first reading saw no ordinary word
  ("好开心天下第一顾海池": a name the model nearly read, glued to the words before it; "英文名是lucy");
* a full name that the model reads as one function word ("晚安曾若梅", 曾 read as "once");
* a surname and a one-character given name that the first reading takes for an adverb or an adjective
  and the second reading for a person ("还是易昭蹲坑");
* pet names where a name stands: a doubled one after a verb of saying or before 外号 ("泥巴说解解瘦了",
  "超超外号小纯洁"), 小/阿 and a name opening a clause or as a verb's object ("缺了小右，");
* a list member whose given name shares its first character with the person beside it ("如画和如风").

A candidate that the model reads as one ordinary word ("时间：", "平安") is not a name.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from itertools import pairwise
from typing import Final

from presidio_analyzer import LocalRecognizer, RecognizerResult
from presidio_analyzer.nlp_engine import NlpArtifacts

from core.pii.gazetteer import chinese_surnames
from core.pii.nlp import ZH_NAME_HINTS
from core.pii.recognizers.cn_personal import NAME_RULES, SURNAMES
from core.pii.recognizers.zh_entities import HONORIFIC as _HONORIFIC
from core.pii.recognizers.zh_entities import (
    artifact_words,
    emoticon_codes,
    in_emoticon,
    latin_common_word,
    misread_terms,
    unclaimed_terms,
)

_HAN: Final = r"[\u4e00-\u9fff]"
#: a social-media handle: up to a delimiter; without one, at most this many characters at a word boundary
_MENTION: Final = re.compile(r"@(?P<v>[^\s@:：,，。！!？?/\\\[\]【】()（）#“”\"'、；;]{1,30})")
_HANDLE_MAX: Final = 12
# what closes a handle for certain: a colon (a forwarded speaker), white space, the next mention, a slash
_HANDLE_END: Final = frozenset(":：@/ \t\n")
# words that do not continue a handle that runs on into the sentence: localisers, particles, prepositions,
# conjunctions, verbs, adverbs, pronouns, interjections
_RUNS_ON: Final = frozenset({"f", "u", "p", "c", "v", "d", "r", "xc"})
# numerals and measure words: a count in Chinese ("几位", "3位", "两个") starts a phrase of the sentence
_COUNTING: Final = frozenset({"m", "q"})
# characters that are never part of a given name (pronouns, particles, prepositions)
_NOT_GIVEN: Final = frozenset("我你您他她它咱俺们的了是在和与也都就被把对从给向说这那个吗呢吧啊")
_SPEAKER: Final = re.compile(
    rf"(?:^|(?<=[\n。！？!?；;]))[ \t]*(?P<v>(?:{SURNAMES}){_HAN}{{1,2}})(?=[ \t]*[：:])", re.MULTILINE
)
_DOTS: Final = "·•・‧∙"
# the model's tags of numerals, measure words, pronouns and function words: never a part of a name
_NOT_NAME_PART: Final = frozenset({"m", "q", "r", "d", "p", "u", "c"})
# pronouns and particles that no transliterated name spells with ("我的故事·我的歌" is a title)
_NOT_IN_TRANSLITERATION: Final = frozenset("我你您的了们吗呢吧啊")
_ENDS_TRANSLITERATION: Final = _NOT_IN_TRANSLITERATION | frozenset("与和及")
# the model's tags of ordinary content words: nouns, verbs, adjectives and their adverbial and nominal uses
_ORDINARY_TAGS: Final = frozenset({"n", "v", "a", "vn", "vd", "ad", "an"})
# the model's tags of verbs (a clause's predicate; an adjective may be a given name: 经理舒畅，)
_PREDICATE_WORD_TAGS: Final = frozenset({"v", "vd"})
_DOT_NAME: Final = re.compile(rf"(?P<v>{_HAN}{{1,8}}(?:[{_DOTS}](?:{_HAN}{{1,10}}|[A-Z]\.?(?=[{_DOTS}])))+)")
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
# a nickname: 小/阿/老 and one or two characters (or a Latin letter or two: 小V), in a place that names it:
# after a verb of naming ("外号小纯洁", "叫我阿袁", "我叫小新") or before a verb of saying ("阿袁说")
_NICK: Final = rf"[小阿老](?:{_HAN}{{1,2}}|[A-Za-z]{{1,2}}(?![A-Za-z]))"
_NICK_NAMED: Final = re.compile(
    rf"(?:外号|绰号|昵称|小名|乳名|网名|艺名|人称|叫我|我叫|名叫|叫做|都叫|我是|他是|她是)[ \t]?(?P<v>{_NICK})"
)
_NICK_SAYING: Final = re.compile(
    rf"(?<![\u4e00-\u9fff])(?P<v>{_NICK})(?=说|认为|表示|告诉|回复|问道|答道|笑道|感叹)"
)
# what follows "我是": a name only when the model does not read it as an ordinary word ("我是老客户" is not)
_NAMING_VERB: Final = re.compile(
    r"(?:外号|绰号|昵称|小名|乳名|网名|艺名|人称|叫我|我叫|名叫|叫做|都叫)[ \t]?$"
)
# a pseudonym, said to be one: "钱海洋（化名）"
_PSEUDONYM: Final = re.compile(rf"(?P<v>{_HAN}{{2,3}})(?=[（(]化名)")
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
_VERB_SUBJECT_OF: Final = frozenset({"a", "TIME", "p"})
_NICKNAME_OF: Final = ("外号", "绰号", "昵称", "小名", "乳名", "网名", "艺名")
_OWNERS: Final = ("我家", "你家", "他家", "她家", "咱家", "我们家", "跟", "陪")

_PROPAGATED: Final = frozenset({"PERSON", "LOCATION", "ADDRESS"})
# a name's spelling in Latin letters in brackets right after it: 威尔莱特（WillWright）
_GLOSS: Final = re.compile(r"[ \t]?[（(](?P<v>[A-Za-z][A-Za-z .'\-]{0,40}?)[）)]")
_MIN_CHARS: Final = 2
# a full name: a one-character surname and a two-character given name, all Chinese characters
_FULL_NAME: Final = re.compile(rf"(?:{SURNAMES}){_HAN}{{2}}")
_SURNAME_CHAR: Final = re.compile(rf"(?:{SURNAMES})")
_MAX_NAMES: Final = 200

# the model's tags of ordinary content words: a second-reading name over exactly such a word of the first
# reading ("向日葵/n", "黄金周/n") is that word; over a verb, an adverb or an unknown proper noun, or across
# the first reading's words ("顾/v 海池/n"), it may be a name
_CONTENT_TAGS: Final = frozenset({"n", "vn", "a", "an", "s", "f", "m", "q", "nw", "TIME", "LOC", "ORG"})
# interjections and particles of chat that never belong to a given name
_NOT_IN_NAME: Final = _NOT_GIVEN | frozenset("哈嘿呀啦哦么嘛")
_ENTITY_TAGS: Final = frozenset({"PER", "LOC", "ORG"})
# the model's tags of function words (adverbs, adverbial adjectives, conjunctions, prepositions, pronouns,
# particles, other function words)
_FUNCTION_WORD_TAGS: Final = frozenset({"d", "ad", "c", "p", "r", "u", "xc"})
_NOT_IN_GIVEN: Final = _NOT_IN_NAME | frozenset("不没")
# kinship terms used to address or name someone after a describing word ("犀利哥")
_ADDRESS_TERMS: Final = frozenset("哥姐叔姨嫂妹弟")
_DESCRIBING_TAGS: Final = frozenset({"n", "a", "an", "nz"})
_SAYING: Final = ("说", "认为", "表示", "告诉", "回复", "问道", "答道", "笑道")
_HAN_RUN: Final = re.compile(rf"{_HAN}+")
# the first reading's tags of adverbs and adjectives: a two-character one is a name when the second reading
# reads it as a person and it is a common surname with a given name
_FUNCTION_LIKE_TAGS: Final = frozenset({"d", "ad", "a"})
_LATIN_NAME: Final = re.compile(r"[A-Za-z]{3,30}")
_THREE_HAN: Final = re.compile(rf"{_HAN}{{3}}")


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
        # verbs: after a title or a kinship word they are the predicate ("和老公商量。",
        # "经理同意。"), never a name, even closed by punctuation
        predicates = {(s, e) for s, e, tag in words if tag in _PREDICATE_WORD_TAGS}
        predicate_starts = {s for s, _ in predicates}
        persons = {(s, e) for s, e, tag in words if tag == "PER"}
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
            if any((s, a) in persons for a in range(s + 2, e) if a in predicate_starts):
                return False  # the model's name and the verb after it ("妻子宋佳/PER 想/v"): the name alone
            return (s, e) not in common or (
                strong and (s, e) not in predicates and (e == len(text) or text[e] in _CLOSING)
            )

        out: list[RecognizerResult] = []
        for m in _MENTION.finditer(text):
            s, e = m.span("v")
            link = text.find("http", s, e)
            if link > s:
                e = link  # a link glued to the handle ("@掌阅iReaderhttp://t.cn/…") is no part of it
            delimited = e == len(text) or e - s < 30
            if not delimited or (aligned and e - s > _HANDLE_MAX):
                limit = s + _HANDLE_MAX
                e = max((x for x in ends if s < x <= limit), default=min(e, limit))
            if aligned and e < len(text) and text[e] not in _HANDLE_END and text[e + 1 : e + 2] != "@":
                # not closed as a handle is ("@name:", "@name @other", "@name，@other", the end): it runs on into the
                # sentence ("@逆转三国里面的阵容是"), and ends before the first function word or verb after its
                # first word
                # or a numeral with its measure word ("@譚耀文几位主演": "几位" counts what follows)
                e = min(
                    (
                        a
                        for a, b, tag in words
                        if s < a < e
                        and (
                            tag in _RUNS_ON or (tag in _COUNTING and _HAN_CHAR.search(text, a, b) is not None)
                        )
                    ),
                    default=e,
                )
            out.append(RecognizerResult("PERSON", s, e, 0.8))
        for m in _DOT_NAME.finditer(text):
            if not aligned:
                out.append(RecognizerResult("PERSON", *m.span("v"), 0.8))
                continue
            out.extend(RecognizerResult("PERSON", a, b, 0.8) for a, b in _dot_names(text, m.span("v"), words))
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
        for m in _PSEUDONYM.finditer(text):
            s, e = m.span("v")
            for start in range(s, e - 1):
                if fits(start, e, strong=True):
                    out.append(RecognizerResult("PERSON", start, e, 0.7))
                    break
        if aligned and nlp_artifacts is not None:
            hints = nlp_artifacts.tokens.user_data.get(ZH_NAME_HINTS, ())
            out.extend(RecognizerResult("PERSON", s, e, 0.5) for s, e in _second_reading(text, words, hints))
        out.extend(
            RecognizerResult("PERSON", s, e, 0.5) for s, e in _names_read_as_function_words(text, words)
        )
        out.extend(RecognizerResult("PERSON", s, e, 0.5) for s, e in _address_nicknames(text, words))
        out.extend(RecognizerResult("PERSON", s, e, 0.6) for s, e in _nicknames(text, words, starts, ends))
        out.extend(RecognizerResult("PERSON", s, e, 0.6) for s, e in _after_agent_noun(text, words))
        out.extend(RecognizerResult("PERSON", s, e, 0.5) for s, e in _reduplicated_nicknames(text, words))
        out.extend(RecognizerResult("PERSON", s, e, 0.5) for s, e in _diminutive_names(text, words))
        return out


def _dot_names(
    text: str, span: tuple[int, int], words: Sequence[tuple[int, int, str]]
) -> list[tuple[int, int]]:
    """The transliterated names in a run of Chinese characters joined by middle dots (``span``): the words
    on either side of the dots, not the whole run.  Two dots belong to one name only when one word of the
    model lies between them ("妮琪·布伦斯基 击败 凯萨琳·希尔" holds two names and a verb), and a name ends
    before a particle or a conjunction ("哈利·波特与…的囚徒").  A dot between ordinary words, a title's or a
    list's separator, names nobody: a numeral, a pronoun or a function word touching it ("投票•第六届",
    "先·挖"), a pronoun or particle right at it ("故事·我的歌"), or ordinary content words on both sides
    ("撰·详", "彩票·新")."""
    lo, hi = span
    starts = {a for a, _, _ in words}
    dots = [i for i in range(lo, hi) if text[i] in _DOTS]
    chains: list[list[int]] = [[dots[0]]]
    for d in dots[1:]:
        if any(chains[-1][-1] + 1 < x < d for x in starts):
            chains.append([d])
        else:
            chains[-1].append(d)
    out: list[tuple[int, int]] = []
    for chain in chains:
        first, last = chain[0], chain[-1]
        s = max((a for a, b, _ in words if lo <= a < first and b >= first), default=lo)
        e = min((b for a, b, _ in words if a <= last + 1 and last + 1 < b <= hi), default=hi)
        before = {tag for _, b, tag in words if b == first}
        after = {tag for a, _, tag in words if a == last + 1}
        if (before | after) & _NOT_NAME_PART or any(c in _NOT_IN_TRANSLITERATION for c in text[s:first]):
            continue
        # the name ends before a particle or a conjunction read into the word after it: "哈利·波特与阿兹卡班的
        # 囚徒" (a title) gives 哈利·波特; right after the dot, the dot joins no name ("故事·我的歌")
        e = next((i for i in range(last + 1, e) if text[i] in _ENDS_TRANSLITERATION), e)
        if e <= last + 1:
            continue
        if before and after and (before | after) <= _ORDINARY_TAGS:
            continue
        out.append((s, e))
    return out


def _second_reading(
    text: str, words: Sequence[tuple[int, int, str]], hints: Sequence[tuple[int, int]]
) -> list[tuple[int, int]]:
    """The person words of the model's second reading (names weighed up) that are a word in Latin letters
    ("英文名是【lucy】") or have the shape of a Chinese full name: three Chinese characters, a family name of
    the surname lists first (the rarer ones, such as 郁 or 奉, included: two characters after them make a
    name shape that ordinary words seldom take); no particle, pronoun or title in the given name (titles
    are read by the title rules); not exactly one ordinary content word of the first reading; and not
    over a name, place or organisation the first reading already found."""
    if not hints:
        return []
    content = {(a, b) for a, b, tag in words if tag in _CONTENT_TAGS}
    function_like = {(a, b) for a, b, tag in words if tag in _FUNCTION_LIKE_TAGS}
    codes = emoticon_codes(text)
    starts = {a for a, _, _ in words}
    # characters of the first reading's names, places and organisations: a second reading that only moves
    # their edges ("王某/PER 说/v" read as "王某说") adds nothing but an error
    found = {i for a, b, tag in words if tag in _ENTITY_TAGS for i in range(a, b)}
    out: list[tuple[int, int]] = []
    for s, e in hints:
        if any(i in found for i in range(s, e)) or (codes and in_emoticon(codes, s, e)):
            continue
        if _LATIN_NAME.fullmatch(text, s, e) is not None:
            # a name in Latin letters the second reading finds as a person, whole (the model's tags of a
            # Latin word, n or nz, say nothing of what it is)
            if (
                not latin_common_word(text, s, e)
                and (s == 0 or not text[s - 1].isascii() or not text[s - 1].isalnum())
                and (e == len(text) or not text[e].isascii() or not text[e].isalnum())
            ):
                out.append((s, e))
            continue
        if e - s == 2 and (s, e) in function_like and _given_name_of(text, s, e):
            # a surname and a one-character given name that the first reading takes for a function word
            # or an adjective ("还是 易昭/ad 蹲坑", "相对 明道/a 这类型"): two characters that the model reads
            # as a person once its names are weighed up
            out.append((s, e))
            continue
        if _THREE_HAN.fullmatch(text, s, e) is None or (s, e) in content:
            continue
        if s not in starts and not (e == len(text) or text[e] in _CLOSING):
            # its surname is the tail of a word of the first reading (挥霍 + 青春 read as 霍青春): only a
            # signature, closing the text or a clause, is read so ("天下第一顾海池", first read 顾/v 海池/n)
            continue
        if any(c in _NOT_IN_NAME for c in text[s + 1 : e]) or _HONORIFIC.search(text, s + 1, e):
            continue
        if text[s] in chinese_surnames() or text[s : s + 2] in chinese_surnames():
            out.append((s, e))
    return out


def _given_name_of(text: str, s: int, e: int) -> bool:
    """[s, e) is one of the common surnames and a given name of Chinese characters without a particle,
    a pronoun, a negation or a doubled character ("常常" is no name)."""
    common = _SURNAME_CHAR.match(text, s)
    return (
        common is not None
        and common.end() == s + 1
        and _HAN_RUN.fullmatch(text, s, e) is not None
        and not any(c in _NOT_IN_GIVEN for c in text[s + 1 : e])
        and text[s + 1] != text[s]
    )


def _names_read_as_function_words(text: str, words: Sequence[tuple[int, int, str]]) -> list[tuple[int, int]]:
    """A word of three Chinese characters, one of the common surnames first, that the model reads as an
    adverb, a conjunction, a preposition, a pronoun or a particle ("晚安 曾若梅/d"): function words are a
    small closed class of one or two characters, and a three-character one that starts with a surname is
    a full name the model does not know, read through the adverb 曾 ("once") or the like.  Not when the
    given name holds a particle, a pronoun or a negation ("于是乎", "时不时")."""
    out: list[tuple[int, int]] = []
    for s, e, tag in words:
        if tag not in _FUNCTION_WORD_TAGS or e - s != 3 or _THREE_HAN.fullmatch(text, s, e) is None:
            continue
        common = _SURNAME_CHAR.match(text, s)
        if common is None or common.end() != s + 1 or any(c in _NOT_IN_GIVEN for c in text[s + 1 : e]):
            continue
        out.append((s, e))
    return out


def _address_nicknames(text: str, words: Sequence[tuple[int, int, str]]) -> list[tuple[int, int]]:
    """A nickname made of a describing word and a kinship term of address ("犀利哥", "眼镜叔说", "哈哈，
    学霸姐，你…"): a noun or adjective of two or three characters glued to 哥, 姐, 叔, 姨, 嫂, 妹 or 弟 that the
    model reads as a word of its own, where a person stands: before a verb of saying, or closed by
    punctuation or the end of the text.  Kinship words the model knows as one word (表姐, 大叔) are not
    read so."""
    out: list[tuple[int, int]] = []
    for (s, e0, tag), (a, e, _) in pairwise(words):
        if a != e0 or e != a + 1 or text[a] not in _ADDRESS_TERMS or tag not in _DESCRIBING_TAGS:
            continue
        if not 2 <= e0 - s <= 3 or _HAN_RUN.fullmatch(text, s, e0) is None:
            continue
        if e == len(text) or text[e] in _CLOSING or text.startswith(_SAYING, e):
            out.append((s, e))
    return out


def _nicknames(
    text: str, words: Sequence[tuple[int, int, str]], starts: set[int], ends: set[int]
) -> list[tuple[int, int]]:
    """小/阿/老 + a name where it is named or speaks: the longest candidate that ends on a word boundary
    and is not one ordinary word of the model ("我叫小新，" yes; "我是小学生" no: 小学生 is one word)."""
    if not words:
        return []
    tags = {(a, b): tag for a, b, tag in words}
    word_at = {a: (b, tag) for a, b, tag in words}
    out: list[tuple[int, int]] = []
    for pattern in (_NICK_NAMED, _NICK_SAYING):
        for m in pattern.finditer(text):
            s, e = m.span("v")
            if s not in starts:
                continue
            named = pattern is _NICK_NAMED and _NAMING_VERB.search(text, max(0, s - 3), s) is not None
            for end in range(e, s + 1, -1):
                if end not in ends or any(c in _NOT_GIVEN for c in text[s + 1 : end]):
                    continue
                tag = tags.get((s, end))
                if tag is not None and tag not in _NAMEISH:
                    break  # one ordinary word: 老师, 小区, 小朋友
                # after "我是" the rest must not be an ordinary word of its own ("老/a 客户/n")
                rest = word_at.get(s + 1)
                if not named and rest is not None and rest[0] == end and rest[1] not in _NAMEISH:
                    break
                if end < len(text) and text[end] not in _CLOSING and pattern is _NICK_NAMED and not named:
                    break
                out.append((s, end))
                break
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
    model (or two one-character words of the same character) that opens a clause and is followed by its
    predicate ("，壮壮很幸福"), is the object of a verb closed by punctuation ("感谢兔兔，"), one of the
    family or a companion ("我家胖胖", "跟猪猪的同学"), or is called by name ("，浪浪，你太绝了").
    Doubled kinship words (妈妈), distributive doubling (人人, 天天), the model's adverbs, measure words
    and interjections (刚刚, 个个, 哈哈), and a doubled verb ("看看再说", "谢谢你") are not names."""
    out: list[tuple[int, int]] = []
    n = len(words)
    for i, (s, e, tag) in enumerate(words):
        last = i
        if e - s == 1 and i + 1 < n and words[i + 1][1] - words[i + 1][0] == 1 and text[s] == text[s + 1]:
            last = i + 1  # the model cut the pet name in two: "浪/n 浪/n"
            e = s + 2
        if e - s != 2 or text[s] != text[s + 1] or _HAN_CHAR.fullmatch(text[s]) is None:
            continue
        if text[s] in _NOT_DOUBLED_NAME:
            continue
        # the one whose nickname follows ("超超外号小纯洁"), however the model tags the doubled word
        if text.startswith(_NICKNAME_OF, e):
            out.append((s, e))
            continue
        if (last != i and words[last][2] != tag) or tag not in _DOUBLED_TAGS:
            continue
        before = text[s - 1] if s else "\n"
        after = text[e] if e < len(text) else "\n"
        next_tag = words[last + 1][2] if last + 1 < n else "w"
        verb = tag == "v"
        # a doubled verb opening a clause is a tentative action ("看看再说", "试试看") unless what follows is
        # a predicate of its own for a subject: an adjective, a time, a preposition ("壮壮很幸福")
        # a clause opens after punctuation, and after a verb of saying: what is said is a clause of its
        # own ("泥巴说解解瘦了")
        said = i > 0 and words[i - 1][1] == s and text[words[i - 1][0] : s] in _SAYING
        opens = (before in _CLOSING or before in "@#" or said) and (
            next_tag in _VERB_SUBJECT_OF if verb else next_tag in _SUBJECT_OF
        )
        object_of = i > 0 and words[i - 1][2] == "v" and after in _CLOSING and not verb
        owned = text.endswith(_OWNERS, 0, s)
        vocative = text.startswith(("你", "，你", ",你"), e) and not verb
        if opens or object_of or owned or vocative:
            out.append((s, e))
    return out


# the prefixes of a pet name or a familiar one (小明, 阿袁), read by the model as a word of their own
_DIMINUTIVE: Final = frozenset({"小", "阿"})
# what follows a name that opens a clause: a time, a preposition ("小蚊子晚上去吃火锅")
_AFTER_OPENING_NAME: Final = frozenset({"TIME", "p"})


def _diminutive_names(text: str, words: Sequence[tuple[int, int, str]]) -> list[tuple[int, int]]:
    """小 or 阿 and a one- or two-character word after it that the model does not read as one word with it
    (小孩, 小区, 阿姨 are one word), where a name stands: opening a clause, followed by a time or a
    preposition ("：小蚊子晚上去吃火锅"), or the object of a verb closed by punctuation ("缺了小右，"), where the
    model does not read 小 as the adjective "small" ("茶几有小划痕，")."""
    out: list[tuple[int, int]] = []
    n = len(words)
    for i in range(n - 1):
        s, e0, _ = words[i]
        a, e, tag = words[i + 1]
        if e0 != s + 1 or text[s] not in _DIMINUTIVE or a != e0 or not 1 <= e - a <= 2:
            continue
        if tag not in _DOUBLED_TAGS | {"f"} or _HAN_RUN.fullmatch(text, a, e) is None:
            continue
        if any(c in _NOT_IN_GIVEN for c in text[a:e]):
            continue
        before = text[s - 1] if s else "\n"
        after = text[e] if e < len(text) else "\n"
        next_tag = words[i + 2][2] if i + 2 < n else "w"
        k = i - 1
        while k >= 0 and text[words[k][0] : words[k][1]] in ("了", "过"):
            k -= 1
        opens = before in _CLOSING and next_tag in _AFTER_OPENING_NAME
        # as an object, 小 the adjective ("有小/a 划痕/n，": a small scratch) makes no name; 小 as a prefix does
        object_of = k >= 0 and words[k][2] == "v" and after in _CLOSING and words[i][2] != "a"
        if opens or object_of:
            out.append((s, e))
    return out


# what joins the members of a list of people: the enumeration comma, and 和/与/跟/及 between two names
_LIST_COMMA: Final = frozenset("、")
_AND: Final = frozenset({"和", "与", "跟", "及", "同"})
_LIST_TAGS: Final = frozenset({"PER", "nr", "nz", "n", "v", "vn", "a", "an", "xc", "LOC", "ns", "m"})


def refine_chinese(
    text: str, found: Sequence[RecognizerResult], words: Sequence[tuple[int, int, str]]
) -> list[RecognizerResult]:
    """The Chinese findings of a text, completed and corrected with the model's reading (``words``):
    sensitive terms the reading says are not there (:func:`misread_terms`), and those that name a thing
    in a clause without a person (:func:`unclaimed_terms`), are dropped; a member of a
    list of people is a person too ("方力钧、展望、张晓刚"; "解解和周觅"); and every name or place found
    once is found at every other mention (:func:`propagate_chinese`)."""
    drop = misread_terms(text, found, words) | unclaimed_terms(text, found, words)
    kept = [r for k, r in enumerate(found) if k not in drop]
    kept.extend(RecognizerResult("PERSON", s, e, 0.5) for s, e in _listed_people(text, kept, words))
    kept.extend(propagate_chinese(text, kept, words))
    return kept


def _listed_people(
    text: str, found: Sequence[RecognizerResult], words: Sequence[tuple[int, int, str]]
) -> list[tuple[int, int]]:
    """Members of a list whose other members are people: items joined by the enumeration comma (、) or
    by 和/与/跟/及.  An item is one word of the model, or two that make a surname and a given name, of two
    to four characters and no function word.  Held between two people by enumeration commas
    ("方力钧、展望、张晓刚") it is a person; next to one person only, it must also look like a name: a
    name-like tag of the model, a doubled character (解解), or a surname and a given name."""
    if not words or not any(c in text for c in "、和与跟及同"):
        return []
    per_end = {r.end for r in found if r.entity_type == "PERSON"}
    per_start = {r.start for r in found if r.entity_type == "PERSON"}
    if not per_end:
        return []
    people = {(r.start, r.end) for r in found if r.entity_type == "PERSON"}
    start_of = {b: a for a, b in people}
    end_of = {a: b for a, b in people}
    n = len(words)
    seps = [text[a:b] in _LIST_COMMA or text[a:b] in _AND for a, b, _ in words]
    out: list[tuple[int, int]] = []
    for i in range(n):
        if seps[i]:
            continue
        candidates = [(i, i)]
        if (
            i + 1 < n
            and not seps[i + 1]
            and words[i + 1][1] - words[i][0] == 3
            and _FULL_NAME.fullmatch(text, words[i][0], words[i + 1][1]) is not None
            # a name found already ends where it ends: the word after it is the sentence's ("陈某 有")
            and (words[i][0], words[i][1]) not in people
        ):
            candidates.append((i, i + 1))
        for first, last in candidates:
            a, b = words[first][0], words[last][1]
            tags = [t for _, _, t in words[first : last + 1]]
            if (a, b) in people or not 2 <= b - a <= 4 or _HAN_CHAR.match(text, a) is None:
                continue
            if any(t not in _LIST_TAGS for t in tags) or any(c in _NOT_GIVEN for c in text[a:b]):
                continue
            lsep = first - 1 if first > 0 and seps[first - 1] else None
            rsep = last + 1 if last + 1 < n and seps[last + 1] else None
            left = lsep is not None and words[lsep][0] in per_end
            right = rsep is not None and words[rsep][1] in per_start
            enumerated = (
                lsep is not None
                and rsep is not None
                and text[words[lsep][0] : words[lsep][1]] in _LIST_COMMA
                and text[words[rsep][0] : words[rsep][1]] in _LIST_COMMA
            )
            # two given names that share their first character, as siblings' names do ("如画和如风")
            beside = [
                (p, q)
                for p, q in (
                    (start_of.get(words[lsep][0]), words[lsep][0])
                    if left and lsep is not None
                    else (None, 0),
                    (words[rsep][1], end_of.get(words[rsep][1])) if right and rsep is not None else (0, None),
                )
                if p is not None and q is not None
            ]
            looks = (
                any(t in _NAMEISH for t in tags)
                or (b - a == 2 and text[a] == text[a + 1] and text[a] not in _NOT_DOUBLED_NAME)
                or (b - a == 3 and _FULL_NAME.fullmatch(text, a, b) is not None)
                or (b - a == 2 and any(q - p == 2 and text[p] == text[a] for p, q in beside))
            )
            if (left and right and enumerated) or ((left or right) and looks):
                out.append((a, b))
    return out


def propagate_chinese(
    text: str, found: Sequence[RecognizerResult], words: Sequence[tuple[int, int, str]] | None = None
) -> list[RecognizerResult]:
    """Every other mention of a name or place found once (two characters or more), as in English; and,
    as English finds a person again by a first name alone, the two-character given name of a full
    Chinese name found once (胡小亭 ... 小亭) where it starts a word of the model (``words``); and a
    one-character name the model found ("盈讨厌婷") wherever the model reads that character as a word of
    its own that is not a function word ("盈的闺蜜"), or as the object glued to a one-character verb at
    the end of a clause ("说婷，"), never inside a longer word ("盈利")."""
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
    out = [
        RecognizerResult("PERSON", a, b, 0.5)
        for a, b, tag in words
        if b == a + 1 and text[a] in singles and tag not in _FUNCTION_TAGS and (a, b) not in spans
    ]
    # the model glued the name to the one-character verb before it, at the end of a clause: "说婷，", "选婷？"
    out.extend(
        RecognizerResult("PERSON", b - 1, b, 0.5)
        for a, b, tag in words
        if b == a + 2 and tag == "v" and text[b - 1] in singles and (b == len(text) or text[b] in _CLOSING)
    )
    return out


def _after_surname(text: str, start: int) -> bool:
    return start > 0 and _SURNAME_CHAR.fullmatch(text[start - 1]) is not None
