"""make bench-national: a national month (2,000,000 sites) through every stage on one
PostgreSQL, each stage beside its PostgreSQL floor; figures to bench/RESULTS-national.md.

The province files come from ``towerledger generate --months 1 --smart-months 0`` (one
month of bills; smart-meter readings live outside the ledger database, see
docs/meters.md); the stages are bench/run.py's own (run_backend: master data, sub-meter
readings and the month's bills imported as CSV, allocate + push, deemed confirmation,
statements, receipts imported then matched, the close, the dashboard and every main page
per role), each followed by its floor (bench/floors.py). Targets (issue 18): every stage
under 10 minutes, the allocation ≤ 3× its floor, the dashboard and pages p95 < 300 ms.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/postgres python bench/national.py \\
        [--sites 2000000] [--pg-db towerledger_national] [--results bench/RESULTS-national.md]

A smaller ``--sites`` checks the harness end to end; its report says so on its first line and
adds a linear extrapolation of each stage to 2,000,000 sites (an estimate, not a figure).
"""

import argparse
import os
import shutil
import sys
from datetime import UTC, datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import run as bench  # noqa: E402 — bench/ is not a package

NATIONAL = 2_000_000
STAGE_TARGET_S = 600         # every stage under 10 minutes
ALLOCATE_RATIO_TARGET = 3    # the allocation ≤ 3× its floor


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sites", type=int, default=NATIONAL)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--receipts", type=int, help="receipts to import and match (default one "
                                                 "per site, as `make bench`)")
    ap.add_argument("--results", type=Path, default=bench.ROOT / "bench" / "RESULTS-national.md")
    ap.add_argument("--work", type=Path, default=bench.ROOT / "bench" / "work" / "national",
                    help="scratch directory (wiped)")
    ap.add_argument("--pg-db", default="towerledger_national",
                    help="PostgreSQL database to (re)create for the run")
    ap.add_argument("--no-floors", action="store_true")
    ap.add_argument("--page-requests", type=int, default=50,
                    help="requests per page and role for the p95 (bench/pages.py)")
    args = ap.parse_args()
    args.receipts = args.receipts or args.sites
    args.months, args.xlsx_bills = 1, 0
    args.targets = {k: STAGE_TARGET_S for k in ("import", "allocate", "check", "deemed",
                                                "statements", "match", "close")}
    args.targets |= {"master": None, "allocate_ratio": ALLOCATE_RATIO_TARGET}
    args.cpu_reference = min(bench.cpu_reference() for _ in range(3))
    bench.WORK = args.work   # every stage logs under it

    shutil.rmtree(args.work, ignore_errors=True)
    out = args.work / "files"
    out.mkdir(parents=True)
    tl = str(bench.BIN / "towerledger")
    print(f"bench-national: {args.sites:,} sites, one month → {args.work}", flush=True)
    gen = bench.sh([tl, "generate", "--sites", str(args.sites), "--months", "1",
                    "--smart-months", "0", "--seed", str(args.seed), "--out", str(out)],
                   dict(os.environ), "generate", target=STAGE_TARGET_S)
    files = {
        "master": {k: out / f"{k}.csv" for k in ("sites", "tenancies", "rules", "accounts")},
        "submeter": sorted(out.glob("submeter-*.csv")),
        "smartmeter": [],
        "history": sorted(out.glob("bills-????-??.csv")),   # the month's bills, one CSV
    }
    pg_url = os.environ.get("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/postgres")
    # the report is rewritten after every stage: a run stopped part way keeps its figures
    args.on_stage = lambda run: args.results.write_text(
        report(run, gen, args, partial=True) + "\n", encoding="utf-8")
    run = bench.run_backend("PostgreSQL", bench.fresh_postgres(pg_url, args.pg_db), files, args)
    args.results.write_text(report(run, gen, args) + "\n", encoding="utf-8")
    print(f"\nresults → {args.results}")


def report(run: bench.Run, gen: bench.Stage, args, partial: bool = False) -> str:
    small = args.sites < NATIONAL
    title = "# National benchmark results"
    lines = [title, ""]
    if partial:
        lines += [f"**Partial: the run was still going (or stopped) after "
                  f"“{run.stages[-1].name}”.**", ""]
    if small:
        lines += [f"**Not the national run: a {args.sites:,}-site verification run of the "
                  f"harness** (`python bench/national.py --sites {args.sites}`). The figures "
                  f"are for {args.sites:,} sites; the last column scales each stage linearly "
                  f"to {NATIONAL:,} sites (× {NATIONAL / args.sites:,.0f}) — an estimate, not "
                  "a measurement; `make bench-national` runs the real size.", ""]
    lines += [
        f"`bench/national.py` on {datetime.now(UTC):%Y-%m-%d %H:%M} UTC — {args.sites:,} "
        f"sites, one month of bills, {args.receipts:,} receipts requested, seed {args.seed}, "
        "one PostgreSQL database.", "",
        f"Machine: {bench.machine()}. CPU reference (a fixed pure-Python workload; compare "
        f"runs by it): {args.cpu_reference:.2f} s.", "",
        f"Generating the files: {gen.seconds:.1f} s, peak RSS {gen.max_rss_mb:,.0f} MB.", "",
        "Targets (issue 18): every stage under 10 minutes; the allocation ≤ 3× its floor "
        "(what PostgreSQL itself needs to write the same lines, traces and journal rows, "
        "measured right after it in this run); the dashboard and every page p95 < 300 ms.",
        "",
    ]
    table = bench.stage_table(run)
    if small:
        k = NATIONAL / args.sites
        by_name = {s.name: s for s in run.stages}
        for i, row in enumerate(table):
            if i == 0:
                table[i] = row + " linear to 2M (estimate) |"
            elif i == 1:
                table[i] = row + "---:|"
            elif row.startswith("| "):
                s = by_name.get(row[2:].split(" | ", 1)[0])
                est = ""
                if s and s.name != "migrate" and s.seconds >= 1:
                    x = s.seconds * k
                    est = f"{x / 60:.0f} min" if x >= 120 else f"{x:.0f} s"
                table[i] = row + f" {est} |"
    lines += ["## PostgreSQL", "", *table, *bench.pages_table(run)]
    return "\n".join(lines)


if __name__ == "__main__":
    main()
