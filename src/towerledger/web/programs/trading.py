"""Market-trading pages: the contracts (province admins save them, clerks enrol their
city's direct accounts), a contract's enrolled accounts and their TRADING_DISCOUNT findings,
and the realised savings by month, account, site, city and operator (operators: only their
own share, no contract or account prices)."""

from datetime import date

from django.contrib import messages
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import path
from django.utils import timezone
from django.utils.translation import get_language
from django.views.decorators.http import require_POST

from towerledger.access.models import Role
from towerledger.access.scope import can_admin, can_change, role_of, scoped
from towerledger.bills.models import Flag
from towerledger.domain.errors import DomainError
from towerledger.org.models import Province
from towerledger.programs.trading import report, services
from towerledger.programs.trading.models import Contract
from towerledger.sites.models import SupplyAccount
from towerledger.web import params
from towerledger.web.context import CLERKS, EVERYONE, STAFF
from towerledger.web.tables import roles


def _error(request, exc: DomainError):
    messages.error(request, exc.message(get_language()))


def _contracts(user):
    """Contracts a staff user may see: admins and viewers all, a clerk those with an
    enrolled account of their city or none enrolled yet."""
    qs = Contract.objects.all()
    if role_of(user) == Role.CITY_CLERK:
        qs = qs.filter(pk__in=scoped(user, Contract.objects.all()).values("pk")) | \
            qs.filter(enrolments__isnull=True)
    return qs.distinct()


@roles(*EVERYONE)
def trading(request):
    today = timezone.localdate()
    first = params.month(request.GET, "from") or date(today.year, 1, 1)
    last_month = params.month(request.GET, "to") or today.replace(day=1)
    last = date(last_month.year + last_month.month // 12, last_month.month % 12 + 1, 1) \
        .toordinal() - 1
    last = date.fromordinal(last)
    operator = role_of(request.user) == Role.OPERATOR
    monthly = report.monthly_savings(request.user, first, last)
    breakdown = report.breakdown(request.user, first, last)
    context = {"operator": operator, "first": first, "last": last,
               "monthly": list(monthly.items()), "b": breakdown,
               "can_admin": can_admin(request.user), "can_change": can_change(request.user),
               "provinces": Province.objects.all(), "today": today}
    if not operator:
        contracts = _contracts(request.user).order_by("-year", "code")
        context["contracts"] = contracts
    return render(request, "web/programs/trading/home.html", context)


@require_POST
@roles(Role.PROVINCE_ADMIN)
def contract_save(request):
    post = request.POST
    try:
        start, end = params.day(post, "start"), params.day(post, "end")
        catalogue = params.posted_decimal(post, "catalogue_price", 10**4)
        if start is None or end is None or catalogue is None:
            raise params.BadParameter("start", "请填写合同期与目录电价",
                                      "give the period and the catalogue price")
        c = services.save_contract(
            request.user, code=params.text(post, "code", 40),
            province=get_object_or_404(Province, pk=params.record_id(post, "province") or 0),
            year=start.year, trader=params.text(post, "trader", 120), start=start, end=end,
            catalogue_price=catalogue, discount=params.posted_decimal(post, "discount", 10**4),
            traded_price=params.posted_decimal(post, "traded_price", 10**4),
            reason=params.text(post, "reason", 400))
    except DomainError as exc:
        _error(request, exc)
        return redirect("trading")
    messages.success(request, "已保存 / saved")
    return redirect("trading_contract", c.pk)


@roles(*STAFF)
def contract(request, pk):
    c = get_object_or_404(_contracts(request.user), pk=pk)
    accounts = scoped(request.user, SupplyAccount.objects.filter(trading_enrolments__contract=c))
    flags = Flag.objects.filter(code="TRADING_DISCOUNT", bill__account__in=accounts) \
        .select_related("bill", "bill__account").order_by("-bill__period_end")
    return render(request, "web/programs/trading/contract.html", {
        "c": c, "accounts": accounts.order_by("account_no"), "flags": flags[:200],
        "flag_count": flags.count(), "can_change": can_change(request.user)})


@require_POST
@roles(*CLERKS)
def enrol(request, pk):
    c = get_object_or_404(_contracts(request.user), pk=pk)
    nos = [n for n in (request.POST.get("account_nos") or "").replace(",", " ").split() if n]
    try:
        accounts = list(scoped(request.user, SupplyAccount.objects.filter(account_no__in=nos)))
        missing = sorted(set(nos) - {a.account_no for a in accounts})
        if missing or not nos:
            raise DomainError(f"户号不存在或不在您的范围内：{', '.join(missing[:5])}",
                              f"unknown or outside your scope: {', '.join(missing[:5])}")
        n = services.enrol(request.user, c, accounts,
                           reason=params.text(request.POST, "reason", 400))
    except DomainError as exc:
        _error(request, exc)
    else:
        messages.success(request, f"已参加 {n} 户 / {n} enrolled")
    return redirect("trading_contract", c.pk)


@require_POST
@roles(*CLERKS)
def withdraw(request, pk):
    c = get_object_or_404(_contracts(request.user), pk=pk)
    account = get_object_or_404(scoped(request.user, SupplyAccount.objects.filter(
        trading_enrolments__contract=c)), account_no=params.text(request.POST, "account_no", 40))
    try:
        services.withdraw(request.user, c, account, reason=params.text(request.POST, "reason",
                                                                        400))
    except DomainError as exc:
        _error(request, exc)
    else:
        messages.success(request, "已退出 / withdrawn")
    return redirect("trading_contract", c.pk)


urlpatterns = [
    path("programs/trading/", trading, name="trading"),
    path("programs/trading/contracts/save/", contract_save, name="trading_contract_save"),
    path("programs/trading/contracts/<int:pk>/", contract, name="trading_contract"),
    path("programs/trading/contracts/<int:pk>/enrol/", enrol, name="trading_enrol"),
    path("programs/trading/contracts/<int:pk>/withdraw/", withdraw, name="trading_withdraw"),
]
HUB = [
    ("trading", "市场化交易", "Market trading", EVERYONE),
]
