"""An import planned in a child process (``in_process=False``) writes exactly what
one planned in line writes: the same report, the same
events, a chain that verifies; a child that dies or talks nonsense costs nothing
but speed (the import goes on in line)."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import pytest

import consentline
from consentline import Consentline
from consentline.services import import_planning, recording
from consentline.services.import_planning import planner_for
from tests.conftest import Clock

LINE = "+18005550100"
MAPPING = {
    "address": "Phone",
    "action": "Status",
    "occurred_at": "At",
    "purpose": "Purpose",
    "contact_ref.crm": "Id",
    "proof.consent_text": "Text",
}
VALUES = {"Status": {"in": "opt_in", "out": "opt_out"}}


def _file(tmp_path: Path) -> Path:
    """Every kind of outcome, spread over many small chunks: good rows, bad numbers,
    an unknown purpose, bad dates, an opt-out that keeps a later proof-less opt-in
    out (C25) across a chunk boundary, the same row twice, wrong field counts."""
    lines = ["Id,Phone,Status,At,Purpose,Text"]
    for i in range(60):
        number = f"+1415555{i % 40:04d}"
        status = "out" if i % 9 == 4 else "in"
        at = f"2026-02-{1 + i % 27:02d}T10:00:00Z"
        text = "" if i % 5 == 0 else "Yes - text me offers"
        purpose = "marketing" if i % 7 else "nope"
        lines.append(f"C{i},{number},{status},{at},{purpose},{text}")
    lines += [
        "C80,+14155559999,out,2026-02-10T10:00:00Z,marketing,",
        "C81,+14155559999,in,2026-02-11T10:00:00Z,marketing,",  # no proof: kept out
        "C82,+14155559999,in,2026-02-09T10:00:00Z,marketing,Yes - text me offers",  # earlier
        "C90,not-a-number,in,2026-02-01T10:00:00Z,marketing,x",
        "C91,+14155550001,maybe,2026-02-01T10:00:00Z,marketing,x",
        "C92,+14155550002,in,yesterday,marketing,x",
        "C93,+14155550003,in",
        "C1,+14155550001,in,2026-02-02T10:00:00Z,marketing,Yes - text me offers",
        "C1,+14155550001,in,2026-02-02T10:00:00Z,marketing,Yes - text me offers",
    ]
    path = tmp_path / "contacts.csv"
    path.write_text("\n".join(lines) + "\n")
    return path


def _prepare(cl: Consentline) -> None:
    cl.create_account("acme", default_region="US")
    cl.add_line(LINE, account="acme")


def _import(cl: Consentline, path: Path, **kw: Any) -> dict[str, Any]:
    return cl.import_records(
        path, account="acme", mapping=MAPPING, values=VALUES, chunk_size=7, **kw
    ).as_dict()


def _ledger(cl: Consentline) -> list[tuple[Any, ...]]:
    return [
        (e.address, e.action, e.scope, e.purpose, e.occurred_at, e.source, e.proof)
        for e in cl.events_after(0, 10_000)
    ]


def test_a_child_planned_import_writes_what_an_inline_one_writes(
    tmp_path: Path, clock: Clock
) -> None:
    """On SQLite: the child opens no database, and the writes are the import's own
    (tested on both backends by the import suite)."""
    path = _file(tmp_path)
    cl = consentline.connect(f"sqlite:///{tmp_path / 'child.db'}", clock=clock)
    _prepare(cl)
    inline = consentline.connect(f"sqlite:///{tmp_path / 'inline.db'}", clock=clock)
    try:
        _prepare(inline)
        expected = _import(inline, path, in_process=True)
        assert expected["errors"] and expected["kept_opt_out"] and expected["unchanged"]
        assert _import(cl, path, in_process=False) == expected
        assert _ledger(cl) == _ledger(inline)
        assert cl.verify().ok
        # A re-run through the child: every row is known before it is planned.
        again = _import(cl, path, in_process=False)
        assert again["written"] == 0
        assert again["unchanged"] == expected["written"] + expected["unchanged"]
        assert cl.contact_refs(cl.events_after(0, 1))  # the refs went in too
    finally:
        inline.close()
        cl.close()


@pytest.mark.parametrize(
    "program",
    [
        "import sys; sys.exit(3)",  # dies at once
        "import sys; sys.stdin.buffer.read(10); sys.stdout.buffer.write(b'nonsense')",
    ],
    ids=["dies", "garbles"],
)
def test_a_broken_child_costs_only_speed(
    tmp_path: Path,
    clock: Clock,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
    program: str,
) -> None:
    path = _file(tmp_path)
    reference = consentline.connect(f"sqlite:///{tmp_path / 'ref.db'}", clock=clock)
    broken = consentline.connect(f"sqlite:///{tmp_path / 'broken.db'}", clock=clock)
    try:
        _prepare(reference)
        _prepare(broken)
        expected = _import(reference, path, in_process=True)
        monkeypatch.setattr(import_planning, "_CHILD_MAIN", program)
        with caplog.at_level(logging.WARNING, logger="consentline.imports"):
            assert _import(broken, path, in_process=False) == expected
        assert "planning goes on in this process" in caplog.text
        assert _ledger(broken) == _ledger(reference)
        assert broken.verify().ok
    finally:
        reference.close()
        broken.close()


def test_planning_is_in_line_unless_the_child_is_asked_for(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    ctx: Any = object()
    monkeypatch.setattr(import_planning, "InlinePlanner", lambda c: "inline")
    monkeypatch.setattr(import_planning, "ProcessPlanner", lambda c: "child")
    assert planner_for(ctx, True) == "inline"
    assert planner_for(ctx, False) == "child"


def test_a_text_sealed_for_another_time_is_made_again(cl: Consentline, clock: Clock) -> None:
    """The seal uses a pre-made text only when it was made for the seal's own time."""
    _prepare(cl)
    ctx = cl._context()
    request = recording.RecordRequest(
        address="+14155550123", action="opt_in", account="acme", proof={"form": "web"}
    )
    now_us = int(clock().timestamp() * 1_000_000)
    item = recording.prepare(request, ctx.directory, ctx.policies, now_us)
    early = recording.preseal(item, now_us - 1)
    assert early.sealed is not None and early.proof_value is None
    with cl.units() as uow:
        recording.append_counted(uow, [early, recording.preseal(item, now_us)], now_us)
        uow.commit()
    stored = cl.events_after(0, 10)
    assert len(stored) == 2 and cl.verify().ok
