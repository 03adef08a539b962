"""Import columns for bills, payments and meter data (DOMAIN.md §8)."""

from towerledger.bills.models import Bill, MeterDay, SubmeterReading
from towerledger.domain.codes import InvoiceType, OperatorCode
from towerledger.importers.schema import Field, Schema, code, code_of, date, dec_of, enum, yes_no

# A bill number is what the supplier printed (landlords' bills are often numbered by hand,
# in Chinese); a payment reference is the bank's, and the default one is ACCOUNT/BILL.
BILL_NO = code_of("chinese", 60)
PAYMENT_REF = code_of("reference", 60)

BILLS = Schema("bills", "缴费单", (
    Field("bill_no", "缴费单号", BILL_NO, aliases=("账单编号", "单据编号")),
    Field("account_no", "电表户号", code, aliases=("户号", "报账点编码")),
    Field("period_start", "起始日期", date, aliases=("计费开始日期", "用电开始日期")),
    Field("period_end", "截止日期", date, aliases=("计费结束日期", "用电结束日期")),
    Field("start_reading", "起度", dec_of(Bill, "start_reading"), required=False, aliases=("上期读数",)),
    Field("end_reading", "止度", dec_of(Bill, "end_reading"), required=False, aliases=("本期读数",)),
    Field("multiplier", "倍率", dec_of(Bill, "multiplier", "0.01"), required=False),
    Field("loss_kwh", "损耗电量", dec_of(Bill, "loss_kwh", None), required=False, aliases=("线变损",)),
    Field("kwh", "用电量", dec_of(Bill, "kwh"), required=False, aliases=("电量",)),
    Field("unit_price", "单价", dec_of(Bill, "unit_price"), required=False, aliases=("电价",)),
    Field("amount", "金额", dec_of(Bill, "amount"), aliases=("电费金额", "缴费金额")),
    Field("input_tax", "进项税额", dec_of(Bill, "input_tax"), required=False, aliases=("税额",)),
    Field("invoice_type", "票据类型", enum(InvoiceType), required=False),
    Field("paid_date", "支付日期", date, required=False, aliases=("缴费日期",)),
    Field("payment_ref", "支付流水号", PAYMENT_REF, required=False, aliases=("付款流水号",)),
    Field("meter_changed", "是否换表", yes_no, required=False),
    Field("old_meter_end_reading", "旧表止码", dec_of(Bill, "old_meter_end_reading"),
          required=False, aliases=("旧表止度",)),
    Field("new_meter_start_reading", "新表起码", dec_of(Bill, "new_meter_start_reading"),
          required=False, aliases=("新表起度",)),
), key=("account_no", "bill_no"), unique=("payment_ref",))

PAYMENTS = Schema("payments", "支付", (
    Field("bill_no", "缴费单号", BILL_NO),
    Field("account_no", "电表户号", code, aliases=("户号",)),
    Field("paid_date", "支付日期", date, aliases=("缴费日期",)),
    Field("payment_ref", "支付流水号", PAYMENT_REF, aliases=("付款流水号",)),
), key=("payment_ref",))

SUBMETER = Schema("submeter", "分户计量读数", (
    Field("site_code", "站址编码", code),
    Field("operator", "运营商", enum(OperatorCode)),
    Field("period_start", "起始日期", date),
    Field("period_end", "截止日期", date),
    Field("kwh", "用电量", dec_of(SubmeterReading, "kwh")),
), key=("site_code", "operator", "period_start", "period_end"))

SMART_METER = Schema("smartmeter", "智能电表日数据", (
    Field("site_code", "站址编码", code),
    Field("date", "日期", date),
    Field("kwh", "用电量", dec_of(MeterDay, "kwh")),
    Field("dc_current_a", "直流负载电流", dec_of(MeterDay, "dc_current_a"), required=False),
    Field("dc_voltage", "直流电压", dec_of(MeterDay, "dc_voltage"), required=False),
), key=("site_code", "date"))
