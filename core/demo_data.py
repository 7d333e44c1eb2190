"""Deterministic synthetic customers, transactions and notes for demos, tests and benchmarks.

English and Chinese names, addresses and notes; some notes carry sensitive
content (a bereavement, an illness, a relative's phone number) so that the
analyser and the outbound gate have something to catch.  Everything is made
up from the seed: no real person is described.
"""

from __future__ import annotations

import csv
import datetime as dt
import random
from collections.abc import Iterator
from pathlib import Path

from core.errors import InputError

EN_FIRST = [
    "Oliver",
    "Amelia",
    "Harry",
    "Isla",
    "George",
    "Ava",
    "Noah",
    "Mia",
    "Jack",
    "Grace",
    "Leo",
    "Freya",
    "Arthur",
    "Lily",
    "Oscar",
    "Emily",
    "Charlie",
    "Ella",
    "Henry",
    "Sophie",
    "Thomas",
    "Ruby",
    "James",
    "Alice",
]
EN_LAST = [
    "Smith",
    "Jones",
    "Taylor",
    "Brown",
    "Williams",
    "Wilson",
    "Johnson",
    "Davies",
    "Patel",
    "Wright",
    "Robinson",
    "Thompson",
    "Walker",
    "White",
    "Hughes",
    "Edwards",
    "Green",
    "Hall",
    "Wood",
    "Harris",
]
ZH_SURNAMES = ["王", "李", "张", "刘", "陈", "杨", "黄", "赵", "吴", "周", "徐", "孙", "马", "朱", "胡", "郭"]
ZH_GIVEN = [
    "伟",
    "芳",
    "娜",
    "敏",
    "静",
    "丽",
    "强",
    "磊",
    "军",
    "洋",
    "勇",
    "艳",
    "杰",
    "娟",
    "涛",
    "明",
    "超",
    "秀英",
]
EN_STREETS = [
    "High Street",
    "Station Road",
    "Church Lane",
    "Park Avenue",
    "Victoria Road",
    "Mill Lane",
    "King Street",
]
EN_TOWNS = [
    ("London", "SW1A 1AA"),
    ("Manchester", "M1 1AE"),
    ("Leeds", "LS1 4AP"),
    ("Bristol", "BS1 5TR"),
    ("York", "YO1 7HH"),
    ("Cardiff", "CF10 1EP"),
    ("Glasgow", "G1 1XQ"),
]
ZH_PLACES = [
    ("北京市", "朝阳区", "建国路"),
    ("上海市", "浦东新区", "世纪大道"),
    ("广东省广州市", "天河区", "天河路"),
    ("浙江省杭州市", "西湖区", "文三路"),
    ("四川省成都市", "武侯区", "人民南路"),
]
PRODUCTS = [
    ("winter coat", "apparel"),
    ("rain jacket", "apparel"),
    ("wool scarf", "accessories"),
    ("leather gloves", "accessories"),
    ("hiking boots", "footwear"),
    ("running shoes", "footwear"),
    ("tea set", "home"),
    ("duvet", "home"),
    ("desk lamp", "home"),
    ("backpack", "bags"),
    ("travel mug", "home"),
    ("umbrella", "accessories"),
]
OWNERS = ["alice", "alice", "bob"]

HARMLESS_EN = [
    "Wants the winter catalogue and asked about bulk pricing for the office.",
    "Called about a delivery date; happy with the new opening hours.",
    "Interested in the loyalty scheme, send details next month.",
    "Prefers email contact; asked for the spring brochure.",
    "Asked whether the rain jacket comes in navy. Will order online.",
]
HARMLESS_ZH = [
    "客户想要冬季产品目录，询问批量采购价格。",
    "询问送货时间，对新的营业时间很满意。",
    "对会员积分计划感兴趣，下个月发送详情。",
]
SENSITIVE_EN = [
    "Her husband died in a car accident last month; do not chase the overdue invoice for now.",
    "Customer mentioned she is pregnant and wants lighter delivery boxes.",
    "Going through chemotherapy, asked us to call only in the mornings.",
    "Lost his job in March and is behind on payments; offered a payment plan.",
    "Daughter's number if he cannot be reached: 07700 900{n:03d}.",
    "Recently divorced, new address to follow.",
]
SENSITIVE_ZH = [
    "她的丈夫上个月车祸去世了，暂时不要催款。",
    "客户说她怀孕了，需要轻一点的包装。",
    "正在住院化疗，只在上午联系。",
    "他最近失业了，欠款还不上，已提供分期方案。",
]


def _en_customer(rng: random.Random, i: int) -> dict[str, str]:
    first, last = rng.choice(EN_FIRST), rng.choice(EN_LAST)
    town, postcode = rng.choice(EN_TOWNS)
    return {
        "full_name": f"{first} {last}",
        "email": f"{first.lower()}.{last.lower()}{i}@example.com",
        "phone": f"+44 7700 9{i % 100000:05d}",
        "postal_address": f"{rng.randint(1, 220)} {rng.choice(EN_STREETS)}, {town} {postcode}",
    }


def _zh_customer(rng: random.Random, i: int) -> dict[str, str]:
    name = rng.choice(ZH_SURNAMES) + rng.choice(ZH_GIVEN)
    prov, district, road = rng.choice(ZH_PLACES)
    return {
        "full_name": name,
        "email": f"user{i}@example.cn",
        "phone": f"+86 139{i % 100000000:08d}",
        "postal_address": f"{prov}{district}{road}{rng.randint(1, 999)}号",
    }


def gen_customers(n: int, seed: int) -> Iterator[dict[str, str]]:
    rng = random.Random(seed)
    for i in range(1, n + 1):
        base = _zh_customer(rng, i) if rng.random() < 0.3 else _en_customer(rng, i)
        born = dt.date(1940, 1, 1) + dt.timedelta(days=rng.randint(0, 365 * 60))
        yield {
            "external_id": f"C{i:06d}",
            **base,
            "birth_date": born.isoformat() if rng.random() < 0.8 else "",
            "owner": rng.choice(OWNERS),
            "consent_marketing_email": rng.choice(["true", "true", "false"]),
            "consent_marketing_post": rng.choice(["yes", "yes", "no"]),
            "consent_profiling": rng.choice(["1", "1", "1", "0"]),
        }


#: The purchase process of the demo customers (Fader, Hardie & Lee's BG/NBD and Gamma-Gamma
#: assumptions, rates per week): purchase rate ``lambda ~ Gamma(shape r, rate alpha)``, after each
#: purchase the customer drops out for good with probability ``p ~ Beta(a, b)``, and a purchase's
#: value is ``Gamma(shape p_spend, rate nu)`` with ``nu ~ Gamma(shape q, rate gamma)`` per customer.
DEMO_PURCHASE_PROCESS: dict[str, float] = {
    "r": 0.9,
    "alpha": 3.0,
    "a": 1.2,
    "b": 6.0,
    "p_spend": 3.0,
    "q": 3.0,
    "gamma": 30.0,
}
DEMO_WINDOW_DAYS = 730
"""Customers are acquired (first purchase) uniformly over the last two years before ``until``."""
DEMO_NON_BUYERS = 0.1
"""Share of customers (leads) who never buy."""
_MAX_PURCHASES = 500
"""A hard cap per customer, so that a freak draw of the purchase rate stays bounded."""


def _demo_until(until: dt.date | None) -> dt.datetime:
    day = until if until is not None else dt.datetime.now(dt.UTC).date()
    return dt.datetime.combine(day, dt.time(0, 0), tzinfo=dt.UTC)


def gen_transactions(
    n_customers: int, seed: int, *, until: dt.date | None = None
) -> Iterator[dict[str, str]]:
    """Purchases drawn from :data:`DEMO_PURCHASE_PROCESS`, ending before ``until`` (default today, UTC).

    Each buying customer's first purchase falls uniformly in the :data:`DEMO_WINDOW_DAYS` before
    ``until``; purchases follow at exponential gaps (rate ``lambda``) until the customer drops out
    (probability ``p`` after each repeat purchase) or the window ends.  Products lean towards a favourite
    category per customer, so that items of one category are bought together more than by chance.
    Deterministic for ``(n_customers, seed, until)``.
    """
    rng = random.Random(seed + 1)
    end = _demo_until(until)
    start = end - dt.timedelta(days=DEMO_WINDOW_DAYS)
    window_weeks = DEMO_WINDOW_DAYS / 7.0
    proc = DEMO_PURCHASE_PROCESS
    categories = sorted({c for _, c in PRODUCTS})
    for i in range(1, n_customers + 1):
        rate = rng.gammavariate(proc["r"], 1.0 / proc["alpha"])
        dropout = rng.betavariate(proc["a"], proc["b"])
        nu = rng.gammavariate(proc["q"], 1.0 / proc["gamma"])
        favourite = rng.choice(categories)
        first = rng.uniform(0.0, window_weeks)
        if rng.random() < DEMO_NON_BUYERS:
            continue
        week = first
        for purchase in range(_MAX_PURCHASES):
            if rng.random() < 0.6:
                product, category = rng.choice([pc for pc in PRODUCTS if pc[1] == favourite])
            else:
                product, category = rng.choice(PRODUCTS)
            amount = max(rng.gammavariate(proc["p_spend"], 1.0 / nu), 0.01)
            when = start + dt.timedelta(minutes=int(week * 7 * 24 * 60))
            yield {
                "external_id": f"C{i:06d}",
                "occurred_at": when.isoformat(),
                "amount": f"{amount:.2f}",
                "currency": "GBP",
                "product": product,
                "category": category,
            }
            # As in BG/NBD, the chance to drop out comes after each *repeat* purchase.
            if (purchase > 0 and rng.random() < dropout) or rate <= 0.0:
                break
            week += rng.expovariate(rate)
            if week >= window_weeks:
                break


def gen_notes(n_customers: int, seed: int) -> Iterator[dict[str, str]]:
    rng = random.Random(seed + 2)
    start = dt.datetime(2025, 1, 1, tzinfo=dt.UTC)
    for i in range(1, n_customers + 1):
        if rng.random() < 0.5:
            continue
        zh = rng.random() < 0.3
        if rng.random() < 0.25:
            text = rng.choice(SENSITIVE_ZH if zh else SENSITIVE_EN).format(n=i % 1000)
        else:
            text = rng.choice(HARMLESS_ZH if zh else HARMLESS_EN)
        yield {
            "external_id": f"C{i:06d}",
            "author": rng.choice(OWNERS),
            "created_at": (start + dt.timedelta(hours=rng.randint(0, 24 * 300))).isoformat(),
            "text": text,
        }


def _write(path: Path, rows: Iterator[dict[str, str]]) -> int:
    count = 0
    with path.open("w", newline="", encoding="utf-8") as fh:
        writer: csv.DictWriter[str] | None = None
        for row in rows:
            if writer is None:
                writer = csv.DictWriter(fh, fieldnames=list(row))
                writer.writeheader()
            writer.writerow(row)
            count += 1
    return count


def write_demo_data(out: Path, *, customers: int, seed: int, until: dt.date | None = None) -> dict[str, int]:
    """Write customers.csv, transactions.csv and notes.csv; purchases end before ``until`` (default today)."""
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise InputError(f"cannot create {out}: {exc.strerror}") from exc
    n = customers
    return {
        "customers": _write(out / "customers.csv", gen_customers(n, seed)),
        "transactions": _write(out / "transactions.csv", gen_transactions(n, seed, until=until)),
        "notes": _write(out / "notes.csv", gen_notes(n, seed)),
    }
