"""The notification rules: filters, what an answer means, and the queue's order."""

from __future__ import annotations

import pytest

from stream.core.webhooks import (
    CLIENT_ERROR_DELAY,
    Filters,
    Outcome,
    Queue,
    Verdict,
    verdict,
)

T0 = 1_000_000.0


def test_an_empty_filter_takes_everything_and_each_filter_narrows() -> None:
    update = {"status": "RELEASED", "port": "CNNGB", "channel": "GREEN"}
    assert Filters().match(update)
    assert Filters(statuses=frozenset({"RELEASED"}), ports=frozenset({"CNNGB"})).match(update)
    assert not Filters(statuses=frozenset({"ACCEPTED"})).match(update)
    assert not Filters(channels=frozenset({"STANDARD"})).match(update)


@pytest.mark.parametrize("status", [200, 201, 204, 299])
def test_2xx_is_delivered(status: int) -> None:
    assert verdict(status, "", 1, T0, T0, 0.5).outcome is Outcome.DELIVERED


@pytest.mark.parametrize("status", [500, 502, 503, 408, 429, None])
def test_server_errors_timeouts_408_and_429_back_off_exponentially(status: int | None) -> None:
    delays = [verdict(status, "timeout", n, T0, T0, 0.999).next_at for n in (1, 2, 3)]
    assert [round(d - T0, 1) for d in delays if d] == [5.0, 10.0, 20.0]
    low = verdict(status, "timeout", 1, T0, T0, 0.0).next_at
    assert low is not None and low - T0 == pytest.approx(2.5)  # jitter: half to all


def test_410_disables_and_other_4xx_retry_after_ten_minutes() -> None:
    assert verdict(410, "", 1, T0, T0, 0.5).outcome is Outcome.DISABLED
    for status in (400, 401, 403, 404, 301):
        result = verdict(status, "", 1, T0, T0, 0.5)
        assert result.outcome is Outcome.RETRY and result.next_at == T0 + CLIENT_ERROR_DELAY


def test_retry_after_is_honoured_and_delays_stop_at_an_hour() -> None:
    assert verdict(503, "", 1, T0, T0, 0.0, retry_after=120).next_at == T0 + 120
    assert verdict(503, "", 40, T0, T0, 0.999).next_at == pytest.approx(T0 + 3600, abs=2)
    assert verdict(429, "", 1, T0, T0, 0.0, retry_after=10 * 86400).next_at == T0 + 3600


def test_after_24_hours_of_tries_the_update_is_given_up() -> None:
    late = T0 + 24 * 3600 - 1
    result = verdict(500, "", 30, T0, late, 0.5)
    assert result.outcome is Outcome.GIVEN_UP and "HTTP 500" in result.reason
    assert verdict(500, "", 3, T0, T0 + 60, 0.5).outcome is Outcome.RETRY


def test_a_refused_address_is_given_up_at_once_with_its_reason() -> None:
    result = verdict(None, "x resolves to no public address (10.0.0.1)", 1, T0, T0, 0.5,
                     refused=True)
    assert result.outcome is Outcome.GIVEN_UP and "10.0.0.1" in result.reason


def test_a_queue_keeps_sequence_order_and_refuses_what_it_has_seen() -> None:
    queue = Queue()
    assert queue.offer(1, "a", T0) and queue.offer(2, "b", T0 + 1)
    assert not queue.offer(2, "b", T0 + 2) and not queue.offer(1, "a", T0 + 2)
    queue.settle(Verdict(Outcome.RETRY, "HTTP 500", T0 + 5), T0)
    assert queue.pending[0] == (1, "a") and queue.attempts == 1 and queue.next_at == T0 + 5
    queue.settle(Verdict(Outcome.DELIVERED, "HTTP 200"), T0 + 5)
    assert queue.pending == [(2, "b")] and queue.attempts == 0 and queue.next_at == T0 + 5
    queue.settle(Verdict(Outcome.GIVEN_UP, "gone"), T0 + 6)
    assert queue.pending == [] and not queue.offer(2, "b", T0 + 7)
    assert queue.offer(3, "c", T0 + 8) and queue.next_at == T0 + 8


def test_a_queue_survives_its_json_form() -> None:
    queue = Queue()
    queue.offer(4, '{"x":1}', T0)
    queue.settle(Verdict(Outcome.RETRY, "", T0 + 9), T0)
    queue.first_at = T0
    assert Queue.from_json(queue.to_json()) == queue
