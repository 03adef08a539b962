"""``towerledger user …`` (issue 16): the province admin's people and token commands, with
the same services, validators and audit log as the pages; mistakes are one bilingual line
and a non-zero exit."""

import pytest
from django.contrib.auth import authenticate, get_user_model
from typer.testing import CliRunner

from towerledger.access.models import AuditEntry, Role
from towerledger.access.tokens import user_for_token
from towerledger.cli import app

pytestmark = pytest.mark.django_db


def run(*args):
    return CliRunner().invoke(app, ["user", *args])


def test_create_edit_reset_deactivate(users):
    out = run("create", "new_clerk", "--role", "city-clerk", "--city", "郑州市", "--by", "admin",
              "--reason", "新同事")
    assert out.exit_code == 0, out.output
    generated = out.stdout.strip().splitlines()[-1]
    assert authenticate(username="new_clerk", password=generated) is not None
    user = get_user_model().objects.get(username="new_clerk")
    assert user.profile.role == Role.CITY_CLERK and user.profile.city.name == "郑州市"

    out = run("edit", "new_clerk", "--city", "洛阳市", "--by", "admin")
    assert out.exit_code == 0, out.output
    assert AuditEntry.objects.get(action="user.update").after["city"] == "洛阳市"
    out = run("reset-password", "new_clerk", "--password", "1234", "--by", "admin")
    assert out.exit_code == 1 and "password is not accepted" in out.output
    out = run("reset-password", "new_clerk", "--by", "admin")
    assert out.exit_code == 0
    assert authenticate(username="new_clerk", password=out.stdout.strip().splitlines()[-1])
    out = run("deactivate", "new_clerk", "--by", "admin", "--reason", "离职")
    assert out.exit_code == 0 and not get_user_model().objects.get(pk=user.pk).is_active
    listed = run("list").stdout
    assert "clerk_zz" in listed and "new_clerk" not in listed
    assert "new_clerk" in run("list", "--inactive").stdout


@pytest.mark.parametrize("args, words", [
    (["create", "x", "--role", "boss"], "unknown role"),
    (["create", "x", "--role", "CITY_CLERK"], "needs a city"),
    (["create", "x", "--role", "CITY_CLERK", "--city", "火星市"], "no such city"),
    (["create", "x", "--role", "OPERATOR", "--operator", "ZZZ"], "no such operator"),
    (["create", "admin", "--role", "VIEWER"], "already taken"),
    (["edit", "nobody", "--role", "VIEWER"], "no such user"),
    (["deactivate", "viewer"], "needs a reason"),
    (["token", "create", "clerk_zz", "--name", "x"], "operator users only"),
    (["token", "revoke", "999"], "no such token"),
])
def test_mistakes_are_one_bilingual_line(users, args, words):
    out = CliRunner().invoke(app, ["user", *args])
    assert out.exit_code in (1, 2) and words in out.output, out.output
    assert "Traceback" not in out.output and out.exception is None or isinstance(
        out.exception, SystemExit)


def test_tokens(users):
    out = run("token", "create", "cmcc", "--name", "CMCC-ERP", "--by", "admin")
    assert out.exit_code == 0, out.output
    raw = out.stdout.strip().splitlines()[-1]
    assert user_for_token(raw) == users["cmcc"]
    listed = run("token", "list", "cmcc").stdout
    assert "CMCC-ERP" in listed and raw not in listed
    token_id = users["cmcc"].api_tokens.get().pk
    assert run("token", "revoke", str(token_id), "--by", "admin").exit_code == 0
    assert user_for_token(raw) is None
    assert AuditEntry.objects.filter(action="api_token.revoke", user=users["admin"]).exists()
