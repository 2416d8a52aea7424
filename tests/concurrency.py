"""Run the same work in several threads released at one moment, as racing requests or
workers do: each thread has its own app (or request) context and so its own database
session and connection; the real database decides who wins."""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

from recovery.extensions import db


def at_once(
    app,
    work: Callable[[Any], Any],
    threads: int = 2,
    request: bool = False,
    timeout: float = 120,
    prepare: Callable[[int], Any] | None = None,
) -> list[Any]:
    """``work(i)`` in ``threads`` threads (i = 0 … threads − 1) started together at a
    barrier; each thread's return value, or the exception it raised, in thread order.
    ``prepare(i)``, if given, runs in the thread *before* the barrier and ``work`` gets
    its result instead of ``i``: what each racer read before any of them acted (clicks
    from pages loaded before the first click went through). ``request=True`` runs each
    in a test request context (gettext, locale, ``g``)."""
    barrier = threading.Barrier(threads, timeout=timeout)
    outcomes: list[Any] = [None] * threads

    def run(i: int) -> None:
        with app.test_request_context("/") if request else app.app_context():
            try:
                try:
                    ready = prepare(i) if prepare else i
                except BaseException:
                    barrier.abort()  # the others stop waiting for this one
                    raise
                barrier.wait()
                outcomes[i] = work(ready)
            except BaseException as exc:  # noqa: BLE001 - an exception is an outcome to report
                outcomes[i] = exc
            finally:
                db.session.remove()

    started = [threading.Thread(target=run, args=(i,)) for i in range(threads)]
    for thread in started:
        thread.start()
    for thread in started:
        thread.join(timeout=timeout)
    stuck = sum(thread.is_alive() for thread in started)
    assert not stuck, f"{stuck} of {threads} threads still running after {timeout} s"
    return outcomes
