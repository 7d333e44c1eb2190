"""Chinese masking keeps what is nobody's (issue 13): a product named before its class is no place,
while a place after a preposition or verb of place stays masked."""

from __future__ import annotations

import pytest

from core.pii import EXPORT_POLICY, PiiEngine, mask

KEY = b"zh-kept-key-0123456789abcdef"


def masked(engine: PiiEngine, text: str) -> str:
    return mask(text, engine.analyse(text), policy=EXPORT_POLICY, hash_key=KEY)


@pytest.mark.parametrize(
    ("text", "kept"),
    [
        # a product, a client or a platform named before its class, after 来自 / 在
        ("书画作品展出来自腾讯新闻客户端", "腾讯新闻客户端"),
        ("消息来自新浪微博客户端", "新浪微博客户端"),
    ],
)
def test_product_before_its_class_is_no_place(engine: PiiEngine, text: str, kept: str) -> None:
    assert kept in masked(engine, text)


@pytest.mark.parametrize(
    ("text", "gone"),
    [
        ("我们在塞拉图、在瑞穗玩了三天", "瑞穗"),
        ("他住在中山路15号", "中山路"),
        ("客户住在幸福之路18号", "幸福之路"),
        ("客户住在幸福之路小区3栋", "幸福之路"),
    ],
)
def test_places_still_masked(engine: PiiEngine, text: str, gone: str) -> None:
    assert gone not in masked(engine, text)
