"""The classifier's tables are built when the server starts, not on a request."""

from __future__ import annotations

import warnings

import consentline
from consentline.domain.classifier import normalise, packs
from consentline.http import create_app
from consentline.settings import Settings

with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    from fastapi.testclient import TestClient


def _built() -> bool:
    tables = (normalise._fold_table, normalise._mark_table, packs.load_packs)
    return all(table.cache_info().currsize == 1 for table in tables)


def test_the_app_builds_the_classifier_tables_at_start_up() -> None:
    cl = consentline.connect("sqlite://")
    for table in (normalise._fold_table, normalise._mark_table, packs.load_packs):
        table.cache_clear()
    app = create_app(cl, Settings())
    assert not _built()
    try:
        with TestClient(app):
            assert _built()
    finally:
        cl.close()
