"""Chinese personal data: mobile and landline numbers, resident ID (checksum),
bank cards (Luhn), postal addresses, and the patterns of names in context
(run by :mod:`core.pii.recognizers.zh_names`).

No pattern uses ``\\b``: Chinese characters are word characters, so a word
boundary never falls between ``电话`` and ``13800138000``.  Digit runs are
delimited with ``(?<!\\d)`` / ``(?!\\d)`` instead.
"""

from __future__ import annotations

import re
from typing import Final

from presidio_analyzer import AnalysisExplanation, RecognizerResult
from presidio_analyzer.nlp_engine import NlpArtifacts

from core.pii.recognizers.base import Rule, RuleRecognizer, has_digit
from core.pii.recognizers.zh_entities import artifact_words
from core.pii.zh_places import divisions

_ID_WEIGHTS: Final = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
_ID_CHECK: Final = "10X98765432"


def valid_resident_id(value: str) -> bool:
    """GB 11643-1999 checksum of an 18-character resident identity number."""
    value = value.upper()
    if len(value) != 18 or not value[:17].isdigit():
        return False
    total = sum(int(d) * w for d, w in zip(value[:17], _ID_WEIGHTS, strict=True))
    return _ID_CHECK[total % 11] == value[17]


def luhn_ok(value: str) -> bool:
    digits = [int(c) for c in value if c.isdigit()]
    if not 12 <= len(digits) <= 19:
        return False
    total = 0
    for i, d in enumerate(reversed(digits)):
        if i % 2:
            d *= 2
            if d > 9:
                d -= 9
        total += d
    return total % 10 == 0


_HAN: Final = r"[\u4e00-\u9fff]"
# characters that usually precede an address rather than belong to it
_NOT_START: Final = r"(?![在住到于是的从往去来和与寄送址为了把给向自])"
_PLACE = rf"(?:{_NOT_START}{_HAN}){{2,6}}"
_PROVINCE = rf"(?:{_PLACE}(?:省|自治区)|北京|上海|天津|重庆)"
_CITY = rf"{_PLACE}(?:市|自治州|地区|盟)"
_DISTRICT = rf"(?:{_NOT_START}{_HAN}){{1,6}}(?:区|县|旗)"
_TOWN = rf"(?:{_NOT_START}{_HAN}){{1,8}}(?:镇|乡|街道)"
_ROAD = rf"(?:{_NOT_START}[\u4e00-\u9fff0-9]){{1,10}}(?:路|街|大道|巷|胡同|弄|道)"
_NUMBER = r"(?:[0-9]{1,5}|[一二三四五六七八九十百]{1,4})号"
# a section of a long road (Taiwan): 忠孝东路四段
_SECTION = r"(?:[0-9]{1,2}|[一二三四五六七八九十]{1,3})段"
_DETAIL = (
    r"(?:[\u4e00-\u9fffA-Za-z0-9]{0,8}?(?:小区|花园|公寓|大厦|广场|中心|新村|苑|村|城))?"
    r"(?:[0-9A-Za-z一二三四五六七八九十]{1,5}(?:号楼|栋|幢|座|单元|楼|层|室|号))*"
)
_ADDRESS_FULL = re.compile(
    rf"(?:{_PROVINCE})?(?:{_CITY})?(?:{_DISTRICT})?(?:{_TOWN})?{_ROAD}{_SECTION}?{_NUMBER}{_DETAIL}"
)
_ADDRESS_ADMIN = re.compile(rf"(?:{_PROVINCE}(?:{_CITY})(?:{_DISTRICT})?|{_CITY}{_DISTRICT})")

_MOBILE = re.compile(r"(?<![\d+])(?<!\d[ -])(?:(?:\+|00)86[ -]?)?1[3-9]\d(?:[ -]?\d{4}){2}(?!\d)(?![ -]\d)")
_LANDLINE = re.compile(
    r"(?<![\d+])(?<!\d[ -])(?:(?:\+|00)86[ -]?)?(?:\(0\d{2,3}\)|0\d{2,3})[ -]?\d{3,4}[ -]?\d{4}(?!\d)(?![ -]\d)"
)
_RESIDENT_ID = re.compile(
    r"(?<![0-9A-Za-z])[1-8]\d{5}(?:18|19|20)\d{2}(?:0[1-9]|1[0-2])(?:0[1-9]|[12]\d|3[01])\d{3}[0-9Xx](?![0-9A-Za-z])"
)
_BANK_CARD = re.compile(r"(?<!\d)(?:\d{4}[ -]?){3}\d{4}(?:[ -]?\d{1,3})?(?!\d)|(?<!\d)\d{16,19}(?!\d)")

# the commonest family names, compound ones first so that 欧阳 is not read as 欧 + a given name.  (The
# ~400 of the faker package's Chinese locales were tried: rarer ones such as 谈 and 权 are everyday words
# too, "老师谈过了", "消费者权利", and the context rules took them for names.)
SURNAMES: Final = (
    "欧阳|司马|诸葛|上官|慕容|东方|皇甫|尉迟|公孙|令狐|"
    "王|李|张|刘|陈|杨|黄|赵|吴|周|徐|孙|马|朱|胡|郭|何|高|林|罗|郑|梁|谢|宋|唐|许|韩|冯|邓|曹|彭|曾|"
    "肖|田|董|袁|潘|于|蒋|蔡|余|杜|叶|程|苏|魏|吕|丁|任|沈|姚|卢|姜|崔|钟|谭|陆|汪|范|金|石|廖|贾|夏|"
    "韦|付|方|白|邹|孟|熊|秦|邱|江|尹|薛|闫|段|雷|侯|龙|史|陶|黎|贺|顾|毛|郝|龚|邵|万|钱|严|覃|武|戴|"
    "莫|孔|向|汤|常|温|康|施|文|牛|樊|葛|邢|安|齐|易|乔|伍|庞|颜|倪|庄|聂|章|鲁|岳|翟|殷|詹|申|欧|耿|"
    "关|兰|焦|俞|左|柳|甘|祝|包|宁|尚|符|舒|阮|柯|纪|梅|童|凌|毕|单|季|裴|霍|涂|成|苗|谷|盛|曲|翁|冉|"
    "骆|蓝|路|游|辛|靳|管|柴|蒙|鲍|华|喻|祁|蒲|房|滕|屈|饶|解|牟|艾|尤|阳|时|穆|农|司|卓|古|吉|缪|简|车|"
    "项|连|芦|麦|褚|娄|窦|戚|岑|景|党|宫|费|卜|冷|晏|席|卫|米|柏|宗|瞿|桂|全|佟|应|臧|闵|苟|邬|边|卞|姬|"
    "师|和|仇|栾|隋|商|刁|沙|荣|巫|寇|桑|郎|甄|丛|仲|虞|敖|巩|明|佘|池|查|麻|苑|迟|邝|萧|傅|阎|赖|洪"
)

_TITLE = r"(?:先生|女士|小姐|太太|夫人)"
# titles that follow a bare surname ("王师傅", "张总"); "安装师傅" or "应用总是" are not names
_SHORT_TITLE = (
    r"(?:师傅|老师|医生|律师|经理|总监|阿姨|叔叔|大爷|大妈|老板|总(?=[，,。、；\s说的来在和也要]|$))"
)
_RELATION = (
    r"(?:丈夫|老公|先生|妻子|老婆|太太|爱人|儿子|女儿|父亲|母亲|爸爸|妈妈|哥哥|姐姐|弟弟|妹妹|爷爷|奶奶|"
    r"外公|外婆|姥姥|姥爷|孙子|孙女|公公|婆婆|岳父|岳母|女婿|儿媳|男友|女友|未婚夫|未婚妻|朋友|同事|客户|联系人)"
)
_NAME_BEFORE_TITLE = re.compile(rf"(?P<v>(?:{SURNAMES})(?:{_HAN}){{0,2}}?){_TITLE}")
_SURNAME_TITLE = re.compile(rf"(?P<v>{SURNAMES})(?={_SHORT_TITLE})")
_NAME_AFTER_RELATION = re.compile(
    rf"{_RELATION}(?:叫|是|名叫|姓名|：|:)?\s?(?P<v>(?:{SURNAMES})(?:(?![的了在是说去和与也都就被把对从给向]){_HAN}){{1,2}})"
)
_GIVEN = rf"(?:(?!先生|女士|小姐|太太|夫人|的){_HAN}){{1,2}}"
_NAME_AFTER_LABEL = re.compile(
    rf"(?:(?:姓名|名字|联系人|收件人)(?:是|叫|为|：|:)?|客户(?:是|叫|为|：|:))\s?(?P<v>(?:{SURNAMES}){_GIVEN})"
)
_NAME_BEFORE_RELATION = re.compile(rf"(?<![\u4e00-\u9fff])(?P<v>(?:{SURNAMES}){_GIVEN})的{_RELATION}")


class _ChineseAddressRecognizer(RuleRecognizer):
    """Address patterns, held to the words of the Chinese model: a match starts and ends on a word
    boundary, and a run of divisions without a street ("广东省广州市", "杭州市西湖区") starts with a place
    that the model tags as one or that is in the division list.  Characters alone make no address:
    "不可能掌握全市各个地区" ends in 市 and 区 but names nothing."""

    def analyze(
        self, text: str, entities: list[str], nlp_artifacts: NlpArtifacts | None = None
    ) -> list[RecognizerResult]:
        results = super().analyze(text, entities, nlp_artifacts)
        if not results or nlp_artifacts is None or nlp_artifacts.tokens is None:
            return results
        words = artifact_words(nlp_artifacts)
        starts = {s: tag for s, _, tag in words}
        ends = {e for _, e, _ in words}
        places = divisions()
        # localisers of the model ("附近", "一带", "周边"): a place ends before them ("亚耳附近地区" is the area
        # near 亚耳, not a prefecture)
        localisers = [a for a, b, tag in words if tag == "f" and b - a >= 2]
        kept: list[RecognizerResult] = []
        for r in results:
            if r.start not in starts or r.end not in ends:
                continue
            cut = min((a for a in localisers if r.start < a < r.end), default=None)
            if cut is not None:
                r = RecognizerResult(r.entity_type, r.start, cut, r.score)
            if r.entity_type == "LOCATION" and not (
                starts[r.start] in ("LOC", "ns")
                or any(places.is_place(text[r.start : r.start + n]) for n in range(2, _LONGEST_DIVISION + 1))
            ):
                continue
            kept.append(r)
        return kept


_LONGEST_DIVISION: Final = 12


class _ContextRuleRecognizer(RuleRecognizer):
    """Rules whose score Presidio's context enhancer may raise: the Chinese tokens are words
    ("电话", "身份证"), so context words match, and the enhancer needs an explanation to write to."""

    def analyze(
        self, text: str, entities: list[str], nlp_artifacts: NlpArtifacts | None = None
    ) -> list[RecognizerResult]:
        results = super().analyze(text, entities, nlp_artifacts)
        name = str(getattr(self, "name", type(self).__name__))
        for r in results:
            r.analysis_explanation = AnalysisExplanation(recognizer=name, original_score=r.score)
        return results


def cn_personal_recognizers() -> list[RuleRecognizer]:
    numbers = _ContextRuleRecognizer(
        name="HushChineseNumbers",
        language="zh",
        prefilter=has_digit,
        context=["电话", "手机", "座机", "联系", "身份证", "银行卡", "卡号", "账号"],
        rules=[
            Rule("CN_RESIDENT_ID", _RESIDENT_ID, 0.95, validate=valid_resident_id),
            Rule("PHONE_NUMBER", _MOBILE, 0.8),
            Rule("PHONE_NUMBER", _LANDLINE, 0.6),
            Rule("BANK_CARD", _BANK_CARD, 0.8, validate=luhn_ok),
        ],
    )
    address = _ChineseAddressRecognizer(
        name="HushChineseAddress",
        language="zh",
        rules=[
            Rule("ADDRESS", _ADDRESS_FULL, 0.8),
            Rule("LOCATION", _ADDRESS_ADMIN, 0.6),
        ],
    )
    return [numbers, address]


#: Names before a title, after a relation or label, before "的" + relation: (pattern, score), group ``v``.
#: Run by :class:`core.pii.recognizers.zh_names.ChineseNameRecognizer`, cut at the model's word boundaries.
NAME_RULES: Final[tuple[tuple[re.Pattern[str], float], ...]] = (
    (_NAME_BEFORE_TITLE, 0.75),
    (_SURNAME_TITLE, 0.7),
    (_NAME_AFTER_RELATION, 0.7),
    (_NAME_AFTER_LABEL, 0.8),
    (_NAME_BEFORE_RELATION, 0.6),
)
