"""``partition_for`` is Kafka's default partitioner, remembered: the partition a key
gets from it is the one every producer gives that key (co-partitioning depends on it)."""

from __future__ import annotations

from aiokafka.partitioner import DefaultPartitioner
from hypothesis import given
from hypothesis import strategies as st

from stream.runtime.batches import partition_for


@given(key=st.binary(min_size=1, max_size=64), partitions=st.integers(1, 64))
def test_a_key_gets_the_default_partitioners_partition(key: bytes, partitions: int) -> None:
    every = list(range(partitions))
    assert partition_for(key, partitions) == DefaultPartitioner()(key, every, every)


@given(key=st.text(min_size=1, max_size=40), partitions=st.integers(1, 64))
def test_a_text_key_gets_the_partition_of_its_utf8_bytes(key: str, partitions: int) -> None:
    assert partition_for(key, partitions) == partition_for(key.encode(), partitions)
