"""``import consentline`` stays cheap: no migration tool, no PostgreSQL driver, no HTTP client.

A SQLite user who only records and checks consents pays for none of them: alembic
is imported when a schema is migrated, psycopg when a PostgreSQL engine is made,
httpx when something is sent. Run in a fresh interpreter, so that what other tests
imported does not count.
"""

from __future__ import annotations

import json
import subprocess
import sys

NOT_AT_IMPORT = (
    "alembic",
    "psycopg",
    "httpx",
    "httpcore",
    "fastapi",
    "uvicorn",
    "consentline.providers.twilio",  # the adapters load when a webhook needs them
)

_PROBE = """
import json, sys
import consentline
print(json.dumps(sorted(m for m in {names} if m in sys.modules)))
"""


def _loaded_after(code: str, names: tuple[str, ...]) -> list[str]:
    probe = _PROBE.format(names=list(names)).replace("import consentline", code)
    done = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, check=True, timeout=60
    )
    loaded: list[str] = json.loads(done.stdout)
    return loaded


def test_import_consentline_loads_neither_alembic_psycopg_nor_httpx() -> None:
    assert _loaded_after("import consentline", NOT_AT_IMPORT) == []


def test_a_sqlite_ledger_in_memory_still_needs_no_psycopg_nor_httpx() -> None:
    code = "import consentline\ncl = consentline.connect('sqlite://')"
    assert _loaded_after(code, ("psycopg", "httpx")) == []


def test_the_probe_sees_a_module_that_is_imported() -> None:
    # The test above cannot pass by accident: the probe does report what is loaded.
    assert _loaded_after("import consentline, json", ("json",)) == ["json"]
