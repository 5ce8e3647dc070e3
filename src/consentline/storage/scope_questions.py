"""SQL for the scope questions of opt-out confirmations (``scope_questions``, C17).

A question is read with its confirmation's outbox status (an answer counts only
to a question that was sent) and with the message that settled it (the answer,
kept as evidence in ``inbound_messages`` like any inbound). Reading open questions
for an answer locks them on PostgreSQL (``FOR UPDATE OF scope_questions``): of two
answers handled at once, the second waits, then finds the question settled, so
an answer is used at most once. SQLite's ``BEGIN IMMEDIATE`` serialises writers.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from typing import Any

from sqlalchemy import Connection, Select, bindparam, select, update

from consentline.services.ports import ScopeQuestionRecord
from consentline.storage import schema as t

_q = t.scope_questions.c
_IN_CHUNK = 500


def _select() -> Select[Any]:
    """A question's columns, then its reply's status and its answer's message."""
    answer = t.inbound_messages.alias("answer")
    return (
        select(
            t.scope_questions,
            t.outbox.c.status,
            answer.c.provider,
            answer.c.message_id,
            answer.c.body,
            answer.c.classification,
        )
        .outerjoin(t.outbox, t.outbox.c.id == _q.outbox_id)
        .outerjoin(answer, answer.c.id == _q.answer_inbound_id)
    )


class ScopeQuestionStore:
    """``services.ports.ScopeQuestionRepository`` on a unit of work's connection."""

    def __init__(self, conn: Connection) -> None:
        self.conn = conn

    def open_questions(
        self, tenant_id: int, channel: str, addresses: Collection[str], *, lock: bool
    ) -> list[ScopeQuestionRecord]:
        """The open questions to these addresses, oldest first."""
        unique = list(dict.fromkeys(addresses))
        found: list[ScopeQuestionRecord] = []
        for start in range(0, len(unique), _IN_CHUNK):
            query = (
                _select()
                .where(
                    _q.tenant_id == tenant_id,
                    _q.address.in_(unique[start : start + _IN_CHUNK]),
                    _q.status == "open",
                    _q.channel == channel,
                )
                .order_by(_q.id)
            )
            if lock and self.conn.dialect.name == "postgresql":
                query = query.with_for_update(of=t.scope_questions)
            found.extend(ScopeQuestionRecord(*r) for r in self.conn.execute(query))
        return sorted(found, key=lambda record: record.id)

    def insert_questions(self, rows: Sequence[Mapping[str, Any]]) -> list[int]:
        if not rows:
            return []
        result = self.conn.execute(
            t.scope_questions.insert().returning(_q.id, sort_by_parameter_order=True), rows
        )
        return [int(r[0]) for r in result]

    def settle(self, rows: Sequence[Mapping[str, Any]]) -> None:
        """Settle questions, one statement for all: each row is the question's ``qid``
        with its ``status``, ``settled_us``, ``answer_inbound_id`` and ``event_ids``."""
        if not rows:
            return
        statement = (
            update(t.scope_questions)
            .where(_q.id == bindparam("qid"))
            .values(
                status=bindparam("status"),
                settled_us=bindparam("settled_us"),
                answer_inbound_id=bindparam("answer_inbound_id"),
                event_ids=bindparam("event_ids"),
            )
        )
        self.conn.execute(statement, list(rows))

    def of_address(
        self, tenant_id: int, address: str, channel: str | None = None
    ) -> list[ScopeQuestionRecord]:
        """Every question asked of ``address`` in the tenant, oldest first (C28)."""
        query = _select().where(_q.tenant_id == tenant_id, _q.address == address)
        if channel is not None:
            query = query.where(_q.channel == channel)
        return [ScopeQuestionRecord(*r) for r in self.conn.execute(query.order_by(_q.id))]
