"""The incident story end to end, through the CLI, on SQLite and PostgreSQL.

A broker list puts "Daughter Killed in Car Crash" in a name line; a sales rep
notes that a customer's husband died in a car accident; the broker record's
review flag is cleared by mistake; a postal campaign runs.  No letter carries
either remark, the quarantine and the manifest say why, and compliance can
verify the log and see who touched both records.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
import sqlalchemy as sa
from typer.testing import CliRunner

from api.cli import app
from api.demo_incident import BROKER_ID, NOTE_ID, REMARKS, incident_story
from core.pii.analysis import SENSITIVE_CATEGORIES

_CATEGORIES = frozenset(SENSITIVE_CATEGORIES)


def test_incident_story(database_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HUSHDB_DATABASE_URL", database_url)
    runner = CliRunner()
    data_dir = tmp_path / "data"

    def run(*args: str, ok: tuple[int, ...] = (0,)) -> str:
        result = runner.invoke(app, list(args))
        assert result.exit_code in ok, (args, result.exit_code, result.output)
        return result.stdout

    run("init", "--data-dir", str(data_dir))
    out = incident_story(run, data_dir, tmp_path / "work")

    def pseudonym(ext: str) -> str:
        shown = run("customers", "show", ext, "--as", "cora", "--purpose", "compliance", "--json",
                    "--data-dir", str(data_dir))  # fmt: skip
        return str(json.loads(shown)["pseudonym"])

    broker, noted = pseudonym(BROKER_ID), pseudonym(NOTE_ID)
    manifest = json.loads((out / "manifest.json").read_text(encoding="utf-8"))
    quarantine = [json.loads(x) for x in (out / "quarantine.jsonl").read_text(encoding="utf-8").splitlines()]
    withheld = {q["pseudonym"]: {r["category"] for r in q["reasons"]} for q in quarantine}

    # the broker record, cleared by mistake, is stopped by the gate with the reason
    assert {"bereavement", "accident"} <= withheld[broker]
    # the noted customer is under review: suppressed in SQL, never even read for the campaign
    assert noted not in withheld
    assert manifest["counts"]["suppressed"]["under_review"] >= 1
    # another customer's phone number in an address line: a bracketed remark in the address, so
    # the import screen already put INC002 under review (address_extra_text); if it ever gets
    # past review, the gate withholds its letter as carrying a foreign identifier
    phone_remark = pseudonym("INC002")
    assert phone_remark not in {p.stem for p in (out / "letters").iterdir()}
    assert phone_remark in withheld or manifest["counts"]["suppressed"]["under_review"] >= 2
    # no output file carries either remark
    letters = list((out / "letters").iterdir())
    assert len(letters) == manifest["letters"] > 0
    for path in out.rglob("*"):
        if path.is_file():
            text = path.read_text(encoding="utf-8").lower()
            assert not any(r.lower() in text for r in REMARKS), path.name
    assert broker not in {p.stem for p in letters} and noted not in {p.stem for p in letters}
    # compliance: the log verifies, and the reports name who touched each record
    run("audit", "verify", "--data-dir", str(data_dir))
    broker_report = run("audit", "report", "--customer", BROKER_ID, "--as", "cora", "--json",
                        "--data-dir", str(data_dir))  # fmt: skip
    subjects = {e["subject"] for e in json.loads(broker_report)}
    assert {"alice", "mailer"} <= subjects
    note_report = run("audit", "report", "--customer", NOTE_ID, "--as", "cora", "--json",
                      "--data-dir", str(data_dir))  # fmt: skip
    assert "alice" in {e["subject"] for e in json.loads(note_report)}
    assert "mailer" not in {e["subject"] for e in json.loads(note_report)}


# -- the incident, written the ways brokers, scrapers and tired staff really write it ---------------------

_HEADER = (
    "external_id,full_name,email,phone,postal_address,birth_date,owner,consent_marketing_email,"
    "consent_marketing_post,consent_profiling\n"
)
# (external id, name, address, words that must never reach a letter) - written for this test
DISGUISED: list[tuple[str, str, str, tuple[str, ...]]] = [
    ("R01", "Ms Joan Reid Husband K1lled On M6", "2 Oak Road, Leeds LS2 8AA", ("k1lled", "killed")),
    ("R02", "Tom Hart Lost Wife To Cancer", "5 Ash Grove, York YO1 6HT", ("lost wife", "cancer")),
    ("R03", "Mrs Vera Pike (R.I.P.)", "9 Elm Close, Bath BA1 2BB", ("r.i.p",)),
    ("R04", "Ян Новак", "Flat 3 (Wife Pаssed  Аway 2024), 1 Dock Street, Hull HU1 1AA", ("ssed", "way 2024")),
    ("R05", "Dave Cole", "7 Mill Lane\nson k i l l e d in c@r crash", ("k i l l e d", "crash")),
    (
        "R06",
        "ＳＡＭ ＬＥＥ ＤＥＣＥＡＳＥＤ",
        "4 High Street, Hull HU1 2AB",
        ("ｄｅｃｅａｓｅｄ", "deceased"),
    ),
    ("R07", "Pat_Quinn_Terminal_Chemo", "8 Park Road, Derby DE1 1AA", ("terminal", "chemo")),
    ("R08", "Lucy Ward - widowed, grieving", "6 Kings Road, Leeds LS1 1AA", ("widowed", "grieving")),
    (
        "R09",
        "Bob Fenn",
        "12 Queen Street (b\u200bankrupt, d\u200bebt collectors), Leeds LS1 2AA",
        ("ankrupt",),
    ),
    ("R10", "陳志明 兒子意外身亡", "香港九龍彌敦道12號", ("意外身亡", "身亡")),
    ("R11", "林美玲", "台北市信義路5號 先生車禍過世", ("車禍", "過世")),
    ("R12", "张 伟 离 婚 破 产", "北京市海淀区学院路8号", ("离 婚", "破 产")),
    ("R13", "王静（已故）", "上海市静安区南京西路100号", ("已故",)),
    ("R14", "Joan Pike ʀᴇᴄᴇɴᴛʟʏ ᴡɪᴅᴏᴡᴇᴅ", "3 Elm Road, Leeds LS2 9AA", ("ᴡɪᴅᴏᴡᴇᴅ",)),
    ("R15", "MR ALAN COX RlP", "14 Oak Road, Leeds LS2 9AB", (" rlp",)),
    ("R16", "Rita Dunn", "D.a.u.g.h.t.e.r. .K.i.l.l.e.d, 2 Ash Road, York YO1 7AA", ("d.a.u.g",)),
]
INNOCENT: list[tuple[str, str, str]] = [
    ("C01", "Sofia Marino", "Via Roma 9, 00184 Roma"),
    ("C02", "Anna Sick", "Church Lane 3, Hamburg"),
    ("C03", "Peter Payne", "4 Hospital Road, Bury St Edmunds IP33 3JT"),
    ("C04", "Klaus Dies", "7 Hospice Way, Stevenage SG1 2AB"),
    ("C05", "Henry Coffin", "2 Crossbones Lane, Newcastle upon Tyne NE1 1AA"),
    ("C06", "Dolores Graves", "1 Cemetery Road, Gravesend DA11 0DL"),
    ("C07", "Soledad Mort", "Main Street, Accident, MD 21520"),
    ("C08", "Ingrid Krank", "Hell, Stjordal, Norway"),
    ("C09", "王康", "上海市徐汇区康复路25号"),
    ("C10", "陳小明", "香港九龍彌敦道100號"),
    ("C11", "上官婉儿", "宁夏回族自治区银川市兴庆区解放东街12号"),
    ("C12", "迪丽热巴", "新疆维吾尔自治区乌鲁木齐市天山区人民路8号"),
    ("C13", "Christian Gay", "57 Christian Oval, New Ramadan, BH25 7NS"),
    ("C14", "Ann Lee", "9 Suicide Hill Road, Ishpeming, MI 49849"),
]
WINTER = (
    "{{ full_name }}\n{{ postal_address }}\n\n{{ salutation }},\n\nOur winter preview starts on Monday.\n"
)
CONDOLENCES = (
    "Dear {{ full_name }},\n\nWe were so sorry for your\nloss. Please accept 10% off your next visit.\n",
    "{{ full_name }}，您好！\n惊闻噩耗，深表哀悼，请节哀顺变。\n",
)


def _csv(rows: list[tuple[str, str, str]]) -> str:
    def quote(value: str) -> str:
        return '"' + value.replace('"', '""') + '"'

    body = "".join(f"{ext},{quote(name)},,,{quote(addr)},,alice,no,yes,no\n" for ext, name, addr in rows)
    return _HEADER + body


def test_disguised_remarks_never_reach_a_letter(
    database_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HUSHDB_DATABASE_URL", database_url)
    runner = CliRunner()
    dd = ("--data-dir", str(tmp_path / "data"))

    def run(*args: str, ok: tuple[int, ...] = (0,)) -> str:
        result = runner.invoke(app, list(args))
        assert result.exit_code in ok, (args, result.exit_code, result.output)
        return result.stdout

    run("init", *dd)
    rows = [(ext, name, addr) for ext, name, addr, _ in DISGUISED] + INNOCENT
    (tmp_path / "list.csv").write_text(_csv(rows), encoding="utf-8")
    run("customers", "import", str(tmp_path / "list.csv"), "--as", "alice", *dd, ok=(0, 3))

    # every disguised remark put its customer under review, with a category-level reason
    engine = sa.create_engine(database_url)
    try:
        with engine.connect() as conn:
            flags = {
                str(r.external_id): (bool(r.under_review), r.review_reason)
                for r in conn.execute(
                    sa.text("SELECT external_id, under_review, review_reason FROM customers")
                )
            }
    finally:
        engine.dispose()
    for ext, _name, _addr, words in DISGUISED:
        under_review, reason = flags[ext]
        assert under_review, ext
        assert reason and re.fullmatch(r"[a-z_+]+(:[a-z_,]+)?", reason), (ext, reason)
        assert not any(w.lower() in reason for w in words if len(w) > 3 and w.lower() not in _CATEGORIES)
    for ext, _name, _addr in INNOCENT:
        assert flags[ext] == (False, None), ext

    # review flags cleared by mistake: only the outbound gate stands between the remarks and a letter
    for ext, _name, _addr, _words in DISGUISED:
        run("customers", "clear-review", ext, "--as", "alice", *dd)

    # a condolence template is refused, in English (split over two lines) and in Chinese
    for i, condolence in enumerate(CONDOLENCES):
        (tmp_path / f"condolence{i}.j2").write_text(condolence, encoding="utf-8")
        run(
            "export", "mailmerge", "--campaign", f"sorry{i}", "--fields", "full_name",
            "--template", str(tmp_path / f"condolence{i}.j2"), "--out", str(tmp_path / f"refused{i}"),
            "--as", "mailer", *dd, ok=(2,),
        )  # fmt: skip

    (tmp_path / "winter.j2").write_text(WINTER, encoding="utf-8")
    out = tmp_path / "out"
    run(
        "export", "mailmerge", "--campaign", "winter", "--fields", "full_name,postal_address,salutation",
        "--template", str(tmp_path / "winter.j2"), "--channel", "post", "--out", str(out),
        "--as", "mailer", *dd,
    )  # fmt: skip

    def pseudonym(ext: str) -> str:
        shown = run("customers", "show", ext, "--as", "cora", "--purpose", "compliance", "--json", *dd)
        return str(json.loads(shown)["pseudonym"])

    written = {p.stem: p.read_text(encoding="utf-8") for p in (out / "letters").iterdir()}
    quarantine = [json.loads(x) for x in (out / "quarantine.jsonl").read_text(encoding="utf-8").splitlines()]
    withheld = {q["pseudonym"]: q["reasons"] for q in quarantine}
    # every clean customer gets a letter
    for ext, _name, _addr in INNOCENT:
        assert pseudonym(ext) in written, ext
    # none of the remarks reaches a letter; each is withheld with category-level reasons
    for ext, _name, _addr, _words in DISGUISED:
        p = pseudonym(ext)
        assert p not in written, ext
        assert p in withheld, ext
        assert all(set(r) == {"category", "field"} for r in withheld[p])
    everything = "\n".join(written.values()).lower()
    for _ext, _name, _addr, words in DISGUISED:
        assert not any(w.lower() in everything for w in words), words
    assert not any(w.lower() in (out / "quarantine.jsonl").read_text(encoding="utf-8").lower()
                   for *_rest, words in DISGUISED for w in words if w.lower() not in _CATEGORIES)  # fmt: skip
