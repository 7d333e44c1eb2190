"""Bulk import: prepare customers (validate, screen, encrypt) in a worker process, ahead of the inserts.

A customer import is CPU work (validation, the sensitive-content screen,
AES-GCM under a fresh data key, blind indexes) followed by database work
(inserts, commit).  On a machine with more than one core the two overlap:
the caller submits batch k+1 here before it inserts batch k, and a forked
worker prepares k+1 while the caller's transaction runs.  Worker and caller
take chunks from one queue: when the caller needs a batch it prepares every
chunk the worker has not taken yet, so both cores stay busy and a busy
machine degrades to the plain in-process path.  Every chunk is claimed once,
by whichever process gets to it first, through a slot in shared memory that
holds the chunk's key until it is claimed (so a stale task can never claim a
later chunk that reuses its slot): a worker claims chunks in submission order
as it reads them, the caller claims only chunks of the batch it is
collecting -- never a later one, which would leave the worker idle while the
caller inserts.  The caller never waits for the slots' lock for long: a
worker killed while holding it is taken for dead, and the caller goes on
in-process.

The worker is a ``fork`` of the importing process: it inherits the
:class:`~core.store.CustomerStore` (key ring, screen) in memory, so no key
material is serialised or sent anywhere; it never touches the database and
exits when the import ends.  What crosses the pipe are the customers' input
values and their prepared rows (ciphertexts, blind indexes, the wrapped data
key): the same bytes the caller would have computed itself.  Where ``fork`` is
unavailable, on one core, or for a single chunk, everything runs in-process
with the same code.  A rejected row comes back as its :class:`HushError`
(never echoing the value); any other failure in the worker is re-raised here.
"""

from __future__ import annotations

import contextlib
import ctypes
import dataclasses
import datetime as dt
import gc
import multiprocessing
import os
import pickle
import queue
import resource
import signal
import sys
import threading
from collections.abc import Sequence
from dataclasses import dataclass, field
from multiprocessing.connection import Connection, wait
from multiprocessing.process import BaseProcess
from operator import attrgetter
from types import TracebackType
from typing import Any, Final, NamedTuple

from core.errors import HushError
from core.records import CustomerInput
from core.store import ROW_RANDOM_BYTES, CustomerStore, PreparedCustomer

CHUNK = 250
"""Rows per unit of work taken by the worker or by the caller.

Small enough that the two share a batch evenly (the caller takes the chunks the
worker has not reached, and waits for the one the worker is preparing: half a
chunk on average, some 4 ms at 250 rows) and that little is left to one process
at the end; large enough that queueing a chunk costs nothing next to preparing it.
"""

WARM_UP_ROWS = 16
"""Rows of the first batch prepared (and thrown away) before the fork, see :meth:`PreparePool._warm_up`."""

SLOTS = 1024
"""Claim slots in shared memory, one per chunk in flight (a chunk's slot is its key modulo this)."""

CLAIMED = -1
"""What a slot holds once its chunk is claimed; until then it holds the chunk's key."""

WAIT_SECONDS = 0.05
"""How long the caller waits for a result before it looks for work again (and checks the worker)."""

Outcome = PreparedCustomer | HushError | None
"""Per input row: the prepared customer, the error that rejects it, or None (not asked for)."""

_INPUT_FIELDS = tuple(f.name for f in dataclasses.fields(CustomerInput))
_input_values = attrgetter(*_INPUT_FIELDS)


class _InputRow(NamedTuple):
    """A customer's input values as :meth:`CustomerStore.prepare` reads them (:class:`CustomerValues`).

    A plain tuple with names: the worker makes one per row from the values it receives, at a
    tenth of the cost of a frozen :class:`CustomerInput` (whose checks ran when it was made).
    """

    external_id: str
    full_name: str
    owner: str
    email: str | None
    phone: str | None
    postal_address: str | None
    birth_date: dt.date | None
    consent_marketing_email: bool | None
    consent_marketing_post: bool | None
    consent_profiling: bool | None
    do_not_contact: bool
    deceased: bool


if _InputRow._fields != _INPUT_FIELDS:  # pragma: no cover - a field added to one and not the other
    raise RuntimeError("prepare_pool._InputRow must list CustomerInput's fields, in order")
_new_row = tuple.__new__

_Values = tuple[Any, ...] | None


def default_workers() -> int:
    """One worker per core beyond the caller's own, at most two (the caller's inserts are the limit)."""
    try:
        cores = len(os.sched_getaffinity(0))
    except AttributeError:  # pragma: no cover - not Linux
        cores = os.cpu_count() or 1
    return max(0, min(cores - 1, 2))


def fork_context() -> Any:
    if "fork" not in multiprocessing.get_all_start_methods():  # pragma: no cover - not POSIX
        return None
    return multiprocessing.get_context("fork")


FORK_LOCK: Final = threading.Lock()
"""Held while this process forks a worker (``gc.freeze`` and the fork go together: two imports or
exports in a server's threads would otherwise undo each other's freeze)."""

_PR_SET_PDEATHSIG: Final = 1
_PR_SET_DUMPABLE: Final = 4


def harden_worker(parent: int) -> None:
    """A forked worker's process state (the import's prepare worker, the export's gate worker): none of
    the server's signal handlers (uvicorn's SIGTERM handler
    would make a terminate a no-op; a SIGHUP would wake the server's event loop through the inherited
    wake-up descriptor), dies with the thread that forked it, no core dump, not ptrace-able by others
    of the same user (it holds letters and, by the fork, the key ring)."""
    with contextlib.suppress(ValueError):
        signal.set_wakeup_fd(-1)
    for sig in (signal.SIGTERM, signal.SIGHUP, signal.SIGUSR1, signal.SIGUSR2):
        signal.signal(sig, signal.SIG_DFL)
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is the exporting process's to handle
    with contextlib.suppress(OSError, AttributeError, ValueError):
        resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
    if sys.platform.startswith("linux"):
        with contextlib.suppress(OSError, AttributeError):
            libc = ctypes.CDLL(None, use_errno=True)
            libc.prctl(_PR_SET_PDEATHSIG, signal.SIGKILL)
            libc.prctl(_PR_SET_DUMPABLE, 0)
    if os.getppid() != parent:
        os._exit(0)  # the caller died before the death signal was armed


def _prepare_values(store: CustomerStore, items: Sequence[_Values], now: dt.datetime) -> list[Outcome]:
    """Prepare a chunk; the random bytes of its ids and data keys come from one CSPRNG read."""
    out: list[Outcome] = []
    random = os.urandom(ROW_RANDOM_BYTES * len(items))
    for i, values in enumerate(items):
        if values is None:
            out.append(None)
            continue
        at = i * ROW_RANDOM_BYTES
        try:
            out.append(
                store.prepare(_new_row(_InputRow, values), now=now, random=random[at : at + ROW_RANDOM_BYTES])
            )
        except HushError as exc:
            out.append(exc)
    return out


_Wire = list[Any]


def _to_wire(outcomes: list[Outcome]) -> _Wire:
    """Prepared rows as plain tuples: a frozen dataclass pickles and unpickles several times slower."""
    return [
        (p.customer_id, p.external_id, p.owner, p.row, p.key_row, p.consents, p.text_sensitivity, p.data_key)
        if isinstance(p, PreparedCustomer)
        else p
        for p in outcomes
    ]


def _from_wire(wire: _Wire) -> list[Outcome]:
    return [item if item is None or isinstance(item, HushError) else PreparedCustomer(*item) for item in wire]


def open_slot(claims: Any, key: int, *, timeout: float) -> bool:
    """Put chunk ``key`` in its claim slot, to be claimed once (see :func:`claim`); False when the
    slots' lock could not be had within ``timeout`` seconds (its holder may have been killed)."""
    lock = claims.get_lock()
    if not lock.acquire(timeout=timeout):
        return False
    try:
        claims.get_obj()[key % SLOTS] = key
    finally:
        lock.release()
    return True


def claim(claims: Any, key: int, *, timeout: float) -> bool | None:
    """Take chunk ``key`` for this process (the import's chunks, and the export gate's).

    True for the first process to ask while the chunk is in its slot; False
    when it was claimed already, or its slot has moved on to a later chunk (a
    stale task); None when the slots' lock could not be had within
    ``timeout`` seconds (its holder may have been killed while holding it).
    """
    lock = claims.get_lock()
    if not lock.acquire(timeout=timeout):
        return None
    try:
        slots = claims.get_obj()
        slot = key % SLOTS
        if slots[slot] != key:
            return False
        slots[slot] = CLAIMED
        return True
    finally:
        lock.release()


def _worker_main(store: CustomerStore, tasks: Any, claims: Any, results: Connection, parent: int) -> None:
    """The forked worker: the store arrives by inheritance, not by pickling; it never uses the database.

    Results go out through a thread so that the worker goes on with the next
    chunk while the caller is busy inserting and not yet reading.
    """
    harden_worker(parent)
    outbox: queue.SimpleQueue[tuple[int, _Wire | None, Exception | None] | None] = queue.SimpleQueue()

    def send() -> None:
        while (item := outbox.get()) is not None:
            results.send(item)

    sender = threading.Thread(target=send, name="hushdb-import-results", daemon=True)
    sender.start()
    while True:
        try:
            task = tasks.get(timeout=1.0)
        except queue.Empty:
            if os.getppid() != parent:
                return  # the importing process is gone (killed): so is this one
            continue
        if task is None:
            break
        key, items, now = task
        while (claimed := claim(claims, key, timeout=1.0)) is None:
            if os.getppid() != parent:
                return  # the importing process died holding the lock
        if not claimed:
            continue  # the caller prepared it while collecting its batch
        try:
            outbox.put((key, _to_wire(_prepare_values(store, items, now)), None))
        except Exception as exc:  # a bug: hand it to the caller, which re-raises it
            try:
                pickle.dumps(exc)
                error: Exception = exc
            except Exception:  # not picklable: its type name is all that travels
                error = RuntimeError(f"{type(exc).__name__} in the import worker")
            outbox.put((key, None, error))
    outbox.put(None)
    sender.join()


GC_YOUNG_THRESHOLD = 10_000
"""Allocations between two collections of the youngest generation while an import runs (Python's
default is 700).  The prepared rows an import holds are tuples that live until they are inserted;
at the default the collector ran every fifty rows or so (some 4% of the importing process's CPU on
10,000 rows), at this threshold a twentieth as often (a quarter to a half of that time).  Only the
frequency changes: collections still run and cyclic garbage is still freed, a little later."""


class _GcThresholds:
    """The youngest generation's threshold raised while any import runs in this process (a count:
    imports may overlap in a server's threads); the previous thresholds come back after the last."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._active = 0
        self._saved: tuple[int, int, int] | None = None

    def enter(self) -> None:
        with self._lock:
            self._active += 1
            if self._active == 1:
                young, *older = gc.get_threshold()
                self._saved = (young, older[0], older[1])
                if young:  # 0: collection is switched off; leave it so
                    gc.set_threshold(max(young, GC_YOUNG_THRESHOLD), older[0], older[1])

    def leave(self) -> None:
        with self._lock:
            self._active -= 1
            if self._active == 0 and self._saved is not None:
                gc.set_threshold(*self._saved)
                self._saved = None


_fewer_collections = _GcThresholds()


@dataclass
class Ticket:
    """One submitted batch: the timestamp of its rows, its chunks (key, input values), and which stay here."""

    now: dt.datetime
    chunks: list[tuple[int, list[_Values]]] = field(default_factory=list)
    local: set[int] = field(default_factory=set)
    """Keys of chunks never queued for a worker (submitted before one started, or after they died)."""


class PreparePool:
    """Prepares submitted batches in a forked worker while the caller inserts earlier ones.

    Use as a context manager; :meth:`submit` a batch (a list aligned with the
    caller's rows: a :class:`CustomerInput` to prepare, or None to skip), then
    :meth:`collect` it, in submission order, to get one :data:`Outcome` per row.
    """

    def __init__(self, store: CustomerStore, *, workers: int | None = None, chunk: int | None = None) -> None:
        self.store = store
        self.chunk = max(1, CHUNK if chunk is None else chunk)
        self.workers = default_workers() if workers is None else max(0, workers)
        self._context = fork_context() if self.workers else None
        self._processes: list[BaseProcess] = []
        self._tasks: Any = None
        self._claims: Any = None
        self._results: list[Connection] = []
        self._done: dict[int, list[Outcome] | BaseException] = {}
        self._next_key = 0
        self._first_outstanding = 0  # the first chunk key of the oldest batch not yet collected
        self._outstanding = 0
        self._broken = False
        self._warm = False

    def __enter__(self) -> PreparePool:
        _fewer_collections.enter()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        try:
            self.close(graceful=exc_type is None)
        finally:
            _fewer_collections.leave()

    @property
    def started(self) -> bool:
        """Whether worker processes were started (for tests and figures)."""
        return bool(self._processes)

    def close(self, *, graceful: bool = True) -> None:
        """Stop the workers: after their queue is drained when ``graceful``, at once otherwise."""
        self._stop(graceful=graceful)
        self._done.clear()

    def _stop(self, *, graceful: bool) -> None:
        if not self._processes:
            return
        if graceful and not self._broken:
            for _ in self._processes:
                self._tasks.put(None)
            for process in self._processes:
                process.join(timeout=10)
        for process in self._processes:
            if process.is_alive():
                process.kill()  # SIGKILL: a handler the worker inherited (a server's SIGTERM) cannot catch it
                process.join(timeout=5)
        self._tasks.cancel_join_thread()
        self._tasks.close()
        for conn in self._results:
            conn.close()
        self._processes = []
        self._results = []

    def _start(self) -> bool:
        if self._processes:
            return True
        if self._context is None or self._broken:
            return False
        self._tasks = self._context.Queue()
        self._claims = self._context.Array("q", [CLAIMED] * SLOTS)
        # Objects that exist at the fork are never collected in the worker: it cannot finalise
        # (close, roll back) a database connection it inherited, and copies fewer pages.
        with FORK_LOCK:
            gc.freeze()
            try:
                for _ in range(self.workers):
                    reader, writer = self._context.Pipe(duplex=False)
                    process = self._context.Process(
                        target=_worker_main,
                        args=(self.store, self._tasks, self._claims, writer, os.getpid()),
                        name="hushdb-import-worker",
                        daemon=True,
                    )
                    process.start()
                    writer.close()  # only the worker writes: if it dies, the caller reads end-of-file
                    self._processes.append(process)
                    self._results.append(reader)
            except OSError:  # no more processes: prepare in-process
                self._broken = True
                self._stop(graceful=False)
                return False
            finally:
                gc.unfreeze()
        return True

    def submit(self, items: Sequence[CustomerInput | None], *, now: dt.datetime) -> Ticket:
        """Queue a batch for preparation; a worker starts on it at once (when there is one).

        Batches are collected in submission order; at most :data:`SLOTS`
        chunks may be submitted and not yet collected.
        """
        values: list[_Values] = [None if item is None else _input_values(item) for item in items]
        parts = [values[start : start + self.chunk] for start in range(0, len(values), self.chunk)]
        if self._next_key + len(parts) - self._first_outstanding > SLOTS:
            raise RuntimeError("too many chunks in flight: collect earlier batches first")
        ticket = Ticket(now=now)
        self._outstanding += 1
        # A worker pays off only when there is more than one chunk of work in flight; once
        # started, it gets every chunk (the caller claims the ones it reaches first).
        use_workers = bool(self._processes)
        if not use_workers and (self._outstanding > 1 or len(parts) > 1) and self._context is not None:
            self._warm_up(items)
            use_workers = self._start()
        for part in parts:
            key = self._next_key
            self._next_key += 1
            ticket.chunks.append((key, part))
            if use_workers and not self._open_slot(key):
                use_workers = False  # the workers were found dead: this chunk is prepared here
            if use_workers:
                self._tasks.put((key, part, now))
            else:
                ticket.local.add(key)  # never queued: only the caller can prepare it
        return ticket

    def _warm_up(self, items: Sequence[CustomerInput | None]) -> None:
        """Prepare a few of the rows in this process before the fork, and throw the results away.

        What the store builds on first use (the screen's compiled term patterns,
        the name and place lists a field needs, phone metadata) is then built
        once, here, and the worker inherits it, instead of every process
        building it again on its first chunk.  The rows are prepared again,
        for real, with their chunk.
        """
        if self._warm:
            return
        self._warm = True
        sample = [item for item in items[: WARM_UP_ROWS * 4] if item is not None][:WARM_UP_ROWS]
        self.store.warm_up(sample)

    def _open_slot(self, key: int) -> bool:
        """Put chunk ``key`` in its claim slot; False (and the workers stopped) when the lock is lost."""
        if open_slot(self._claims, key, timeout=WAIT_SECONDS * 20):
            return True
        self._lost_lock()
        return False

    def _lost_lock(self) -> None:
        """The slots' lock is held and not released: a worker died holding it (or hangs). Go on without."""
        self._broken = True
        self._stop(graceful=False)

    def collect(self, ticket: Ticket) -> list[Outcome]:
        """The outcomes of ``ticket``'s rows, in order, once every chunk is prepared here or by a worker."""
        self._outstanding -= 1
        while any(key not in self._done for key, _ in ticket.chunks):
            if not self._processes:
                for key, part in ticket.chunks:
                    if key not in self._done:
                        self._done[key] = _prepare_values(self.store, part, ticket.now)
                break
            for key, part in ticket.chunks:  # a chunk of this batch no worker has taken: do it here
                if key in self._done:
                    continue
                claimed = key in ticket.local or claim(self._claims, key, timeout=WAIT_SECONDS * 20)
                if claimed is None:
                    self._lost_lock()
                    break
                if claimed:
                    self._done[key] = _prepare_values(self.store, part, ticket.now)
                    break
            else:
                self._receive()
        out: list[Outcome] = []
        for key, _ in ticket.chunks:
            done = self._done.pop(key)
            if isinstance(done, BaseException):
                raise done
            out.extend(done)
        if ticket.chunks:  # their claim slots may be reused from now on
            self._first_outstanding = ticket.chunks[-1][0] + 1
        return out

    def _receive(self) -> None:
        try:
            for conn in wait(self._results, timeout=WAIT_SECONDS):
                assert isinstance(conn, Connection)
                key, wire, error = conn.recv()
                self._done[key] = error if error is not None else _from_wire(wire)
            if all(process.is_alive() for process in self._processes):
                return
        except (EOFError, OSError):
            pass
        # A worker died (killed, out of memory), perhaps holding a chunk: nothing of its work
        # was used, so whatever has not arrived is prepared here instead.
        self._broken = True
        self._stop(graceful=False)
