"""The SQLite write lock is granted in request order, so a looping thread cannot starve another."""

from __future__ import annotations

import threading
import time

from app.core.db import FairLock


def test_release_hands_the_lock_to_the_longest_waiter() -> None:
    lock = FairLock()
    order: list[str] = []
    lock.acquire()
    waiters = []
    for name in ("first", "second", "third"):

        def wait(name: str = name) -> None:
            lock.acquire()
            order.append(name)
            lock.release()

        thread = threading.Thread(target=wait)
        thread.start()
        waiters.append(thread)
        while len(lock._waiters) < len(waiters):  # each one queued before the next starts
            time.sleep(0.001)
    # The holder releases and at once asks again: it queues behind the three.
    lock.release()
    lock.acquire()
    order.append("holder again")
    lock.release()
    for thread in waiters:
        thread.join(5)
    assert order == ["first", "second", "third", "holder again"]


def test_a_thread_looping_on_the_lock_lets_a_waiting_one_in() -> None:
    lock = FairLock()
    stop = threading.Event()
    rounds = 0

    def greedy() -> None:
        nonlocal rounds
        while not stop.is_set():
            lock.acquire()
            rounds += 1
            time.sleep(0.001)
            lock.release()

    thread = threading.Thread(target=greedy)
    thread.start()
    while rounds < 3:
        time.sleep(0.001)
    asked_at = rounds
    lock.acquire()  # granted when the greedy thread's current turn ends, not whenever it happens to pause
    taken_at = rounds
    stop.set()
    lock.release()
    thread.join(5)
    assert taken_at - asked_at <= 1
    assert not lock._held
