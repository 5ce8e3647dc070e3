"""Settings.from_env: defaults, validation naming the variable, secrets hidden."""

from __future__ import annotations

import pytest

from consentline.domain.outbound import OutboundAllow
from consentline.settings import DEFAULT_MAX_BODY, Secret, Settings, SettingsError

KEY = "k" * 32


def test_defaults_need_no_environment() -> None:
    settings = Settings.from_env({})
    assert settings.database_url.reveal() == "sqlite:///./var/consentline.db"
    assert settings.admin_key is None
    assert settings.public_url is None
    assert settings.max_body == DEFAULT_MAX_BODY == 1024 * 1024


def test_every_variable_is_read() -> None:
    settings = Settings.from_env(
        {
            "CONSENTLINE_DATABASE_URL": "postgresql+psycopg://u:pw@db/consent",
            "CONSENTLINE_ADMIN_KEY": KEY,
            "CONSENTLINE_PUBLIC_URL": "https://consent.example.com/",
            "CONSENTLINE_MAX_BODY": "4096",
        }
    )
    assert settings.database_url.reveal().endswith("@db/consent")
    assert settings.admin_key == Secret(KEY)
    assert settings.public_url == "https://consent.example.com"
    assert settings.max_body == 4096


def test_secrets_never_show_in_reprs() -> None:
    settings = Settings.from_env(
        {"CONSENTLINE_DATABASE_URL": "postgresql://u:hunter2@db/c", "CONSENTLINE_ADMIN_KEY": KEY}
    )
    for text in (repr(settings), str(settings), repr(settings.admin_key)):
        assert "hunter2" not in text
        assert KEY not in text


@pytest.mark.parametrize(
    ("variable", "value"),
    [
        ("CONSENTLINE_DATABASE_URL", "not a url"),
        ("CONSENTLINE_DATABASE_URL", "mysql://u@h/db"),
        ("CONSENTLINE_ADMIN_KEY", "short"),
        ("CONSENTLINE_ADMIN_KEY", "k" * 20 + " with spaces"),
        ("CONSENTLINE_PUBLIC_URL", "ftp://example.com"),
        ("CONSENTLINE_PUBLIC_URL", "consent.example.com"),
        ("CONSENTLINE_PUBLIC_URL", "https://example.com:99999"),
        ("CONSENTLINE_PUBLIC_URL", "https://example.com/?q=1"),
        ("CONSENTLINE_MAX_BODY", "lots"),
        ("CONSENTLINE_MAX_BODY", "10"),
    ],
)
def test_a_bad_value_fails_naming_the_variable(variable: str, value: str) -> None:
    with pytest.raises(SettingsError) as raised:
        Settings.from_env({variable: value})
    assert raised.value.data["variable"] == variable
    assert str(raised.value).startswith(f"{variable}: ")
    assert raised.value.code == "invalid_setting"


def test_an_unparsable_database_url_is_not_echoed() -> None:
    with pytest.raises(SettingsError) as raised:
        Settings.from_env({"CONSENTLINE_DATABASE_URL": "::secret-pw::"})
    assert "secret-pw" not in str(raised.value)


def test_the_outbound_allow_list_is_read_and_empty_by_default() -> None:
    assert Settings.from_env({}).outbound_allow == OutboundAllow()
    settings = Settings.from_env({"CONSENTLINE_OUTBOUND_ALLOW": " 127.0.0.0/8 ,::1, Relay.Corp."})
    assert str(settings.outbound_allow) == "127.0.0.0/8,::1/128,relay.corp"


@pytest.mark.parametrize(
    "value", ["127.0.0.0/33", "not a host!", "10.0.0.0/8,http://relay.corp", "*", "300.1.2.3"]
)
def test_a_bad_outbound_allow_list_fails_naming_the_variable(value: str) -> None:
    with pytest.raises(SettingsError) as raised:
        Settings.from_env({"CONSENTLINE_OUTBOUND_ALLOW": value})
    assert raised.value.data["variable"] == "CONSENTLINE_OUTBOUND_ALLOW"
