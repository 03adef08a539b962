"""The meter-analytics job, written once: a list of SQL steps that DuckDB and Spark SQL both run
unchanged (see ``engines``). Each step becomes a view (or a cached table) named after it.

Portable on purpose: ANSI joins, GROUP BY, CASE, CAST … AS DOUBLE / DECIMAL, DATE 'YYYY-MM-DD'
literals; no ``::`` casts, no date_diff/interval arithmetic (dates the job needs — the month's
bounds, 3 months before a bill — come in the inputs or as literals), no engine functions. Sums
of kWh and DC current are exact DECIMAL sums; a per-day or mean figure is one DOUBLE division
of two exact numbers, so both engines give the same bits and the Python side rounds them the
same way.

Inputs (Parquet files, registered as views by the engine):

* ``readings``   site_code, read_date DATE, read_hour INT, kwh DECIMAL(10,3) (smart meter,
  NULL where the site has none), dc_current_a DECIMAL(8,2) (FSU) — the month's hourly rows;
* ``history``    the daily store of earlier months (same columns as ``daily`` below);
* ``bills``      bill_id, period_start, period_end, days, kwh, baseline_start (3 months before
  the period's start), n_sites — the non-void metered bills ending in the month;
* ``bill_sites`` bill_id, site_code — the sites each bill's account feeds;
* ``tenancy_starts`` site_code, start_date;
* ``remediations`` site_code, detected_on, remediated_on, baseline_start, unit_price — sites
  whose savings are measured (a theft case remediated, an energy-saving retrofit).

Outputs: ``daily`` (per site and day: kWh, full hours, DC current sum and hours),
``site_month`` (use, use per day, DC load and its benchmark, baseline per day of DOMAIN §7:
kWh per day over the 3 months before the month), ``theft`` (per bill: the three signals and
a score) and ``savings`` (per remediated site: baseline and actual per day, saving kWh).
"""

from dataclasses import dataclass
from datetime import date
from decimal import Decimal

# signal weights of the theft score (integers: the score is exact)
W_SMART, W_DC, W_STEP = 5, 3, 2

INPUTS = ("readings", "history", "bills", "bill_sites", "tenancy_starts", "remediations")
OUTPUTS = ("daily", "site_month", "theft", "savings")


@dataclass(frozen=True)
class Params:
    month_start: date
    month_end: date
    baseline_start: date          # 3 months before month_start
    voltage: Decimal = Decimal("53.5")
    hours: Decimal = Decimal(24)
    pue: Decimal = Decimal("1.6")
    smart_over_pct: Decimal = Decimal(30)   # bill above the smart meter by this much
    dc_over_pct: Decimal = Decimal(20)      # bill above the DC-load benchmark (BENCH_DC)
    step_over_pct: Decimal = Decimal(30)    # use per day above the 3-month baseline

    @property
    def dc_factor(self) -> Decimal:
        """kWh a day per ampere of DC load: 53.5 V × 24 h × PUE 1.6 ÷ 1000 (DOMAIN §5)."""
        return self.voltage * self.hours * self.pue / 1000

    def literals(self) -> dict:
        ratio = lambda pct: str(1 + pct / 100)  # noqa: E731
        return {"month_start": self.month_start.isoformat(),
                "month_end": self.month_end.isoformat(),
                "baseline_start": self.baseline_start.isoformat(),
                "dc_factor": str(self.dc_factor), "smart_ratio": ratio(self.smart_over_pct),
                "dc_ratio": ratio(self.dc_over_pct), "step_ratio": ratio(self.step_over_pct),
                "w_smart": W_SMART, "w_dc": W_DC, "w_step": W_STEP}


# (name, SQL, keep): keep = materialise (read more than once, or an output)
STEPS: list[tuple[str, str, bool]] = [
    ("daily", """
SELECT site_code, read_date,
       SUM(kwh) AS kwh, COUNT(kwh) AS kwh_hours,
       SUM(dc_current_a) AS dc_sum, COUNT(dc_current_a) AS dc_hours
FROM readings
WHERE read_date >= DATE '{month_start}' AND read_date <= DATE '{month_end}'
GROUP BY site_code, read_date""", True),

    # every day known: this month's and the earlier months' of the daily store
    ("days_all", """
SELECT site_code, read_date, kwh, kwh_hours, dc_sum, dc_hours FROM daily
UNION ALL
SELECT site_code, read_date, kwh, kwh_hours, dc_sum, dc_hours FROM history
WHERE read_date < DATE '{month_start}'""", False),

    ("site_base", """
SELECT site_code, SUM(kwh) AS kwh, COUNT(kwh) AS days
FROM history
WHERE read_date >= DATE '{baseline_start}' AND read_date < DATE '{month_start}'
  AND kwh_hours >= 24
GROUP BY site_code""", False),

    ("site_month", """
SELECT m.site_code, m.kwh, m.kwh_days,
       CASE WHEN m.kwh_days > 0 THEN CAST(m.kwh AS DOUBLE) / m.kwh_days END AS kwh_per_day,
       CASE WHEN m.dc_hours > 0 THEN CAST(m.dc_sum AS DOUBLE) / m.dc_hours END AS dc_current_a,
       CASE WHEN m.dc_hours > 0
            THEN CAST(m.dc_sum AS DOUBLE) / m.dc_hours * CAST({dc_factor} AS DOUBLE) * m.days
       END AS dc_benchmark_kwh,
       CASE WHEN b.days > 0 THEN CAST(b.kwh AS DOUBLE) / b.days END AS baseline_per_day
FROM (SELECT site_code,
             SUM(CASE WHEN kwh_hours >= 24 THEN kwh END) AS kwh,
             COUNT(CASE WHEN kwh_hours >= 24 THEN 1 END) AS kwh_days,
             SUM(dc_sum) AS dc_sum, SUM(dc_hours) AS dc_hours, COUNT(*) AS days
      FROM daily GROUP BY site_code) m
LEFT JOIN site_base b ON b.site_code = m.site_code""", True),

    # per bill and fed site: smart-meter kWh over the bill's whole days, the DC load
    ("bill_site", """
SELECT b.bill_id, s.site_code,
       SUM(CASE WHEN d.kwh_hours >= 24 THEN d.kwh END) AS kwh,
       COUNT(CASE WHEN d.kwh_hours >= 24 THEN 1 END) AS full_days,
       SUM(d.dc_sum) AS dc_sum, SUM(d.dc_hours) AS dc_hours
FROM bills b
JOIN bill_sites s ON s.bill_id = b.bill_id
JOIN days_all d ON d.site_code = s.site_code
     AND d.read_date >= b.period_start AND d.read_date <= b.period_end
GROUP BY b.bill_id, s.site_code""", True),

    ("bill_base", """
SELECT b.bill_id, s.site_code, SUM(d.kwh) AS kwh, COUNT(d.kwh) AS days
FROM bills b
JOIN bill_sites s ON s.bill_id = b.bill_id
JOIN days_all d ON d.site_code = s.site_code
     AND d.read_date >= b.baseline_start AND d.read_date < b.period_start
     AND d.kwh_hours >= 24
GROUP BY b.bill_id, s.site_code""", False),

    ("bill_new_tenancy", """
SELECT DISTINCT b.bill_id
FROM bills b
JOIN bill_sites s ON s.bill_id = b.bill_id
JOIN tenancy_starts t ON t.site_code = s.site_code
     AND t.start_date >= b.baseline_start AND t.start_date <= b.period_end""", False),

    ("bill_facts", """
SELECT b.bill_id, b.kwh AS bill_kwh, b.days, b.n_sites,
       CASE WHEN f.full_sites = b.n_sites THEN f.kwh END AS smart_kwh,
       CASE WHEN f.dc_sites = b.n_sites
            THEN f.dc_amps * CAST({dc_factor} AS DOUBLE) * b.days END AS dc_benchmark_kwh,
       CASE WHEN g.sites = b.n_sites AND g.min_days > 0 THEN g.per_day END AS baseline_per_day,
       CAST(b.kwh AS DOUBLE) / b.days AS actual_per_day,
       CASE WHEN n.bill_id IS NULL THEN 0 ELSE 1 END AS new_tenancy
FROM bills b
LEFT JOIN (SELECT x.bill_id, SUM(x.kwh) AS kwh,
                  SUM(CASE WHEN x.full_days = y.days THEN 1 ELSE 0 END) AS full_sites,
                  SUM(CASE WHEN x.dc_hours > 0 THEN 1 ELSE 0 END) AS dc_sites,
                  SUM(CASE WHEN x.dc_hours > 0 THEN CAST(x.dc_sum AS DOUBLE) / x.dc_hours
                      END) AS dc_amps
           FROM bill_site x JOIN bills y ON y.bill_id = x.bill_id
           GROUP BY x.bill_id) f ON f.bill_id = b.bill_id
LEFT JOIN (SELECT bill_id, COUNT(*) AS sites, MIN(days) AS min_days,
                  SUM(CAST(kwh AS DOUBLE) / days) AS per_day
           FROM bill_base GROUP BY bill_id) g ON g.bill_id = b.bill_id
LEFT JOIN bill_new_tenancy n ON n.bill_id = b.bill_id""", False),

    ("bill_signals", """
SELECT bill_id, bill_kwh, days, smart_kwh, dc_benchmark_kwh, baseline_per_day,
       actual_per_day, new_tenancy,
       CASE WHEN smart_kwh > 0 THEN CAST(bill_kwh AS DOUBLE) / CAST(smart_kwh AS DOUBLE)
       END AS smart_ratio,
       CASE WHEN dc_benchmark_kwh > 0 THEN CAST(bill_kwh AS DOUBLE) / dc_benchmark_kwh
       END AS dc_ratio,
       CASE WHEN baseline_per_day > 0 THEN actual_per_day / baseline_per_day END AS step_ratio
FROM bill_facts""", False),

    ("theft", """
SELECT t.*,
       CASE WHEN score_den > 0 AND 2 * score_num >= score_den THEN 1 ELSE 0 END AS suspect
FROM (SELECT h.*,
             h.smart_hit * {w_smart} + h.dc_hit * {w_dc} + h.step_hit * {w_step} AS score_num,
             CASE WHEN h.smart_ratio IS NULL THEN 0 ELSE {w_smart} END
             + CASE WHEN h.dc_ratio IS NULL THEN 0 ELSE {w_dc} END
             + CASE WHEN h.step_ratio IS NULL THEN 0 ELSE {w_step} END AS score_den
      FROM (SELECT s.*,
                   CASE WHEN s.smart_ratio >= {smart_ratio} THEN 1 ELSE 0 END AS smart_hit,
                   CASE WHEN s.dc_ratio >= {dc_ratio} THEN 1 ELSE 0 END AS dc_hit,
                   CASE WHEN s.step_ratio >= {step_ratio} AND s.new_tenancy = 0
                        THEN 1 ELSE 0 END AS step_hit
            FROM bill_signals s) h) t""", True),

    # savings (DOMAIN §7): baseline per day over the 3 months before detection, actual per
    # day in this month from the remediation on; the saving is never negative
    ("savings", """
SELECT r.site_code, r.unit_price, b.per_day AS baseline_per_day, a.per_day AS actual_per_day,
       a.days,
       CASE WHEN b.per_day > a.per_day THEN (b.per_day - a.per_day) * a.days ELSE 0 END
         AS saving_kwh
FROM remediations r
JOIN (SELECT x.site_code, CAST(SUM(d.kwh) AS DOUBLE) / COUNT(d.kwh) AS per_day
      FROM remediations x JOIN days_all d ON d.site_code = x.site_code
           AND d.read_date >= x.baseline_start AND d.read_date < x.detected_on
           AND d.kwh_hours >= 24
      GROUP BY x.site_code) b ON b.site_code = r.site_code
JOIN (SELECT x.site_code, CAST(SUM(d.kwh) AS DOUBLE) / COUNT(d.kwh) AS per_day,
             COUNT(d.kwh) AS days
      FROM remediations x JOIN daily d ON d.site_code = x.site_code
           AND d.read_date >= x.remediated_on AND d.kwh_hours >= 24
      GROUP BY x.site_code) a ON a.site_code = r.site_code""", True),
]


def render(params: Params) -> list[tuple[str, str, bool]]:
    """The steps with the run's literals in place: the very text each engine runs."""
    values = params.literals()
    return [(name, sql.format(**values).strip(), keep) for name, sql, keep in STEPS]
