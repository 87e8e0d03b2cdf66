"""DATABASE_URL's sslmode and sslrootcert become asyncpg's `ssl` argument, the same on every path."""

from __future__ import annotations

import ssl
from pathlib import Path

import certifi
import pytest
from sqlalchemy.engine import make_url
from typer.testing import CliRunner

from shared.cli import app
from shared.db import make_engine
from shared.pg import SSLMODES, DatabaseUrlError, split_tls

PASSWORD = "hunter2-not-for-logs"
BASE = f"postgresql+asyncpg://sb_sla:{PASSWORD}@db.example:5432/switchboard"
CA = certifi.where()


def _refused(url: str) -> str:
    with pytest.raises(DatabaseUrlError) as refused:
        split_tls(url)
    message = str(refused.value)
    assert message.startswith("DATABASE_URL: ") and PASSWORD not in message
    return message


def test_a_url_without_sslmode_passes_nothing_so_pgsslmode_still_applies() -> None:
    url = f"{BASE}?prepared_statement_cache_size=0"
    assert split_tls(url) == (url, {})


@pytest.mark.parametrize("mode", SSLMODES)
def test_each_libpq_mode_becomes_asyncpgs_ssl_and_leaves_the_url(mode: str) -> None:
    url, tls = split_tls(f"{BASE}?sslmode={mode}&prepared_statement_cache_size=0")
    assert tls == {"ssl": mode}
    assert dict(make_url(url).query) == {"prepared_statement_cache_size": "0"}
    assert make_url(url).password == PASSWORD  # the rest of the URL is untouched


def test_sqlalchemys_own_ssl_parameter_means_the_same() -> None:
    assert split_tls(f"{BASE}?ssl=require") == (BASE, {"ssl": "require"})


@pytest.mark.parametrize(("mode", "checks_host"), [("verify-full", True), ("verify-ca", False), ("require", False)])
def test_a_root_certificate_verifies_the_server_with_it(mode: str, checks_host: bool) -> None:
    url, tls = split_tls(f"{BASE}?sslmode={mode}&sslrootcert={CA}")
    context = tls["ssl"]
    assert url == BASE
    assert isinstance(context, ssl.SSLContext)
    assert context.verify_mode == ssl.CERT_REQUIRED  # libpq: require with a CA file verifies like verify-ca
    assert context.check_hostname is checks_host
    assert context.get_ca_certs()  # the bundle was loaded


def test_sslrootcert_system_uses_the_systems_cas_with_verify_full_only() -> None:
    _, tls = split_tls(f"{BASE}?sslmode=verify-full&sslrootcert=system")
    assert isinstance(tls["ssl"], ssl.SSLContext) and tls["ssl"].check_hostname
    assert "needs sslmode=verify-full" in _refused(f"{BASE}?sslmode=require&sslrootcert=system")


def test_below_require_a_root_certificate_has_nothing_to_verify() -> None:
    assert split_tls(f"{BASE}?sslmode=prefer&sslrootcert={CA}") == (BASE, {"ssl": "prefer"})


@pytest.mark.parametrize("mode", ["required", "on", "true", "VERIFY-FULL"])
def test_an_unknown_sslmode_is_refused_naming_the_valid_ones(mode: str) -> None:
    message = _refused(f"{BASE}?sslmode={mode}")
    assert "is not one of disable, allow, prefer, require, verify-ca, verify-full" in message


def test_a_missing_or_unreadable_root_certificate_is_refused(tmp_path: Path) -> None:
    assert "is not a readable file" in _refused(f"{BASE}?sslmode=verify-full&sslrootcert={tmp_path / 'none.pem'}")
    garbage = tmp_path / "garbage.pem"
    garbage.write_text("not a certificate\n")
    assert "holds no usable CA certificate" in _refused(f"{BASE}?sslmode=verify-full&sslrootcert={garbage}")


@pytest.mark.parametrize(
    ("query", "says"),
    [
        (f"sslrootcert={CA}", "sslrootcert needs sslmode"),
        ("sslmode=require&sslmode=disable", "sslmode is given 2 times"),
        ("sslmode=require&ssl=require", "sslmode or ssl, not both"),
    ],
)
def test_ambiguous_tls_parameters_are_refused(query: str, says: str) -> None:
    assert says in _refused(f"{BASE}?{query}")


def test_the_engine_takes_sslmode_off_its_url_and_refuses_an_unknown_one() -> None:
    engine = make_engine(f"{BASE}?sslmode=require")
    assert "sslmode" not in engine.url.query
    with pytest.raises(DatabaseUrlError, match="DATABASE_URL: sslmode='bogus'"):
        make_engine(f"{BASE}?sslmode=bogus")


def test_switchboard_migrate_says_what_is_wrong_without_the_password(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.chdir(tmp_path)  # no .env of the developer's
    result = CliRunner().invoke(app, ["migrate"], env={"DATABASE_URL": f"{BASE}?sslmode=on"})
    assert result.exit_code == 2
    assert "DATABASE_URL: sslmode='on' is not one of" in result.output and PASSWORD not in result.output
