"""Lines' explanations as their readers see them: whole, in both languages.

An allocation line stores only its own part of the explanation (``LineTrace``, marked
``{"v": 2}``) and the part its bill's site shares once (``BillSiteTrace``); its figures are
its own columns. ``traces(lines)`` puts them together again for a page of lines in two
queries (``domain.explain.expand``). Older and hand-written explanations (adjustments,
refunds, the programs' lines) are stored whole and come back as they are.
"""

from towerledger.domain.explain import VERSION, expand
from towerledger.settlement.models import BillSiteTrace, LineTrace


def traces(lines) -> dict[int, dict]:
    """{line pk: whole trace} of ``lines`` (Line objects); lines without one are absent."""
    lines = [ln for ln in lines if ln.pk]
    stored = dict(LineTrace.objects.filter(line_id__in=[ln.pk for ln in lines])
                  .values_list("line_id", "trace"))
    return whole(stored, [(ln.pk, ln.bill_id, ln.site_id, ln.figures()) for ln in lines])


def whole(stored: dict[int, dict], rows) -> dict[int, dict]:
    """{pk: whole trace} from stored traces and ``rows`` of (pk, bill_id, site_id, figures)."""
    wanted = {(bill, site) for pk, bill, site, _ in rows
              if (stored.get(pk) or {}).get("v") == VERSION}
    sites = {}
    if wanted:
        bills = {b for b, _ in wanted}
        for bill, site, trace in BillSiteTrace.objects.filter(bill_id__in=bills).values_list(
                "bill_id", "site_id", "trace"):
            if (bill, site) in wanted:
                sites[(bill, site)] = trace
    out = {}
    for pk, bill, site, figures in rows:
        t = stored.get(pk)
        if t is None:
            continue
        if t.get("v") == VERSION and (bill, site) in sites:
            t = expand(sites[(bill, site)], t, figures)
        out[pk] = t
    return out
