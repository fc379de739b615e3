from __future__ import annotations

from prometheus_client import generate_latest

from stream.metrics import Metrics


def test_labelled_children_are_made_once_and_count_apart() -> None:
    metrics = Metrics()
    child = metrics.events_in.labels("declarations", "DeclarationFiled")
    assert metrics.events_in.labels("declarations", "DeclarationFiled") is child
    child.inc()
    metrics.events_in.labels("releases", "GoodsReleased").inc(2)
    metrics.clearance_hours.labels("CNNGB", "GREEN").observe(3)
    metrics.consumer_lag.labels("firms").set(7)
    text = generate_latest(metrics.registry).decode()
    assert 'customs_events_in_total{event_type="DeclarationFiled",topic="declarations"} 1.0' in text
    assert 'customs_events_in_total{event_type="GoodsReleased",topic="releases"} 2.0' in text
    assert 'customs_clearance_hours_count{channel="GREEN",port="CNNGB"} 1.0' in text
    assert 'customs_consumer_lag{topic="firms"} 7.0' in text
    # Another instance has its own children and registry.
    assert Metrics().events_in.labels("declarations", "DeclarationFiled") is not child
