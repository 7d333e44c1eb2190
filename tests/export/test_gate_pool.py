"""The gate beside the export (core.export.gate_pool): same answers as in-process, fail closed."""

from __future__ import annotations

import json
import os
import signal
import time
from pathlib import Path

import pytest

from api.wiring import Hush
from core.errors import InputError
from core.export import MailmergeRequest, MailmergeService
from core.export.gate import FOREIGN_IDENTIFIER, GateReason, Letter
from core.export.gate_pool import GatePool, LookupDeferred
from core.prepare_pool import fork_context

from .conftest import add_customers, customer, pseudonym_of

pytestmark = pytest.mark.skipif(fork_context() is None, reason="needs fork")


class WordGate:
    """A gate for the pool's own tests: withholds a letter that holds "bad"; misbehaves in the worker."""

    def __init__(self, *, in_worker: str = "") -> None:
        self.parent = os.getpid()
        self.in_worker = in_worker
        self.checked_here = 0

    def check(self, letter: Letter) -> tuple[GateReason, ...]:
        if os.getpid() != self.parent:
            if self.in_worker == "die" and "die" in letter.text:
                os._exit(9)  # killed mid-page, as by the OOM killer
            if self.in_worker == "raise":
                raise InputError("the gate failed in the worker")
            if self.in_worker == "defer" and "bad" in letter.text:
                raise LookupDeferred
            if self.in_worker == "hang":
                time.sleep(3600)
        else:
            self.checked_here += 1
        return (GateReason("bereavement", "full_name"),) if "bad" in letter.text else ()


def pages(n_pages: int, size: int, *, marker: str = "") -> list[list[Letter]]:
    out = []
    for p in range(n_pages):
        page = []
        for i in range(size):
            word = "bad" if (p * size + i) % 3 == 0 else "good"
            if marker and p == n_pages - 2 and i == size // 2:
                word += f" {marker}"
            page.append(Letter(pseudonym=f"p{p}-{i}", text=f"Dear {word}", values={"full_name": word}))
        out.append(page)
    return out


def run_pipeline(pool: GatePool, all_pages: list[list[Letter]]) -> list[tuple[GateReason, ...]]:
    """As the export runs it: submit page k+1, then collect page k."""
    answers: list[tuple[GateReason, ...]] = []
    with pool:
        waiting = None
        for page in all_pages:
            ticket = pool.submit(page)
            if waiting is not None:
                answers.extend(pool.collect(waiting))
            waiting = ticket
        if waiting is not None:
            answers.extend(pool.collect(waiting))
    return answers


def expected(all_pages: list[list[Letter]]) -> list[tuple[GateReason, ...]]:
    gate = WordGate()
    return [gate.check(letter) for page in all_pages for letter in page]


def test_worker_gives_the_same_answers_as_the_caller() -> None:
    gate = WordGate()
    pool = GatePool(gate, workers=1, chunk=3)
    all_pages = pages(6, 7)
    assert run_pipeline(pool, all_pages) == expected(all_pages)
    assert pool.worker_chunks + pool.local_chunks == 6 * 3  # every chunk once, by one of the two
    assert gate.checked_here >= 7  # the first page at least: no worker yet


def test_the_worker_takes_chunks_from_the_front_and_the_caller_from_the_back() -> None:
    gate = WordGate()
    with GatePool(gate, workers=1, chunk=2) as pool:
        first = pool.submit(pages(1, 4)[0])
        second = pool.submit(pages(2, 10)[1])
        deadline = time.monotonic() + 10
        while pool.worker_chunks < 5 and time.monotonic() < deadline:
            pool._receive()  # answers arrive while the caller would be writing
        assert pool.collect(first) == expected([pages(1, 4)[0]])
        assert pool.collect(second) == expected([pages(2, 10)[1]])
    assert pool.worker_chunks == 5 and pool.local_chunks == 2  # the first page's two chunks


def test_one_page_never_forks() -> None:
    pool = GatePool(WordGate(), workers=1)
    all_pages = pages(1, 5)
    assert run_pipeline(pool, all_pages) == expected(all_pages)
    assert not pool.started and pool.worker_chunks == 0


def test_no_workers_checks_everything_here() -> None:
    gate = WordGate()
    pool = GatePool(gate, workers=0)
    all_pages = pages(4, 5)
    assert run_pipeline(pool, all_pages) == expected(all_pages)
    assert gate.checked_here == 20 and pool.worker_chunks == 0


def test_a_killed_worker_leaves_no_letter_unchecked() -> None:
    """The worker dies in the middle of a page: what it did not answer, and every later page, is checked here."""
    gate = WordGate(in_worker="die")
    all_pages = pages(4, 6, marker="die")  # "die" in the middle of the third page
    with GatePool(gate, workers=1, chunk=2) as pool:
        tickets = [pool.submit(all_pages[0]), pool.submit(all_pages[1]), pool.submit(all_pages[2])]
        deadline = time.monotonic() + 10
        while pool.started and time.monotonic() < deadline:
            pool._receive()  # the worker answers the second page's chunks, then dies
        assert not pool.started
        tickets.append(pool.submit(all_pages[3]))  # no worker any more: checked here
        answers = [reasons for ticket in tickets for reasons in pool.collect(ticket)]
    assert answers == expected(all_pages)
    # at most the second page and the third page's first chunk came back from the worker (fewer when
    # it died before its answers went out); every other chunk was checked here, each chunk once
    assert pool.worker_chunks <= 4
    assert pool.worker_chunks + pool.local_chunks == 12
    assert gate.checked_here == 2 * pool.local_chunks


def test_an_error_in_the_worker_hands_the_chunk_back() -> None:
    """Whatever the gate raises in the worker, the chunk is checked in the caller (as in-process)."""
    gate = WordGate(in_worker="raise")
    with GatePool(gate, workers=1) as pool:
        first, second = pool.submit(pages(1, 4)[0]), pool.submit(pages(2, 4)[1])
        deadline = time.monotonic() + 10
        while not pool.handed_back and time.monotonic() < deadline:
            pool._receive()
        assert pool.collect(first) + pool.collect(second) == expected(pages(2, 4))
    assert pool.handed_back == 4 and gate.checked_here == 8


def test_letters_needing_a_lookup_are_checked_in_the_caller() -> None:
    """The worker never opens a database connection: a letter whose identifier needs its owner looked
    up (LookupDeferred) comes back and is checked here, the others are answered by the worker."""
    gate = WordGate(in_worker="defer")
    with GatePool(gate, workers=1, chunk=3) as pool:
        first, second = pool.submit(pages(1, 3)[0]), pool.submit(pages(2, 6)[1])
        deadline = time.monotonic() + 10
        while pool.worker_chunks < 2 and time.monotonic() < deadline:
            pool._receive()
        assert pool.collect(first) + pool.collect(second) == expected([pages(1, 3)[0], pages(2, 6)[1]])
    assert pool.worker_chunks == 2
    assert pool.handed_back == sum("bad" in x.text for x in pages(2, 6)[1])
    assert gate.checked_here == 3 + pool.handed_back


def test_a_stuck_worker_is_killed_and_its_chunks_are_checked_here() -> None:
    """A worker that never answers (stuck on a lock inherited locked) costs answer_seconds, not the run."""
    gate = WordGate(in_worker="hang")
    started = time.monotonic()
    with GatePool(gate, workers=1, answer_seconds=1.0) as pool:
        tickets = [pool.submit(page) for page in pages(3, 4)]
        time.sleep(1.0)  # the worker takes the second page and hangs in it
        answers = [reasons for ticket in tickets for reasons in pool.collect(ticket)]
        assert not pool.started
    assert answers == expected(pages(3, 4))
    assert time.monotonic() - started < 20


def test_the_worker_drops_the_callers_signal_handlers() -> None:
    """Under ``hushdb serve`` the exporting process has uvicorn's SIGTERM handler: the worker must not
    keep it, and stopping the pool never waits on a worker that ignores SIGTERM."""
    previous = signal.signal(signal.SIGTERM, lambda *_: None)
    try:
        pool = GatePool(WordGate(in_worker="hang"), workers=1)
        pool.submit(pages(1, 2)[0])
        pool.submit(pages(2, 2)[1])
        assert pool.started
        time.sleep(0.5)  # the worker is in its check
        started = time.monotonic()
        pool.close(graceful=False)
        assert time.monotonic() - started < 6 and not pool.started
    finally:
        signal.signal(signal.SIGTERM, previous)


TEMPLATE = "{{ full_name }}\n{{ postal_address }}\n\nDear {{ salutation }},\nOur winter sale starts now.\n"


def export(store: Hush, out: Path, *, workers: int) -> tuple[dict[str, object], dict[str, str], list[str]]:
    service = MailmergeService(
        gateway=store.gateway, pii=None, settings=store.settings, batch_size=4, gate_workers=workers
    )
    request = MailmergeRequest(
        campaign="pool",
        fields=("full_name", "postal_address", "salutation"),
        template=TEMPLATE,
        channel="post",
    )
    manifest = service.run(store.context("mailer", "marketing"), request, out)
    letters = {p.name: p.read_text(encoding="utf-8") for p in (out / "letters").iterdir()}
    quarantine = sorted((out / "quarantine.jsonl").read_text(encoding="utf-8").splitlines())
    return manifest.to_dict(), letters, quarantine


def test_an_export_with_the_worker_writes_what_one_without_it_writes(store: Hush, tmp_path: Path) -> None:
    """Clean letters, remarks in a name or an address, another customer's phone number: on both
    databases, the worker's export (its own connections for the identifier look-ups) and the
    in-process one withhold the same letters for the same reasons and write the same letters."""
    surnames = "Lee Smith Jones Brown Taylor Wilson Evans Clark Hall Wood Green Baker Hill King".split()
    people = [customer(f"P{i:03d}", full_name=f"Ann {surname}") for i, surname in enumerate(surnames)]
    people += [
        customer("OWNER", phone="+44 7700 900123"),
        customer("RMK1", full_name="Mrs Ann Lee (RIP)"),
        customer("RMK2", postal_address="Flat 1 (Husband Passed  Away 2023), 12 King Street, Leeds LS1 4AP"),
        customer("RMK3", full_name="Bob Grey Lost Son In Accident"),
        customer("FRGN", postal_address="12 King Street, Leeds LS1 4AP (ring 07700 900123)"),
    ]
    add_customers(store, people)
    for ext in ("RMK1", "RMK2", "RMK3", "FRGN"):  # screened on import: a reviewer clears them by mistake
        store.writes.clear_review(store.context("alice", "service"), ext)
    with_worker = export(store, tmp_path / "with", workers=1)
    without = export(store, tmp_path / "without", workers=0)
    assert with_worker[1] == without[1] and with_worker[2] == without[2]
    gate_info = with_worker[0]["gate"]
    assert isinstance(gate_info, dict)
    assert without[0]["gate"] == {**gate_info, "worker_chunks": 0}  # the same look-ups, counted in both
    withheld = {json.loads(line)["pseudonym"]: json.loads(line)["reasons"] for line in with_worker[2]}
    assert set(withheld) == {pseudonym_of(store, ext) for ext in ("RMK1", "RMK2", "RMK3", "FRGN")}
    assert withheld[pseudonym_of(store, "FRGN")] == [
        {"category": FOREIGN_IDENTIFIER, "field": "postal_address"}
    ]
    assert len(with_worker[1]) == 15
    assert not any(
        "RIP" in text or "Passed" in text or "Lost Son" in text for text in with_worker[1].values()
    )


def test_the_outbound_gate_answers_in_the_worker_as_in_the_caller() -> None:
    """The real gate, forked: term tables, the shape check and the Chinese model (loaded in the worker
    for names only the model reads) give the same reasons as in the caller."""
    from core.export.gate import OutboundGate, StaticOwners

    def letter(i: int, name: str, address: str) -> Letter:
        values = {"full_name": name, "postal_address": address}
        return Letter(
            pseudonym=f"p{i}", text=f"{name}\n{address}\n\nOur winter sale starts now.\n", values=values
        )

    first = [
        letter(0, "Ann Lee", "12 King Street, Leeds LS1 4AP"),
        letter(1, "王伟", "北京市朝阳区建国路88号"),
    ]
    second = [
        letter(2, "上官婉儿", "北京市朝阳区建国路88号"),  # a name only the model reads
        letter(3, "王伟寡妇", "北京市朝阳区建国路88号"),
        letter(4, "Mrs Ann Lee (RIP)", "12 King Street, Leeds LS1 4AP"),
        letter(5, "Ann Lee", "12 Elm Road, Leeds LS1 4AP S0n P4ss3d Aw4y (RIP)"),
        letter(6, "陳大文 兒子車禍過世", "香港九龍彌敦道1號"),
        letter(7, "Sofia Marino", "Via Roma 9, Roma"),
    ]
    reference = OutboundGate(owners=StaticOwners(), phone_region="GB")
    want = [reference.check(x) for x in first + second]
    assert [bool(r) for r in want] == [False, False, False, True, True, True, True, False]
    with GatePool(OutboundGate(owners=StaticOwners(), phone_region="GB"), workers=1, chunk=2) as pool:
        tickets = [pool.submit(first), pool.submit(second)]
        deadline = time.monotonic() + 60
        while pool.worker_chunks < 3 and time.monotonic() < deadline:
            pool._receive()
        got = [reasons for ticket in tickets for reasons in pool.collect(ticket)]
    assert pool.worker_chunks == 3
    assert got == want
