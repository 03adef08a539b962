"""Token and session authentication; tokens stored only as hashes; the token CLI."""

import hashlib

from typer.testing import CliRunner

from tests.api.conftest import call
from towerledger.access.models import AuditEntry
from towerledger.api.models import ApiToken
from towerledger.api.tokens import create_token, revoke_token
from towerledger.cli import app

ME = "/api/v1/me"


def assert_unauthorized(response):
    assert response.status_code == 401
    body = response.json()
    assert body["code"] == "UNAUTHORIZED"
    assert body["message_zh"] and body["message_en"]
    assert response["WWW-Authenticate"] == "Bearer"


def test_missing_token_is_401(client, users):
    assert_unauthorized(call(client, ME))


def test_invalid_token_is_401(client, tokens):
    assert_unauthorized(call(client, ME, "tl_not-a-real-token"))
    assert_unauthorized(call(client, ME, tokens["cmcc"] + "x"))


def test_other_scheme_is_401(client, tokens):
    response = client.get(ME, headers={"Authorization": f"Token {tokens['cmcc']}"})
    assert_unauthorized(response)


def test_valid_token_acts_as_its_user(client, tokens):
    response = call(client, ME, tokens["ctcc_zz"])
    assert response.status_code == 200
    assert response.json() == {
        "username": "ctcc_zz", "role": "OPERATOR", "can_change": False,
        "scope": {"level": "OPERATOR", "city": "郑州市", "operator": "CTCC"}}


def test_revoked_token_is_401(client, users):
    token, raw = create_token(users["clerk_zz"], "erp")
    assert call(client, ME, raw).status_code == 200
    revoke_token(token.pk)
    assert_unauthorized(call(client, ME, raw))


def test_token_of_inactive_user_is_401(client, users, tokens):
    users["clerk_ly"].is_active = False
    users["clerk_ly"].save()
    assert_unauthorized(call(client, ME, tokens["clerk_ly"]))


def test_only_the_hash_is_stored(users):
    token, raw = create_token(users["cmcc"], "cmcc erp")
    token.refresh_from_db()
    assert token.token_hash == hashlib.sha256(raw.encode()).hexdigest()
    stored = ApiToken.objects.filter(pk=token.pk).values().get()
    assert all(raw not in str(value) for value in stored.values())
    assert raw.startswith(token.prefix) and len(token.prefix) < len(raw) // 3


def test_use_is_recorded_on_the_token(client, users):
    token, raw = create_token(users["viewer"], "bi")
    assert token.last_used_at is None
    call(client, ME, raw)
    token.refresh_from_db()
    assert token.last_used_at is not None


def test_create_and_revoke_are_audited(users):
    token, _ = create_token(users["cmcc"], "cmcc erp", by=users["admin"])
    revoke_token(token.pk, by=users["admin"], reason="leaked")
    revoke_token(token.pk, by=users["admin"])  # idempotent: no second entry
    entries = AuditEntry.objects.filter(object_type="api_token", object_key=str(token.pk))
    assert sorted(entries.values_list("action", flat=True)) == [
        "api_token.create", "api_token.revoke"]
    revoked = entries.get(action="api_token.revoke")
    assert revoked.user == users["admin"] and revoked.reason == "leaked"
    assert entries.get(action="api_token.create").after["user"] == "cmcc"


def test_logged_in_session_works(client, users):
    client.force_login(users["clerk_ly"])
    response = client.get(ME)
    assert response.status_code == 200
    assert response.json()["scope"] == {"level": "CITY", "city": "洛阳市", "operator": None}


def test_a_wrong_token_is_refused_even_with_a_session(client, users):
    client.force_login(users["admin"])
    assert_unauthorized(call(client, ME, "tl_wrong"))


def test_token_cli_creates_lists_and_revokes(client, users):
    runner = CliRunner()
    created = runner.invoke(app, ["token", "create", "cmcc", "--name", "CMCC-ERP",
                                  "--by", "admin"])
    assert created.exit_code == 0, created.output
    raw = created.stdout.strip().splitlines()[-1]
    assert raw.startswith("tl_")
    assert call(client, ME, raw).json()["username"] == "cmcc"

    listed = runner.invoke(app, ["token", "list"])
    assert listed.exit_code == 0 and "CMCC-ERP" in listed.stdout and raw not in listed.stdout

    token = ApiToken.objects.get(name="CMCC-ERP")
    revoked = runner.invoke(app, ["token", "revoke", str(token.pk), "--by", "admin"])
    assert revoked.exit_code == 0, revoked.output
    assert_unauthorized(call(client, ME, raw))
    assert AuditEntry.objects.filter(object_type="api_token", user=users["admin"]).count() == 2

    missing = runner.invoke(app, ["token", "revoke", "999999"])
    assert missing.exit_code == 1
