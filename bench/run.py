"""make bench: a synthetic province through every stage, timed, figures to bench/RESULTS.md.

Every stage runs as the user would run it — the ``towerledger`` command in its own process
against a fresh database — so the figures include start-up, parsing, validation, audit
and the database round trips. Wall time and peak memory (max RSS) are measured per process.

Stages (issue in brackets):
  generate                 synthetic province files                        [2]
  import sites, tenancies, accounts, rules (CSV, GBK accounts)             [2]  target < 60 s
  import sub-meter and smart-meter readings                                [3]
  import history bills (CSV), then 100,000 bills from one XLSX file        [3]  target < 30 s
  audit quality: recall per injected anomaly kind, WARN on clean bills     [3]  ≥ 95 %, ≤ 5 %
  allocate and push every paid bill (lines, postings), then check the books [4]  100k < 60 s
  deemed confirmation, statements, import 100,000 receipts, match them       [5]  < 30 s
  close last month; dashboard page p95 over 12 months of snapshots          [6]  < 60 s, 300 ms
  (PostgreSQL: VACUUM (ANALYZE) first, as autovacuum would; off on this machine)
Bills come in paid; in production each import allocates them at once (T+0). Here the
import stages run with TOWERLEDGER_ALLOCATE_ON_PAY=0 so intake and allocation are timed
apart; `towerledger allocate` then does exactly what the import would have done. Receipts
likewise: imported with TOWERLEDGER_MATCH_ON_IMPORT=0, then `towerledger match`.
The PostgreSQL run is the one the targets apply to; the SQLite run is reported beside it.

Floors (bench/floors.py): on PostgreSQL each heavy stage is followed, in the same run, by
what PostgreSQL itself needs to write the same rows into LIKE copies of the same tables
with the same indexes (imports: COPY; bulk stages: INSERT…SELECT and one UPDATE of the
changed rows; matching: one window-function INSERT…SELECT of the applications); the table
shows that floor and the stage's ratio to it. After the close, bench/pages.py times every
main page per role (p95, target < 300 ms).
"""

import argparse
import csv
import json
import os
import platform
import re
import shutil
import subprocess
import sys
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from floors import MATCH_SQL, Floors  # noqa: E402 — bench/ is not a package

# A throwaway database in development mode (no SECRET_KEY, plain HTTP for the dashboard
# timing), as every figure in bench/RESULTS.md so far was measured.
os.environ.setdefault("TOWERLEDGER_DEBUG", "1")
ROOT = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent
WORK = ROOT / "bench" / "work"
XLSX_BILLS = 100_000
MASTER_TARGET_S = 60
BILLS_TARGET_S = 30
ALLOCATE_TARGET_S = 60
MATCH_TARGET_S = 30
CLOSE_TARGET_S = 60
DASHBOARD_TARGET_S = 0.3
PAGE_TARGET_MS = 300
IMPORT_RATIO_TARGET = 5     # issue 18: imports ≤ 5× their COPY floor


@dataclass
class Stage:
    name: str
    seconds: float
    rows: int = 0
    max_rss_mb: float = 0.0
    target_s: float | None = None
    floor_s: float | None = None      # what PostgreSQL alone needs for the same rows
    floor_note: str = ""
    ratio_target: float | None = None
    work_s: float | None = None       # the command's own work, start-up aside (imports)

    @property
    def ratio(self) -> float | None:
        """Time over floor; for an import, its own work over the floor (the command's
        start-up — loading Python and Django, ~1 s whatever the file — is not import work)."""
        own = self.work_s if self.work_s is not None else self.seconds
        return own / self.floor_s if self.floor_s else None

    @property
    def rate(self) -> str:
        return f"{self.rows / self.seconds:,.0f}/s" if self.rows and self.seconds else ""


@dataclass
class Run:
    backend: str
    url: str
    stages: list[Stage] = field(default_factory=list)
    quality: dict | None = None
    floors: Floors | None = None
    pages: list[dict] | None = None
    pages_note: str = ""
    on_stage: object = None           # called with the run after each stage (partial reports)


def sh(args: list[str], env: dict, name: str, rows: int = 0, target: float | None = None,
       run: Run | None = None, floor: str | None = None, pre: tuple[str, ...] = (),
       replace: dict[str, str] | None = None, ratio_target: float | None = None) -> Stage:
    """Run one command, timing it; its output goes to bench/work/logs.

    With ``floor`` ("copy" or "insert") and a PostgreSQL run, what PostgreSQL itself needs
    for the rows the command wrote is measured right after it (bench/floors.py); ``pre``
    names the tables whose changed rows count too, ``replace`` SQL of our own per table."""
    floors = run.floors if run and floor else None
    mark = floors.mark(pre) if floors else None
    log = WORK / "logs" / f"{(run.backend + '-') if run else ''}{name.replace(' ', '_')}.log"
    log.parent.mkdir(parents=True, exist_ok=True)
    start = time.perf_counter()
    with log.open("w") as out:
        proc = subprocess.Popen(args, env=env, stdout=out, stderr=subprocess.STDOUT, cwd=ROOT)
        _, status, usage = os.wait4(proc.pid, 0)
    seconds = time.perf_counter() - start
    code = os.waitstatus_to_exitcode(status)
    if code != 0:
        sys.exit(f"bench: `{' '.join(map(str, args))}` failed ({code}); see {log}")
    stage = Stage(name, seconds, rows, usage.ru_maxrss / 1024, target,
                  ratio_target=ratio_target, work_s=_took(log))
    floor_text = ""
    if floors:
        f = floors.measure(mark, floor, replace)
        stage.floor_s, stage.floor_note = f.seconds, f.note
        floor_text = f"  floor {f.seconds:7.2f} s  ×{stage.ratio:5.1f}  ({f.note})"
    own = f" (own {stage.work_s:.1f} s)" if stage.work_s is not None else ""
    print(f"  {name:<42} {seconds:8.1f} s{own}  {stage.rate:>12}  {stage.max_rss_mb:6.0f} MB"
          f"{floor_text}", flush=True)
    if run:
        run.stages.append(stage)
        if run.on_stage:
            run.on_stage(run)
    return stage


IMPORT_TOOK = re.compile(r"用时 took ([0-9.]+) s")


def _took(log: Path) -> float | None:
    """The import's own time as `towerledger import` prints it last (None: no such line)."""
    found = IMPORT_TOOK.findall(log.read_text(encoding="utf-8", errors="replace"))
    return float(found[-1]) if found else None


def count_rows(path: Path) -> int:
    with path.open("rb") as f:
        return sum(1 for _ in f) - 1


def fresh_postgres(url: str, name: str) -> str:
    """A new empty database on the server of ``url``; returns its URL."""
    import psycopg

    base = url.rsplit("/", 1)[0]
    with psycopg.connect(url.replace("postgres://", "postgresql://"), autocommit=True) as c:
        c.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        c.execute(f'CREATE DATABASE "{name}"')
    return f"{base}/{name}"


def split_bills(months: list[Path], out: Path, n: int) -> tuple[list[Path], Path, Path]:
    """History CSVs, one XLSX of exactly ``n`` bills (the latest months), the rest CSV.

    The XLSX holds the last bills in time order so each bill's history is already stored
    when it is audited; what does not fit goes after it as a CSV."""
    from openpyxl import Workbook

    rows, header = [], None
    take = []
    for path in reversed(months):
        with path.open(encoding="utf-8", newline="") as f:
            r = csv.reader(f)
            header = next(r)
            month_rows = list(r)
        take.insert(0, (path, month_rows))
        if sum(len(m) for _, m in take) >= n:
            break
    history = [p for p in months if p not in {t[0] for t in take}]
    for _, m in take:
        rows.extend(m)
    xlsx_rows, rest = rows[:n], rows[n:]
    if len(xlsx_rows) < n:
        sys.exit(f"bench: only {len(xlsx_rows):,} bills generated; use more sites or months")
    wb = Workbook(write_only=True)
    ws = wb.create_sheet("缴费单")
    ws.append(header)
    for row in xlsx_rows:
        ws.append(row)
    xlsx = out / "bills.xlsx"
    wb.save(xlsx)
    rest_csv = out / "bills-rest.csv"
    with rest_csv.open("w", encoding="utf-8", newline="") as f:
        w = csv.writer(f)
        w.writerow(header)
        w.writerows(rest)
    return history, xlsx, rest_csv


QUALITY = """
import json, sys
from towerledger.cli import setup_django
setup_django()
from towerledger.synth.recall import measure
from towerledger.bills.models import Bill, Flag
from django.db.models import Count
q = measure(__import__('pathlib').Path(sys.argv[1]))
flags = dict(Flag.objects.values_list('code').annotate(n=Count('id')))
print(json.dumps({'recall': q.recall, 'clean_bills': q.clean_bills,
                  'clean_warned': q.clean_warned, 'clean_warn_by_rule': q.clean_warn_by_rule,
                  'bills': Bill.objects.count(), 'flags_by_rule': flags}))
"""


def run_backend(backend: str, url: str, files: dict, args) -> Run:
    run = Run(backend, url, on_stage=getattr(args, "on_stage", None))
    env = dict(os.environ, DATABASE_URL=url, TOWERLEDGER_DATA=str(WORK / "data"),
               TOWERLEDGER_ALLOCATE_ON_PAY="0", PYTHONPYCACHEPREFIX=str(WORK / "pycache"))
    # an installed product runs from compiled bytecode; a shell that forbids writing it
    # (PYTHONDONTWRITEBYTECODE) would make every command compile the project again
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    tl = str(BIN / "towerledger")
    targets = getattr(args, "targets", None) or {}
    print(f"\n{backend}: {url}", flush=True)
    sh([tl, "migrate"], env, "migrate", run=run)
    if backend == "PostgreSQL" and not args.no_floors:
        run.floors = Floors(url, str(WORK))
    master = []
    for kind in ("sites", "tenancies", "rules", "accounts"):
        path = files["master"][kind]
        org = ["--create-org"] if kind == "sites" else []  # a new province
        s = sh([tl, "import", kind, str(path), "--reason", "bench", *org], env, f"import {kind}",
               count_rows(path), run=run, floor="copy", target=targets.get("import"),
               ratio_target=IMPORT_RATIO_TARGET)
        if kind != "rules":
            master.append(s)
    total = Stage("sites + tenancies + accounts", sum(s.seconds for s in master),
                  sum(s.rows for s in master), target_s=targets.get("master", MASTER_TARGET_S),
                  ratio_target=IMPORT_RATIO_TARGET)
    if all(s.work_s is not None for s in master):
        total.work_s = sum(s.work_s for s in master)
    if run.floors:
        total.floor_s = sum(s.floor_s for s in master)
        total.floor_note = "the three COPY floors above"
    run.stages.append(total)
    for kind in ("submeter", "smartmeter"):
        for path in files[kind]:
            sh([tl, "import", kind, str(path), "--reason", "bench"], env,
               f"import {path.stem}", count_rows(path), run=run, floor="copy",
               target=targets.get("import"))
    for path in files["history"]:
        sh([tl, "import", "bills", str(path), "--reason", "bench"], env,
           f"import {path.stem} (CSV)", count_rows(path), run=run, floor="copy",
           target=targets.get("import"), ratio_target=IMPORT_RATIO_TARGET)
    if files.get("xlsx"):
        n = args.xlsx_bills
        sh([tl, "import", "bills", str(files["xlsx"]), "--reason", "bench"], env,
           f"import {n:,} bills (one XLSX), audited", n,
           BILLS_TARGET_S if n == XLSX_BILLS else None, run=run, floor="copy",
           ratio_target=IMPORT_RATIO_TARGET)
    if files.get("rest") and count_rows(files["rest"]):
        sh([tl, "import", "bills", str(files["rest"]), "--reason", "bench"], env,
           "import remaining bills (CSV)", count_rows(files["rest"]), run=run, floor="copy",
           ratio_target=IMPORT_RATIO_TARGET)
    if files.get("truth"):
        out = subprocess.run([sys.executable, "-c", QUALITY, str(files["truth"])], env=env,
                             capture_output=True, text=True, cwd=ROOT, check=True)
        run.quality = json.loads(out.stdout.strip().splitlines()[-1])
        bills = run.quality["bills"]
    else:
        bills = count_model(env, "towerledger.bills.models", "Bill")
    # allocation writes lines, traces, postings and marks the bills allocated
    s = sh([tl, "allocate"], env, f"allocate + push {bills:,} paid bills", bills, run=run,
           floor="insert", pre=("bills_bill",), target=targets.get("allocate"),
           ratio_target=targets.get("allocate_ratio"))
    if not targets:
        per = Stage("allocate + push, per 100,000 bills", s.seconds * 100_000 / bills,
                    100_000, s.max_rss_mb, ALLOCATE_TARGET_S)
        if s.floor_s:
            per.floor_s, per.floor_note = s.floor_s * 100_000 / bills, "the floor above, scaled"
        run.stages.append(per)
    sh([tl, "check"], env, "check the books", run=run, target=targets.get("check"))
    far = (datetime.now() + timedelta(days=60)).date().isoformat()
    lines = count_lines(env)
    sh([tl, "deadlines", "--date", far], env, f"deemed confirmation of {lines:,} lines",
       lines, run=run, floor="insert", pre=("settlement_line",),
       target=targets.get("deemed"))
    sh([tl, "statements", "--month", datetime.now().strftime("%Y-%m")], env,
       "issue the month's statements", run=run, floor="insert", pre=("settlement_line",),
       target=targets.get("statements"))
    receipts = WORK / "files" / f"receipts-{run.backend}.csv"
    out = subprocess.run([sys.executable, str(ROOT / "bench" / "receipts.py"), str(receipts),
                          str(args.receipts)], env=env, capture_output=True, text=True,
                         cwd=ROOT, check=True)
    n = int(out.stdout.strip().splitlines()[-1])
    # intake and matching timed apart, as allocation is: the import stores and posts the
    # receipts, `towerledger match` then does what the import would have done next
    sh([tl, "import", "receipts", str(receipts), "--reason", "bench"],
       dict(env, TOWERLEDGER_MATCH_ON_IMPORT="0"), f"import {n:,} receipts", n, run=run,
       floor="copy", target=targets.get("import"), ratio_target=IMPORT_RATIO_TARGET)
    sh([tl, "match"], env, f"match {n:,} receipts vs {lines:,} open lines", n,
       targets.get("match", MATCH_TARGET_S if args.receipts >= 100_000 else None), run=run,
       floor="insert", pre=("collection_receipt", "collection_statement"),
       replace={"collection_application": MATCH_SQL})
    sh([tl, "check"], env, "check the books after write-off", run=run,
       target=targets.get("check"))
    first_this = datetime.now().date().replace(day=1)
    last = (first_this - timedelta(days=1)).strftime("%Y-%m")
    sh([tl, "close", last], env, f"close {last} (deadlines, check, snapshots, lock)",
       target=targets.get("close", CLOSE_TARGET_S), run=run, floor="insert",
       pre=("settlement_line",))
    if run.floors:
        run.floors.close()
    if backend == "PostgreSQL":
        settle(run, url)
    out = subprocess.run([sys.executable, str(ROOT / "bench" / "dashboard.py"), "50"], env=env,
                         capture_output=True, text=True, cwd=ROOT, check=True)
    dash = json.loads(out.stdout.strip().splitlines()[-1])
    run.stages.append(Stage(f"dashboard page, p95 of {dash['n']} (p50 {dash['p50_ms']:.0f} ms)",
                            dash["p95_ms"] / 1000, target_s=DASHBOARD_TARGET_S))
    print(f"  dashboard p50 {dash['p50_ms']:.0f} ms, p95 {dash['p95_ms']:.0f} ms", flush=True)
    time_pages(run, env, getattr(args, "page_requests", 50))
    return run


def settle(run: Run, url: str):
    """What autovacuum does in production after bulk loads (autovacuum is off on this
    machine's PostgreSQL: .ci's conf.d): VACUUM (ANALYZE) every table, so the pages are
    timed on tables whose visibility map is set (index-only scans) and whose dead rows of
    the bulk stages are reclaimed, as a live database's are a few minutes after a stage.
    Timed and reported as a stage of its own."""
    import psycopg

    start = time.perf_counter()
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("VACUUM (ANALYZE)")
    seconds = time.perf_counter() - start
    run.stages.append(Stage("VACUUM (ANALYZE), as autovacuum would before the pages",
                            seconds))
    print(f"  {'VACUUM (ANALYZE) before the pages':<42} {seconds:8.1f} s", flush=True)


def time_pages(run: Run, env: dict, n: int = 50):
    """Every main page per role (bench/pages.py, another helper's script): p50 and p95."""
    script = ROOT / "bench" / "pages.py"
    if not script.exists():
        run.pages_note = "bench/pages.py is not there yet: pages per role not measured"
        print(f"  {run.pages_note}", flush=True)
        return
    log = WORK / "logs" / f"{run.backend}-pages.log"
    out = subprocess.run([sys.executable, str(script), str(n)], env=env, capture_output=True,
                         text=True, cwd=ROOT)
    log.write_text(out.stdout + out.stderr, encoding="utf-8")
    try:
        run.pages = json.loads(out.stdout.strip().splitlines()[-1])["pages"]
    except (IndexError, KeyError, ValueError):
        run.pages_note = f"bench/pages.py failed ({out.returncode}); see {log}"
        print(f"  {run.pages_note}", flush=True)
        return
    worst = max((p["p95_ms"] for p in run.pages), default=0)
    print(f"  pages: {len(run.pages)} page × role timings, worst p95 {worst:.0f} ms", flush=True)


def count_model(env, module: str, model: str) -> int:
    code = (f"from towerledger.cli import setup_django; setup_django(); "
            f"from {module} import {model}; print({model}.objects.count())")
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True,
                         cwd=ROOT, check=True)
    return int(out.stdout.strip().splitlines()[-1])


def count_lines(env) -> int:
    code = ("from towerledger.cli import setup_django; setup_django(); "
            "from towerledger.settlement.models import Line; "
            "print(Line.objects.filter(status='PUSHED').count())")
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True,
                         cwd=ROOT, check=True)
    return int(out.stdout.strip().splitlines()[-1])


def cpu_reference() -> float:
    """Seconds for a fixed pure-Python workload (exact fractions, decimals, dicts, text):
    the same code on the same machine type can run a third slower or faster from one VM
    to the next, and this figure says which kind of run a results file comes from."""
    from decimal import Decimal
    from fractions import Fraction

    start = time.perf_counter()
    acc, seen = Fraction(0), {}
    for i in range(1, 200_001):
        x = Fraction(i % 97 + 1, i % 31 + 7)
        acc += x * Fraction(3, 7)
        seen[f"S{i:07d}"] = str(Decimal(i) / Decimal(7))
    assert acc > 0 and len(seen) == 200_000
    return time.perf_counter() - start


def machine() -> str:
    cpu = next((ln.split(":", 1)[1].strip() for ln in Path("/proc/cpuinfo").read_text()
                .splitlines() if ln.startswith("model name")), platform.processor())
    mem = next((int(ln.split()[1]) // 1024 // 1024 for ln in Path("/proc/meminfo").read_text()
                .splitlines() if ln.startswith("MemTotal")), 0)
    pg = subprocess.run(["psql", "--version"], capture_output=True, text=True).stdout.strip()
    load = ", ".join(f"{x:.1f}" for x in os.getloadavg())
    return (f"{os.cpu_count()} × {cpu}, {mem} GB RAM, Python {platform.python_version()}, "
            f"{pg or 'PostgreSQL ?'}, SQLite {__import__('sqlite3').sqlite_version}; "
            f"load average at the end of the run {load}")


def report(runs: list[Run], gen: Stage, args) -> str:
    lines = [
        "# Benchmark results",
        "",
        f"`make bench` on {datetime.now(UTC):%Y-%m-%d %H:%M} UTC — "
        f"{args.sites:,} sites, {args.months} months of bills, seed {args.seed}.",
        "",
        f"Machine: {machine()}.",
        "",
        "Each figure is the wall time of the `towerledger` command a user would run "
        "(start-up included) against a fresh database; memory is the process's peak RSS. "
        "For an import, *own* is the import's own time as the command prints it (start-up "
        "— loading Python and Django, about a second whatever the file — aside), and its "
        "ratio to the floor is taken on that.",
        "",
        f"Generating the province files: {gen.seconds:.1f} s. CPU reference (a fixed "
        f"pure-Python workload; compare runs by it): {args.cpu_reference:.2f} s.",
        "",
    ]
    for run in runs:
        lines += [f"## {run.backend}", "", *stage_table(run)]
        q = run.quality
        if q:
            lines += [f"### Audit quality ({run.backend})", "",
                      f"{q['bills']:,} bills stored. Recall per injected anomaly kind "
                      "(target ≥ 95 %):", "", "| kind | caught | injected | recall |",
                      "|---|---:|---:|---:|"]
            for kind, (caught, injected) in sorted(q["recall"].items()):
                ok = "✅" if caught >= 0.95 * injected else "❌"
                lines.append(f"| {kind} | {caught:,} | {injected:,} | "
                             f"{100 * caught / injected:.1f} % {ok} |")
            rate = q["clean_warned"] / q["clean_bills"] if q["clean_bills"] else 0
            lines += ["", f"Clean bills with a WARN flag: {q['clean_warned']:,} of "
                      f"{q['clean_bills']:,} = {100 * rate:.2f} % (target ≤ 5 %) "
                      f"{'✅' if rate <= 0.05 else '❌'}", "",
                      "| rule | WARN on clean bills | all flags |", "|---|---:|---:|"]
            for code in sorted(set(q["clean_warn_by_rule"]) | set(q["flags_by_rule"])):
                lines.append(f"| {code} | {q['clean_warn_by_rule'].get(code, 0):,} | "
                             f"{q['flags_by_rule'].get(code, 0):,} |")
            lines.append("")
        lines += pages_table(run)
    return "\n".join(lines)


def _secs(x: float) -> str:
    return f"{x * 1000:.0f} ms" if x < 1 else f"{x:.1f} s"


def stage_table(run: Run) -> list[str]:
    """The stage table of one run: time, rate, memory, floor and ratio, targets; then what
    each floor wrote."""
    out = ["| stage | rows | time | own | rate | peak RSS | PostgreSQL floor | ratio | target |",
           "|---|---:|---:|---:|---:|---:|---:|---:|---|"]
    notes = []
    for s in run.stages:
        target = ""
        if s.target_s:
            ok = "✅" if s.seconds < s.target_s else "❌"
            limit = (f"{s.target_s * 1000:.0f} ms" if s.target_s < 1
                     else f"{s.target_s / 60:.0f} min" if s.target_s >= 120
                     else f"{s.target_s:.0f} s")
            target = f"< {limit} {ok}"
        floor = ratio = ""
        if s.floor_s:
            floor, ratio = _secs(s.floor_s), f"{s.ratio:.1f}×"
            if s.ratio_target:
                ok = "✅" if s.ratio <= s.ratio_target else "❌"
                target = "; ".join(x for x in (target, f"≤ {s.ratio_target:g}× floor {ok}") if x)
            notes.append(f"- {s.name}: {s.floor_note}")
        rss = f"{s.max_rss_mb:.0f} MB" if s.max_rss_mb else ""
        own = _secs(s.work_s) if s.work_s is not None else ""
        out.append(f"| {s.name} | {f'{s.rows:,}' if s.rows else ''} | {_secs(s.seconds)} | "
                   f"{own} | {s.rate} | {rss} | {floor} | {ratio} | {target} |")
    out.append("")
    if notes:
        out += ["What each floor wrote (rows per table; in one transaction, into LIKE copies "
                "with the same indexes, measured right after the stage in this run):", "",
                *notes, ""]
    return out


def pages_table(run: Run) -> list[str]:
    """p95 per main page (rows) and role (columns), target < 300 ms."""
    if run.pages is None:
        return [f"Pages per role: {run.pages_note}", ""] if run.pages_note else []
    roles = list(dict.fromkeys(p["role"] for p in run.pages))
    by = {(p["page"], p["role"]): p for p in run.pages}
    out = [f"### Pages per role ({run.backend}): p95 of {run.pages[0]['n'] if run.pages else 0}"
           f" requests, target < {PAGE_TARGET_MS} ms", "",
           "| page | " + " | ".join(roles) + " |", "|---|" + "---:|" * len(roles)]
    for page in dict.fromkeys(p["page"] for p in run.pages):
        cells = []
        for role in roles:
            p = by.get((page, role))
            cells.append("" if not p else f"{p['p95_ms']:.0f} ms "
                         f"{'✅' if p['p95_ms'] < PAGE_TARGET_MS else '❌'}")
        out.append(f"| {page} | " + " | ".join(cells) + " |")
    slow = sum(p["p95_ms"] >= PAGE_TARGET_MS for p in run.pages)
    out += ["", f"{len(run.pages) - slow} of {len(run.pages)} page × role p95 under "
            f"{PAGE_TARGET_MS} ms (empty: the role may not open the page).", ""]
    return out


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sites", type=int, default=100_000)
    ap.add_argument("--months", type=int, default=5,
                    help="months of bills (anomalies need two months of history; 'resent' and 'estimated' bills need three and four)")
    ap.add_argument("--smart-months", type=int, default=1)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--xlsx-bills", type=int,
                    help="bills in the one XLSX file (default 100,000 — the target is for "
                         "that many — or one per site below 100,000 sites)")
    ap.add_argument("--results", type=Path, default=ROOT / "bench" / "RESULTS.md")
    ap.add_argument("--backends", default="postgresql,sqlite")
    ap.add_argument("--receipts", type=int,
                    help="receipts to import and match (default 100,000, or one per site "
                         "below 100,000 sites)")
    ap.add_argument("--page-requests", type=int, default=50,
                    help="requests per page and role for the pages' p50/p95")
    ap.add_argument("--no-floors", action="store_true",
                    help="skip the PostgreSQL floors (bench/floors.py)")
    ap.add_argument("--work", type=Path, default=WORK, help="scratch directory (wiped)")
    ap.add_argument("--pg-db", default="towerledger_bench",
                    help="PostgreSQL database to (re)create for the run")
    args = ap.parse_args()
    args.xlsx_bills = args.xlsx_bills or min(XLSX_BILLS, args.sites)
    args.receipts = args.receipts or min(100_000, args.sites)
    args.cpu_reference = min(cpu_reference() for _ in range(3))
    globals()["WORK"] = args.work   # every stage writes under it

    work = args.work
    shutil.rmtree(work, ignore_errors=True)
    (work / "files").mkdir(parents=True)
    tl = str(BIN / "towerledger")
    print(f"bench: {args.sites:,} sites, {args.months} months → {work}", flush=True)
    gen = sh([tl, "generate", "--sites", str(args.sites), "--months", str(args.months),
              "--seed", str(args.seed), "--smart-months", str(args.smart_months),
              "--out", str(work / "files")], dict(os.environ), "generate")
    out = work / "files"
    months = sorted(out.glob("bills-????-??.csv"))
    history, xlsx, rest = split_bills(months, out, args.xlsx_bills)
    files = {
        "master": {k: out / f"{k}.csv" for k in ("sites", "tenancies", "rules", "accounts")},
        "submeter": sorted(out.glob("submeter-*.csv")),
        "smartmeter": [p for p in sorted(out.glob("smartmeter-*.csv")) if count_rows(p)],
        "history": history, "xlsx": xlsx, "rest": rest, "truth": out / "truth.csv",
    }
    runs = []
    pg_url = os.environ.get("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/postgres")
    for backend in args.backends.split(","):
        if backend == "postgresql":
            runs.append(run_backend("PostgreSQL", fresh_postgres(pg_url, args.pg_db),
                                    files, args))
        elif backend == "sqlite":
            db = work / "bench.sqlite3"
            db.unlink(missing_ok=True)
            runs.append(run_backend("SQLite", f"sqlite:///{db}", files, args))
    args.results.write_text(report(runs, gen, args) + "\n", encoding="utf-8")
    print(f"\nresults → {args.results}")


if __name__ == "__main__":
    main()
