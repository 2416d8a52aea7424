"""The sender's rate limiter (messaging/sending.TokenBucket) on a fake clock: Mailjet
counts the calls of each second, so no second may see more than the rate plus a small
burst – also right after a pause, when the worker was reading its next claim."""

from __future__ import annotations

from recovery.messaging.pace import TokenBucket


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        # a real clock moves on: a wait smaller than the float's step at this time
        # (the bucket's last 1e-16 of a token) would not move a float clock at all
        self.now += max(seconds, 1e-9)


def _count(bucket: TokenBucket, clock: Clock, calls: int, seconds: dict[int, int]) -> None:
    """Take ``calls`` tokens, counting the calls per whole second of the clock."""
    for _ in range(calls):
        bucket.take()
        seconds[int(clock.now)] = seconds.get(int(clock.now), 0) + 1


def test_after_a_pause_only_a_tenth_of_a_second_goes_at_once():
    clock = Clock()
    bucket = TokenBucket(50, clock=clock, sleep=clock.sleep)
    clock.now = 5.0  # a long pause: the bucket is as full as it gets
    assert [bucket.take() for _ in range(5)] == [0.0] * 5
    assert bucket.take() > 0  # the sixth waits for its token


def test_no_second_sees_more_than_the_rate_plus_the_burst():
    clock = Clock()
    bucket = TokenBucket(25, clock=clock, sleep=clock.sleep)
    seconds: dict[int, int] = {}
    for _pause in range(20):  # ten calls, then a pause of 0.3 s, as a claim of 500 does
        _count(bucket, clock, 10, seconds)
        clock.now += 0.3
    assert max(seconds.values()) <= 25 + 2.5, seconds


def test_the_average_rate_holds_and_an_explicit_burst_is_kept():
    clock = Clock()
    bucket = TokenBucket(40, clock=clock, sleep=clock.sleep)
    for _ in range(401):
        bucket.take()
    assert abs(clock.now - 400 / 40) < 0.2  # 40 calls a second, the first burst aside
    assert TokenBucket(50, burst=20).capacity == 20
    assert TokenBucket(3).capacity == 1.0
