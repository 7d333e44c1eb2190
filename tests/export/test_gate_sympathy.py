"""Templates that speak to a bereaved or ill reader are refused however the sympathy is worded;
ordinary marketing wording ("to die for", "killer deals", "sorry we missed you") is not."""

from __future__ import annotations

import pytest

from core.errors import InputError
from core.export.gate import OutboundGate, StaticOwners


def gate() -> OutboundGate:
    return OutboundGate(owners=StaticOwners(), phone_region="GB")


SYMPATHY = (
    "we were deeply saddened to learn of the passing of your father",
    "Saddened by your news, we are holding your order",
    "after your sudden loss we have paused your account",
    "Our thoughts are with your family this Christmas",
    "all of us share in your grief",
    "sorry 4 your loss, here is 10% off",
    "with love and sympathy from the team",
    "a hard time for your family, so take the offer whenever you like",
    "in loving remembrance of a valued customer",
    "we hear your husband has passed on",
    "we hope he is at peace",
    "wishing you a speedy recovery after the operation",
    "Get Well Soon! A little treat inside",
    "惊悉您痛失至亲，我们万分悲痛",
    "得知您失去了老伴，请保重",
    "愿您的母亲在天之灵安好",
    "祝您早日康复",
    "驚悉您痛失愛女",  # Traditional
)

ORDINARY = (
    "our sofas are to die for",
    "killer deals this weekend only",
    "sorry we missed you: book a new delivery slot",
    "don't lose out, prices rise on Friday",
    "a match made in heaven: sofa and footstool",
    "recover your password at example.com",
    "our recent sale was a success, thank you",
    "Peace of mind with a five-year guarantee",
    "冬季新品上市，全场八折",
    "欢迎光临康复路门店",
)


@pytest.mark.parametrize("wording", SYMPATHY)
def test_sympathy_template_is_refused(wording: str) -> None:
    with pytest.raises(InputError, match="sensitive content"):
        gate().check_template("Dear {{ full_name }},\n" + wording + "\n")


@pytest.mark.parametrize("wording", ORDINARY)
def test_ordinary_template_is_accepted(wording: str) -> None:
    gate().check_template("Dear {{ full_name }},\n" + wording + "\n")
