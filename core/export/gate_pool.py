"""The outbound gate beside the export: pages of letters checked in a forked worker.

A mail-merge run is two kinds of work per page of recipients: the caller's
(read and decrypt the page, render each letter, write each file) and the
gate's (:class:`~core.export.gate.OutboundGate`: terms on the letter's
skeleton, the shape of the merged fields, identifiers).  On a machine with
more than one core they overlap: the caller submits page k+1 here, then
collects page k's reasons and writes page k, while a forked worker checks
page k+1.  Pages are cut into chunks of :data:`CHUNK` letters: the worker
takes them from the front, and the caller, when it has written page k and
page k+1 is not all answered, checks the chunks the worker has not reached,
from the back (every chunk is claimed once, by whichever process gets to it
first, through the import pool's claim slots, :func:`core.prepare_pool.claim`).
So both cores stay busy whichever side is faster, and a busy machine
degrades to the in-process path.  The gate's CPU cost stays what it is: the
pipeline hides its time, it does not remove its work.  As with the import's prepare pool
(:mod:`core.prepare_pool`), the worker is a ``fork`` of the exporting
process: it inherits the gate (its term tables, its template identifiers, its
caches) in memory; letters and their merged values cross the pipe (the same
text the caller writes to the letter files a moment later), reasons come
back.  No key material crosses it.

Fail closed: a letter is written only once its reasons have come back empty,
from the worker or from the caller's own gate.  A worker that dies (killed,
out of memory) is taken for dead at once and every page it had not answered
is checked again here, with the same gate; an exception raised by the gate
in the worker (a database error while looking up an identifier's owner) is
raised here and fails the run.  Where ``fork`` is unavailable, on one core, or
for a run of one page, everything runs in-process with the same gate.

The worker never touches the database: a letter whose check needs an
identifier's owner looked up (an e-mail or phone number that is not the
recipient's own) is handed back and checked in the caller, with the caller's
connections and cache (:class:`LookupDeferred`; a SQLite connection opened
after a fork would share the parent's lock records).  A worker that gives no
answer for :data:`ANSWER_SECONDS` (stuck on a lock another thread held at the
fork) is killed and its chunks are checked in the caller.  The worker drops
the server's signal handlers, dies with the thread that forked it, and cannot
dump core or be traced (it holds letters and, by the fork, the key ring).
"""

from __future__ import annotations

import gc
import os
import pickle
import queue
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from multiprocessing.connection import Connection, wait
from multiprocessing.process import BaseProcess
from types import TracebackType
from typing import Any, Final

from core.export.gate import GateReason, Letter, LetterGate
from core.prepare_pool import (
    CLAIMED,
    FORK_LOCK,
    SLOTS,
    claim,
    default_workers,
    fork_context,
    harden_worker,
    open_slot,
)

CHUNK: Final = 100
"""Letters per unit of work (some 5-10 ms of the gate): the worker and the caller share a page by chunks."""

WAIT_SECONDS: Final = 0.05
"""How long the caller waits for an answer before it looks for a chunk to check itself (and checks the worker)."""

ANSWER_SECONDS: Final = 30.0
"""The longest the caller waits for the worker without any answer (a chunk is some 10 ms of gate work;
the first one may load the Chinese model): past it the worker is taken for stuck and killed, and its
chunks are checked in the caller."""

_Reasons = tuple[GateReason, ...]
_WireLetter = tuple[str, str, dict[str, str], bool, dict[str, str]]
#: Per letter: its reasons, or None when the worker left it to the caller (it needs a look-up).
_WireReasons = list[tuple[tuple[str, str], ...] | None]


class LookupDeferred(Exception):
    """Raised in the worker where the gate would look up an identifier's owner in the database: the
    letter is left to the caller, whose own connections answer (the worker never opens one: a SQLite
    connection opened after a fork shares the parent's lock records)."""


class CallerLookups:
    """The identifier owners of a gate in the worker: every question goes back to the caller."""

    lookups = 0

    def owners(self, kind: str, value: str) -> frozenset[str]:
        raise LookupDeferred


def _to_wire(letters: Sequence[Letter]) -> list[_WireLetter]:
    """Letters as plain tuples (a frozen dataclass pickles several times slower)."""
    return [(x.pseudonym, x.text, dict(x.values), x.stored_sensitive, dict(x.sources)) for x in letters]


def _check_wire(gate: LetterGate, wire: list[_WireLetter]) -> _WireReasons:
    out: _WireReasons = []
    for pseudonym, text, values, stored, sources in wire:
        letter = Letter(
            pseudonym=pseudonym, text=text, values=values, stored_sensitive=stored, sources=sources
        )
        try:
            reasons = gate.check(letter)
        except LookupDeferred:
            out.append(None)
            continue
        out.append(tuple((r.category, r.field) for r in reasons))
    return out


def _worker_main(
    gate: LetterGate,
    in_worker: Callable[[], None] | None,
    tasks: Any,
    claims: Any,
    results: Connection,
    parent_end: Connection,
    parent: int,
) -> None:
    """The forked worker: the gate arrives by inheritance, not by pickling.

    Answers go out through a thread, so that the worker goes on with the next chunk
    while the caller is busy writing and not yet reading.  Ends with ``os._exit``: nothing
    inherited (buffered output, connections) is flushed or closed here.
    """
    harden_worker(parent)
    parent_end.close()  # the caller's end of the answers' pipe
    if in_worker is not None:
        in_worker()
    outbox: queue.SimpleQueue[tuple[int, _WireReasons | None] | None] = queue.SimpleQueue()

    def send() -> None:
        try:
            while (item := outbox.get()) is not None:
                results.send(item)
        except OSError:  # the caller is gone
            os._exit(0)

    sender = threading.Thread(target=send, name="hushdb-gate-results", daemon=True)
    sender.start()
    while True:
        try:
            task = tasks.get(timeout=1.0)
        except queue.Empty:
            if os.getppid() != parent:
                os._exit(0)  # the exporting process is gone (killed): so is this one
            continue
        if task is None:
            break
        key, wire = task
        while (claimed := claim(claims, key, timeout=1.0)) is None:
            if os.getppid() != parent:
                os._exit(0)  # the exporting process died holding the lock
        if not claimed:
            continue  # the caller checked it while waiting for its page
        try:
            outbox.put((key, _check_wire(gate, wire)))
        except Exception:
            outbox.put((key, None))
    outbox.put(None)
    sender.join()
    os._exit(0)


@dataclass(eq=False)
class GateTicket:
    """One submitted page: its letters (kept here: any chunk may be checked here) and its chunks' keys."""

    letters: Sequence[Letter] = field(repr=False)
    chunks: list[tuple[int, int, int]] = field(default_factory=list)  # (key, start, end) in letters
    local: set[int] = field(default_factory=set)
    """Keys of chunks never sent to the worker (none running, or it died): only the caller checks them."""


class GatePool:
    """Checks submitted pages of letters in a forked worker while the caller writes earlier ones.

    Use as a context manager; :meth:`submit` a page, then :meth:`collect` it (in
    submission order) to get one tuple of reasons per letter.  ``in_worker`` runs first
    in the worker (the outbound gate's :meth:`~core.export.gate.OutboundGate.defer_lookups`:
    identifier owners are asked for in the caller, see :class:`LookupDeferred`).
    """

    def __init__(
        self,
        gate: LetterGate,
        *,
        workers: int | None = None,
        chunk: int = CHUNK,
        in_worker: Callable[[], None] | None = None,
        answer_seconds: float = ANSWER_SECONDS,
    ) -> None:
        self.gate = gate
        self.chunk = max(1, chunk)
        self.workers = min(1, default_workers() if workers is None else max(0, workers))
        self._context = fork_context() if self.workers else None
        self._in_worker = in_worker
        self._answer_seconds = answer_seconds
        self._process: BaseProcess | None = None
        self._tasks: Any = None
        self._claims: Any = None
        self._results: Connection | None = None
        self._done: dict[int, list[_Reasons]] = {}
        self._letters: dict[int, Sequence[Letter]] = {}  # the letters of every chunk in flight
        self._next_key = 0
        self._first_outstanding = 0
        self._waiting: list[GateTicket] = []  # submitted, not collected yet
        self._broken = False
        self.worker_chunks = 0
        self.local_chunks = 0
        self.handed_back = 0  # letters the worker left to the caller (an identifier to look up, an error)

    def __enter__(self) -> GatePool:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close(graceful=exc_type is None)

    @property
    def started(self) -> bool:
        """Whether a worker process is running (for tests and figures)."""
        return self._process is not None

    def close(self, *, graceful: bool = True) -> None:
        """Stop the worker: after it has drained its queue when ``graceful``, at once otherwise."""
        self._stop(graceful=graceful)
        self._done.clear()
        self._letters.clear()

    def _stop(self, *, graceful: bool) -> None:
        process = self._process
        if process is None:
            return
        self._process = None
        if graceful and not self._broken:
            self._tasks.put(None)
            process.join(timeout=10)
        if process.is_alive():
            process.kill()  # SIGKILL: nothing the worker inherited can catch it
            process.join(timeout=5)
        self._tasks.cancel_join_thread()
        self._tasks.close()
        if self._results is not None:
            self._results.close()
        self._results = None

    def _start(self) -> bool:
        if self._process is not None:
            return True
        if self._context is None or self._broken:
            return False
        self._tasks = self._context.Queue()
        self._claims = self._context.Array("q", [CLAIMED] * SLOTS)
        reader, writer = self._context.Pipe(duplex=False)
        # Objects that exist at the fork are never collected in the worker: it cannot finalise
        # (close, roll back) a database connection it inherited, and copies fewer pages.  One fork
        # at a time in this process: two export jobs would undo each other's freeze.
        with FORK_LOCK:
            gc.freeze()
            try:
                process = self._context.Process(
                    target=_worker_main,
                    args=(self.gate, self._in_worker, self._tasks, self._claims, writer, reader, os.getpid()),
                    name="hushdb-gate-worker",
                    daemon=True,
                )
                process.start()
            except OSError:  # no more processes: check in-process
                self._broken = True
                reader.close()
                writer.close()
                self._tasks.close()
                return False
            finally:
                gc.unfreeze()
        writer.close()  # only the worker writes answers: if it dies, the caller reads end-of-file
        self._process, self._results = process, reader
        return True

    def submit(self, letters: Sequence[Letter]) -> GateTicket:
        """Queue a page for the worker (started when a second page is in flight); returns at once."""
        ticket = GateTicket(letters=letters)
        if self._process is None and self._waiting and not self._broken:  # a second page in flight
            self._warm_up()
            self._start()
        for start in range(0, len(letters), self.chunk):
            key = self._next_key
            self._next_key += 1
            end = min(start + self.chunk, len(letters))
            ticket.chunks.append((key, start, end))
            self._letters[key] = letters[start:end]
            if self._process is not None and self._open_slot(key):
                self._tasks.put((key, _to_wire(letters[start:end])))  # a feeder thread sends it
            else:
                ticket.local.add(key)
        self._waiting.append(ticket)
        return ticket

    def _warm_up(self) -> None:
        """Check the pages waiting here before the fork, so that the worker inherits what the gate
        builds on first use (term tables, the template's lines, a Chinese model) instead of building
        it again: the caller checks them in any case."""
        for ticket in self._waiting:
            for key, _start, _end in ticket.chunks:
                if key not in self._done:
                    self._check_here(key)

    def _open_slot(self, key: int) -> bool:
        """Put chunk ``key`` in its claim slot; False (and the worker stopped) when the lock is lost."""
        if key - self._first_outstanding >= SLOTS:
            raise RuntimeError("too many chunks in flight: collect earlier pages first")
        if open_slot(self._claims, key, timeout=WAIT_SECONDS * 20):
            return True
        self._lose_worker()
        return False

    def collect(self, ticket: GateTicket) -> list[_Reasons]:
        """The reasons for each of ``ticket``'s letters, in order (an empty tuple lets a letter out).

        Waits for the worker at most ``answer_seconds`` without an answer (it may be stuck on a lock
        it inherited locked): then it is taken for lost, and what it did not answer is checked here.
        """
        self._waiting.remove(ticket)
        last_answer = time.monotonic()
        while any(key not in self._done for key, _, _ in ticket.chunks):
            if self._process is None:
                for key, _start, _end in ticket.chunks:
                    if key not in self._done:
                        self._check_here(key)
                break
            # a chunk of this page the worker has not taken: check it here, from the back
            for key, _start, _end in reversed(ticket.chunks):
                if key in self._done:
                    continue
                claimed = key in ticket.local or claim(self._claims, key, timeout=WAIT_SECONDS * 20)
                if claimed is None:
                    self._lose_worker()
                    break
                if claimed:
                    self._check_here(key)
                    break
            else:
                if self._receive():
                    last_answer = time.monotonic()
                elif self._process is not None and time.monotonic() - last_answer > self._answer_seconds:
                    self._lose_worker()  # alive but stuck: its chunks are checked here (fails closed)
        out: list[_Reasons] = []
        for key, _, _ in ticket.chunks:
            out.extend(self._done.pop(key))
            del self._letters[key]
        if ticket.chunks:  # their claim slots may be reused from now on
            self._first_outstanding = ticket.chunks[-1][0] + 1
        return out

    def _check_here(self, key: int) -> None:
        self._done[key] = [self.gate.check(letter) for letter in self._letters[key]]
        self.local_chunks += 1

    def _answer(self, key: int, wire: _WireReasons | None) -> None:
        """The worker's answer for chunk ``key``: letters it left to the caller are checked here."""
        letters = self._letters.get(key)
        if letters is None:
            return  # a chunk of a page that was collected already (cannot happen: claimed once)
        if wire is None or len(wire) != len(letters):
            self.handed_back += len(letters)
            self._check_here(key)
            return
        answers: list[_Reasons] = []
        for letter, reasons in zip(letters, wire, strict=True):
            if reasons is None:
                self.handed_back += 1
                answers.append(self.gate.check(letter))
            else:
                answers.append(tuple(GateReason(category, name) for category, name in reasons))
        self._done[key] = answers
        self.worker_chunks += 1

    def _receive(self) -> bool:
        """Take the answers that have come (True when one did); a dead worker is taken for lost."""
        results, process = self._results, self._process
        assert results is not None and process is not None
        got = False
        try:
            for conn in wait([results], timeout=WAIT_SECONDS):
                assert isinstance(conn, Connection)
                key, wire = conn.recv()
                self._answer(key, wire)
                got = True
            if process.is_alive():
                return got
        except (EOFError, OSError, pickle.UnpicklingError, TypeError, ValueError, AttributeError):
            pass  # an answer that cannot be read is no answer
        self._lose_worker()
        return got

    def _lose_worker(self) -> None:
        """The worker died (killed, out of memory) or is stuck, perhaps holding a chunk: nothing it
        did not answer is used; whatever has not arrived is checked here."""
        self._broken = True
        self._stop(graceful=False)


__all__ = ["CHUNK", "CallerLookups", "GatePool", "GateTicket", "LookupDeferred"]
