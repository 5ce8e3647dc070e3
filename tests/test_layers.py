"""Imports point inward: domain <- services <- storage, providers <- jobs <- facade <- edges.

The contracts are in ``pyproject.toml`` (``[tool.importlinter]``), checked here with
import-linter; a violation prints the chain of imports that breaks it. A known
violation that another change removes is listed there in ``ignore_imports`` with
the part that removes it; an entry that no longer matches an import fails too, so
the list cannot go stale. The domain's own rule (standard library and phonenumbers
only) is an allow-list, checked with grimp directly.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import grimp
import pytest

ROOT = Path(__file__).resolve().parent.parent
LINT_IMPORTS = Path(sys.executable).parent / "lint-imports"
DOMAIN_MAY_IMPORT = frozenset(sys.stdlib_module_names) | {"phonenumbers"}


def _lint(config: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(LINT_IMPORTS), str(config), "--no-cache"],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=300,
        check=False,
    )


def test_every_import_points_inward() -> None:
    done = _lint(ROOT / "pyproject.toml")
    assert done.returncode == 0, done.stdout + done.stderr


def test_the_linter_reports_an_import_that_breaks_a_contract(tmp_path: Path) -> None:
    # The check above cannot pass by reading nothing: services do import the domain,
    # so a contract forbidding it must come back broken, naming the import.
    config = tmp_path / "contracts.ini"
    config.write_text(
        "[importlinter]\nroot_package = consentline\n\n"
        "[importlinter:contract:backwards]\nname = backwards\ntype = forbidden\n"
        "source_modules = consentline.services\nforbidden_modules = consentline.domain\n"
    )
    done = _lint(config)
    assert done.returncode != 0
    assert "consentline.services" in done.stdout and "BROKEN" in done.stdout


def _foreign_imports(graph: grimp.ImportGraph) -> set[tuple[str, str]]:
    """(domain module, package) for every import of the domain that is not allowed."""
    found = set()
    for module in graph.find_descendants("consentline.domain") | {"consentline.domain"}:
        for imported in graph.find_modules_directly_imported_by(module):
            top = imported.split(".")[0]
            if top != "consentline" and top not in DOMAIN_MAY_IMPORT:
                found.add((module, imported))
    return found


@pytest.fixture(scope="module")
def graph() -> grimp.ImportGraph:
    return grimp.build_graph("consentline", include_external_packages=True, cache_dir=None)


def test_the_domain_imports_only_the_standard_library_and_phonenumbers(
    graph: grimp.ImportGraph,
) -> None:
    assert _foreign_imports(graph) == set()


def test_a_third_party_import_in_the_domain_is_caught(graph: grimp.ImportGraph) -> None:
    graph.add_import(importer="consentline.domain.ledger", imported="sqlalchemy")
    try:
        assert _foreign_imports(graph) == {("consentline.domain.ledger", "sqlalchemy")}
    finally:
        graph.remove_import(importer="consentline.domain.ledger", imported="sqlalchemy")
