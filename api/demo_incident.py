"""The incident story, narrated: the letter that must never be sent again.

Called by ``make demo`` (:mod:`api.demo`) after the store is initialised, and by
``tests/e2e/test_incident_story.py``.  Every step runs the real command line
through ``run(*args, ok=(...)) -> stdout``; one step (a reviewer clearing a
flag by mistake) uses the Python API because the CLI has no command for it.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

from rich.console import Console

console = Console()

BROKER_ID = "BRK001"
NOTE_ID = "INC001"
BROKER_NAME = "Daughter Killed in Car Crash"
NOTE_TEXT = "Her husband died in a car accident last month; do not chase the overdue invoice for now."
REMARKS = ("Daughter Killed", "Car Crash", "husband died", "car accident")

BROKER_CSV = (
    "external_id,full_name,email,phone,postal_address,birth_date,owner,consent_marketing_email,"
    "consent_marketing_post,consent_profiling\n"
    f"{BROKER_ID},{BROKER_NAME},,,12 Elm Road Leeds LS1 4AP,,alice,no,yes,no\n"
)
CUSTOMERS_CSV = (
    "external_id,full_name,email,phone,postal_address,birth_date,owner,consent_marketing_email,"
    "consent_marketing_post,consent_profiling\n"
    f"{NOTE_ID},Margaret Hale,margaret.hale@example.com,+44 7700 900501,"
    '"4 Station Road, York YO1 7HH",1961-04-02,alice,yes,yes,yes\n'
    'INC002,Peter Lowe,peter.lowe@example.com,,"3 Mill Lane, Bristol BS1 5TR (or ring 07700 900777)",'
    ",alice,yes,yes,no\n"
    'INC003,Susan Lowe,susan.lowe@example.com,+44 7700 900777,"3 Mill Lane, Bristol BS1 5TR",,alice,yes,yes,no\n'
    'INC004,王芳,wang.fang@example.cn,,"浙江省杭州市西湖区文三路8号",,alice,yes,yes,no\n'
    'INC005,Tom Reed,tom.reed@example.com,,"9 Queen Street, Cardiff CF10 1EP",,alice,yes,no,no\n'
)
LETTER = """{{ full_name }}
{{ postal_address }}

{{ salutation }},

As a valued customer in {{ city }}, you are invited to our winter preview:
coats, scarves and boots, ten days before everyone else.

Kind regards,
The Hush Store customer team (0800 123 4567)
"""
CONDOLENCE = """Dear {{ first_name }},

We were so sorry to hear that your husband died. Please accept 10% off.
"""


def say(text: str) -> None:
    console.print(f"[bold cyan]>[/] {text}", highlight=False)


def step(title: str) -> None:
    console.rule(f"[bold]{title}")


def incident_story(run: Callable[..., str], data_dir: Path, workdir: Path) -> Path:
    """Narrate the incident on an initialised store; returns the campaign's export directory."""
    dd = ("--data-dir", str(data_dir))
    workdir.mkdir(parents=True, exist_ok=True)
    (workdir / "incident-broker.csv").write_text(BROKER_CSV, encoding="utf-8")
    (workdir / "incident-customers.csv").write_text(CUSTOMERS_CSV, encoding="utf-8")
    (workdir / "winter.j2").write_text(LETTER, encoding="utf-8")
    (workdir / "condolence.j2").write_text(CONDOLENCE, encoding="utf-8")
    out = workdir / "campaign-winter"

    step("Incident 1. A broker list carries a private remark in the name line")
    say(
        f"{BROKER_ID}'s name line reads {BROKER_NAME!r}; the store screens it on import and flags it for review"
    )
    run("customers", "import", str(workdir / "incident-broker.csv"), "--as", "alice", *dd, ok=(0, 3))
    run("customers", "import", str(workdir / "incident-customers.csv"), "--as", "alice", *dd)

    step("Incident 2. A sales rep records what the customer told her")
    run("notes", "add", NOTE_ID, "--as", "alice", "--text", NOTE_TEXT, *dd)
    say(f"the note is analysed once, stored encrypted, and {NOTE_ID} is now under review")

    step("Incident 3. Someone clears the broker record's review flag by mistake")
    run("customers", "clear-review", BROKER_ID, "--as", "alice", *dd)
    say(
        f"{BROKER_ID} is no longer suppressed: only the outbound gate stands between its name line and a letter"
    )

    step("Incident 4. Marketing tries a template that mentions a bereavement, then asks for phone numbers")
    run(
        "export", "mailmerge", "--campaign", "condolence", "--fields", "first_name",
        "--template", str(workdir / "condolence.j2"), "--out", str(workdir / "refused"),
        "--as", "mailer", *dd, ok=(2,),
    )  # fmt: skip
    run(
        "export", "mailmerge", "--campaign", "phones", "--fields", "full_name,phone",
        "--out", str(workdir / "refused"), "--as", "mailer", *dd, ok=(7,),
    )  # fmt: skip

    step("Incident 5. The winter campaign runs by post, every letter through the outbound gate")
    run(
        "export", "mailmerge", "--campaign", "winter", "--fields", "full_name,postal_address,salutation,city",
        "--template", str(workdir / "winter.j2"), "--channel", "post", "--out", str(out),
        "--as", "mailer", *dd, ok=(0,),
    )  # fmt: skip

    step("Incident 6. What was withheld, and why (pseudonyms and reasons, never the content)")
    for line in (out / "quarantine.jsonl").read_text(encoding="utf-8").splitlines():
        console.print(line, markup=False, highlight=False)
    manifest = json.loads((out / "manifest.json").read_text(encoding="utf-8"))
    console.print(json.dumps(manifest["counts"], indent=2), markup=False, highlight=False)
    carrying = [
        p.name
        for p in sorted((out / "letters").iterdir())
        if any(r.lower() in p.read_text(encoding="utf-8").lower() for r in REMARKS)
    ]
    say(f"{manifest['letters']} letters written; letters carrying either remark: {len(carrying)}")

    step("Incident 7. Compliance verifies the audit log and asks who touched the two records")
    run("audit", "verify", *dd)
    run("audit", "report", "--customer", BROKER_ID, "--as", "cora", *dd)
    run("audit", "report", "--customer", NOTE_ID, "--as", "cora", *dd)
    return out


__all__ = ["incident_story"]
