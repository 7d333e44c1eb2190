"""The outbound gate beside the export: pages of letters checked in a forked worker.

A mail-merge run is two kinds of work per page of recipients: the caller's
(read and decrypt the page, render each letter, write each file) and the
gate's (:class:`~core.export.gate.OutboundGate`: terms on the letter's
skeleton, the shape of the merged fields, identifiers).  On a machine with
more than one core they overlap: the caller submits page k+1 here, then
collects page k's reasons and writes page k, while a forked worker checks
page k+1.  The gate's CPU cost stays what it is; the run's time is that of
the slower of the two.  As with the import's prepare pool
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

import contextlib
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
from typing import Final

from core.export.gate import GateReason, Letter, LetterGate
from core.prepare_pool import default_workers, fork_context

WAIT_SECONDS: Final = 0.05
"""How long the caller waits for an answer before it checks that the worker is alive."""

_Reasons = tuple[GateReason, ...]
_WireLetter = tuple[str, str, dict[str, str], bool]
_WireReasons = list[tuple[tuple[str, str], ...]]


def _to_wire(letters: Sequence[Letter]) -> list[_WireLetter]:
    """Letters as plain tuples (a frozen dataclass pickles several times slower)."""
    return [(x.pseudonym, x.text, dict(x.values), x.stored_sensitive) for x in letters]


def _check_wire(gate: LetterGate, wire: list[_WireLetter]) -> _WireReasons:
    out: _WireReasons = []
    for pseudonym, text, values, stored in wire:
        reasons = gate.check(Letter(pseudonym=pseudonym, text=text, values=values, stored_sensitive=stored))
        out.append(tuple((r.category, r.field) for r in reasons))
    return out


def _from_wire(wire: _WireReasons) -> list[_Reasons]:
    return [tuple(GateReason(category, name) for category, name in reasons) for reasons in wire]


def _worker_main(
    gate: LetterGate,
    on_fork: Callable[[], None] | None,
    counter: Callable[[], int] | None,
    tasks: Connection,
    results: Connection,
    parent_ends: tuple[Connection, ...],
) -> None:
    """The forked worker: the gate arrives by inheritance, not by pickling.

    Answers go out through a thread, so that the worker reads the next page while
    the caller is busy writing and not yet reading (neither side can block the other
    on a full pipe).
    """
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is the exporting process's to handle
    for end in parent_ends:
        end.close()  # the caller's ends: when the caller goes, reading here meets end-of-file
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
    while True:
        try:
            task = tasks.recv()
        except (EOFError, OSError):
            break  # the caller closed the pipe, or died
        if task is None:
            break
        key, wire = task
        try:
            answer = _check_wire(gate, wire)
            outbox.put((key, answer, counter() - base if counter is not None else 0, None))
        except Exception as exc:  # hand it to the caller, which re-raises it
            outbox.put((key, None, 0, _portable(exc)))
    outbox.put(None)
    sender.join()


def _portable(exc: Exception) -> Exception:
    """``exc`` if it pickles, else a RuntimeError naming its type (never its message: it may quote a value)."""
    try:
        pickle.dumps(exc)
        return exc
    except Exception:
        return RuntimeError(f"{type(exc).__name__} in the gate worker")


@dataclass(eq=False)
class GateTicket:
    """One submitted page: its letters (kept here: checked again here if the worker dies)."""

    key: int
    letters: Sequence[Letter] = field(repr=False)
    local: bool = False


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
        on_fork: Callable[[], None] | None = None,
        counter: Callable[[], int] | None = None,
    ) -> None:
        self.gate = gate
        self.workers = min(1, default_workers() if workers is None else max(0, workers))
        self._context = fork_context() if self.workers else None
        self._on_fork = on_fork
        self._counter = counter
        self._process: BaseProcess | None = None
        self._tasks: Connection | None = None
        self._results: Connection | None = None
        self._done: dict[int, list[_Reasons] | BaseException] = {}
        self._next_key = 0
        self._outstanding = 0
        self._broken = False
        self.worker_count = 0
        self.worker_pages = 0

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
        """Whether a worker process was started (for tests and figures)."""
        return self._process is not None

    def close(self, *, graceful: bool = True) -> None:
        """Stop the worker: after it has answered what it was sent when ``graceful``, at once otherwise."""
        process, tasks, results = self._process, self._tasks, self._results
        self._process = self._tasks = self._results = None
        self._done.clear()
        if process is None:
            return
        if graceful and tasks is not None:
            with contextlib.suppress(OSError):
                tasks.send(None)
            process.join(timeout=10)
        if process.is_alive():
            process.terminate()
            process.join()
        for conn in (tasks, results):
            if conn is not None:
                conn.close()

    def _start(self) -> bool:
        if self._process is not None:
            return True
        if self._context is None or self._broken:
            return False
        task_reader, task_writer = self._context.Pipe(duplex=False)
        result_reader, result_writer = self._context.Pipe(duplex=False)
        # Objects that exist at the fork are never collected in the worker: it cannot finalise
        # (close, roll back) a database connection it inherited, and copies fewer pages.
        gc.freeze()
        try:
            process = self._context.Process(
                target=_worker_main,
                args=(
                    self.gate,
                    self._on_fork,
                    self._counter,
                    task_reader,
                    result_writer,
                    (task_writer, result_reader),
                ),
                name="hushdb-gate-worker",
                daemon=True,
            )
            process.start()
        except OSError:  # no more processes: check in-process
            self._broken = True
            for conn in (task_reader, task_writer, result_reader, result_writer):
                conn.close()
            return False
        finally:
            gc.unfreeze()
        task_reader.close()  # only the worker reads tasks and writes results: if it dies,
        result_writer.close()  # the caller reads end-of-file
        self._process, self._tasks, self._results = process, task_writer, result_reader
        return True

    def submit(self, letters: Sequence[Letter]) -> GateTicket:
        """Hand a page of letters to the worker (started when a second page is in flight)."""
        ticket = GateTicket(key=self._next_key, letters=letters)
        self._next_key += 1
        self._outstanding += 1
        if self._process is None and self._outstanding > 1:
            self._start()
        if self._process is None or self._tasks is None:
            ticket.local = True
            return ticket
        try:
            self._tasks.send((ticket.key, _to_wire(letters)))
        except OSError:  # the worker is gone: this page, and what it had not answered, are checked here
            self._lose_worker()
            ticket.local = True
        return ticket

    def collect(self, ticket: GateTicket) -> list[_Reasons]:
        """The reasons for each of ``ticket``'s letters, in order (an empty tuple lets a letter out)."""
        self._outstanding -= 1
        while not ticket.local and ticket.key not in self._done:
            if self._process is None:
                ticket.local = True  # the worker died before it answered
                break
            self._receive()
        if ticket.local:
            return [self.gate.check(letter) for letter in ticket.letters]
        done = self._done.pop(ticket.key)
        if isinstance(done, BaseException):
            raise done
        return done

    def _receive(self) -> None:
        results, process = self._results, self._process
        assert results is not None and process is not None
        try:
            if wait([results], timeout=WAIT_SECONDS):
                key, wire, count, error = results.recv()
                self.worker_count = count
                self.worker_pages += 1
                self._done[key] = error if error is not None else _from_wire(wire)
                return
            if process.is_alive():
                return
        except (EOFError, OSError):
            pass
        self._lose_worker()

    def _lose_worker(self) -> None:
        """The worker died (killed, out of memory): nothing it did not answer is used; go on here."""
        self._broken = True
        done = dict(self._done)
        self.close(graceful=False)
        self._done.update(done)
