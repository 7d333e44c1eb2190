"""Chinese names, places, addresses and organisations from the Chinese model's words.

The NLP engine hands over one token per word of Baidu LAC (:mod:`core.pii.zh_ner`)
with its tag (``PER``, ``LOC``, ``ORG``, ``TIME`` or a part of speech).  This
recognizer turns them into Presidio results:

* ``PER`` -> PERSON (an honorific glued to the name, "王女士", stays outside the span),
  ``LOC`` -> LOCATION, ``ORG`` -> ORGANIZATION, a calendar date -> DATE_TIME;
* a word that is the name of a province, city or district (the division list,
  :mod:`core.pii.zh_places`) -> LOCATION;
* an address as a whole: a run of place words, roads, numbers, buildings, units
  and rooms ("郑州市须水镇西岗村", "香港湾仔轩尼诗道123号5楼B室") -> one ADDRESS span;
* a Latin-script proper noun inside Chinese text (a user handle, a foreign name
  in letters: "Eric", "MagicYang") -> PROPER_NOUN, a quasi-identifier;
* a named facility: a modifier before a facility's head noun ("物美 超市", "交通 茶馆")
  -> LOCATION; a proper noun after a preposition or verb of place ("在 X、", "位于 X")
  -> LOCATION.

What is masked, and why (decided as quasi-identifiers, not by what a data set labels):

* Countries and continents stay masked.  In a customer note a country is most often a
  person's nationality, origin or residence ("客户是韩国人", "下月搬去加拿大"), which
  narrows who the note is about and can be a special category (ethnic origin); a
  reader loses little with ``<LOCATION>``.  (Measured: 7% of the CLUENER places and
  19% of the Weibo places are country names, so keeping them would also let those
  mentions through.)
* A date to the day is masked (like English dates with a day): in a note it is
  usually a date about the customer (a visit, a delivery, a birthday).  Only its
  month and day are masked, as HIPAA Safe Harbor asks (45 CFR 164.514(b)(2)(i)(C):
  all elements of dates except the year): the year written before them stays
  ("2013年3月5日" -> "2013年<DATE_TIME>", "2013-03-05" -> "2013-<DATE_TIME>",
  "5/3/2013" -> "<DATE_TIME>/2013") unless it may tell an age over 89 (a year of
  birth 80 or more years back: "1935年3月5日" whole), and so do the time of day and the relative
  words the model reads into the same word ("5月18日下午", "去年12月23日").  A date
  without a year ("3月5日") is masked whole; a year or a month alone identifies
  nobody and is kept.  A date that is plainly nobody's is kept: a news report's
  dateline ("新华社北京3月5日电", "据新加坡9月23日消息") and the date a product, a work or
  a contest is released or opens ("将于5月3日正式上市", "1月25日推出", "5月27日开战").
* Abbreviations in capitals and model numbers stay masked when the model reads
  them as proper nouns: gamer tags and handles take the same shapes ("SKY", "TH000"),
  and leaving them cost more names than it kept characters.  Only such an
  abbreviation with the year of its edition ("WCG2011") or before the class of
  thing it names ("Slayers战队", "Steam平台") is kept, and "vs" between two sides.
"""

from __future__ import annotations

import re
from bisect import bisect_right
from collections.abc import Sequence
from functools import lru_cache
from itertools import pairwise
from typing import Final

from presidio_analyzer import LocalRecognizer, RecognizerResult
from presidio_analyzer.nlp_engine import NlpArtifacts

from core.pii.analysis import SENSITIVE_CATEGORIES, sensitive_type, year_kept
from core.pii.gazetteer import chinese_surnames
from core.pii.latin_words import english_run, english_word
from core.pii.nlp import ZH_WORDS
from core.pii.recognizers.sensitive_terms_zh import (
    GROUP_TERMS_ZH,
    INSTITUTION_HEADS_ZH,
    INSTITUTION_TERMS_ZH,
    OBJECT_TERMS_ZH,
    ORG_EVENT_TERMS_ZH,
    TERMS_ZH,
)
from core.pii.terms import compile_terms
from core.pii.zh_places import Divisions, divisions

_ENTITY: Final = {"PER": "PERSON", "LOC": "LOCATION", "ORG": "ORGANIZATION"}
HONORIFIC: Final = re.compile(
    r"(?:先生|女士|小姐|太太|夫人|老师|师傅|医生|律师|同学|教授|博士|总|老板|经理|总监|主任|阿姨|叔叔|大爷|大妈)$"
)
# laughter in chat: one of its syllables twice or more ("哈哈", "呵呵呵"), which no name spells
_LAUGHTER: Final = re.compile(r"([哈呵嘻嘿])\1+")
# relative time words that the model sometimes reads into the end of a name
_DEICTIC_TIME: Final = re.compile(
    r"(?:今天|明天|昨天|后天|前天|今早|今晚|明早|明晚|上午|下午|晚上|早上|中午)"
)
# a date to the day (a birthday, an appointment): its month and day; the year before them
# ("2013年", "二〇一三年") stays outside the span, as a year or a month alone identifies nobody
_CALENDAR_DATE: Final = re.compile(r"[0-9一二三四五六七八九十]{1,2}月[0-9一二三四五六七八九十]{1,3}[日号]")
# the year written right before a date's month (in digits or numerals, "2013年", "二〇一三年", "13年")
_YEAR_BEFORE: Final = re.compile(r"(?<![0-9零〇一二三四五六七八九])[0-9零〇一二三四五六七八九]{2,4}年$")
_NUMERALS: Final = str.maketrans("零〇一二三四五六七八九", "00123456789")
# a date to the day in digits with its year, "2013-03-05", "2013/3/5", "2013.3.5" (group "md": the
# month and day) or "5/3/2013" (group "dm": day and month, in either order); not inside a longer run
# of digits and separators (a version, an address, an identifier)
_YEAR: Final = r"(?:1[89]|20)[0-9]{2}"
_NUMERIC_DATE: Final = re.compile(
    rf"(?<![0-9A-Za-z.\-/])(?P<y>{_YEAR})(?P<s>[-/.])(?P<md>(?:0?[1-9]|1[0-2])(?P=s)(?:0?[1-9]|[12][0-9]|3[01]))"
    r"(?![0-9A-Za-z]|[-/.][0-9])"
    rf"|(?<![0-9A-Za-z.\-/])(?P<dm>(?P<a>[0-9]{{1,2}})(?P<t>[-/.])(?P<b>[0-9]{{1,2}}))(?P=t)(?P<y2>{_YEAR})"
    r"(?![0-9A-Za-z]|[-/.][0-9])"
)
# a word that names a place by its suffix: administrative units, roads, villages, estates, buildings
_PLACE_WORD: Final = re.compile(
    r"^[\u4e00-\u9fff0-9A-Za-z]{1,12}(?:省|市|区|县|旗|州|盟|镇|乡|村|屯|庄|街道|社区|路|街|大街|大道|道|巷|弄|胡同|"
    r"里|坊|小区|花园|公寓|大厦|广场|新村|苑|园|城|湾|邨|坊)$"
)
# a unit of an address after the street: numbers, buildings, units, floors, rooms (号, 號 -> 号 before this)
# a word that is a place by itself: a road, a village, an estate, a landmark or a shop ("工业路", "物美超市")
_LANDMARK_WORD: Final = re.compile(
    r"^[\u4e00-\u9fff0-9A-Za-z]{2,12}(?:路|街|大街|大道|巷|弄|胡同|小区|花园|公馆|大厦|新村|村|镇|乡|广场|商场|"
    r"超市|百货|体育场|体育馆|机场|火车站|码头|公园|大院|分店|门店|店)$"
)
_LANDMARK_TAGS: Final = frozenset({"n", "ns", "nz", "s"})
# a place word that follows a proper name as its own word: "物美 超市", "刘家 大院", "洼跨 码头"
_PLACE_HEAD: Final = re.compile(
    r"^(?:路|街|大街|大道|巷|胡同|村|镇|超市|商场|广场|大厦|公馆|会馆|酒店|宾馆|饭店|公园|体育场|体育馆|码头|网吧|大院|"
    r"中心|商务区|小区|花园)$"
)
_PROPER_TAGS: Final = frozenset({"nz", "ns", "nr", "PER", "LOC", "ORG"})
# a named facility: a two-character modifier of ordinary words ("物美 超市", "交通 茶馆", "金贸 中心") before a
# facility's head noun; the head is what makes it a place, as a reader takes it
_FACILITY_HEAD: Final = re.compile(
    r"^(?:超市|商场|广场|大厦|公馆|会馆|酒店|宾馆|饭店|餐厅|茶馆|酒吧|网吧|公园|体育场|体育馆|球馆|码头|大院|牧场|"
    r"中心|商务区|小区|花园|家园|名苑)$"
)
# a verbal noun before the head names its function ("销售 中心", "转运 中心", "教育 中心"), not the place
_MODIFIER_TAGS: Final = frozenset({"n", "a", "v", "an", "nw"})
# a named institution: a noun, a name or a number before the head noun of a hospital, a church, a temple or a
# prison ("妇幼保健 医院", "宠物 医院", "309 医院"): a place, masked as one (a sensitive term there is a fact only in
# a person's context, see unclaimed_terms)
_INSTITUTION_NAME_HEAD: Final = re.compile(
    r"^(?:医院|诊所|卫生院|教堂|寺庙|寺|庙|清真寺|监狱|看守所|戒毒所)$"
)
# a subject or its adverb before a verb: a pronoun, a noun, a name, an adverb
_SUBJECT_TAGS: Final = frozenset({"r", "n", "nr", "PER", "d"})
# directional and locative complements that close a verb of motion or placement (进入, 留在, 走进, 回到, 搬往)
_DIRECTIONAL: Final = frozenset("入在进到往至回")
_INSTITUTION_MODIFIER_TAGS: Final = frozenset({"n", "vn", "nz", "ns", "nw", "ORG", "LOC", "PER"})
# prepositions and verbs of place and motion: what follows names where ("在", "位于", "前往")
_TO_OR_AT: Final = frozenset(
    {"在", "于", "从", "到", "至", "去", "来自", "位于", "前往", "抵达", "住在", "飞往"}
)
_TWO_HAN: Final = re.compile(r"^[\u4e00-\u9fff]{2}$")
_UNIT_WORD: Final = re.compile(
    r"^(?:[0-9A-Za-z零〇一二三四五六七八九十百甲乙丙丁东西南北\-#]*(?:号楼|号院|号|栋|幢|座|单元|楼|层|室|户|弄|巷|期|区|段))+"
    # the number of the next unit, read into this word by the model: "100号5/m 楼/n"
    r"[0-9A-Za-z]{0,4}$"
)
# the end of an address after a place: a branch, a building, an estate ("虹口龙之梦店")
_TAIL_WORD: Final = re.compile(
    r"^[\u4e00-\u9fff]{1,6}(?:店|分店|门店|中心|广场|大厦|商场|大楼|公寓|花园|小区)$"
)
_NUMBER_WORD: Final = re.compile(r"^[0-9A-Za-z零〇一二三四五六七八九十百\-#]{1,8}$")
_LATIN_NAME: Final = re.compile(r"^[A-Za-z][A-Za-z0-9_.\-]*[A-Za-z0-9]$")
_LATIN_TAGS: Final = frozenset({"PER", "nz", "ORG", "LOC"})
# a capitalised or camel-case Latin word ("Eric", "TomConlin", "IdrA"); all-capital acronyms ("PC", "RPG") are not
_LATIN_CAPITALISED: Final = re.compile(r"^(?=[A-Za-z0-9]*[a-z])[A-Z][A-Za-z0-9]+$")
_QUOTES: Final = {"《": "》", "“": "”", '"': '"', "「": "」", "『": "』", "〈": "〉"}
# the class of a named product, work or platform right after its name
_PRODUCT_CLASS: Final = re.compile(
    r"(?:游戏|平台|引擎|系统|版本|版|系列|手机|电脑|杂志|软件|网站|论坛|客户端|主机|掌机|步枪|冲锋枪|战斗机|芯片|品牌|型号|赛事|联赛|"
    r"战队|赛区|赛季|地图|控制器|战机|乐队)"
)
# an abbreviation in capitals with the year of its edition ("WCG2011", "ECL 2011", "CPL2011"): a contest, a fair or
# a product of that year, as a person is never named
_EDITION: Final = re.compile(r"[A-Z]{2,6}(?:19|20)[0-9]{2}")
_CAPITALS: Final = re.compile(r"[A-Z]{2,6}")
_EDITION_YEAR: Final = re.compile(r"[ \t]?(?:19|20)[0-9]{2}(?![0-9])")
_URL: Final = re.compile(
    r"(?:https?://|www\.)[!-~]+"
    r"|(?<![A-Za-z0-9.\-])[A-Za-z0-9.\-]{1,100}\.(?:cn|com|net|org|jpg|png|gif)(?:/[!-~]*)?"
)
# an emoticon code of the social platforms: a word or two in square brackets that the site shows as a
# picture ("[哈哈]", "[奥特曼]", "[good]"), in an emoticon pack's lower-case Latin prefix and Chinese
# ("[bm可爱]", "[lt切克闹]"), or Latin in lower case alone ("[good]", "[ok]")
_EMOTICON_CODE: Final = re.compile(r"\[(?P<v>(?:[a-z]{1,4})?[\u4e00-\u9fff]{1,5}|[a-z]{2,6})\]")


def emoticon_codes(text: str) -> list[tuple[int, int]]:
    """The [start, end) of the inside of each emoticon code of ``text`` (see ``_EMOTICON_CODE``) that
    does not have the shape of a full name: what the model reads there is a picture's caption, not a
    name, a place or an organisation.  A name rule (a title, 我叫, a verb of saying) still finds a name
    there, and a name found elsewhere is found there too."""
    if "[" not in text:
        return []
    return [m.span("v") for m in _EMOTICON_CODE.finditer(text) if not _name_shaped(m.group("v"))]


def _name_shaped(word: str) -> bool:
    """The shape of a full name: a family name of the surname list and one or two characters ("[李明]",
    "[欧阳娜娜]" are names in brackets, not emoticon codes, by their form alone)."""
    surnames = chinese_surnames()
    return any(word[:k] in surnames and 1 <= len(word) - k <= 2 for k in (1, 2))


def in_emoticon(codes: Sequence[tuple[int, int]], start: int, end: int) -> bool:
    return any(a <= start and end <= b for a, b in codes)


# words of the area around or within a place, read into its name by the model
# the model's tags of ordinary words: nouns, place and direction words, verbs, adjectives, adverbs, numbers
_ORDINARY_WORD_TAGS: Final = frozenset(
    {"n", "s", "f", "v", "vn", "a", "an", "ad", "d", "m", "q", "r", "c", "p"}
)
# the suffix of a division's official name (省, 市, 区, 县 …): a place whatever the model reads
_DIVISION_SUFFIX: Final = re.compile(r"(?:省|市|区|县|州|盟|旗|自治区|特别行政区)$")
_AREA_WORD: Final = re.compile(r"(?:地区|境内|一带|周边|附近|沿线|沿岸|地带)$")
_PLACE, _UNIT, _NUMBER, _OTHER, _SHORT = range(5)
# a two-character common noun with a place's suffix names a kind of place, not a place: 赛区, 景区, 楼市,
# 城市, 公园, 校园, 马路, 大街 (village names such as 张村 or 李庄 keep their suffixes)
_GENERIC_PLACE: Final = re.compile(r"^[\u4e00-\u9fff](?:区|市|城|园|湾|里|坊|苑|路|街|道|巷|弄)$")


_SENSITIVE_TYPES: Final = frozenset(sensitive_type(c) for c in SENSITIVE_CATEGORIES)
# the title of a work (《死亡空间2》, 《天天有喜》), a Weibo emoticon code ([生病], [泪]), a handle (@心理咨询中心)
_NAMED_THING: Final = re.compile(
    r"《[^《》\n]{1,60}》|〈[^〈〉\n]{1,60}〉|\[[^\[\]\n]{1,8}\]|(?P<handle>@[^\s@:：,，。！!？?/]{1,30})"
)
# what closes a handle for certain (as in zh_names): a handle not closed so may run on into the sentence
# ("@小明生病了，"), and a term in it or at its end is no part of a name
_HANDLE_CLOSED: Final = frozenset(":：@/ \t\n")
# the title of a work long enough to be told apart from an everyday phrase: named again without its
# brackets in a topic tag ("《天天有喜》 … #三色番茄天天有喜#"), it is still the title (in the prose it may be
# the phrase: "看了《离婚律师》，想找个离婚律师")
_TITLE_TEXT: Final = re.compile(r"《([^《》\n]{4,60})》")
_TOPIC_TAG: Final = re.compile(r"#[^#\n]{1,60}#")
#: Titles of one note, and their other mentions, read at most (the check stays linear in the note).
_MAX_TITLES: Final = 8
_MAX_TITLE_MENTIONS: Final = 32
# a gradable idiom that names a fact only in its literal sense: after a degree adverb it is a trait or a
# mood ("这么想不开": cannot let things go), not an act ("一时想不开")
_GRADABLE_TERMS: Final = frozenset({"想不开"})
# a term that is an adverb of manner before a verb ("无障碍获取信息": freely), where it says how something is
# done, not what anyone has ("需要无障碍通道" stays)
_MANNER_TERMS: Final = frozenset({"无障碍"})
_DEGREE_ADVERB: Final = re.compile(
    r"(?:这么|那么|这样|那样|如此|多么|太|很|挺|真|好|特别|非常|比较|有点|总是)$"
)
# predicates that take 死 as a degree complement ("累死了", "热死了", "笑死了": "terribly"), not a death
# (a one-character predicate, or the last character of a longer one: 难受, 好笑, 可爱); and any adjective
_DEGREE_OF_DEATH: Final = frozenset(
    "累热冷笑饿渴困烦闷急气吓忙疼痛痒美帅萌爽酸甜辣咸丑挤吵愁想爱恨羡馋丢懒受聊"
)
_ADJECTIVE_TAGS: Final = frozenset({"a", "ad", "an"})
# particles and complements the model reads onto the end of a verb ("断了", "走着")
_PARTICLES: Final = frozenset("了着过的得地们呢吗吧啊呀")
_HAN_RE: Final = re.compile(r"[\u4e00-\u9fff]")


@lru_cache(maxsize=1)
def _terms_zh() -> re.Pattern[str]:
    return compile_terms(TERMS_ZH, word_bounded=False)


def misread_terms(
    text: str, found: Sequence[RecognizerResult], words: Sequence[tuple[int, int, str]]
) -> set[int]:
    """Indexes in ``found`` of sensitive terms that the Chinese model's reading says are not there: a term
    that cuts through words on both sides ("别人|流泪" is no 人流) or ends inside a content word ("过|世界"
    is no 过世; "摔|断了" is still 摔断), unless a word it cuts holds a term of its own; a term inside the title of a work, an emoticon code, a handle, or
    before the head of a place's name ("小三峡"), which names a thing and states no fact about anyone (a
    title is one at its other mentions too, "《天天有喜》 … #三色番茄天天有喜#"); 死了 as a degree complement
    after a predicate of feeling ("累死了", "热死了", "无聊死了"); a gradable idiom after a degree adverb
    ("这么想不开"); and a term that is an adverb of manner before a verb ("无障碍获取信息")."""
    if not words:
        return set()
    word_of: list[tuple[int, int]] = [(i, i + 1) for i in range(len(text))]
    tag_at: dict[int, str] = {}
    for a, b, tag in words:
        tag_at[a] = tag
        for i in range(a, min(b, len(text))):
            word_of[i] = (a, b)
    named = _named_things(text) if any(c in text for c in "《〈[@") else []
    named_starts = [a for a, _ in named]  # in order and apart: finditer's matches do not overlap
    mentions = _title_mentions(text) if "《" in text else []
    drop: set[int] = set()
    for k, r in enumerate(found):
        if r.entity_type not in _SENSITIVE_TYPES or not 0 <= r.start < r.end <= len(text):
            continue
        first, last = word_of[r.start], word_of[r.end - 1]
        head_cut = first[0] < r.start and first[1] < r.end  # the term starts inside a word
        # the term ends inside a word whose rest is more than a particle: "过|世界" is cut, "摔|断了" is not
        tail_cut = (
            last[1] > r.end
            and last[0] > r.start
            and any(_HAN_RE.match(c) and c not in _PARTICLES for c in text[r.end : last[1]])
        )
        # a cut on both sides ("别人|流泪" for 人流), or at the end into a content word; and fail closed: a cut
        # word that holds a term of its own ("被车撞" cuts 撞死) keeps the finding
        cut = [w for w, c in ((first, head_cut), (last, tail_cut)) if c]
        cuts = ((head_cut and last[1] > r.end and last[0] > r.start) or tail_cut) and not any(
            _terms_zh().search(text, a, b) for a, b in cut
        )
        # inside a title, an emoticon, a handle; or the modifier inside a place or person the model names
        # ("小三峡" holds no 小三), though not its head ("协和医院" is a hospital)
        k_named = bisect_right(named_starts, r.start - 1) - 1  # the last named thing starting before the term
        inside = (
            (k_named >= 0 and r.end <= named[k_named][1])
            or (first == last and tag_at.get(first[0]) in ("LOC", "PER") and r.end < first[1])
            or any(a <= r.start and r.end <= b and b - a > r.end - r.start for a, b in mentions)
        )
        before = word_of[r.start - 1] if r.start > 0 else (0, 0)
        degree = (
            text.startswith("死了", r.start)
            and r.start > 0
            and (
                text[r.start - 1] in _DEGREE_OF_DEATH
                or (before[1] == r.start and tag_at.get(before[0]) in _ADJECTIVE_TAGS)
            )
        )
        gradable = (
            "".join(text[r.start : r.end].split()) in _GRADABLE_TERMS
            and _DEGREE_ADVERB.search(text, max(0, r.start - 2), r.start) is not None
        )
        after = r.end + 1 if text.startswith("地", r.end) else r.end
        manner = (
            "".join(text[r.start : r.end].split()) in _MANNER_TERMS
            and after < len(text)
            and word_of[after][0] == after
            and tag_at.get(after) == "v"
        )
        if cuts or inside or degree or gradable or manner:
            drop.add(k)
    return drop


def _named_things(text: str) -> list[tuple[int, int]]:
    """(start, end) of each title, emoticon code and closed handle of ``text``, in order and apart: a term
    [s, e) names nothing about anyone when start < s and e <= end (a title's or a code's end is before its
    closing bracket; a handle closed by a colon, a space, the next mention or a slash ends where it ends,
    "@你的声音躲在我耳朵里让我生病@…")."""
    out: list[tuple[int, int]] = []
    for m in _NAMED_THING.finditer(text):
        a, b = m.span()
        if m.group("handle") is None:
            out.append((a, b - 1))
        elif b == len(text) or text[b] in _HANDLE_CLOSED:
            out.append((a, b))
    return out


def _title_mentions(text: str) -> list[tuple[int, int]]:
    """[start, end) of every mention of a title of ``text`` (of four characters or more, named once in
    《》) inside a topic tag (#…#): what the title holds names the work there too."""
    if "#" not in text:
        return []
    titles = list(dict.fromkeys(m.group(1) for m in _TITLE_TEXT.finditer(text)))[:_MAX_TITLES]
    out: list[tuple[int, int]] = []
    for tag in _TOPIC_TAG.finditer(text):
        a, b = tag.span()
        for title in titles:
            i = text.find(title, a, b)
            if i >= 0 and len(out) < _MAX_TITLE_MENTIONS:
                out.append((i, i + len(title)))
    return out


# --- sensitive terms that need a person's context (unclaimed_terms) ---
# what ends a clause: a person named in one clause is not the subject of the next by this rule
_CLAUSE_MARKS: Final = frozenset("，,。！？!?；;：:\n…")
# the personal pronouns (LAC reads "我妈", "他们", "自己" as pronouns too): a person in the clause
_PERSONAL: Final = re.compile(r"(?:我|你|您|他|她|咱|俺|自己|本人)")
# the last character of a noun of person: kin (妈, 哥, 女儿, 老公), roles and agents (客户, 患者, 队员,
# 护士, 老师, 评委), "人" (病人, 老人, 女人)
_PERSON_HEAD: Final = frozenset("人者员客友婆公爸妈爷奶哥姐弟妹儿女夫妻娃士生师孩委")
_NOUN_TAGS: Final = frozenset({"n", "nw", "nz"})
# what a noun phrase before the term is made of ("在 恩平市人民医院 外 三科 的 病房", "去 附近 的 医院")
_PHRASE_TAGS: Final = frozenset({"n", "nz", "ns", "nw", "s", "f", "m", "q", "a", "an", "r", "LOC", "ORG"})
_PHRASE_WORDS: Final = 6
# a verb or preposition of going to, staying at or coming from a place: its last character ("去", "送往",
# "住进", "在", "从") or any other ("住", "躺", "送", "关押", "陪", "探望", "常跑医院", "上教堂")
_TO_PLACE_LAST: Final = frozenset("去到在进往入回来住躺送从")
_TO_PLACE_ANY: Final = frozenset("住躺送关押陪探转跑上留")
# verbs of belonging to a doctrine, a people or a party
_BELONGS: Final = frozenset({"是", "信", "信仰", "信奉", "皈依", "归依", "加入", "入", "属于", "改信", "拜"})
# verbs and prepositions; and adverbs, as the model reads an adverb glued to its verb as one ("常跑/d 医院")
_VERB_TAGS: Final = frozenset({"v", "vd", "p", "d"})
# after an institution: the place is a landmark for somewhere else ("教堂附近的咖啡店", "医院门口")
_LANDMARK_AFTER: Final = re.compile(
    r"的?(?:附近|门口|门前|门外|门旁|大门|后门|侧门|旁边|旁|边上|斜对面|对面|隔壁|周边|周围|一带|楼下|路口|"
    r"前面|后面|东侧|西侧|南侧|北侧|停车场|车站|站)"
)
_INSTITUTION_HEAD: Final = re.compile("|".join(INSTITUTION_HEADS_ZH))
# a general statement of what may cause a condition ("可导致肺炎", "可能会致流产", "易引发抑郁症"): a verb of
# causing after a modal of possibility; or of what a condition goes with ("和抑郁症有关")
_MAY_CAUSE: Final = re.compile(
    r"(?:可能|可以|容易|或将|可|会|易|能)(?:会|能)?(?:导致|引起|引发|诱发|造成|致)$"
)
_RELATED_BEFORE: Final = re.compile(r"(?:和|与|跟|同)$")
_RELATED_AFTER: Final = re.compile(r"(?:有关|相关|无关|有联系|有关系)")
_ASPECT: Final = frozenset({"了", "过", "着"})


def _clause_ids(text: str) -> list[int]:
    """The clause of each character: clauses end at :data:`_CLAUSE_MARKS` (a mark starts the next one)."""
    ids: list[int] = []
    clause = 0
    for ch in text:
        if ch in _CLAUSE_MARKS:
            clause += 1
        ids.append(clause)
    return ids


def _is_person_word(word: str, tag: str) -> bool:
    """A personal pronoun, a person the model found, a noun of person ("客户", "老人", "重伤者")."""
    return (
        tag == "PER"
        or (tag == "r" and _PERSONAL.match(word) is not None)
        or (tag in _NOUN_TAGS and word[-1] in _PERSON_HEAD)
    )


def _verb_before(
    text: str, words: Sequence[tuple[int, int, str]], k: int, *, through_phrase: bool
) -> str | None:
    """The verb (or preposition) before word ``k`` in its clause, after the noun phrase that ends in it
    (``through_phrase``) or right before it; aspect particles ("做了") are passed over.  None if none.
    Looks back over :data:`_PHRASE_WORDS` words and particles at most."""
    skipped = 0
    for i in range(k - 1, max(k - 1 - 2 * _PHRASE_WORDS, -1), -1):
        s, e, tag = words[i]
        w = text[s:e]
        if any(c in _CLAUSE_MARKS for c in w):
            return None
        if w in _ASPECT and tag == "u":
            continue
        if through_phrase and skipped < _PHRASE_WORDS and (tag in _PHRASE_TAGS or w == "的"):
            if tag == "r" and _PERSONAL.match(w):
                return None
            skipped += 1
            continue
        if tag in _VERB_TAGS:
            return w.rstrip("了过着") or w
        return None
    return None


# what a doctrine or a people is still named by when the model reads it into a longer word: 伊斯兰教, 藏族人
_GROUP_SUFFIX: Final = frozenset("教族人徒党")


def _modifies_a_thing(text: str, words: Sequence[tuple[int, int, str]], k: int, end: int) -> bool:
    """The term ending at ``end`` in word ``k`` modifies a noun of a thing: "宗教史", "藏族 民间艺术" (so
    "是宗教史" says what a book is about, not what anyone is); a noun of person ("藏族 人") is no thing."""
    e = words[k][1]
    if end < e:
        return text[end] not in _GROUP_SUFFIX
    if k + 1 >= len(words):
        return False
    _, ne, tag = words[k + 1]
    return tag in {"n", "nw", "vn"} and text[ne - 1] not in _PERSON_HEAD


def unclaimed_terms(
    text: str, found: Sequence[RecognizerResult], words: Sequence[tuple[int, int, str]]
) -> set[int]:
    """Indexes in ``found`` of sensitive terms that name a thing, not a person's fact, by the class of the
    term (:data:`INSTITUTION_TERMS_ZH`, :data:`GROUP_TERMS_ZH`, :data:`OBJECT_TERMS_ZH`,
    :data:`ORG_EVENT_TERMS_ZH`):

    * an institution (a hospital, a church, a prison; any term before an institution's head noun, "心理咨询
      中心"; any term inside an organisation's name the model found) that is a landmark ("医院门口", "教堂
      附近的咖啡店"), or that stands in a clause with no person in it and is not the place a verb of going,
      staying or coming sends someone ("送往通惠医院", "在看守所", "去教堂" stay facts);
    * a doctrine, a people or a party in a clause with no person in it and not after a verb of belonging
      ("宗教史", "藏族民间艺术" go; "她信佛教", "是藏族" stay);
    * a noun with an ordinary first sense (人流, 牺牲) in a clause with no person in it and not the
      object of a verb ("如潮的人流" goes; "做了人流" stays);
    * what befalls a firm (破产, 倒闭, 裁员: :data:`ORG_EVENT_TERMS_ZH`) in a clause with an organisation
      the model names and no person ("雷曼兄弟公司申请破产" goes; "公司破产了", "他的公司破产了" stay);
    * any term in a general statement of what may cause it or what it goes with, in a clause with no person
      in it ("可导致肺炎病原菌", "可能会致流产的食物", "额头皱纹和抑郁症有关" go; "他的失眠和抑郁症有关",
      "她上周确诊肺炎" stay).

    Fails closed: a personal pronoun, a person found, or a noun of person anywhere in the clause keeps the
    term.  Only the analysis drops it; the import screen and the outbound gate match it everywhere."""
    if not words:
        return set()
    sensitive = [
        k
        for k, r in enumerate(found)
        if r.entity_type in _SENSITIVE_TYPES and 0 <= r.start < r.end <= len(text)
    ]
    if not sensitive:
        return set()
    # one pass over the words, the findings and the text: what each clause holds (linear in the note)
    index_of = [0] * len(text)
    for k, (s, e, _) in enumerate(words):
        for i in range(s, min(e, len(text))):
            index_of[i] = k
    clause_of = _clause_ids(text)
    with_person: set[int] = set()
    with_org: set[int] = set()
    for s, e, tag in words:
        if s < e <= len(text):
            if _is_person_word(text[s:e], tag):
                with_person.add(clause_of[s])
            if tag == "ORG":
                with_org.add(clause_of[s])
    in_place = [False] * len(text)
    for r in found:
        if not 0 <= r.start < r.end <= len(text):
            continue
        if r.entity_type == "PERSON":
            with_person.update(range(clause_of[r.start], clause_of[r.end - 1] + 1))
        elif r.entity_type in ("ORGANIZATION", "LOCATION", "ADDRESS"):
            if r.entity_type == "ORGANIZATION":
                with_org.update(range(clause_of[r.start], clause_of[r.end - 1] + 1))
            for i in range(r.start, r.end):
                in_place[i] = True
    drop: set[int] = set()
    for k in sensitive:
        r = found[k]
        term = "".join(text[r.start : r.end].split())
        first, last = index_of[r.start], index_of[r.end - 1]
        if words[first][2] == "x" or words[last][2] == "x":
            continue  # not read by the model (the rules-only reading, or past the budget): fail closed
        w_end = words[last][1]
        in_name = words[first][2] == "ORG" or all(in_place[r.start : r.end])
        institution = (
            term in INSTITUTION_TERMS_ZH or _INSTITUTION_HEAD.match(text, r.end) is not None or in_name
        )
        group = term in GROUP_TERMS_ZH
        ordinary = term in OBJECT_TERMS_ZH
        firm = term in ORG_EVENT_TERMS_ZH
        general = _MAY_CAUSE.search(text, max(0, r.start - 6), r.start) is not None or (
            _RELATED_BEFORE.search(text, max(0, r.start - 1), r.start) is not None
            and _RELATED_AFTER.match(text, r.end) is not None
        )
        if general:
            # what may cause a condition, or goes with it, said of nobody in the clause
            if not any(c in with_person for c in range(clause_of[r.start], clause_of[r.end - 1] + 1)):
                drop.add(k)
            continue
        if not (institution or group or ordinary or firm):
            continue
        if institution and _LANDMARK_AFTER.match(text, max(r.end, w_end)) is not None:
            drop.add(k)
            continue
        clauses = range(clause_of[r.start], clause_of[r.end - 1] + 1)
        if any(c in with_person for c in clauses):
            continue
        if firm:
            if any(c in with_org for c in clauses):
                drop.add(k)
            continue
        verb = _verb_before(text, words, first, through_phrase=not ordinary)
        if verb is not None and (
            (institution and (verb[-1] in _TO_PLACE_LAST or not _TO_PLACE_ANY.isdisjoint(verb)))
            or (group and verb in _BELONGS and not _modifies_a_thing(text, words, last, r.end))
            or ordinary
        ):
            continue
        drop.add(k)
    return drop


def artifact_words(art: NlpArtifacts) -> list[tuple[int, int, str]]:
    """The (start, end, tag) of every token: as the NLP engine stored them, else from the Doc."""
    doc = art.tokens
    stored = doc.user_data.get(ZH_WORDS)
    if stored is not None:
        return list(stored)
    return [(tok.idx, tok.idx + len(tok.text), str(tok.tag_)) for tok in doc]


# a trademark's shape: lower-case letters, then a capitalised word ("iPad", "iPhone5s", "eBay", "vivoXplay");
# nobody writes a person's name so (names are capitalised, or written all in one case)
_TRADEMARK: Final = re.compile(r"[a-z]{1,5}[A-Z][a-z]")
# the extension of a file name ("扫描版.pdf", "照片.jpg")
_EXTENSION: Final = re.compile(r"[A-Za-z]{2,4}")


def latin_common_word(text: str, start: int, end: int) -> bool:
    """Whether the Latin word text[start:end] of a Chinese note is no name: a trademark's shape
    ("iPadmini", "iPhone5s") or a file name's extension after its dot ("….pdf").  An English function
    word in capitals is not one of them: a band calls itself "SHE", a gamer "WE"."""
    word = text[start:end]
    if _TRADEMARK.match(word) is not None:
        return True
    return (
        start >= 2
        and text[start - 1] == "."
        and not text[start - 2].isspace()
        and _EXTENSION.fullmatch(word) is not None
    )


# an English word as it is written in running text: lower case, or capitalised ("cheap", "Hold")
_WORD_CASE: Final = re.compile(r"[a-z]+|[A-Z][a-z]+")


def latin_english_word(word: str) -> bool:
    """Whether a Latin word that the model reads as a proper noun of a Chinese note is an English word
    used as one: in lower case or capitalised, an English word that is no personal name or place
    ("Hold住", "好莱坞的extra", "像条狗cheap？"), or three or more common English words written together
    ("Itisright", "Ineedyou"); see :mod:`core.pii.latin_words`.  A word that is also a given name or a
    family name ("Grace", "Rose", "Will") stays a name, and so does a word in capitals ("SHE", "WE").

    Only the proper-noun reading is left so: where the model reads the word as a person when names are
    weighed up ("castle一家", "heat答："), it stays a name (:func:`latin_common_word`)."""
    return _WORD_CASE.fullmatch(word) is not None and (english_word(word) or english_run(word))


def _is_title(text: str, start: int, end: int) -> bool:
    """A Latin name quoted whole as a title ("《Quake3》", "“Frostbite”"), followed by the class of
    thing it names ("Steam平台", "MP5冲锋枪", "Slayers战队"…), or an abbreviation in capitals with the year
    of its edition ("WCG2011", "WCG2009"): a work, a product or a contest, not a person."""
    return (
        _quoted(text, start, end)
        or _PRODUCT_CLASS.match(text, end) is not None
        or _EDITION.fullmatch(text, start, end) is not None
        or (_CAPITALS.fullmatch(text, start, end) is not None and _EDITION_YEAR.match(text, end) is not None)
    )


def _quoted(text: str, start: int, end: int) -> bool:
    return start > 0 and end < len(text) and _QUOTES.get(text[start - 1]) == text[end]


def _named_facility(
    text: str, start: int, head_start: int, end: int, tag: str, head_tag: str, before_tag: str = "w"
) -> bool:
    """A modifier word [start, head_start) and a facility's head noun [head_start, end): "物美 超市", "交通
    茶馆" (a two-character modifier of ordinary words), "妇幼保健 医院", "309 医院" (an institution).

    A verb of motion or placement (ending in a directional or locative complement: 进入, 留在, 走进, 回到)
    after a subject or its adverb (``before_tag``: a pronoun, a noun, a name, an adverb) is the clause's
    predicate and the head its object: "我们 进入 公园", "他 留在 商场" name no place.  Any other verb
    there, or one after a preposition or opening a clause, may be a name ("我们 乐成 中心", "在 必读 酒店")."""
    if head_tag != "n":
        return False
    head = text[head_start:end]
    if tag == "v" and before_tag in _SUBJECT_TAGS and text[head_start - 1] in _DIRECTIONAL:
        return False
    if tag in _MODIFIER_TAGS and _TWO_HAN.match(text[start:head_start]) and _FACILITY_HEAD.match(head):
        return True
    return (
        _INSTITUTION_NAME_HEAD.match(head) is not None
        and (tag in _INSTITUTION_MODIFIER_TAGS or (tag == "m" and text[start:head_start].isdigit()))
        and head_start - start >= 2
    )


def _common_word_division(word: str, tag: str) -> bool:
    """A division's short form that the model reads as an ordinary word where it stands: 白银/n (silver, and
    a city), 东方/s (the east, and a city), 新星/n.  Its official name (白银市) and a short form the model reads
    as a place or a proper noun stay places."""
    return tag in _ORDINARY_WORD_TAGS and _DIVISION_SUFFIX.search(word) is None


def _place_end(word: str, places: Divisions, start: int, end: int) -> int:
    """Where a place word of the model ends: before a word of area read into it ("北京地区", "台湾境内",
    "长江沿线": the area of a place in the division list), unless the whole is a division of its own
    (喀什地区, a prefecture)."""
    m = _AREA_WORD.search(word)
    if m is None or m.start() < 2 or places.is_place(word) or not places.is_place(word[: m.start()]):
        return end
    return start + m.start()


def _kind(word: str, tag: str, places: Divisions) -> int:
    if tag == "LOC" or places.is_place(word):
        return _PLACE
    if places.in_address(word):
        return _SHORT
    if tag in ("PER", "TIME", "w", "v", "p", "c", "u", "xc", "d", "r", "_SP"):
        return _OTHER
    if _UNIT_WORD.match(word) or (tag in ("n", "nz", "ORG", "s") and _TAIL_WORD.match(word)):
        return _UNIT
    if (
        _PLACE_WORD.match(word)
        and tag in ("n", "ns", "nz", "ORG", "s", "f", "m")
        and not (tag != "ns" and _GENERIC_PLACE.match(word))
    ):
        return _PLACE
    if _NUMBER_WORD.match(word):
        return _NUMBER
    return _OTHER


def address_runs(words: list[tuple[int, int, str]], text: str, places: Divisions) -> list[tuple[int, int]]:
    """Runs of two or more address words starting with a place: [start, end) in ``text``."""
    kinds = [_kind(text[s:e], tag, places) for s, e, tag in words]
    for k in range(len(kinds)):
        if kinds[k] == _SHORT:
            # a district's short form ("前锋", "同仁", "平安") is a place after its city or province only:
            # "广安前锋" is an address, "爱尔兰前锋" a forward from Ireland
            after_division = k > 0 and places.is_place(text[words[k - 1][0] : words[k - 1][1]])
            kinds[k] = _PLACE if after_division else _OTHER
    runs: list[tuple[int, int]] = []
    i = 0
    n = len(words)
    while i < n:
        if kinds[i] != _PLACE:
            i += 1
            continue
        last = i
        j = i + 1
        while j < n:
            if kinds[j] in (_PLACE, _UNIT):
                last = j
            elif kinds[j] != _NUMBER:
                break
            j += 1
        if last > i:
            runs.append((words[i][0], words[last][1]))
        i = last + 1
    return runs


class ChineseEntityRecognizer(LocalRecognizer):
    def __init__(self) -> None:
        super().__init__(
            supported_entities=["PERSON", "LOCATION", "ORGANIZATION", "ADDRESS", "DATE_TIME", "PROPER_NOUN"],
            name="HushChineseEntities",
            supported_language="zh",
        )

    def load(self) -> None:
        """Nothing to load: the model ran in the NLP engine; the division list loads on first use."""

    def analyze(
        self, text: str, entities: list[str], nlp_artifacts: NlpArtifacts | None = None
    ) -> list[RecognizerResult]:
        if nlp_artifacts is None or nlp_artifacts.tokens is None:
            return []
        places = divisions()
        words = artifact_words(nlp_artifacts)
        urls = [m.span() for m in _URL.finditer(text)] if "." in text else []
        codes = emoticon_codes(text)
        out: list[RecognizerResult] = []
        for k, (start, end, tag) in enumerate(words):
            if codes and in_emoticon(codes, start, end):
                continue
            kind = _ENTITY.get(tag)
            if kind is not None:
                start, end = _without_versus(text, start, end)
                # the model reads characters it does not know (emoji, symbols) into a name: leave them out
                while start < end and not text[start].isalnum():
                    start += 1
                while end > start and not text[end - 1].isalnum():
                    end -= 1
                # laughter read into the name ("老干妈哈哈哈哈哈哈泰", "方进玉哈哈"): the name ends before it
                laugh = _LAUGHTER.search(text, start + 2, end)
                if laugh is not None:
                    end = laugh.start()
                if start == end:
                    continue
            word = text[start:end]
            if kind == "PERSON" and _repeated(text, start, end):
                continue
            if kind == "PERSON":
                m = HONORIFIC.search(word)
                if m is not None and m.start() >= 1:
                    end = start + m.start()
                t = _DEICTIC_TIME.search(text, start + 2, end)
                if t is not None and t.end() == end:
                    end = t.start()  # a time word read into the name: "阿袁明天/PER 到店里"
                out.append(RecognizerResult(kind, start, end, 0.85))
            elif kind is not None:
                if kind == "LOCATION":
                    end = _place_end(word, places, start, end)
                out.append(RecognizerResult(kind, start, end, 0.85))
            elif (places.is_place(word) and not _common_word_division(word, tag)) or (
                tag in _LANDMARK_TAGS and _LANDMARK_WORD.match(word)
            ):
                out.append(RecognizerResult("LOCATION", start, end, 0.7))
            elif (
                tag == "TIME"
                and _CALENDAR_DATE.search(word)
                and not _dateline(text, words, k)
                and not _release_date(text, words, k)
            ):
                # the month and day: not the year before them, the time of day or the relative words
                # around them ("2013年", "5月18日下午", "去年12月23日"), which say nothing of who
                out.extend(
                    RecognizerResult(
                        "DATE_TIME", *calendar_date(text, start + m.start(), start + m.end()), 0.7
                    )
                    for m in _CALENDAR_DATE.finditer(word)
                )
            elif (
                ((tag in _LATIN_TAGS and _LATIN_NAME.match(word)) or _LATIN_CAPITALISED.match(word))
                and not any(a <= start < b for a, b in urls)
                and not _is_title(text, start, end)
                and not latin_common_word(text, start, end)
                and not latin_english_word(word)
                and _VERSUS.fullmatch(word) is None
            ):
                out.append(RecognizerResult("PROPER_NOUN", start, end, 0.6))
        for k, ((start, _, tag), (head_start, end, head_tag)) in enumerate(pairwise(words)):
            if tag in _PROPER_TAGS and head_tag == "n" and _PLACE_HEAD.match(text[head_start:end]):
                out.append(RecognizerResult("LOCATION", start, end, 0.6))
            elif _named_facility(text, start, head_start, end, tag, head_tag, words[k - 1][2] if k else "w"):
                out.append(RecognizerResult("LOCATION", start, end, 0.5))
        for i in range(1, len(words) - 1):
            # a proper noun that is where something is or happens: "在塞拉图、", "位于瑞穗", not "在微博上";
            # nor a product named before its class ("来自腾讯新闻客户端": a client, "在某某平台")
            (ps, pe, _), (s, e, tag) = words[i - 1], words[i]
            if (
                tag == "nz"
                and e - s >= 2
                and text[ps:pe] in _TO_OR_AT
                and words[i + 1][2] != "f"
                and not text[s:e].isascii()
                and _PRODUCT_CLASS.match(text, e) is None
            ):
                out.append(RecognizerResult("LOCATION", s, e, 0.5))
        out.extend(RecognizerResult("ADDRESS", s, e, 0.8) for s, e in address_runs(words, text, places))
        out.extend(RecognizerResult("DATE_TIME", s, e, 0.7) for s, e in numeric_dates(text))
        return out


# "versus" between two sides ("那不勒斯vs锡耶纳", "奥萨苏纳队VS瓦拉多利德队"): an English preposition, not a name
_VERSUS: Final = re.compile(r"[vV]\.?[sS]\.?")
_VERSUS_END: Final = re.compile(r"(?<=[\u4e00-\u9fff])[vV][sS]$")
_VERSUS_START: Final = re.compile(r"^[vV][sS](?=[\u4e00-\u9fff])")
# what follows the date of a news report's dateline ("新华网纽约12月21日电", "据新加坡9月23日消息", "本报12月18日讯",
# "据《印度防务》11月17日报道"): the date the report was filed, of no person
_DATELINE_AFTER: Final = frozenset({"电", "讯", "消息", "报道", "报导", "电讯"})
# the dateline's source before the date: "新浪房产讯4月27日，", "本报讯 5月3日，"
_DATELINE_BEFORE: Final = frozenset({"讯"})


def _without_versus(text: str, start: int, end: int) -> tuple[int, int]:
    """[start, end) without "vs" read into the model's name at its edge between two sides ("奥萨苏纳队vs")."""
    if _VERSUS_END.search(text, start, end) is not None:
        end -= 2
    if _VERSUS_START.match(text, start, end) is not None:
        start += 2
    return start, end


def _repeated(text: str, start: int, end: int) -> bool:
    """A person word of the model that is one character three times or more ("耶耶耶", "雪雪雪雪": an
    interjection or emphasis of chat, which no name spells), or the tail of a doubled pair of doubled
    characters ("许许多多", "高高兴兴": an adjective or adverb reduplicated, AABB) read from its second
    character."""
    word = text[start:end]
    if len(word) >= 3 and len(set(word)) == 1:
        return True
    return (
        end - start == 3
        and start > 0
        and text[start - 1] == word[0]
        and word[1] == word[2]
        and word[0] != word[1]
    )


def _dateline(text: str, words: Sequence[tuple[int, int, str]], k: int) -> bool:
    """The date of word ``k`` is a news report's dateline: the word after it is 电, 讯, 消息 or 报道 ("新华网纽约
    12月21日电", "据新加坡9月23日消息"), or the word before it ends in 讯 and a mark closes the date
    ("新浪房产讯4月27日，").  A date in a sentence such as "12月1日电话通知" is read by the model as
    a date and 电话, and stays."""
    _, end, _ = words[k]
    if k + 1 < len(words):
        a, b, _ = words[k + 1]
        if text[a:b] in _DATELINE_AFTER:
            return True
    if end == len(text) or not text[end].isalnum():
        j = k - 1
        while j >= 0 and text[words[j][0] : words[j][1]].isspace():
            j -= 1
        return j >= 0 and k - j <= 2 and text[words[j][0] : words[j][1]].endswith(tuple(_DATELINE_BEFORE))
    return False


# verbs whose subject is a product, a work, a show or a contest, never a person's life: going on sale, opening,
# being released or broadcast ("将于5月3日正式上市", "1月25日推出", "5月27日开战"); a date before one of them is
# the date of that public event (a wedding's or a visit's date, "举行", "到店", stays a date of someone)
_RELEASE_VERBS: Final = frozenset(
    {
        "上市", "发售", "开售", "开卖", "首发", "上映", "首映", "公映", "开播", "首播", "推出", "上线", "面世",
        "问世", "出版", "发行", "开战", "开赛", "开幕", "闭幕", "揭幕", "开盘",
    }
)  # fmt: skip
# adverbs between the date and such a verb ("正式", "全球", "同步")
_RELEASE_ADVERB_TAGS: Final = frozenset({"d", "ad"})


def _release_date(text: str, words: Sequence[tuple[int, int, str]], k: int) -> bool:
    """The date of word ``k`` is when a product, a work or a contest is released or opens: the next word of
    the model, after at most two adverbs, is one of :data:`_RELEASE_VERBS`."""
    for a, b, tag in words[k + 1 : k + 4]:
        if tag in _RELEASE_ADVERB_TAGS:
            continue
        return tag == "v" and text[a:b] in _RELEASE_VERBS
    return False


def numeric_dates(text: str) -> list[tuple[int, int]]:
    """The month and day of each date to the day written in digits with its year ("2013-03-05" ->
    the span of "03-05"; "5/3/2013" -> "5/3"), the year and the separator next to it left out."""
    out: list[tuple[int, int]] = []
    for m in _NUMERIC_DATE.finditer(text):
        if m.group("md") is not None:
            out.append(m.span("md") if year_kept(int(m.group("y"))) else m.span())
        elif _day_and_month(int(m.group("a")), int(m.group("b"))):
            out.append(m.span("dm") if year_kept(int(m.group("y2"))) else m.span())
    return out


def calendar_date(text: str, start: int, end: int) -> tuple[int, int]:
    """The span to mask of the month and day text[start:end] ("3月5日"): those alone, or with the year
    written right before them when that year may tell an age over 89 (see year_kept): "1935年3月5日"
    whole.  A two-digit year ("35年") may be of either century: it stays only when both may."""
    y = _YEAR_BEFORE.search(text, max(0, start - 5), start)
    if y is None:
        return start, end
    digits = y.group()[:-1].translate(_NUMERALS)
    if len(digits) == 2:
        digits = "19" + digits
    return (start, end) if len(digits) == 4 and year_kept(int(digits)) else (y.start(), end)


def _day_and_month(a: int, b: int) -> bool:
    """Whether ``a`` and ``b`` are a day and a month in some order (5/3, 3/25, 25/3; not 13/13)."""
    return 1 <= a <= 31 and 1 <= b <= 31 and min(a, b) <= 12
