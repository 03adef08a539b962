"""The scope's semi-join for paths that fan out (access.scope._semi_join, issue 18: the
bills list, audit queue and home page of a city clerk at province scale) narrows to
exactly the rows the plain ``pk IN`` (the path joined from every row) gives, for every
model whose path fans out, every role and both cities."""

from django.apps import apps
from django.db.models import Q

from tests.web.test_home_todo import month_of_work  # noqa: F401
from towerledger.access import scope
from towerledger.bills.models import Bill, Flag


def test_the_semi_join_selects_what_the_plain_scope_selects(month_of_work, users):  # noqa: F811
    assert Bill.objects.exists() and Flag.objects.exists()
    seen = 0
    for label in sorted(scope.FAN_OUT):
        model = apps.get_model(label)
        for name, user in users.items():
            q = scope.scope_filter(user, label)
            if not q:   # everything or nothing: no narrowing to compare
                continue
            want = set(model._base_manager.filter(
                pk__in=model._base_manager.filter(q).values("pk")).values_list("pk", flat=True))
            got = set(scope.scoped(user, model._base_manager.all()).values_list("pk", flat=True))
            assert got == want, (label, name)
            seen += len(got)
            semi = scope._semi_join(model, q)
            if label in ("bills.bill", "bills.flag") and name.startswith("clerk"):
                assert semi is not None, (label, name)   # the fast path is the one taken
    assert seen
    # more than one lookup keeps the plain form; a lookup that fans out at once by the
    # reverse side of a foreign key asks the related rows' key (the splits' account_id),
    # as the bills' does past their account: no join of the accounts to their splits
    assert scope._semi_join(Bill, Q(account__splits__site__county__city=1) & Q(pk=1)) is None
    for model, path, inner in (
            (apps.get_model("sites.supplyaccount"), "splits__site__county__city",
             "sites_accountsite"),
            (Bill, "account__splits__site__county__city", "sites_accountsite"),
            (apps.get_model("sites.site"), "tenancies__operator", "sites_tenancy")):
        sql = str(model._base_manager.filter(scope._semi_join(model, Q(**{path: 1})))
                  .order_by().query)
        subquery = sql.split(" IN (SELECT ", 1)[1]
        assert "sites_supplyaccount" not in subquery and inner in subquery, (path, sql)
