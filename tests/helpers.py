"""Shared test helpers: write real import files, build a small province through the imports."""

import csv
from pathlib import Path

from towerledger.exchange.services import run_import

SITES_HEADER = ["站址编码", "站址名称", "省份", "地市", "区县", "站址类型", "宿主站编码",
                "站址状态", "拆站日期", "经度", "纬度"]
TENANCIES_HEADER = ["tenancy_id", "site_code", "operator", "start_date", "end_date",
                    "settlement_mode", "lump_sum_monthly", "rated_power_w", "dc_current_a",
                    "agreed_ratio"]
ACCOUNTS_HEADER = ["account_no", "supply_mode", "supplier_type", "supplier_name",
                   "input_invoice_type", "contract_price", "price_cap", "payment_cycle_months",
                   "multiplier", "site_code", "split_ratio"]
RULES_HEADER = ["site_code", "effective_from", "method", "fallback_method", "common_policy",
                "tower_share"]


def write_csv(path: Path, header, rows, encoding="utf-8") -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", encoding=encoding, newline="") as f:
        w = csv.writer(f)
        w.writerow(header)
        w.writerows(rows)
    return path


SITES = [
    ["ZZ001", "金水一号", "河南省", "郑州市", "金水区", "MACRO", "", "", "", "113.65", "34.76"],
    ["ZZ002", "金水二号", "河南省", "郑州市", "金水区", "MACRO", "", "", "", "", ""],
    ["ZZ003", "金水微站", "河南省", "郑州市", "金水区", "SMALL", "ZZ001", "", "", "", ""],
    ["LY001", "西工一号", "河南省", "洛阳市", "西工区", "MACRO", "", "", "", "", ""],
]
TENANCIES = [
    ["T-ZZ001-CMCC", "ZZ001", "CMCC", "2024-01-01", "", "RESALE", "", "3500", "40", ""],
    ["T-ZZ001-CUCC", "ZZ001", "CUCC", "2024-01-01", "", "RESALE", "", "1300", "25", ""],
    ["T-ZZ001-CTCC", "ZZ001", "CTCC", "2024-05-17", "", "RESALE", "", "1300", "15", ""],
    ["T-ZZ002-CMCC", "ZZ002", "CMCC", "2023-06-01", "", "ON_BEHALF", "", "1300", "20", "60"],
    ["T-ZZ002-CTCC", "ZZ002", "CTCC", "2023-06-01", "", "RESALE", "", "1300", "20", "40"],
    ["T-LY001-CUCC", "LY001", "CUCC", "2022-01-01", "", "LUMP_SUM", "800", "1300", "22", ""],
    ["T-LY001-CTCC", "LY001", "CTCC", "2022-01-01", "2024-03-31", "RESALE", "", "1300", "18", ""],
]
ACCOUNTS = [
    ["A-100", "RESUPPLY", "LANDLORD", "张三", "GENERAL", "1.10", "1.50", "1", "1", "ZZ001", "100"],
    ["A-200", "DIRECT", "GRID", "郑州供电公司", "SPECIAL_13", "0.62", "0.90", "1", "80", "ZZ002", "70"],
    ["A-200", "DIRECT", "GRID", "郑州供电公司", "SPECIAL_13", "0.62", "0.90", "1", "80", "ZZ003", "30"],
    ["A-300", "RESUPPLY", "PROPERTY", "物业", "SPECIAL_3", "1.20", "", "3", "1", "LY001", "100"],
]
RULES = [
    ["ZZ001", "2024-01-01", "DC_CURRENT", "EQUAL", "PRO_RATA", "0"],
    ["ZZ002", "2023-06-01", "FIXED_RATIO", "EQUAL", "PRO_RATA", "0"],
    ["LY001", "2022-01-01", "EQUAL", "", "", "5"],
]


def build_province(tmp_path: Path):
    """Import the small two-city province above through the real import path."""
    for kind, header, rows in (("sites", SITES_HEADER, SITES),
                               ("tenancies", TENANCIES_HEADER, TENANCIES),
                               ("rules", RULES_HEADER, RULES),
                               ("accounts", ACCOUNTS_HEADER, ACCOUNTS)):
        result = run_import(kind, write_csv(tmp_path / f"{kind}.csv", header, rows),
                            create_org=kind == "sites")
        assert result.stored, [e.text() for e in result.errors]
