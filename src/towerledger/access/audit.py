"""Write the audit log. Every service that changes state calls ``record``."""

import json
from datetime import date

from django.core.serializers.json import DjangoJSONEncoder

from towerledger.access.models import AuditEntry
from towerledger.db.bulk import copy_insert

_SCALARS = (str, int, bool, type(None))


def _plain(value):
    """``value`` as JSON would read it back (dates as ISO text, Decimals as strings …).

    A flat dict of text, numbers and dates — what bulk paths log, tens of thousands at a
    time — is converted directly, with the same result as the JSON round trip."""
    if value is None:
        return None
    if type(value) is dict and all(type(k) is str and (type(v) in _SCALARS or type(v) is date)
                                   for k, v in value.items()):
        return {k: v.isoformat() if type(v) is date else v for k, v in value.items()}
    return json.loads(json.dumps(value, cls=DjangoJSONEncoder, default=str))


def record(user, action, object_type, object_key="", before=None, after=None, reason=""):
    """Append one entry; ``user`` None means the system (a CLI run without --user, a job)."""
    return AuditEntry.objects.create(
        user=user if getattr(user, "pk", None) else None,
        action=action,
        object_type=object_type,
        object_key=str(object_key)[:120],
        before=_plain(before),
        after=_plain(after),
        reason=reason or "",
    )


def record_many(user, action, object_type, entries, reason=""):
    """Append one entry per ``(object_key, before, after)`` in one set-wise insert (COPY on
    PostgreSQL: a file's worth of payments is tens of thousands of entries)."""
    uid = user.pk if getattr(user, "pk", None) else None
    copy_insert(AuditEntry, [
        {"user_id": uid, "action": action, "object_type": object_type,
         "object_key": str(key)[:120], "before": _plain(before), "after": _plain(after),
         "reason": reason or ""}
        for key, before, after in entries])


# What each action code means, in Chinese and English: the audit log page (and anything
# else that shows an entry) reads these, never the codes.
ACTIONS = {
    "login": ("登录", "signed in"),
    "login_failed": ("登录失败", "sign-in failed"),
    "login_refused": ("登录被拒（尝试过多）", "sign-in refused (too many attempts)"),
    "user.create": ("新建用户", "user created"),
    "user.update": ("修改用户", "user changed"),
    "user.deactivate": ("停用用户", "user deactivated"),
    "user.reactivate": ("重新启用用户", "user reactivated"),
    "user.reset_password": ("重置密码", "password reset"),
    "user.change_password": ("本人修改密码", "own password changed"),
    "api_token.create": ("发放接口令牌", "API token issued"),
    "api_token.revoke": ("吊销接口令牌", "API token revoked"),
    "import": ("导入文件", "file imported"),
    "pay": ("支付缴费单", "bill paid"),
    "assign_flag": ("指派稽核提示", "finding assigned"),
    "resolve_flag": ("处理稽核提示", "finding resolved"),
    "whitelist_flag": ("稽核提示加入白名单", "finding whitelisted"),
    "reaudit": ("重新稽核", "bills re-audited"),
    "audit_rule_setting": ("修改稽核规则阈值", "audit rule threshold changed"),
    "push_held": ("推送暂缓明细", "held lines pushed"),
    "confirm": ("确认", "confirmed"),
    "deemed_confirm": ("逾期视同确认", "deemed confirmed (deadline passed)"),
    "dispute": ("提出异议", "disputed"),
    "dispute_accept": ("异议处理：接受", "dispute answered: accepted"),
    "dispute_reject": ("异议处理：驳回", "dispute answered: rejected"),
    "dispute_partial": ("异议处理：部分接受", "dispute answered: partly accepted"),
    "void": ("冲销缴费单", "bill voided"),
    "reallocate": ("重新分摊", "bill re-allocated"),
    "refund": ("退费", "refund"),
    "issue": ("出具对账单", "statement issued"),
    "withdraw": ("撤回对账单", "statement withdrawn"),
    "invoice": ("登记发票", "invoice recorded"),
    "write_off": ("回款核销", "receipt matched (written off)"),
    "unmatch": ("撤销核销", "match undone"),
    "close": ("月结", "month closed"),
    "generator.enter": ("录入停电/发电记录", "outage / generator run entered"),
    "generator.resolve": ("处理发电稽核", "generator run finding resolved"),
    "generator.bill": ("油机发电出账", "generator runs billed"),
    "generator.rule": ("设置发电分摊规则", "generator split rule set"),
    "generator.correct": ("更正已付款发电记录", "paid generator run corrected"),
    "tax_factor.add": ("新增税负因子", "tax factor added"),
    "tax_factor.change": ("修改税负因子", "tax factor changed"),
    "tax_factor.withdraw": ("撤回税负因子", "tax factor withdrawn"),
    "tax_factor.import": ("导入税负因子", "tax factors imported"),
    "conversion.submit": ("提交转改直项目", "conversion submitted"),
    "conversion.approve": ("批准转改直项目", "conversion approved"),
    "conversion.build": ("转改直施工完成", "conversion built"),
    "conversion.complete": ("转改直完成", "conversion done"),
    "conversion.fail": ("转改直未成功", "conversion failed"),
    "conversion.account": ("户号转为直供电", "account turned direct"),
    "conversion.attach": ("上传转改直附件", "conversion attachment"),
    "conversion.estimate": ("录入改造费用估算", "conversion cost estimated"),
    "conversion.direct_price": ("设置直供目录电价", "direct catalogue price set"),
    "conversion.cost_default": ("设置改造费用默认值", "default conversion cost set"),
    "trading.contract": ("登记市场化交易合同", "trading contract saved"),
    "trading.enrol": ("户号参加市场化交易", "accounts enrolled"),
    "trading.withdraw": ("户号退出市场化交易", "account withdrawn"),
    "rent.contract": ("登记场租合同", "rent contract saved"),
    "rent.pay": ("场租付款", "rent paid"),
    "rent.terminate": ("终止场租合同", "rent contract terminated"),
    "rent.site_fee": ("登记场地费包干", "site fee agreement saved"),
    "accruals.accrue": ("月结暂估入账", "accruals posted at close"),
    "accruals.setting": ("设置暂估冲回方式", "accrual reversal rule set"),
    "accruals.mapping": ("设置总账科目映射", "general-ledger mapping set"),
    "theft.open": ("登记偷电案件", "theft case opened"),
    "theft.investigate": ("偷电案件开始核查", "theft case under investigation"),
    "theft.confirm": ("确认偷电", "theft confirmed"),
    "theft.dismiss": ("排除偷电嫌疑", "theft case dismissed"),
    "theft.remediate": ("偷电整改完成", "theft remediated"),
    "theft.close": ("偷电案件结案", "theft case closed"),
    "theft.evidence": ("上传偷电证据", "theft evidence uploaded"),
    "theft.recovery": ("登记追缴并退还", "theft recovery recorded and credited"),
    "theft.recompute": ("重算节省电费", "savings recomputed"),
    "theft.agreement": ("设置效益分成比例", "savings sharing agreement set"),
    "theft.deadline": ("设置偷电案件处理期限", "theft case step deadline set"),
    "decommission.request": ("拆站申请", "decommissioning requested"),
    "decommission.tenancies": ("拆站：终止租户服务", "decommissioning: tenancies ended"),
    "decommission.readings": ("拆站：最终抄表", "decommissioning: final reading recorded"),
    "decommission.bills": ("拆站：最终缴费单", "decommissioning: final bills"),
    "decommission.accounts": ("拆站：电表户号销户", "decommissioning: account closed"),
    "decommission.rent": ("拆站：终止场租合同", "decommissioning: rent terminated"),
    "decommission.archive": ("站址归档", "site archived"),
    "decommission.refused": ("站址归档被拒（尚有未完成事项）", "site archive refused (items open)"),
    "decommission.reopen": ("站址重新启用", "site reopened"),
    "history.take_over": ("接管历史台账", "legacy ledger taken over"),
    "history.unapplied": ("接管历史预收", "legacy unapplied cash taken over"),
    "history.sign_off": ("接管对账签认", "take-over reconciliation signed off"),
    "history.target": ("设定回收目标", "collection target set"),
    "history.target_delete": ("删除回收目标", "collection target removed"),
}

# What each object type is, in Chinese and English (an import's type is its file kind).
OBJECTS = {
    "user": ("用户", "user"), "api_token": ("接口令牌", "API token"), "bill": ("缴费单", "bill"),
    "bills": ("缴费单", "bills"), "line": ("明细", "line"), "dispute": ("异议", "dispute"),
    "statement": ("对账单", "statement"), "receipt": ("回款", "receipt"),
    "account": ("电费户号", "supply account"), "month": ("月份", "month"),
    "audit_rule": ("稽核规则", "audit rule"), "tax_factor": ("税负因子", "tax factor"),
    "conversion_project": ("转改直项目", "conversion project"),
    "conversion_setting": ("转改直参数", "conversion setting"),
    "trading_contract": ("市场化交易合同", "trading contract"),
    "rent_contract": ("场租合同", "rent contract"), "rent_payment": ("场租付款", "rent payment"),
    "site_fee_agreement": ("场地费包干协议", "site fee agreement"),
    "theft_case": ("偷电案件", "theft case"),
    "accrual": ("暂估", "accrual"),
    "accrual_setting": ("暂估冲回设置", "accrual setting"),
    "gl_mapping": ("总账科目映射", "general-ledger mapping"),
    "sharing_agreement": ("效益分成比例", "savings sharing agreement"),
    "theft_deadline": ("偷电案件处理期限", "theft case deadline"),
    "site": ("站址", "site"),
    "legacy_ledger": ("历史台账", "legacy ledger"),
    "legacy_unapplied": ("历史预收", "legacy unapplied cash"),
    "take_over": ("接管对账", "take-over reconciliation"),
    "collection_target": ("回收目标", "collection target"),
    "generator_run": ("发电记录", "generator run"),
}
