"""Bulk stages in parallel worker processes (issue 18: a national month on one machine).

A CPU-bound stage in Python (allocation above all) splits its work into independent parts
— batches of bills, each allocated in its own transaction exactly as the serial run does —
and hands them to processes forked from this one; each opens its own database connection.
The results are those of the serial run: the same parts, the same code, only the order in
which the parts commit differs (and with it the ids the database hands out).

Parallel only where it is safe and pays: on PostgreSQL (SQLite has one writer), outside any
open transaction (a forked process could not see its uncommitted rows, and the parent's
connection must be closed before the fork), from the process's main thread only (a forked
child keeps only the forking thread: another thread's open connection or held lock — a
threaded web server's — would be copied half-used; the CLI and the job worker run bulk
stages in their main thread, a page's request runs them serially), and with at least two
parts. The number of
processes is ``TOWERLEDGER_WORKERS`` (default: the machine's CPUs).
"""

import multiprocessing
import os
import threading
from collections.abc import Callable, Iterable, Iterator

from django.conf import settings
from django.db import connection, connections

_job: Callable | None = None


def workers_for(parts: int) -> int:
    """How many processes a stage of ``parts`` independent parts may use (1: run it here)."""
    if (connection.vendor != "postgresql" or connection.in_atomic_block or parts < 2
            or threading.current_thread() is not threading.main_thread()):
        return 1
    limit = int(getattr(settings, "TOWERLEDGER_WORKERS", 0) or os.cpu_count() or 1)
    return max(1, min(limit, parts))


_inherited: list = []


def _start(job):
    """In each forked process: the job, and database connections of its own. A connection
    the parent still holds open (another context's: an async context's set, a test's) was
    copied with its socket; using it would mix the parent's replies with the child's, and
    closing it would end the parent's session. So the copies are set aside untouched (kept
    referenced, never closed: a pool process leaves by os._exit) and fresh wrappers made."""
    global _job
    _job = job
    for alias in list(connections.settings):
        _inherited.append(connections[alias])
        connections[alias] = connections.create_connection(alias)


def _run(part):
    return _job(part)


def in_workers(job: Callable, parts: Iterable, workers: int) -> Iterator:
    """``job(part)`` for every part in ``workers`` forked processes, results as they come.
    ``job`` may be a closure (a fork copies it; it is never pickled); parts and results
    cross between processes pickled."""
    connections.close_all()   # each process opens its own; a shared socket would mix replies
    context = multiprocessing.get_context("fork")
    with context.Pool(workers, initializer=_start, initargs=(job,)) as pool:
        yield from pool.imap_unordered(_run, parts)
