"""The business's closed vocabularies (DOMAIN.md §1, §3, §8), with their Chinese names.

Plain ``StrEnum`` so the domain layer stays free of Django; models build their
``choices`` from these.
"""

from enum import StrEnum


class OperatorCode(StrEnum):
    CMCC = "CMCC"
    CUCC = "CUCC"
    CTCC = "CTCC"
    CBN = "CBN"
    OTHER = "OTHER"


class SiteType(StrEnum):
    MACRO = "MACRO"
    INDOOR = "INDOOR"
    SMALL = "SMALL"
    ROOM = "ROOM"


class SiteStatus(StrEnum):
    ACTIVE = "ACTIVE"
    DECOMMISSIONED = "DECOMMISSIONED"
    ARCHIVED = "ARCHIVED"   # 已归档: decommissioning finished; nothing allocates to it (§7)


class SettlementMode(StrEnum):
    RESALE = "RESALE"
    ON_BEHALF = "ON_BEHALF"
    LUMP_SUM = "LUMP_SUM"


class SupplyMode(StrEnum):
    DIRECT = "DIRECT"
    RESUPPLY = "RESUPPLY"


class SupplierType(StrEnum):
    GRID = "GRID"
    LANDLORD = "LANDLORD"
    PROPERTY = "PROPERTY"
    THIRD_PARTY = "THIRD_PARTY"


class InvoiceType(StrEnum):
    SPECIAL_13 = "SPECIAL_13"
    SPECIAL_9 = "SPECIAL_9"
    SPECIAL_3 = "SPECIAL_3"
    SPECIAL_1 = "SPECIAL_1"
    GENERAL = "GENERAL"
    RECEIPT = "RECEIPT"


class Method(StrEnum):
    FIXED_RATIO = "FIXED_RATIO"
    EQUAL = "EQUAL"
    DC_CURRENT = "DC_CURRENT"
    RATED_POWER = "RATED_POWER"
    SUBMETER = "SUBMETER"


class CommonPolicy(StrEnum):
    PRO_RATA = "PRO_RATA"
    EQUAL = "EQUAL"
    TOWER_BEARS = "TOWER_BEARS"


ZH = {
    "CMCC": "中国移动", "CUCC": "中国联通", "CTCC": "中国电信", "CBN": "中国广电",
    "OTHER": "拓展客户",
    "MACRO": "宏站", "INDOOR": "室分", "SMALL": "微站", "ROOM": "机房",
    "ACTIVE": "在用", "DECOMMISSIONED": "已拆除", "ARCHIVED": "已归档",
    "RESALE": "转售", "ON_BEHALF": "代垫", "LUMP_SUM": "包干",
    "DIRECT": "直供电", "RESUPPLY": "转供电",
    "GRID": "供电局", "LANDLORD": "业主", "PROPERTY": "物业", "THIRD_PARTY": "第三方",
    "SPECIAL_13": "专票13%", "SPECIAL_9": "专票9%", "SPECIAL_3": "专票3%",
    "SPECIAL_1": "专票1%", "GENERAL": "普票", "RECEIPT": "收据",
    "FIXED_RATIO": "固定比例", "EQUAL": "平均分摊", "DC_CURRENT": "直流负载电流",
    "RATED_POWER": "额定功率", "SUBMETER": "分户计量",
    "PRO_RATA": "按计量比例", "TOWER_BEARS": "铁塔承担",
}

# the same codes in English words, for the English pages (which show no Chinese)
EN = {
    "CMCC": "China Mobile", "CUCC": "China Unicom", "CTCC": "China Telecom",
    "CBN": "China Broadnet", "OTHER": "other customers",
    "MACRO": "macro site", "INDOOR": "indoor coverage", "SMALL": "small cell",
    "ROOM": "equipment room", "ACTIVE": "in service", "DECOMMISSIONED": "decommissioned",
    "ARCHIVED": "archived",
    "RESALE": "resale", "ON_BEHALF": "paid on behalf", "LUMP_SUM": "lump sum",
    "DIRECT": "direct supply", "RESUPPLY": "resupply",
    "GRID": "grid company", "LANDLORD": "landlord", "PROPERTY": "property manager",
    "THIRD_PARTY": "third party",
    "SPECIAL_13": "special VAT invoice 13%", "SPECIAL_9": "special VAT invoice 9%",
    "SPECIAL_3": "special VAT invoice 3%", "SPECIAL_1": "special VAT invoice 1%",
    "GENERAL": "general invoice", "RECEIPT": "receipt",
    "FIXED_RATIO": "fixed ratio", "EQUAL": "equal shares", "DC_CURRENT": "DC load current",
    "RATED_POWER": "rated power", "SUBMETER": "sub-meter",
    "PRO_RATA": "pro rata to metered use", "TOWER_BEARS": "tower bears",
}


def choices(enum: type[StrEnum]) -> list[tuple[str, str]]:
    """Django ``choices`` for an enum: value and 'value 中文'."""
    return [(m.value, f"{m.value} {ZH.get(m.value, '')}".strip()) for m in enum]
