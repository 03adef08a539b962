"""The programs' hub (/programs/): each role sees the program pages its role may open, and
every page it lists opens for that role (no dead link, no server error)."""

import pytest
from django.test import Client
from django.urls import reverse

from towerledger.access.scope import role_of
from towerledger.web.programs import modules

PASSWORD = "pw-Secret-123"


def login(user) -> Client:
    c = Client()
    assert c.login(username=user.username, password=PASSWORD)
    return c


@pytest.mark.parametrize("who", ["admin", "viewer", "clerk_zz", "cmcc", "ctcc_zz"])
def test_the_hub_lists_what_the_role_may_open_and_every_link_opens(users, who):
    user = users[who]
    role = role_of(user)
    c = login(user)
    page = c.get(reverse("programs"))
    assert page.status_code == 200
    html = page.content.decode()
    for module in modules():
        for name, label_zh, _en, roles in module.HUB:
            url = reverse(name)
            if roles and role not in roles:
                assert f'href="{url}"' not in html, (who, name)
                continue
            assert f'href="{url}"' in html and label_zh in html, (who, name)
            assert c.get(url).status_code == 200, (who, name)
