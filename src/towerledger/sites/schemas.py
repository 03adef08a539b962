"""Import columns for master data (DOMAIN.md §8): canonical English name and Chinese header."""

from towerledger.domain.codes import (
    CommonPolicy,
    InvoiceType,
    Method,
    OperatorCode,
    SettlementMode,
    SiteStatus,
    SiteType,
    SupplierType,
    SupplyMode,
)
from towerledger.importers.schema import (
    Field,
    Schema,
    code,
    date,
    dec_of,
    enum,
    integer,
    name,
    org_name,
    yes_no,
)
from towerledger.sites.models import AccountSite, AllocationRule, Site, SupplyAccount, Tenancy

SITES = Schema("sites", "站址", (
    Field("site_code", "站址编码", code),
    Field("site_name", "站址名称", name),
    Field("province", "省份", org_name, aliases=("省",)),
    Field("city", "地市", org_name, aliases=("市",)),
    Field("county", "区县", org_name, aliases=("县",)),
    Field("site_type", "站址类型", enum(SiteType)),
    Field("host_site_code", "宿主站编码", code, required=False),
    Field("status", "站址状态", enum(SiteStatus), required=False),
    Field("decommission_date", "拆站日期", date, required=False),
    Field("longitude", "经度", dec_of(Site, "longitude", "-180", "180"), required=False),
    Field("latitude", "纬度", dec_of(Site, "latitude", "-90", "90"), required=False),
), key=("site_code",))

TENANCIES = Schema("tenancies", "租户服务", (
    Field("tenancy_id", "租户服务编码", code, aliases=("订单编号", "订单号")),
    Field("site_code", "站址编码", code),
    Field("operator", "运营商", enum(OperatorCode), aliases=("客户",)),
    Field("start_date", "起租日期", date),
    Field("end_date", "服务终止日期", date, required=False, aliases=("终止日期",)),
    Field("settlement_mode", "结算模式", enum(SettlementMode)),
    Field("lump_sum_monthly", "包干月金额", dec_of(Tenancy, "lump_sum_monthly"), required=False),
    Field("rated_power_w", "额定功率", dec_of(Tenancy, "rated_power_w"), required=False, aliases=("额定功率w",)),
    Field("dc_current_a", "直流负载电流", dec_of(Tenancy, "dc_current_a"), required=False, aliases=("直流电流",)),
    Field("agreed_ratio", "约定分摊比例",
          dec_of(Tenancy, "agreed_ratio", "0", "100", percent=True), required=False),
    Field("effective_from", "比例生效日期", date, required=False, aliases=("生效日期",)),
), key=("tenancy_id",), notes=(
    "约定分摊比例按日期生效：填写比例生效日期则从该日起生效，否则从起租日期起生效；比例留空则不改变"
    "已有比例。同一站址在网订单的比例合计不为 100 时按日重新归一，并在缴费单上记稽核提示"
    "（RATIO_SUM），不拒绝文件。",
    "agreed_ratio is dated: in force from effective_from, or from start_date when that is "
    "empty; an empty agreed_ratio leaves the tenancy's ratios as they are. Ratios are "
    "renormalised each day over the tenancies active that day; a sum ≠ 100 is a warning on "
    "the bill (RATIO_SUM), never a refused file.",
))

ACCOUNTS = Schema("accounts", "电表户号", (
    Field("account_no", "电表户号", code, aliases=("户号", "报账点编码")),
    Field("supply_mode", "供电方式", enum(SupplyMode)),
    Field("supplier_type", "供电方类型", enum(SupplierType)),
    Field("supplier_name", "供电方名称", name, required=False),
    Field("input_invoice_type", "票据类型", enum(InvoiceType)),
    Field("contract_price", "合同单价", dec_of(SupplyAccount, "contract_price"), required=False),
    Field("price_cap", "单价上限", dec_of(SupplyAccount, "price_cap"), required=False),
    Field("payment_cycle_months", "缴费周期", integer(1, 24), aliases=("缴费周期月",)),
    Field("multiplier", "倍率", dec_of(SupplyAccount, "multiplier", "0.01"), required=False),
    Field("lump_sum", "是否包干", yes_no, required=False),
    Field("site_code", "站址编码", code),
    Field("split_ratio", "分摊比例",
          dec_of(AccountSite, "split_ratio", "0.000001", "100", percent=True)),
), key=("account_no", "site_code"), notes=(
    "每个户号所供站址一行；同一户号各行的户号字段须一致，分摊比例合计 100。",
    "One row per (account, fed site); account fields repeat identically; splits sum to 100.",
))

RULES = Schema("rules", "分摊规则", (
    Field("site_code", "站址编码", code),
    Field("effective_from", "生效日期", date),
    Field("method", "分摊方式", enum(Method)),
    Field("fallback_method", "备用分摊方式", enum(Method), required=False),
    Field("common_policy", "公共负载分摊", enum(CommonPolicy), required=False),
    Field("tower_share", "铁塔自用比例",
          dec_of(AllocationRule, "tower_share", "0", "100", percent=True), required=False),
), key=("site_code", "effective_from"))
