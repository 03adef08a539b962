"""A synthetic province's master data (DOMAIN.md §9): cities, sites, tenancies, supply
accounts and allocation rules, drawn from one seeded Random so the same seed gives the same
province. Plain data classes; ``synth.files`` writes them as import files."""

import random
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import Decimal

PROVINCE = "河南省"
# 14 cities (the model province has 14) with some of their real counties
CITIES = {
    "郑州市": ["金水区", "中原区", "二七区", "管城区", "惠济区", "新郑市", "登封市"],
    "洛阳市": ["西工区", "老城区", "洛龙区", "偃师区", "孟津区"],
    "开封市": ["龙亭区", "鼓楼区", "祥符区", "杞县"],
    "平顶山市": ["新华区", "卫东区", "湛河区", "宝丰县"],
    "安阳市": ["文峰区", "北关区", "殷都区", "林州市"],
    "鹤壁市": ["淇滨区", "山城区", "浚县"],
    "新乡市": ["红旗区", "卫滨区", "牧野区", "辉县市"],
    "焦作市": ["解放区", "山阳区", "中站区", "沁阳市"],
    "濮阳市": ["华龙区", "清丰县", "南乐县"],
    "许昌市": ["魏都区", "建安区", "禹州市", "长葛市"],
    "漯河市": ["源汇区", "郾城区", "召陵区"],
    "三门峡市": ["湖滨区", "陕州区", "灵宝市"],
    "南阳市": ["宛城区", "卧龙区", "邓州市", "南召县", "西峡县"],
    "商丘市": ["梁园区", "睢阳区", "永城市", "虞城县"],
}
CITY_WEIGHTS = [18, 10, 6, 6, 7, 3, 7, 5, 5, 6, 4, 4, 11, 8]
OPERATORS = [("CMCC", 45), ("CUCC", 25), ("CTCC", 25), ("CBN", 3), ("OTHER", 2)]
VOLTAGE = Decimal("53.5")


@dataclass
class Tenancy:
    tenancy_id: str
    operator: str
    start: date
    end: date | None
    mode: str
    rated_w: Decimal
    dc_a: Decimal
    lump: Decimal | None = None
    ratio: Decimal | None = None


@dataclass
class Site:
    code: str
    name: str
    city: str
    county: str
    type: str
    host: str | None = None
    decommissioned: date | None = None
    lon: Decimal | None = None
    lat: Decimal | None = None
    tenancies: list[Tenancy] = field(default_factory=list)
    method: str = "DC_CURRENT"
    tower_share: Decimal = Decimal(0)
    pue: float = 1.4
    smart: bool = False


@dataclass
class Account:
    account_no: str
    mode: str
    supplier_type: str
    supplier: str
    invoice: str
    price: Decimal
    cap: Decimal | None
    cycle: int
    multiplier: Decimal
    lump: bool
    splits: list[tuple[str, Decimal]]
    offset: int = 0  # month of the cycle its bills start on


@dataclass
class Province:
    sites: list[Site]
    accounts: list[Account]
    first_month: date
    months: int

    @property
    def site_by_code(self) -> dict[str, Site]:
        return {s.code: s for s in self.sites}


def month_add(d: date, n: int) -> date:
    y, m = divmod(d.month - 1 + n, 12)
    return date(d.year + y, m + 1, 1)


def build(n_sites: int, months: int, seed: int, first_month: date) -> Province:
    rng = random.Random(seed)
    window_end = month_add(first_month, months) - timedelta(days=1)
    sites = _sites(rng, n_sites, first_month, window_end)
    accounts = _accounts(rng, sites)
    return Province(sites, accounts, first_month, months)


def _sites(rng, n, first, last) -> list[Site]:
    cities = list(CITIES)
    chosen = rng.choices(range(len(cities)), CITY_WEIGHTS, k=n)
    sites, macros_by_county = [], {}
    for i, ci in enumerate(chosen):
        city = cities[ci]
        county = rng.choice(CITIES[city])
        kind = rng.choices(["MACRO", "INDOOR", "SMALL", "ROOM"], [70, 10, 15, 5])[0]
        site = Site(f"S{ci + 1:02d}{i + 1:06d}", f"{county}{i + 1:06d}号站", city, county, kind,
                    lon=Decimal(f"{rng.uniform(110.4, 116.6):.6f}"),
                    lat=Decimal(f"{rng.uniform(31.4, 36.3):.6f}"),
                    pue=rng.uniform(1.2, 1.5), smart=rng.random() < 0.85)
        hosts = macros_by_county.get(county)
        if kind == "SMALL" and hosts and rng.random() < 0.5:
            site.host = rng.choice(hosts[-50:])
        if kind == "MACRO":
            macros_by_county.setdefault(county, []).append(site.code)
        _tenancies(rng, site, first, last)
        sites.append(site)
    return sites


def _pick_operators(rng, k) -> list[str]:
    ops, weights = [o for o, _ in OPERATORS], [w for _, w in OPERATORS]
    chosen = []
    while len(chosen) < k:
        op = rng.choices(ops, weights)[0]
        if op not in chosen:
            chosen.append(op)
    return chosen


def _tenancies(rng, site: Site, first: date, last: date):
    k = 1 if site.type == "SMALL" else rng.choices([1, 2, 3], [40, 45, 15])[0]
    site.method = _method(rng, k)
    # short windows (a month or two) keep every site's tenancies steady
    stable = site.method in ("FIXED_RATIO", "SUBMETER") or (last - first).days < 90
    if rng.random() < 0.02 and not stable:
        site.decommissioned = first + timedelta(days=rng.randrange((last - first).days - 60))
    for j, op in enumerate(_pick_operators(rng, k)):
        start = date(rng.randint(2018, 2023), rng.randint(1, 12), 1)
        end = None
        # a second operator joins during the window on some shared sites (never leaving a gap)
        if j > 0 and not stable and not site.decommissioned and rng.random() < 0.15:
            start = first + timedelta(days=rng.randrange(30, (last - first).days))
        elif j > 0 and not stable and rng.random() < 0.05:
            end = first + timedelta(days=rng.randrange(30, (last - first).days))
        if site.decommissioned:
            end = min(end or site.decommissioned, site.decommissioned)
        five_g = rng.random() < 0.35
        rated = Decimal(rng.gauss(3500 if five_g else 1300, 150)).quantize(Decimal(1))
        dc = (rated * Decimal(rng.uniform(0.55, 0.65)) / VOLTAGE).quantize(Decimal("0.01"))
        mode = rng.choices(["RESALE", "ON_BEHALF", "LUMP_SUM"], [85, 12, 3])[0]
        lump = Decimal(rng.randrange(300, 1500, 50)) if mode == "LUMP_SUM" else None
        site.tenancies.append(Tenancy(f"T{site.code[1:]}{j + 1}", op, start, end, mode, rated,
                                      dc, lump))
    if site.method == "FIXED_RATIO":
        _agreed_ratios(rng, site.tenancies)
    site.tower_share = Decimal(5) if rng.random() < 0.1 else Decimal(0)


def _method(rng, k) -> str:
    if k == 1:
        return rng.choices(["DC_CURRENT", "EQUAL", "RATED_POWER"], [50, 30, 20])[0]
    return rng.choices(["DC_CURRENT", "EQUAL", "FIXED_RATIO", "RATED_POWER", "SUBMETER"],
                       [38, 22, 15, 15, 10])[0]


def _agreed_ratios(rng, tenancies):
    weights = [rng.randint(20, 60) for _ in tenancies]
    total = sum(weights)
    ratios = [Decimal(100 * w // total) for w in weights]
    ratios[0] += 100 - sum(ratios)
    for t, r in zip(tenancies, ratios, strict=True):
        t.ratio = r


SUPPLIERS = ["物业服务有限公司", "置业有限公司", "村民委员会", "商贸有限公司", "酒店管理有限公司"]


def _accounts(rng, sites: list[Site]) -> list[Account]:
    hosted = {}
    for s in sites:
        if s.host:
            hosted.setdefault(s.host, []).append(s.code)
    accounts, fed = [], set()
    for s in sites:  # a host comes before the small sites hanging off it
        if s.code in fed:
            continue
        codes = [s.code, *hosted.get(s.code, [])[:2]]
        fed.update(codes)
        accounts.append(_account(rng, len(accounts) + 1, s, codes))
    return accounts


def _account(rng, n, site: Site, codes) -> Account:
    splits = _splits(rng, codes)
    city_no = site.code[1:3]
    if rng.random() < 0.6:
        price = Decimal(f"{rng.uniform(0.55, 0.75):.4f}")
        mult = rng.choice([Decimal(1), Decimal(1), Decimal(20), Decimal(40)])
        return Account(f"41{city_no}{n:08d}", "DIRECT", "GRID", f"国网{site.city}供电公司",
                       "SPECIAL_13", price, Decimal("0.9000"), 1, mult, False, splits,
                       rng.randrange(1))
    price = Decimal(f"{min(2.3, rng.lognormvariate(0.2, 0.15)) + 0.1:.4f}")
    invoice = rng.choices(["SPECIAL_3", "GENERAL", "SPECIAL_1", "RECEIPT"], [50, 34, 10, 6])[0]
    cycle = rng.choices([1, 3, 6, 12], [55, 30, 10, 5])[0]
    lump = rng.random() < 0.03
    return Account(f"ZG{city_no}{n:08d}", "RESUPPLY",
                   rng.choices(["LANDLORD", "PROPERTY", "THIRD_PARTY"], [50, 40, 10])[0],
                   f"{site.county}{rng.choice(SUPPLIERS)}", invoice, price,
                   (price * Decimal("1.3")).quantize(Decimal("0.0001")), cycle, Decimal(1),
                   lump, splits, rng.randrange(cycle))


def _splits(rng, codes) -> list[tuple[str, Decimal]]:
    if len(codes) == 1:
        return [(codes[0], Decimal(100))]
    rest = [Decimal(rng.randint(8, 20)) for _ in codes[1:]]
    return [(codes[0], Decimal(100) - sum(rest)), *zip(codes[1:], rest, strict=True)]
