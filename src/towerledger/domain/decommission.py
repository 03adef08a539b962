"""拆站 / 服务终止 (DOMAIN.md §7): a site's decommissioning is a checklist computed from facts.

``checklist(facts)`` says, step by step, what is still open and why (中文, English); the
site may be archived only when every step before ARCHIVE is done (``may_archive``). Pure:
the facts are plain values the decommission app loads from the ledger.
"""

from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal

REQUEST, TENANCIES, READINGS, BILLS, ACCOUNTS, RENT, ARCHIVE = (
    "REQUEST", "TENANCIES", "READINGS", "BILLS", "ACCOUNTS", "RENT", "ARCHIVE")
STEPS = (REQUEST, TENANCIES, READINGS, BILLS, ACCOUNTS, RENT, ARCHIVE)
STEP_LABELS = {
    REQUEST: ("拆站申请", "Request"),
    TENANCIES: ("租户服务终止", "Operators' tenancies ended"),
    READINGS: ("最终抄表", "Final meter readings"),
    BILLS: ("最终缴费单已到并结清", "Final bills received and settled"),
    ACCOUNTS: ("电表户号销户", "Supply accounts closed"),
    RENT: ("场租合同终止", "Rent contract terminated"),
    ARCHIVE: ("站址归档", "Site archived"),
}

Text = tuple[str, str]   # (中文, English)


@dataclass(frozen=True)
class TenancyFact:
    tenancy_id: str
    operator: str
    start_date: date
    end_date: date | None


@dataclass(frozen=True)
class AccountFact:
    """One supply account feeding the site, with what the case recorded and its bills."""

    account_no: str
    final_reading: Decimal | None = None
    closed_on: date | None = None
    covered_to: date | None = None     # last day covered by a paid and allocated bill
    unpaid: tuple[str, ...] = ()        # bill numbers not paid (not void)
    unallocated: tuple[str, ...] = ()   # paid, with no allocation lines
    lump_sum: bool = False              # 包干: no meter, no reading needed
    shared: bool = False                # also feeds other sites
    detached: bool = False              # no longer feeds this site (its split moved away)


@dataclass(frozen=True)
class CaseFacts:
    site_code: str
    planned_date: date                    # the decommission date: the last day served
    requested_by: str = ""
    reason: str = ""
    tenancies: tuple[TenancyFact, ...] = ()
    accounts: tuple[AccountFact, ...] = ()
    rent_due: tuple[Text, ...] = ()       # rent.services.open_items: rent still due
    rent_open: tuple[str, ...] = ()       # contracts neither terminated nor ended by the date
    archived: bool = False


@dataclass(frozen=True)
class Step:
    code: str
    done: bool
    open: tuple[Text, ...] = field(default_factory=tuple)

    @property
    def label(self) -> Text:
        return STEP_LABELS[self.code]


def _tenancies(f: CaseFacts) -> list[Text]:
    out = []
    for t in f.tenancies:
        if t.start_date > f.planned_date:
            out.append((f"租户服务 {t.tenancy_id}（{t.operator}）起租日期 {t.start_date} "
                        f"晚于拆站日期 {f.planned_date}，请撤销该订单",
                        f"tenancy {t.tenancy_id} ({t.operator}) starts {t.start_date}, after "
                        f"the decommission date {f.planned_date}: withdraw it"))
        elif t.end_date is None or t.end_date > f.planned_date:
            until = "未终止" if t.end_date is None else f"终止于 {t.end_date}"
            until_en = "not ended" if t.end_date is None else f"ends {t.end_date}"
            out.append((f"租户服务 {t.tenancy_id}（{t.operator}）{until}，应不晚于 "
                        f"{f.planned_date} 终止",
                        f"tenancy {t.tenancy_id} ({t.operator}) {until_en}; it must end by "
                        f"{f.planned_date}"))
    return out


def _readings(f: CaseFacts) -> list[Text]:
    return [(f"电表户号 {a.account_no} 未录入最终读数",
             f"account {a.account_no} has no final meter reading")
            for a in f.accounts if not a.lump_sum and not a.detached
            and a.final_reading is None]


def bill_items(f: CaseFacts) -> list[Text]:
    """Bills still due: unpaid or unallocated bills, and accounts whose paid bills do not
    yet cover the period up to the decommission date."""
    out = []
    for a in f.accounts:
        for no in a.unpaid:
            out.append((f"电表户号 {a.account_no} 的缴费单 {no} 尚未支付",
                        f"bill {no} of account {a.account_no} is not paid"))
        for no in a.unallocated:
            out.append((f"电表户号 {a.account_no} 的缴费单 {no} 已支付但未分摊",
                        f"bill {no} of account {a.account_no} is paid but not allocated"))
        if a.covered_to is None or a.covered_to < f.planned_date:
            since = "尚无已结清的缴费单" if a.covered_to is None else \
                f"已结清的缴费单只覆盖到 {a.covered_to}"
            since_en = "no settled bill yet" if a.covered_to is None else \
                f"settled bills cover up to {a.covered_to} only"
            out.append((f"电表户号 {a.account_no}：{since}，最终缴费单须覆盖到 "
                        f"{f.planned_date}",
                        f"account {a.account_no}: {since_en}; the final bill must cover up "
                        f"to {f.planned_date}"))
    return out


def _accounts(f: CaseFacts) -> list[Text]:
    """Each account closed — or, for an account that also feeds other sites, this site's
    split moved away (accounts import): closing it would cut the others off."""
    out = []
    for a in f.accounts:
        if a.closed_on is not None or a.detached:
            continue
        if a.shared:
            out.append((f"电表户号 {a.account_no} 还为其他站址供电：请通过电表户号导入移除本站的分摊比例",
                        f"account {a.account_no} also feeds other sites: remove this site's "
                        "split through the accounts import"))
        else:
            out.append((f"电表户号 {a.account_no} 未销户", f"account {a.account_no} is not closed"))
    return out


def _rent(f: CaseFacts) -> list[Text]:
    return [*f.rent_due, *((f"场租合同 {c} 未终止", f"rent contract {c} is not terminated")
                           for c in f.rent_open)]


def checklist(f: CaseFacts) -> list[Step]:
    """Every step with what is still open (an empty tuple: done)."""
    steps = [Step(REQUEST, True)]
    for code, rule in ((TENANCIES, _tenancies), (READINGS, _readings), (BILLS, bill_items),
                       (ACCOUNTS, _accounts), (RENT, _rent)):
        items = tuple(rule(f))
        steps.append(Step(code, not items, items))
    if f.archived:
        steps.append(Step(ARCHIVE, True))
    else:
        before = sum(len(s.open) for s in steps)
        steps.append(Step(ARCHIVE, False, ((
            f"尚有 {before} 项未完成，完成后方可归档" if before else "可以归档",
            f"{before} item(s) still open before the site can be archived" if before
            else "ready to archive"),)))
    return steps


def blockers(f: CaseFacts) -> list[Text]:
    """What stands between the site and its archive (all open items before ARCHIVE)."""
    return [item for s in checklist(f) if s.code != ARCHIVE for item in s.open]


def may_archive(f: CaseFacts) -> bool:
    return not blockers(f)


def archived_row_allowed(decommission_date: date | None, end_date: date | None) -> bool:
    """An import row for a tenancy on an archived site is allowed only when it ends the
    tenancy by the decommission date (a fix, never a new allocation)."""
    return end_date is not None and (decommission_date is None or end_date <= decommission_date)


SITE_ARCHIVED = "SITE_ARCHIVED"


def archived_finding(period_end: date, sites: list[tuple[str, date | None]], severity: str):
    """A bill whose account feeds archived sites (``(site_code, decommission date)``) for days
    after their decommission date: a SITE_ARCHIVED finding (never silently allocated), or
    None. A bill that ends by the date is a late final bill, judged like any other."""
    from towerledger.domain.audits import Finding

    hit = sorted((code, day) for code, day in sites if day is None or period_end > day)
    if not hit:
        return None
    codes = ", ".join(code for code, _ in hit)
    return Finding(SITE_ARCHIVED, severity,
                   f"站址 {codes} 已归档（拆站日期 {hit[0][1] or '—'}），缴费单期间在其后，不分摊",
                   f"site {codes} is archived (decommissioned {hit[0][1] or '—'}); the bill "
                   "runs past that date and is not allocated",
                   {"sites": [code for code, _ in hit],
                    "decommission_date": hit[0][1].isoformat() if hit[0][1] else None})
