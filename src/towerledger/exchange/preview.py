"""What an import would change (导入预览), told before anything is committed.

A kind that can say so registers ``snapshot(records) -> {key: {field: text}}``: the stored
state of the records the file names (and of what storing it would remove, e.g. an account's
splits the file no longer lists), by business key — never a database id, so the answer is
the same whatever order the rows come in. ``run_import(preview=True)`` takes the snapshot,
runs the kind's own store inside a transaction it then rolls back, takes it again, and
compares: the preview is what the store really does, not a second opinion of it.
"""

from dataclasses import dataclass, field

# a field going from empty to a date ends the record (服务终止, 拆站)
ENDING_FIELDS = ("end_date", "decommission_date")


@dataclass
class Change:
    key: tuple
    fields: list[tuple[str, str, str]]   # (field, before, after)

    @property
    def label(self) -> str:
        return " / ".join(str(k) for k in self.key)


@dataclass
class Preview:
    new: list[Change] = field(default_factory=list)       # fields: (field, "", after)
    changed: list[Change] = field(default_factory=list)
    ended: list[Change] = field(default_factory=list)     # also changed: gets an end date
    removed: list[Change] = field(default_factory=list)
    unchanged: int = 0

    @property
    def empty(self) -> bool:
        return not (self.new or self.changed or self.removed)

    def as_dict(self) -> dict:
        """JSON-ready, for the import job page and the API."""
        def rows(changes):
            return [{"key": list(c.key), "fields": [list(f) for f in c.fields]}
                    for c in changes]
        return {"new": rows(self.new), "changed": rows(self.changed),
                "ended": rows(self.ended), "removed": rows(self.removed),
                "unchanged": self.unchanged}


def text(value) -> str:
    """A stored value as the preview shows it (and compares it)."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "是" if value else "否"
    return str(value)


def compare(before: dict, after: dict) -> Preview:
    """The difference of two snapshots, sorted by key."""
    out = Preview()
    for key in sorted(set(before) | set(after), key=lambda k: tuple(map(str, k))):
        old, new = before.get(key), after.get(key)
        if old is None:
            out.new.append(Change(key, [(f, "", v) for f, v in new.items() if v != ""]))
        elif new is None:
            out.removed.append(Change(key, [(f, v, "") for f, v in old.items() if v != ""]))
        else:
            diff = [(f, old.get(f, ""), v) for f, v in new.items() if old.get(f, "") != v]
            if not diff:
                out.unchanged += 1
                continue
            out.changed.append(Change(key, diff))
            if any(f in ENDING_FIELDS and was == "" and now != "" for f, was, now in diff):
                out.ended.append(out.changed[-1])
    return out
