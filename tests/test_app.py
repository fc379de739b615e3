from __future__ import annotations

from pathlib import Path
from typing import Any, cast

from stream.settings import Settings
from stream.worker.app import build_pipeline


def test_each_app_id_keeps_its_tables_in_a_folder_of_its_own(tmp_path: Path) -> None:
    """RocksDB keeps, per table, the changelog offset it holds: a table of the same name
    under another app id (another consumer group, other changelogs) must not find it, or
    the worker stops on a persisted offset beyond its changelog's end."""
    dirs = {
        app_id: Path(build_pipeline(Settings(
            app_id=app_id, topic_prefix=app_id, data_dir=tmp_path, web_enabled=False,
        )).app.conf.tabledir)
        for app_id in ("port-a", "port-b")
    }
    assert dirs["port-a"] != dirs["port-b"]
    assert all(d.is_relative_to(tmp_path / app_id) for app_id, d in dirs.items())


def test_the_data_dir_is_made_with_its_parents(tmp_path: Path) -> None:
    data_dir = tmp_path / "not" / "yet"
    pipeline = build_pipeline(Settings(data_dir=data_dir, web_enabled=False))
    pipeline.app._create_directories()  # what Faust does as the worker starts
    assert Path(pipeline.app.conf.tabledir).parent.exists()


def test_the_producer_batches_what_the_settings_say(tmp_path: Path) -> None:
    """Faust's producer batches 16 KiB a partition; a declaration's state alone can take
    several KiB, so the worker's producer is given the setting's size."""
    settings = Settings(data_dir=tmp_path, web_enabled=False, store="memory://")
    assert settings.producer_batch_bytes == 1024 * 1024
    pipeline = build_pipeline(settings)
    assert pipeline.app.conf.producer_max_batch_size == 1024 * 1024
    producer = cast(Any, pipeline.app.producer)._settings_default()  # what aiokafka is given
    assert producer["max_batch_size"] == 1024 * 1024
