"""A write bounded ``within`` an account cannot allow sends outside its subtree.

An API key of a sub-account used to lift its parent's opt-out: a ``resume`` via
its own line landed, under the inherited reach ``tree``, at the parent's scope
(issue 8, #5). Suppression may still reach as wide as the reach says.

T (reach tree) > A (L1, L2) > B (L3), as in the worked examples of docs/model.md.
"""

from __future__ import annotations

from typing import Any

import pytest

from consentline import Consentline, UnknownAccount, UnknownLine
from tests.conftest import WorkedSetup, worked_setup


def opted_out_everywhere(cl: Consentline) -> WorkedSetup:
    """x opted in at T, then sent STOP on L1: the opt-out lands at T (reach tree)."""
    w = worked_setup(cl)
    cl.record(w.x, "opt_in", account="t", purpose="marketing", source="web_form")
    stop = cl.record(w.x, "opt_out", via=w.L1, source="keyword")
    assert stop.scope == f"A{cl.directory().account('t').id}"
    return w


def allowed(cl: Consentline, w: WorkedSetup, line: str) -> bool:
    return cl.check(w.x, from_=line, purpose="marketing").allowed


def test_a_resume_within_a_sub_account_clears_the_opt_out_on_its_own_lines_only(
    cl: Consentline,
) -> None:
    w = opted_out_everywhere(cl)
    event = cl.record(w.x, "resume", via=w.L3, source="keyword", within="b")
    assert event.scope == f"A{cl.directory().account('b').id}"  # narrowed from T
    assert allowed(cl, w, w.L3)  # as the handset's START would there
    assert not allowed(cl, w, w.L1) and not allowed(cl, w, w.L2)  # the parent's stay out


def test_without_a_bound_a_resume_keeps_the_full_reach(cl: Consentline) -> None:
    """A handset's START is the person's own act: it keeps today's reach."""
    w = opted_out_everywhere(cl)
    event = cl.record(w.x, "resume", via=w.L3, source="keyword")
    assert event.scope == f"A{cl.directory().account('t').id}"
    assert allowed(cl, w, w.L1) and allowed(cl, w, w.L3)


def test_a_handset_start_on_a_sub_account_line_keeps_the_full_reach(cl: Consentline) -> None:
    w = opted_out_everywhere(cl)
    result = cl.handle_inbound(from_=w.x, to=w.L3, text="START")
    assert result.event is not None and result.event.action == "resume"
    assert allowed(cl, w, w.L1)


def test_an_opt_out_within_a_sub_account_still_widens_to_its_reach(cl: Consentline) -> None:
    w = worked_setup(cl)
    cl.record(w.x, "opt_in", account="t", purpose="marketing", source="web_form")
    event = cl.record(w.x, "opt_out", via=w.L3, source="keyword", within="b")
    assert event.scope == f"A{cl.directory().account('t').id}"
    assert not allowed(cl, w, w.L1)


def test_a_resume_whose_reach_stays_inside_is_not_narrowed(cl: Consentline) -> None:
    w = opted_out_everywhere(cl)
    event = cl.record(w.x, "resume", via=w.L1, source="keyword", within="t")
    assert event.scope == f"A{cl.directory().account('t').id}"
    inside = cl.record(w.x, "resume", via=w.L1, source="keyword", within="a")
    assert inside.scope == f"A{cl.directory().account('a').id}"


@pytest.mark.parametrize(
    ("kwargs", "error"),
    [
        ({"action": "opt_in", "account": "a"}, UnknownAccount),
        ({"action": "opt_in", "account": "t"}, UnknownAccount),
        ({"action": "opt_out", "account": "t"}, UnknownAccount),
        ({"action": "pending", "line": "+18005550101"}, UnknownLine),
        ({"action": "resume", "via": "+18005550101"}, UnknownLine),
        ({"action": "opt_out", "via": "+18005550102"}, UnknownLine),
        ({"action": "opt_in", "account": "b", "within": "nobody"}, UnknownAccount),
    ],
)
def test_a_scope_outside_the_bound_is_refused_as_if_it_did_not_exist(
    cl: Consentline, kwargs: dict[str, Any], error: type[Exception]
) -> None:
    w = worked_setup(cl)
    args = {"within": "b", "purpose": "marketing", **kwargs}
    with pytest.raises(error):
        cl.record(w.x, args.pop("action"), **args)
    assert cl.verify().events == 0


def test_writes_inside_the_bound_land_where_they_always_did(cl: Consentline) -> None:
    w = worked_setup(cl)
    b = cl.directory().account("b").id
    line = cl.directory().line(w.L3).id
    assert cl.record(w.x, "opt_in", account="b", purpose="marketing", within="b").scope == f"A{b}"
    assert cl.record(w.x, "pending", via=w.L3, purpose="marketing", within="b").scope == f"L{line}"
    assert cl.record(w.x, "lapse", via=w.L3, within="b").scope == f"L{line}"
    assert cl.record(w.x, "opt_in", line=w.L3, within="t").scope == f"L{line}"
