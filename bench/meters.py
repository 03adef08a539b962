"""Meter analytics bench (issue 18): a province month of hourly readings on DuckDB.

For each size (default 25,000, 50,000 and 100,000 sites; × 744 hours of March = 18.6 M,
37.2 M and 74.4 M rows) a child process generates the month's readings (synth.meters:
Parquet), the daily store of the 3 months before and the month's bills with injected theft,
then runs the job (meters.job, DuckDB) over them and measures:

* the job's wall time (register, every step, the daily store written, outputs read),
  its peak RSS, and the time per million rows (linear growth: the same figure at each size);
* precision and recall of theft suspicion against the injected truth (targets ≥ 80 %,
  ≥ 95 %);
* once, streaming ingest of a 2.6 M-row hourly CSV (3,500 sites) with its peak RSS.

    .venv/bin/python bench/meters.py [--sites 25000 50000 100000] [--results FILE]

Figures go to bench/RESULTS-meters.md. Scratch files under /tmp/meters-bench (removed).
"""

import argparse
import json
import os
import platform
import resource
import shutil
import subprocess
import sys
import time
from datetime import UTC, date, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SCRATCH = Path(os.environ.get("METERS_BENCH_DIR", "/tmp/meters-bench"))
MONTH = date(2026, 3, 1)


def _rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def one(n: int) -> dict:
    """In a child process: generate n sites, run the job on DuckDB, measure."""
    from towerledger.meters import analyse as an
    from towerledger.meters.engines import DuckDBEngine
    from towerledger.synth.meters import generate

    out = SCRATCH / f"sites-{n}"
    shutil.rmtree(out, ignore_errors=True)
    t0 = time.perf_counter()
    mp = generate(out, n, MONTH)
    gen = time.perf_counter() - t0
    gen_rss = _rss_mb()
    inputs = mp.inputs(out / "work")
    size = sum(Path(p).stat().st_size for p in mp.readings)
    engine = DuckDBEngine()
    t0 = time.perf_counter()
    steps = {}
    last = [t0]

    def tick(name):
        now = time.perf_counter()
        steps[name] = round(now - last[0], 2)
        last[0] = now

    result = an.analyse(engine, an.params_for(MONTH), inputs, out / "work",
                        daily_out=str(out / "daily-out" / f"month={MONTH:%Y-%m}"),
                        progress=tick, count_daily=True)
    job = time.perf_counter() - t0
    engine.close()
    suspects = {r["bill_id"] for r in result.theft if r["suspect"]}
    tp = len(suspects & mp.theft)
    shutil.rmtree(out, ignore_errors=True)
    return {"sites": n, "rows": mp.rows, "parquet_mb": round(size / 1e6, 1),
            "generate_s": round(gen, 1), "generate_rss_mb": round(gen_rss),
            "job_s": round(job, 1), "rss_mb": round(_rss_mb()), "steps": steps,
            "daily_rows": result.daily_rows, "bills": len(result.theft),
            "injected": len(mp.theft), "suspects": len(suspects), "tp": tp,
            "precision": tp / len(suspects) if suspects else 1.0,
            "recall": tp / len(mp.theft) if mp.theft else 1.0}


def ingest_one(n: int) -> dict:
    """In a child process: stream a CSV of n sites' hourly readings into the store."""
    from towerledger.meters import store
    from towerledger.synth.meters import generate

    out = SCRATCH / f"ingest-{n}"
    shutil.rmtree(out, ignore_errors=True)
    mp = generate(out, n, MONTH, csv=True)
    src = Path(mp.readings[0])
    base = _rss_mb()
    t0 = time.perf_counter()
    r = store.ingest(src, root=str(out / "store"))
    took = time.perf_counter() - t0
    res = {"sites": n, "rows": r.rows, "csv_mb": round(src.stat().st_size / 1e6, 1),
           "ingest_s": round(took, 1), "rss_mb": round(_rss_mb()),
           "rss_before_mb": round(base), "peak_arrow_mb": round(r.peak_arrow_bytes / 1e6, 1)}
    shutil.rmtree(out, ignore_errors=True)
    return res


def child(args) -> dict:
    cmd = [sys.executable, __file__, *args]
    proc = subprocess.run(cmd, capture_output=True, text=True, cwd=ROOT)
    if proc.returncode:
        sys.stderr.write(proc.stderr)
        raise SystemExit(f"bench child failed: {' '.join(args)}")
    return json.loads(proc.stdout.strip().splitlines()[-1])


def pct(x: float) -> str:
    return f"{x * 100:.1f} %"


def report(runs: list[dict], ing: dict | None, note: str) -> str:
    lines = ["# Meter analytics bench (issue 18)", "",
             f"Run {datetime.now(UTC):%Y-%m-%d %H:%M} UTC on {platform.node()} "
             f"({os.cpu_count()} cores, load {os.getloadavg()[0]:.1f} at the end; the machine "
             "was shared with other sessions' tests while it ran). `bench/meters.py`: each "
             "size in its own process; the job is `meters.job` on DuckDB over Parquet files "
             "(readings of March 2026 — 744 hours —, the daily store of Dec–Feb, the month's "
             "bills); the time covers registering the inputs, every step, writing the daily "
             "store and reading the outputs.", "",
             "| sites | hourly rows | Parquet | generate | job (DuckDB) | s per M rows | peak RSS "
             "| bills | injected theft | suspects | precision | recall |",
             "|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|"]
    for r in runs:
        lines.append(
            f"| {r['sites']:,} | {r['rows']:,} | {r['parquet_mb']} MB | {r['generate_s']} s "
            f"| **{r['job_s']} s** | {r['job_s'] / (r['rows'] / 1e6):.2f} | {r['rss_mb']} MB "
            f"| {r['bills']:,} | {r['injected']} | {r['suspects']} | {pct(r['precision'])} "
            f"| {pct(r['recall'])} |")
    if len(runs) > 1:
        a, b = runs[0], runs[-1]
        growth = (b["job_s"] / a["job_s"]) / (b["rows"] / a["rows"])
        lines += ["", f"Growth: {b['rows'] / a['rows']:.1f}× the rows took "
                      f"{b['job_s'] / a['job_s']:.2f}× the time ({growth:.2f} of linear)."]
    lines += ["", "Targets: 100,000 sites × 720 h analysed in under 2 minutes; recall ≥ 95 %, "
              "precision ≥ 80 %.", "", "Steps of the largest run (s): " +
              ", ".join(f"{k} {v}" for k, v in runs[-1]["steps"].items())]
    if ing:
        lines += ["", "## Streaming ingest", "",
                  f"{ing['rows']:,} hourly rows ({ing['sites']:,} sites, CSV {ing['csv_mb']} MB) "
                  f"into the month partition in {ing['ingest_s']} s; peak RSS of the process "
                  f"{ing['rss_mb']} MB ({ing['rss_before_mb']} MB before the ingest, after "
                  f"generating the file), Arrow memory at most {ing['peak_arrow_mb']} MB "
                  "(one 8 MB block parsed, then written)."]
    if note:
        lines += ["", note]
    lines += ["", "Theft truth: synth.meters inflates 2 % of the monthly bills 1.6–2.6× "
              "(the landlord's meter runs ahead of the site); 10 % of the clean bills read "
              "5–20 % high (line losses, meter drift); 15 % of the sites have no smart "
              "meter (FSU DC current only: the DC-load benchmark alone decides), and sites "
              "whose second operator moves in during the window step up without theft.", ""]
    return "\n".join(lines)


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--sites", type=int, nargs="*", default=[25_000, 50_000, 100_000])
    p.add_argument("--ingest-sites", type=int, default=3_500)
    p.add_argument("--results", default=str(ROOT / "bench" / "RESULTS-meters.md"))
    p.add_argument("--note", default="")
    p.add_argument("--one", type=int)
    p.add_argument("--ingest", type=int)
    a = p.parse_args()
    if a.one:
        print(json.dumps(one(a.one)))
        return
    if a.ingest:
        print(json.dumps(ingest_one(a.ingest)))
        return
    SCRATCH.mkdir(parents=True, exist_ok=True)
    runs = []
    for n in a.sites:
        r = child(["--one", str(n)])
        print(f"{n:,} sites: {r['rows']:,} rows, job {r['job_s']} s, RSS {r['rss_mb']} MB, "
              f"precision {pct(r['precision'])}, recall {pct(r['recall'])}", flush=True)
        runs.append(r)
    ing = None
    if a.ingest_sites:
        ing = child(["--ingest", str(a.ingest_sites)])
        print(f"ingest {ing['rows']:,} rows: {ing['ingest_s']} s, RSS {ing['rss_mb']} MB",
              flush=True)
    Path(a.results).write_text(report(runs, ing, a.note), encoding="utf-8")
    shutil.rmtree(SCRATCH, ignore_errors=True)
    print(f"→ {a.results}")


if __name__ == "__main__":
    sys.path.insert(0, str(ROOT / "src"))
    main()
