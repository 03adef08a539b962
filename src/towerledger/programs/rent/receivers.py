"""The month close's receivers (analysis.close): the month's lump-sum site fee lines, then
the month's rent figures by city and the benchmark findings. Both idempotent."""


def closing(sender=None, month=None, user=None, as_of=None, **kw) -> dict:
    from towerledger.programs.rent.services import site_fee_lines

    return {"site_fee_lines": site_fee_lines(month, user, as_of)}


def snapshots(sender=None, month=None, user=None, as_of=None, **kw) -> dict:
    from towerledger.domain.months import month_end
    from towerledger.programs.rent.services import refresh_findings, store_month

    return {"cities": store_month(month, as_of),
            "findings": refresh_findings(month_end(month))}
