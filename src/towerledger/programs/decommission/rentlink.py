"""What the rent program (programs.rent) says about a site: rent still due, contracts not
yet terminated, and the termination itself. Read lazily: the decommissioning works the same
on a ledger without rent contracts."""

from datetime import date

from django.apps import apps


def _rent():
    if not apps.is_installed("towerledger.programs.rent"):
        return None
    try:
        from towerledger.programs.rent import models, services
    except ImportError:          # the rent program has not landed (yet)
        return None
    if not hasattr(services, "open_items") or not hasattr(models, "RentContract"):
        return None
    return models, services


def available() -> bool:
    return _rent() is not None


def rent_due(site_id) -> list[tuple[str, str]]:
    rent = _rent()
    return list(rent[1].open_items(site_id)) if rent else []


def open_contracts(site_id, on: date) -> list[str]:
    """Contracts of the site still running after ``on`` (not terminated, not ended)."""
    rent = _rent()
    if not rent:
        return []
    qs = rent[0].RentContract.objects.filter(site_id=site_id, end_date__gt=on,
                                             terminated_on__isnull=True)
    return [str(getattr(c, "contract_no", c.pk)) for c in qs.order_by("pk")]


def terminate(site_id, on: date, user, reason: str) -> int:
    """The rent program's termination (last payment prorated); its refusal (a ValueError
    with zh / en) becomes ours."""
    from towerledger.domain.errors import DomainError

    rent = _rent()
    if not rent:
        return 0
    try:
        return rent[1].terminate_contracts(site_id, on, user, reason)
    except ValueError as exc:
        raise DomainError(getattr(exc, "zh", str(exc)), getattr(exc, "en", str(exc))) from None


def contract_site_ids():
    """Site ids with a rent contract (a values queryset), or None without the rent app."""
    rent = _rent()
    return rent[0].RentContract.objects.values("site_id") if rent else None
