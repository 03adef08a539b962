"""Entry by hand (the page's forms): one outage or one run, parsed by the import's own
column parsers and judged by the same scope rule and checks as a file of one row."""

from django.db import transaction

from towerledger.access import audit
from towerledger.access.scope import may_import
from towerledger.exchange.registry import Importer, get_kind
from towerledger.importers import values as v
from towerledger.importers.schema import RowError
from towerledger.programs.generator.models import Outage, Run


def form_fields(kind_name: str) -> list[dict]:
    schema = get_kind(kind_name).schema
    return [{"name": f.name, "zh": f.zh, "required": f.required} for f in schema.fields]


def _enter(kind_name: str, user, values: dict, reason: str):
    kind = get_kind(kind_name)
    if not may_import(user):
        return [RowError(0, "", "您无权录入", "you may not enter records")], None
    record, errors = {"_row": 0}, []
    for f in kind.schema.fields:
        cell = (values.get(f.name) or "").strip()
        if not cell:
            record[f.name] = None
            if f.required:
                errors.append(RowError(0, f.name, f"{f.zh}：必填项为空",
                                       f"{f.name}: required value is empty"))
            continue
        try:
            record[f.name] = f.parse(cell)
        except v.BadValue as exc:
            errors.append(RowError(0, f.name, f"{f.zh}：{exc.zh}", f"{f.name}: {exc.en}"))
    if errors:
        return errors, None
    errors = kind.authorise([record], Importer(user)) if kind.authorise else []
    errors = errors or kind.check([record])
    if errors:
        return errors, None
    key = record[kind.schema.key[0]]
    with transaction.atomic():
        kind.store([record], user=user)
        audit.record(user, "generator.enter", kind_name, key,
                     after={k: str(x) for k, x in record.items() if k != "_row" and x is not None},
                     reason=reason)
    model = Outage if kind_name == "outages" else Run
    return [], model.objects.get(**{kind.schema.key[0]: key})


def enter_outage(user, values: dict, reason: str):
    return _enter("outages", user, values, reason)


def enter_run(user, values: dict, reason: str):
    return _enter("generator_runs", user, values, reason)
