"""专项 Programs: one page listing the programs' pages the user's role may open."""

from django.contrib.auth.decorators import login_required
from django.shortcuts import render
from django.urls import reverse
from django.utils.translation import get_language

from towerledger.access.scope import role_of
from towerledger.web.programs import modules


def entries(user) -> list[dict]:
    role = role_of(user)
    zh = (get_language() or "zh-hans").startswith("zh")
    out = []
    for module in modules():
        for name, label_zh, label_en, roles in module.HUB:
            if roles and role not in roles:
                continue
            out.append({"url": reverse(name), "label": label_zh if zh else label_en,
                        "other": label_en if zh else label_zh})
    return out


@login_required
def hub(request):
    return render(request, "web/programs/hub.html", {"entries": entries(request.user)})
