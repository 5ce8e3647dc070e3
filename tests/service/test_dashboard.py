"""The dashboard's figures at the service layer, on SQLite and PostgreSQL: opt-outs per
day and line over the subtree, the newest sends, the review queue, outbox and webhook
health, each bounded to the caller's subtree; bad arguments are typed errors."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from consentline import Consentline
from consentline.domain.errors import InvalidInput, UnknownAccount
from consentline.services import campaigns
from consentline.services.dashboard import ACCOUNT_WIDE, destination
from consentline.services.reports import MEASURES
from tests.conftest import Clock

L1, L2, L3 = "+18005550100", "+18005550101", "+18005550199"
NUMBERS = [f"+1415555{n:04d}" for n in range(300, 330)]


@pytest.fixture
def tree(cl: Consentline) -> Consentline:
    """acme (L1) > shop (L2); globex (L3), another tenant."""
    cl.create_account("acme", default_region="US")
    cl.create_account("shop", parent="acme")
    cl.create_account("globex", default_region="US")
    cl.add_line(L1, account="acme")
    cl.add_line(L2, account="shop")
    cl.add_line(L3, account="globex")
    for tenant in ("acme", "globex"):
        cl.set_purpose(tenant, "marketing", "restrictive")
    return cl


def test_opt_outs_per_day_cover_the_subtree_and_the_window_only(
    tree: Consentline, clock: Clock
) -> None:
    cl, now = tree, clock()
    cl.record(NUMBERS[0], "opt_out", line=L1, occurred_at=now - timedelta(days=1))
    cl.record(NUMBERS[1], "opt_out", line=L2, occurred_at=now - timedelta(days=3))
    cl.record(NUMBERS[2], "opt_out", line=L2, occurred_at=now - timedelta(days=3, hours=1))
    cl.record(NUMBERS[3], "opt_out", account="acme", occurred_at=now)
    cl.record(NUMBERS[4], "opt_out", line=L1, occurred_at=now - timedelta(days=40))
    cl.record(NUMBERS[5], "opt_out", line=L3, occurred_at=now)
    board = cl.dashboard(account="acme", days=30)
    assert len(board.days) == 30 and board.days[-1] == now.date().isoformat()
    per_line = board.per_line()
    assert set(per_line) == {L1, L2, ACCOUNT_WIDE}
    assert per_line[L1][-2] == 1 and sum(per_line[L1]) == 1  # the 40-day-old one is out
    assert per_line[L2][-4] == 2 and per_line[ACCOUNT_WIDE][-1] == 1
    shop = cl.dashboard(account="shop", within="shop", days=7)
    assert shop.per_line() == {L2: [0, 0, 0, 2, 0, 0, 0]}
    assert cl.dashboard(account="globex").per_line() == {L3: [0] * 29 + [1]}


def test_the_days_are_local_days_of_the_asked_time_zone(tree: Consentline, clock: Clock) -> None:
    cl = tree
    clock.now = datetime(2026, 3, 10, 12, tzinfo=UTC)
    # 03:30 UTC on the 9th is still the 8th in New York.
    cl.record(NUMBERS[0], "opt_out", line=L1, occurred_at=datetime(2026, 3, 9, 3, 30, tzinfo=UTC))
    utc = cl.dashboard(account="acme", days=3)
    ny = cl.dashboard(account="acme", days=3, timezone="America/New_York")
    assert utc.days == ("2026-03-08", "2026-03-09", "2026-03-10")
    assert utc.per_line() == {L1: [0, 1, 0]} and ny.per_line() == {L1: [1, 0, 0]}


def test_the_newest_sends_come_first_with_their_opt_out_rate(
    tree: Consentline, clock: Clock
) -> None:
    cl = tree
    for number in NUMBERS:
        cl.record(number, "opt_in", account="acme", purpose="marketing", source="web_form")
    for i in range(12):
        line = L1 if i % 2 else L2
        list(cl.check_many(NUMBERS[:10], from_=line, purpose="marketing", campaign=f"c-{i}"))
        clock.advance(minutes=5)
    cl.record(NUMBERS[0], "opt_out", line=L2, source="keyword")
    campaigns.attribute(cl.units, cl.directory(), now=clock())
    board = cl.dashboard(account="acme", sends=10)
    assert [s["campaign"] for s in board.sends] == [f"c-{i}" for i in range(11, 1, -1)]
    newest_on_l2 = board.sends[1]
    assert newest_on_l2["campaign"] == "c-10" and newest_on_l2["opt_outs"] == 1
    assert newest_on_l2["opt_out_rate"] == pytest.approx(0.1)
    assert newest_on_l2["spike"] is False and newest_on_l2["allowed"] == 10
    shop = cl.dashboard(account="shop", within="shop", sends=3)
    assert [s["campaign"] for s in shop.sends] == ["c-10", "c-8", "c-6"]
    assert cl.dashboard(account="globex").sends == ()


def test_the_review_queue_size_and_oldest_age_are_the_subtree_s(
    tree: Consentline, clock: Clock
) -> None:
    cl = tree
    cl.handle_inbound(from_=NUMBERS[0], to=L2, text="cancel my appointment")
    clock.advance(minutes=30)
    cl.handle_inbound(from_=NUMBERS[1], to=L1, text="cancel my appointment")
    cl.handle_inbound(from_=NUMBERS[2], to=L3, text="cancel my appointment")
    clock.advance(minutes=30)
    assert cl.dashboard(account="acme").review == {
        "review_open": 2,
        "review_oldest_age_s": 3600,
    }
    assert cl.dashboard(account="shop").review["review_open"] == 1
    assert cl.dashboard(account="globex").review["review_open"] == 1


def test_outbox_health_counts_replies_by_state_and_the_most_overdue(
    tree: Consentline, clock: Clock
) -> None:
    cl = tree
    for number in NUMBERS[:3]:  # three double opt-in requests from L1, due now
        cl.record(number, "pending", line=L1, purpose="marketing", source="web_form")
    cl.record(NUMBERS[3], "pending", line=L2, purpose="marketing", source="web_form")
    cl.record(NUMBERS[4], "pending", line=L3, purpose="marketing", source="web_form")
    fresh = cl.dashboard(account="acme").outbox
    assert (fresh.due, fresh.waiting, fresh.oldest_due_age_s, fresh.behind) == (4, 0, 0, False)
    clock.advance(minutes=10)
    taken = [m for m in cl.take_due_replies(10, lease_s=3600) if m.from_line in (L1, L2)]
    failed, leased = taken[0], taken[1]
    cl.mark_replies([failed.id], "failed", "upstream 500")
    cl.mark_replies([m.id for m in taken[2:]], "sent")
    cl.record(NUMBERS[5], "pending", line=L1, purpose="marketing", source="web_form")
    clock.advance(minutes=7)
    health = cl.dashboard(account="acme").outbox
    # leased: waiting for an hour (its lease); the new one: due for 7 minutes.
    assert (health.due, health.waiting, health.failed, health.dropped) == (1, 1, 1, 0)
    assert leased.id != failed.id and health.oldest_due_age_s == 7 * 60 and health.behind
    cl.handle_inbound(from_=NUMBERS[6], to=L2, text="STOP")  # a confirmation, 5 minutes
    clock.advance(minutes=6)
    cl.take_due_replies(10)  # too late for it: dropped
    later = cl.dashboard(account="shop", within="shop").outbox
    assert later.dropped == 1 and later.failed == 0
    assert cl.dashboard(account="globex").outbox.failed == 0


def test_the_outbox_counts_stop_at_the_cap(tree: Consentline) -> None:
    cl = tree
    for number in NUMBERS[:5]:
        cl.record(number, "pending", line=L1, purpose="marketing", source="web_form")
    tenant = cl.directory().account("acme").tenant_id
    with cl.units(write=False) as uow:
        now_us = int(cl.now().timestamp() * 1_000_000)
        capped = uow.inbox.outbox_health(tenant, [L1], now_us, 2)
        whole = uow.inbox.outbox_health(tenant, [L1, L2], now_us, 100)
        none = uow.inbox.outbox_health(tenant, [], now_us, 100)
    assert (capped.due, whole.due, none.due, none.oldest_due_us) == (3, 5, 0, None)


def test_webhook_health_shows_the_host_and_how_far_behind_each_is(tree: Consentline) -> None:
    cl = tree
    hook, _ = cl.subscribe("acme", "https://hooks.example.com/T000/B000/s3cret")
    mail, _ = cl.subscribe("shop", "mailto:ops@example.com", format="email")
    cl.subscribe("globex", "https://globex.example.com/hook")
    for number in NUMBERS[:3]:
        cl.record(number, "opt_out", line=L1)
    board = cl.dashboard(account="acme")
    by_id = {h.subscription.id: h for h in board.hooks}
    assert set(by_id) == {hook.id, mail.id}
    assert by_id[hook.id].destination == "https://hooks.example.com"
    assert by_id[mail.id].destination == "mail to …@example.com"
    assert by_id[hook.id].behind == 3 and by_id[hook.id].subscription.status == "active"
    assert "s3cret" not in repr([h.destination for h in board.hooks])
    assert [h.subscription.id for h in cl.dashboard(account="shop").hooks] == [mail.id]


@pytest.mark.parametrize(
    ("url", "shown"),
    [
        ("https://user@hooks.example.com:8443/x?y=1", "https://hooks.example.com:8443"),
        ("http://[2001:db8::1]/x", "http://[2001:db8::1]"),
        ("mailto:a@b.example,c@d.example", "mail to …@d.example"),
        ("mailto:", "mail"),
    ],
)
def test_a_destination_is_never_more_than_scheme_and_host(url: str, shown: str) -> None:
    assert destination(url) == shown


@pytest.mark.parametrize(
    "kwargs",
    [
        {"days": 0},
        {"days": 93},
        {"days": True},
        {"timezone": "Mars/Olympus_Mons"},
        {"timezone": ""},
        {"sends": 0},
        {"sends": 101},
    ],
)
def test_bad_arguments_are_invalid_input(tree: Consentline, kwargs: dict[str, object]) -> None:
    with pytest.raises(InvalidInput):
        tree.dashboard(account="acme", **kwargs)  # type: ignore[arg-type]


def test_an_account_outside_the_caller_s_subtree_is_unknown(tree: Consentline) -> None:
    for account, within in (("acme", "shop"), ("globex", "acme"), ("nobody", "acme")):
        with pytest.raises(UnknownAccount):
            tree.dashboard(account=account, within=within)


def test_every_measure_a_chart_offers_is_a_column_of_its_kind(
    tree: Consentline, clock: Clock
) -> None:
    cl = tree
    cl.record(NUMBERS[0], "opt_in", account="acme", purpose="marketing")
    cl.handle_inbound(from_=NUMBERS[0], to=L1, text="STOP")
    list(cl.check_many(NUMBERS[:2], from_=L1, purpose="marketing", campaign="spring"))
    line = cl.directory().line(L1)
    with cl.units() as uow:
        decision = cl.check(NUMBERS[1], from_=L1, purpose="marketing")
        campaigns.record_gateway(
            uow, line, decision, purpose="marketing", campaign=None, now=clock()
        )
        uow.commit()
    clock.advance(minutes=1)
    for kind, measures in MEASURES.items():
        rows = cl.report(kind, account="acme").rows
        assert rows, kind
        assert all(set(measures) <= set(row) for row in rows), kind
