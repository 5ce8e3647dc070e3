"""Proof bounds at the command line: the largest allowed proof round-trips, a
deeper one is a clean error (issue 8, #4)."""

from __future__ import annotations

import json
from collections.abc import Callable

from tests.proofs import largest_allowed_proof, nested
from typer.testing import Result

Run = Callable[..., Result]
LINE = "+18005550100"
ALICE = "+14155550101"


def _setup(cli: Run) -> None:
    for args in (("account", "create", "acme", "--region", "US"), ("line", "add", LINE)):
        extra = ("--account", "acme") if args[0] == "line" else ()
        assert cli(*args, *extra, "--json").exit_code == 0


def _record(cli: Run, proof: object) -> Result:
    return cli(
        "record", ALICE, "opt_in", "--account", "acme", "--purpose", "marketing",
        "--proof-json", json.dumps(proof), "--json",
    )  # fmt: skip


def test_the_largest_allowed_proof_round_trips_through_record_and_history(cli: Run) -> None:
    _setup(cli)
    proof = largest_allowed_proof()
    recorded = _record(cli, proof)
    assert recorded.exit_code == 0, recorded.output
    assert json.loads(recorded.stdout)["proof"] == proof
    history = cli("history", ALICE, "--account", "acme", "--json")
    assert history.exit_code == 0, history.output
    assert json.loads(history.stdout)["events"][0]["proof"] == proof
    human = cli("history", ALICE, "--account", "acme")
    assert human.exit_code == 0, human.output
    assert "proof " in human.stdout


def test_a_proof_nested_too_deep_is_a_clean_error(cli: Run) -> None:
    _setup(cli)
    result = _record(cli, nested(253))
    assert result.exit_code == 2, result.output
    assert json.loads(result.stdout)["error"]["code"] == "invalid_proof"
    assert json.loads(cli("history", ALICE, "--account", "acme", "--json").stdout)["events"] == []


def test_proof_json_nested_past_the_decoder_is_a_clean_error(cli: Run) -> None:
    _setup(cli)
    deep = '{"a":' * 5000 + "1" + "}" * 5000
    result = cli("record", ALICE, "opt_in", "--account", "acme", "--proof-json", deep, "--json")
    assert result.exit_code == 2, result.output
    assert json.loads(result.stdout)["error"]["code"] == "invalid_proof"
