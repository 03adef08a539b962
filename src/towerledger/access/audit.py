"""Write the audit log. Every service that changes state calls ``record``."""

import json
from datetime import date

from django.core.serializers.json import DjangoJSONEncoder

from towerledger.access.models import AuditEntry
from towerledger.db.bulk import copy_insert

_SCALARS = (str, int, bool, type(None))


def _plain(value):
    """``value`` as JSON would read it back (dates as ISO text, Decimals as strings …).

    A flat dict of text, numbers and dates — what bulk paths log, tens of thousands at a
    time — is converted directly, with the same result as the JSON round trip."""
    if value is None:
        return None
    if type(value) is dict and all(type(k) is str and (type(v) in _SCALARS or type(v) is date)
                                   for k, v in value.items()):
        return {k: v.isoformat() if type(v) is date else v for k, v in value.items()}
    return json.loads(json.dumps(value, cls=DjangoJSONEncoder, default=str))


def record(user, action, object_type, object_key="", before=None, after=None, reason=""):
    """Append one entry; ``user`` None means the system (a CLI run without --user, a job)."""
    return AuditEntry.objects.create(
        user=user if getattr(user, "pk", None) else None,
        action=action,
        object_type=object_type,
        object_key=str(object_key)[:120],
        before=_plain(before),
        after=_plain(after),
        reason=reason or "",
    )


def record_many(user, action, object_type, entries, reason=""):
    """Append one entry per ``(object_key, before, after)`` in one set-wise insert (COPY on
    PostgreSQL: a file's worth of payments is tens of thousands of entries)."""
    uid = user.pk if getattr(user, "pk", None) else None
    copy_insert(AuditEntry, [
        {"user_id": uid, "action": action, "object_type": object_type,
         "object_key": str(key)[:120], "before": _plain(before), "after": _plain(after),
         "reason": reason or ""}
        for key, before, after in entries])
