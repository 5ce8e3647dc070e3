"""domain/settings.lint: an account's settings checked before they are saved (no I/O)."""

from __future__ import annotations

import pytest

from consentline.domain.errors import InvalidConfig, InvalidKeyword
from consentline.domain.settings import AccountSettings, findings, lint

HELP = "{program}: help at {support}. Msg & data rates may apply. Reply STOP to opt out."


def test_a_built_in_opt_out_word_cannot_be_an_opt_in_keyword() -> None:
    with pytest.raises(InvalidKeyword):
        lint(AccountSettings(opt_in_keywords=("STOP",)))


def test_the_template_is_checked_with_the_program_the_account_inherits() -> None:
    # The literal name satisfies "names the program" only if the account inherits it.
    text = HELP.replace("{program}", "Acme Rewards")
    own = AccountSettings(templates={"en": {"help": text}})
    assert lint(own, [AccountSettings(program_name="Acme Rewards")]) == []
    with pytest.raises(InvalidConfig, match="program name"):
        lint(own, [AccountSettings(program_name="Other")])


def test_findings_name_each_setting_and_keep_every_breach_instead_of_raising() -> None:
    settings = AccountSettings(
        opt_in_keywords=("OK", "GO"),
        topic_keywords={"YES": "volunteer"},
        templates={"en": {"help": "{program}: call us"}},
    )
    found = [(f.setting, f.breach) for f in findings(settings)]
    assert found == [
        ("opt_in_keywords", True),  # an everyday word
        ("opt_in_keywords", False),  # short: a warning
        ("topic_keywords", True),
        ("templates.en.help", True),  # no rates, no STOP, no support
    ]
    with pytest.raises(InvalidKeyword, match="OK is an everyday word"):
        lint(settings)  # the first breach findings lists
