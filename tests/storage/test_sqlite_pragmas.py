"""Each SQLite connection is durable (WAL, synchronous=FULL) and has the larger page
cache that keeps a big import's index inserts in memory."""

from __future__ import annotations

from pathlib import Path

from consentline.storage.engine import SQLITE_CACHE_KB, make_engine


def test_file_connections_get_wal_full_sync_and_a_large_cache(tmp_path: Path) -> None:
    engine = make_engine(f"sqlite:///{tmp_path / 'ledger.db'}")
    try:
        with engine.connect() as conn:
            assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
            assert conn.exec_driver_sql("PRAGMA synchronous").scalar() == 2  # FULL
            assert conn.exec_driver_sql("PRAGMA cache_size").scalar() == -SQLITE_CACHE_KB
    finally:
        engine.dispose()
