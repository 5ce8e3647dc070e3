"""Property: no webhook input, however odd, is a 5xx or costs a valid STOP (issue 8).

Every provider's inbound webhook is built with arbitrary Unicode and control
characters (NUL, lone surrogates where the format can carry them, bidi and format
marks, very long strings within the body limit) in every field it has: text,
message id, sender, destination, timestamp. Each is signed with the provider's own
signer, and sent concurrently with valid STOPs, on SQLite and PostgreSQL. Each
fuzzed request is recorded or refused with a 4xx, never answered 5xx; one answered
2xx is in the inbound table; one whose destination is our line is never refused as
badly signed (it was signed correctly); and every valid STOP is recorded: the send
gate denies its number afterwards.

``CONSENTLINE_FUZZ_EXAMPLES`` (default 10) sets the examples per provider and database
(``make fuzz`` runs 100).
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta, timezone
from typing import Any, Final

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from consentline.domain.evidence import is_storable
from tests.conftest import _postgres_schema_url
from tests.http import _signed
from tests.http._signed import LINE

# Per provider and database; raise it for a deeper run (the default keeps the module fast).
EXAMPLES: Final = int(os.environ.get("CONSENTLINE_FUZZ_EXAMPLES", "10"))
# The odd characters worth trying everywhere (lone surrogates only where JSON carries them).
ODD: Final = [
    "\x00",
    "\x01",
    "\x1b",
    "\x7f",
    "\r\n",
    "\t",
    "\u202e",  # right-to-left override
    "\u200f",  # right-to-left mark
    "\u2066",  # left-to-right isolate
    "\u200b",  # zero-width space
    "\ufeff",  # byte-order mark
    "\ufffd",
    "\U0001f6d1",  # stop sign
    "&",
    "=",
    "+",
    "%",
    '"',
    "\\",
    "<",
    "STOP",
    " ",
]
SURROGATES: Final = ["\ud800", "\udfff", "\ud83d"]
# Our line, written as providers write it: these still resolve to the line.
LINE_FORMS: Final = [LINE, LINE[1:], f" {LINE} ", "+1 800 555 0100"]
HANDSET_FORMS: Final = ["+14155559999", "14155559999", "+1 (415) 555-9999", "4155559999"]


def texts(provider: str, *, max_long: int = 12_000) -> st.SearchStrategy[str]:
    """Short strings of odd and arbitrary characters, or one piece repeated at length."""
    surrogates = provider in _signed.JSON_PROVIDERS
    chars = st.characters(exclude_categories=() if surrogates else ("Cs",))
    unstorable = st.sampled_from(["\x00", *(SURROGATES if surrogates else [])])
    piece = st.one_of(unstorable, st.sampled_from(ODD), st.text(chars, max_size=12))
    short = st.lists(piece, max_size=6).map("".join)
    long = st.tuples(piece.filter(bool), st.integers(200, max_long)).map(
        lambda p: (p[0] * p[1])[: p[1]]
    )
    return st.one_of(short, short, long)


def times(provider: str) -> st.SearchStrategy[str]:
    """Timestamps: well-formed at the edges of the calendar, or garbage."""
    offsets = st.integers(-23 * 60, 23 * 60).map(lambda m: timezone(timedelta(minutes=m)))
    moments = st.builds(
        lambda at, tz: at.replace(tzinfo=tz).isoformat(),
        st.datetimes(min_value=datetime(1, 1, 1), max_value=datetime(9999, 12, 31)),
        offsets,
    )
    edges = st.sampled_from(
        [
            "0001-01-01T00:00:00+01:00",
            "9999-12-31T23:59:59-01:00",
            "2024-05-03T09:15:02Z",
            "2024-05-03 09:15:02",
            datetime(2024, 5, 3, 9, 16, tzinfo=UTC).isoformat(),
        ]
    )
    return st.one_of(moments, edges, texts(provider, max_long=300))


@st.composite
def mostly(draw: st.DrawFn, usual: st.SearchStrategy[str], odd: st.SearchStrategy[str]) -> str:
    """Usually a working value, else an odd one: so that most requests get as far as
    being stored, where NUL and lone surrogates matter, while every field is fuzzed."""
    return draw(odd if draw(st.integers(0, 3)) == 0 else usual)


@st.composite
def fuzzed(draw: st.DrawFn, provider: str) -> tuple[dict[str, str], bool]:
    """Fields for one request, and whether its destination is still our line."""
    ids = st.text("abcdefABCDEF0123456789-", min_size=1, max_size=40)
    odd = texts(provider, max_long=300)
    fields = {
        "text": draw(texts(provider)),
        "id": draw(mostly(ids, odd)),
        "from": draw(mostly(st.sampled_from(HANDSET_FORMS), odd)),
        "to": draw(mostly(st.sampled_from(LINE_FORMS), odd)),
    }
    if draw(st.booleans()):
        fields["time"] = draw(times(provider))
    return fields, fields["to"] in LINE_FORMS


@pytest.fixture(
    scope="module", params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)]
)
def hooks(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[_signed.Hooks]:
    """One app per database for the whole module (a schema per provider costs more
    than the fuzzing); every valid STOP comes from a number of its own."""
    if request.param == "sqlite":
        urls: Iterator[str] = iter([f"sqlite:///{tmp_path_factory.mktemp('fuzz') / 'fuzz.db'}"])
    else:
        urls = _postgres_schema_url()
    url = next(urls)
    try:
        found, close = _signed.open_hooks(url)
        try:
            yield found
        finally:
            close()
    finally:
        next(urls, None)  # drops the PostgreSQL schema


@pytest.fixture(scope="module")
def handset() -> _signed.Handsets:
    return _signed.Handsets()


def _property(provider: str) -> Any:
    @settings(
        max_examples=EXAMPLES,
        deadline=None,
        suppress_health_check=[HealthCheck.too_slow],
    )
    @given(requests=st.lists(fuzzed(provider), min_size=1, max_size=3), stops=st.integers(1, 2))
    def check(
        hooks: _signed.Hooks,
        handset: _signed.Handsets,
        requests: list[tuple[dict[str, str], bool]],
        stops: int,
    ) -> None:
        valid = [handset() for _ in range(stops)]
        built = [_signed.build(provider, fields)[0] for fields, _ours in requests]
        built += [
            _signed.build(
                provider, {"text": "STOP", "from": number, "id": f"v{number}", "to": LINE}
            )[0]
            for number in valid
        ]
        answers = hooks.send_all(built)
        statuses = [a.status_code for a in answers]

        assert all(status < 500 for status in statuses), [
            (fields, a.status_code, a.text[:200])
            for (fields, _), a in zip(requests, answers, strict=False)
        ]
        assert statuses[len(requests) :] == [200] * stops
        assert all(hooks.denied(number) for number in valid)
        recorded = hooks.inbound_ids(provider, [f.get("id", "") for f, _ in requests])
        for (fields, ours), answer in zip(requests, answers, strict=False):
            # Signed correctly and sent to our line: never refused as badly signed.
            assert not (ours and answer.status_code == 403), (fields, answer.text)
            message_id = fields.get("id")
            if answer.status_code < 300 and message_id and is_storable(message_id):
                assert message_id in recorded, (fields, answer.text)

    return check


test_twilio = _property("twilio")
test_sinch = _property("sinch")
test_messagemedia = _property("messagemedia")
test_vonage_sms_api = _property("vonage")
test_vonage_messages_api = _property("vonage_messages")
test_plivo = _property("plivo")
test_telnyx = _property("telnyx")
test_bandwidth = _property("bandwidth")


@st.composite
def fuzzed_receipt(draw: st.DrawFn, provider: str) -> dict[str, str]:
    """An opted-out receipt's fields (``to`` is filled in with a fresh recipient)."""
    ids = st.text("abcdefABCDEF0123456789-", min_size=1, max_size=40)
    odd = texts(provider, max_long=300)
    return {
        "id": draw(mostly(ids, odd)),
        "status": draw(mostly(st.sampled_from(["failed", "undelivered"]), odd)),
        "from": draw(mostly(st.sampled_from(LINE_FORMS), odd)),
    }


def _receipts(provider: str) -> Any:
    @settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=[HealthCheck.too_slow])
    @given(receipts=st.lists(fuzzed_receipt(provider), min_size=1, max_size=3))
    def check(
        hooks: _signed.Hooks, handset: _signed.Handsets, receipts: list[dict[str, str]]
    ) -> None:
        """Opted-out status callbacks (C19) with odd ids and statuses, beside a valid one."""
        recipients = [handset() for _ in receipts]
        valid = handset()
        built = [
            _signed.build(provider, {**fields, "to": to}, status=True)[0]
            for fields, to in zip(receipts, recipients, strict=True)
        ]
        fields = {"id": f"r{valid}", "status": "failed", "from": LINE, "to": valid}
        built.append(_signed.build(provider, fields, status=True)[0])
        answers = hooks.send_all(built)

        assert all(a.status_code < 500 for a in answers), [
            (f, a.status_code, a.text[:200]) for f, a in zip(receipts, answers, strict=False)
        ]
        assert answers[-1].status_code == 200 and hooks.denied(valid)
        for fields, to, answer in zip(receipts, recipients, answers, strict=False):
            if answer.status_code < 300:  # accepted: the opt-out is recorded, or the
                # receipt named no line of ours and says so (it cannot be verified)
                unverifiable = fields["from"] not in LINE_FORMS and '"recorded":0' in answer.text
                assert hooks.denied(to) or unverifiable, (fields, answer.text)

    return check


test_twilio_receipts = _receipts("twilio")
test_vonage_receipts = _receipts("vonage")
test_plivo_receipts = _receipts("plivo")
test_telnyx_receipts = _receipts("telnyx")
test_bandwidth_receipts = _receipts("bandwidth")


@pytest.mark.parametrize("at", ["0001-01-01T00:00:00+01:00", "9999-12-31T23:59:59-01:00"])
def test_a_timestamp_past_the_calendar_edge_does_not_lose_the_stop(
    hooks: _signed.Hooks, handset: _signed.Handsets, at: str
) -> None:
    """Found by the fuzz test: converting such a time to UTC overflowed (a 500)."""
    number = handset()
    fields = {"text": "STOP", "from": number, "id": f"edge-{number}", "to": LINE, "time": at}
    [answer] = hooks.send_all([_signed.build("sinch", fields)[0]])
    assert answer.status_code == 200 and hooks.denied(number)
