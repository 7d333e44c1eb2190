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

The worker's own identifier look-ups go through its own database
connections: ``on_fork`` (the engine's ``dispose(close=False)``) runs first in
the child, so it never uses, or closes, a connection of the caller's.
"""

from __future__ import annotations

import gc
import os
import pickle
import queue
import signal
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from multiprocessing.connection import Connection, wait
from multiprocessing.process import BaseProcess
from types import TracebackType
from typing import Any, Final

from core.export.gate import GateReason, Letter, LetterGate
from core.prepare_pool import CLAIMED, SLOTS, claim, default_workers, fork_context

CHUNK: Final = 100
"""Letters per unit of work (some 5-10 ms of the gate): the worker and the caller share a page by chunks."""

WAIT_SECONDS: Final = 0.05
"""How long the caller waits for an answer before it looks for a chunk to check itself (and checks the worker)."""

_Reasons = tuple[GateReason, ...]
_WireLetter = tuple[str, str, dict[str, str], bool, dict[str, str]]
_WireReasons = list[tuple[tuple[str, str], ...]]


def _to_wire(letters: Sequence[Letter]) -> list[_WireLetter]:
    """Letters as plain tuples (a frozen dataclass pickles several times slower)."""
    return [(x.pseudonym, x.text, dict(x.values), x.stored_sensitive, dict(x.sources)) for x in letters]


def _check_wire(gate: LetterGate, wire: list[_WireLetter]) -> _WireReasons:
    out: _WireReasons = []
    for pseudonym, text, values, stored, sources in wire:
        letter = Letter(
            pseudonym=pseudonym, text=text, values=values, stored_sensitive=stored, sources=sources
        )
        reasons = gate.check(letter)
        out.append(tuple((r.category, r.field) for r in reasons))
    return out


def _from_wire(wire: _WireReasons) -> list[_Reasons]:
    return [tuple(GateReason(category, name) for category, name in reasons) for reasons in wire]


def _portable(exc: Exception) -> Exception:
    """``exc`` if it pickles, else a RuntimeError naming its type (never its message: it may quote a value)."""
    try:
        pickle.dumps(exc)
        return exc
    except Exception:
        return RuntimeError(f"{type(exc).__name__} in the gate worker")


def _worker_main(
    gate: LetterGate,
    on_fork: Callable[[], None] | None,
    counter: Callable[[], int] | None,
    tasks: Any,
    claims: Any,
    results: Connection,
    parent_end: Connection,
) -> None:
    """The forked worker: the gate arrives by inheritance, not by pickling.

    Answers go out through a thread, so that the worker goes on with the next chunk
    while the caller is busy writing and not yet reading.
    """
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is the exporting process's to handle
    parent_end.close()  # the caller's end of the answers' pipe
    if on_fork is not None:
        on_fork()
    base = counter() if counter is not None else 0  # what the caller had counted before the fork
    outbox: queue.SimpleQueue[tuple[int, _WireReasons | None, int, Exception | None] | None] = (
        queue.SimpleQueue()
    )

    def send() -> None:
        try:
            while (item := outbox.get()) is not None:
                results.send(item)
        except OSError:  # the caller is gone
            os._exit(0)

    sender = threading.Thread(target=send, name="hushdb-gate-results", daemon=True)
    sender.start()
    parent = os.getppid()
    while True:
        try:
            task = tasks.get(timeout=1.0)
        except queue.Empty:
            if os.getppid() != parent:
                return  # the exporting process is gone (killed): so is this one
            continue
        if task is None:
            break
        key, wire = task
        while (claimed := claim(claims, key, timeout=1.0)) is None:
            if os.getppid() != parent:
                return  # the exporting process died holding the lock
        if not claimed:
            continue  # the caller checked it while waiting for its page
        try:
            answer = _check_wire(gate, wire)
            outbox.put((key, answer, counter() - base if counter is not None else 0, None))
        except Exception as exc:  # hand it to the caller, which re-raises it
            outbox.put((key, None, 0, _portable(exc)))
    outbox.put(None)
    sender.join()


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
    submission order) to get one tuple of reasons per letter.  ``counter`` reads a
    count the gate keeps (identifier look-ups): :attr:`worker_count` is the worker's.
    """

    def __init__(
        self,
        gate: LetterGate,
        *,
        workers: int | None = None,
        chunk: int = CHUNK,
        on_fork: Callable[[], None] | None = None,
        counter: Callable[[], int] | None = None,
    ) -> None:
        self.gate = gate
        self.chunk = max(1, chunk)
        self.workers = min(1, default_workers() if workers is None else max(0, workers))
        self._context = fork_context() if self.workers else None
        self._on_fork = on_fork
        self._counter = counter
        self._process: BaseProcess | None = None
        self._tasks: Any = None
        self._claims: Any = None
        self._results: Connection | None = None
        self._done: dict[int, list[_Reasons] | BaseException] = {}
        self._next_key = 0
        self._first_outstanding = 0
        self._waiting: list[GateTicket] = []  # submitted, not collected yet
        self._broken = False
        self.worker_count = 0
        self.worker_chunks = 0
        self.local_chunks = 0

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

    def _stop(self, *, graceful: bool) -> None:
        process = self._process
        if process is None:
            return
        if graceful and not self._broken:
            self._tasks.put(None)
            process.join(timeout=10)
        if process.is_alive():
            process.terminate()
            process.join()
        self._tasks.cancel_join_thread()
        self._tasks.close()
        if self._results is not None:
            self._results.close()
        self._process = self._results = None

    def _start(self) -> bool:
        if self._process is not None:
            return True
        if self._context is None or self._broken:
            return False
        self._tasks = self._context.Queue()
        self._claims = self._context.Array("q", [CLAIMED] * SLOTS)
        reader, writer = self._context.Pipe(duplex=False)
        # Objects that exist at the fork are never collected in the worker: it cannot finalise
        # (close, roll back) a database connection it inherited, and copies fewer pages.
        gc.freeze()
        try:
            process = self._context.Process(
                target=_worker_main,
                args=(self.gate, self._on_fork, self._counter, self._tasks, self._claims, writer, reader),
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
            for key, start, end in ticket.chunks:
                if key not in self._done:
                    self._check_here(key, ticket.letters[start:end])

    def _open_slot(self, key: int) -> bool:
        """Put chunk ``key`` in its claim slot; False (and the worker stopped) when the lock is lost."""
        if key - self._first_outstanding >= SLOTS:
            raise RuntimeError("too many chunks in flight: collect earlier pages first")
        lock = self._claims.get_lock()
        if not lock.acquire(timeout=WAIT_SECONDS * 20):
            self._lose_worker()
            return False
        try:
            self._claims.get_obj()[key % SLOTS] = key
        finally:
            lock.release()
        return True

    def collect(self, ticket: GateTicket) -> list[_Reasons]:
        """The reasons for each of ``ticket``'s letters, in order (an empty tuple lets a letter out)."""
        self._waiting.remove(ticket)
        while any(key not in self._done for key, _, _ in ticket.chunks):
            if self._process is None:
                for key, start, end in ticket.chunks:
                    if key not in self._done:
                        self._check_here(key, ticket.letters[start:end])
                break
            # a chunk of this page the worker has not taken: check it here, from the back
            for key, start, end in reversed(ticket.chunks):
                if key in self._done:
                    continue
                claimed = key in ticket.local or claim(self._claims, key, timeout=WAIT_SECONDS * 20)
                if claimed is None:
                    self._lose_worker()
                    break
                if claimed:
                    self._check_here(key, ticket.letters[start:end])
                    break
            else:
                self._receive()
        out: list[_Reasons] = []
        for key, _, _ in ticket.chunks:
            done = self._done.pop(key)
            if isinstance(done, BaseException):
                raise done
            out.extend(done)
        if ticket.chunks:  # their claim slots may be reused from now on
            self._first_outstanding = ticket.chunks[-1][0] + 1
        return out

    def _check_here(self, key: int, letters: Sequence[Letter]) -> None:
        self._done[key] = [self.gate.check(letter) for letter in letters]
        self.local_chunks += 1

    def _receive(self) -> None:
        results, process = self._results, self._process
        assert results is not None and process is not None
        try:
            for conn in wait([results], timeout=WAIT_SECONDS):
                assert isinstance(conn, Connection)
                key, wire, count, error = conn.recv()
                self.worker_count = count
                self.worker_chunks += 1
                self._done[key] = error if error is not None else _from_wire(wire)
            if process.is_alive():
                return
        except (EOFError, OSError):
            pass
        self._lose_worker()

    def _lose_worker(self) -> None:
        """The worker died (killed, out of memory), perhaps holding a chunk: nothing it did not
        answer is used; whatever has not arrived is checked here."""
        self._broken = True
        self._stop(graceful=False)


__all__ = ["CHUNK", "GatePool", "GateTicket"]
