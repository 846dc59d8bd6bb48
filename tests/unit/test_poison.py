"""PoisonGuard: a message is poison only when it keeps failing while others succeed."""

from __future__ import annotations

from hub.poison import PoisonGuard


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        self.now += 1
        return self.now


def test_an_outage_never_makes_poison() -> None:
    guard = PoisonGuard(attempts=3, clock=Clock())
    assert not any(guard.failed(7, deliveries) for deliveries in range(1, 50))


def test_a_message_failing_while_others_succeed_is_poison_after_the_attempts() -> None:
    guard = PoisonGuard(attempts=3, clock=Clock())
    assert not guard.failed(7, 1)
    guard.succeeded(8)
    assert not guard.failed(7, 2)
    assert guard.failed(7, 3)


def test_success_before_the_first_failure_does_not_count() -> None:
    guard = PoisonGuard(attempts=2, clock=Clock())
    guard.succeeded(1)
    assert not guard.failed(7, 5)  # nothing succeeded since 7 first failed: an outage


def test_a_message_that_recovers_starts_afresh() -> None:
    guard = PoisonGuard(attempts=2, clock=Clock())
    guard.failed(7, 1)
    guard.succeeded(7)
    assert not guard.failed(7, 2)  # a new first failure, after the last success
