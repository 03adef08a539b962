"""Market-trading services: contracts saved (upsert by contract number), accounts enrolled
and withdrawn, each with who, when and why; and the TRADING_DISCOUNT bill check the bills'
audit calls (registered in ``bills.audit.EXTRA_CHECKS`` by the app's ready())."""

from collections import defaultdict
from datetime import date
from decimal import Decimal

from django.db import transaction

from towerledger.access import audit
from towerledger.access.scope import can_admin, writable
from towerledger.db.bulk import OneOf
from towerledger.domain import trading as rules
from towerledger.domain.codes import SupplyMode
from towerledger.domain.errors import DomainError, ErrorCode
from towerledger.programs.trading.models import Contract, Enrolment
from towerledger.sites import terms as supply_terms
from towerledger.sites.models import SupplyAccount

OBJECT = "trading_contract"


def _need_reason(reason: str) -> str:
    if not (reason or "").strip():
        raise DomainError("请填写原因", "a reason is required")
    return reason.strip()


def as_dict(c: Contract) -> dict:
    return {"code": c.code, "year": c.year, "trader": c.trader, "start": c.start,
            "end": c.end, "catalogue_price": c.catalogue_price, "discount": c.discount,
            "traded_price": c.traded_price, "tolerance": c.tolerance}


def save_contract(user, *, code: str, province, year: int, trader: str, start: date,
                  end: date, catalogue_price: Decimal, discount: Decimal | None = None,
                  traded_price: Decimal | None = None,
                  tolerance: Decimal = rules.DEFAULT_TOLERANCE, note: str = "",
                  reason: str) -> Contract:
    """Create or change a contract (province admins only: a contract binds the province)."""
    reason = _need_reason(reason)
    if user is not None and not can_admin(user):
        raise DomainError("只有省管理员可以维护交易合同",
                          "only a province admin may change trading contracts",
                          ErrorCode.FORBIDDEN)
    rules.Terms(catalogue_price, discount, traded_price)      # validates
    if end < start:
        raise DomainError("合同结束日早于开始日", "the contract ends before it starts")
    if not (start.year <= year <= end.year):
        raise DomainError("合同年度须在合同期内", "the year must fall within the period")
    with transaction.atomic():
        old = Contract.objects.select_for_update().filter(code=code).first()
        before = as_dict(old) if old else None
        c, _ = Contract.objects.update_or_create(code=code, defaults=dict(
            province=province, year=year, trader=trader, start=start, end=end,
            catalogue_price=catalogue_price, discount=discount, traded_price=traded_price,
            tolerance=tolerance, note=note))
        if old is None:
            c.created_by = user if getattr(user, "pk", None) else None
            c.save(update_fields=["created_by"])
        audit.record(user, "trading.contract", OBJECT, code, before=before, after=as_dict(c),
                     reason=reason)
    return c


def overlapping(account_ids, contract: Contract) -> dict[int, str]:
    """Accounts already enrolled in another contract whose period overlaps ``contract``'s."""
    return dict(Enrolment.objects.filter(account_id__in=list(account_ids))
                .exclude(contract=contract)
                .filter(contract__start__lte=contract.end, contract__end__gte=contract.start)
                .values_list("account_id", "contract__code"))


def direct_during(book: supply_terms.Book, account_id: int, start: date, end: date) -> bool:
    """The account is direct supply on some day of ``start..end`` (dated supply terms: an
    account converted mid-contract may join it; its bills before the conversion are not
    checked for the discount)."""
    return any(t.supply_mode == SupplyMode.DIRECT
               for t in book.between(account_id, start, end))


def enrol(user, contract: Contract, accounts: list[SupplyAccount], *, reason: str) -> int:
    """Enrol direct accounts (in the user's scope) in a contract; returns how many were
    new. An account already in an overlapping contract is refused."""
    reason = _need_reason(reason)
    ids = [a.pk for a in accounts]
    if user is not None and writable(user, SupplyAccount.objects.filter(pk__in=ids)) \
            .count() != len(set(ids)):
        raise DomainError("有户号不在您的范围内", "an account is outside your scope",
                          ErrorCode.FORBIDDEN)
    book = supply_terms.load(ids)
    not_direct = [a.account_no for a in accounts
                  if not direct_during(book, a.pk, contract.start, contract.end)]
    if not_direct:
        raise DomainError(f"只有直供电户号可以参加市场化交易：{', '.join(not_direct[:5])}",
                          f"only direct accounts may be enrolled: {', '.join(not_direct[:5])}")
    with transaction.atomic():
        clash = overlapping(ids, contract)
        if clash:
            nos = dict(SupplyAccount.objects.filter(pk__in=clash).values_list("pk",
                                                                              "account_no"))
            text = ", ".join(f"{nos[a]}→{c}" for a, c in list(clash.items())[:5])
            raise DomainError(f"户号已参加期间重叠的合同：{text}",
                              f"accounts already in an overlapping contract: {text}",
                              ErrorCode.CONFLICT)
        have = set(Enrolment.objects.filter(contract=contract, account_id__in=ids)
                   .values_list("account_id", flat=True))
        new = [Enrolment(contract=contract, account_id=a) for a in dict.fromkeys(ids)
               if a not in have]
        Enrolment.objects.bulk_create(new)
        audit.record(user, "trading.enrol", OBJECT, contract.code,
                     after={"accounts": [a.account_no for a in accounts
                                         if a.pk not in have]}, reason=reason)
    return len(new)


def withdraw(user, contract: Contract, account: SupplyAccount, *, reason: str) -> None:
    reason = _need_reason(reason)
    if user is not None and not writable(user, SupplyAccount.objects.filter(
            pk=account.pk)).exists():
        raise DomainError("户号不在您的范围内", "the account is outside your scope",
                          ErrorCode.FORBIDDEN)
    with transaction.atomic():
        Enrolment.objects.filter(contract=contract, account=account).delete()
        audit.record(user, "trading.withdraw", OBJECT, contract.code,
                     before={"account": account.account_no}, reason=reason)


# ---- the bill check ------------------------------------------------------------------------

def check_bills(bills: list[dict], rules_by_account: dict) -> dict:
    """TRADING_DISCOUNT on the bills of enrolled accounts whose period ends within their
    contract's period: billed unit price above the traded price beyond the contract's
    tolerance (one query for the batch's enrolments); only bills judged as direct supply
    (the account's dated terms on the bill's day, set by the bills' audit)."""
    accounts = {b["account_id"] for b in bills}
    book = None if all("terms" in b for b in bills) else supply_terms.load(accounts)
    contracts = defaultdict(list)
    # one array parameter on PostgreSQL (a batch is up to 25,000 accounts), not one each
    for e in Enrolment.objects.filter(OneOf("account_id", accounts)).select_related("contract"):
        contracts[e.account_id].append(e.contract)
    out = {}
    for b in bills:
        config = rules_by_account.get(b["account_id"], {}).get(rules.CODE)
        if config is None or not config.enabled:
            continue
        terms = b["terms"] if book is None else book.for_bill(b)
        if terms.supply_mode != SupplyMode.DIRECT:
            continue          # a resupply bill (before the conversion): no traded price
        for c in sorted(contracts.get(b["account_id"], ()), key=lambda c: c.code):
            if not rules.in_period(b["period_start"], b["period_end"], c.start, c.end):
                continue
            price = rules.unit_price_of(b["unit_price"], b["amount"], b["kwh"])
            finding = rules.check_bill(price, c.terms, c.code, c.tolerance, config.severity)
            if finding:
                out[b["pk"]] = [finding]
            break
    return out
