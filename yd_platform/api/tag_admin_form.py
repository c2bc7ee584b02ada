"""What the tag page's rule form offers, all taken from where the rules are checked: every
feature of tags.yaml's `source:` section with its type and where it comes from
(`features.config.feature_schema`), and per type the operators the validator allows
(`rules.validate.OPERATORS_BY_TYPE`) with the value each operator takes. The form can
therefore offer nothing the validator would refuse for its type, and a new feature in
tags.yaml appears in the form without touching the page.
"""

from __future__ import annotations

from typing import Any

from yd_platform.catalog import Catalog
from yd_platform.tags.features.config import Source, feature_schema
from yd_platform.tags.rules.validate import (
    LOGICS,
    MAX_DEPTH,
    MAX_GROUP_WIDTH,
    MAX_LIST_VALUES,
    NULL_OPERATORS,
    OPERATORS_BY_TYPE,
    RANGE_OPERATORS,
    SOURCE_TYPES_FOR_RULE_TYPE,
    TYPES,
)

AGG_LABELS = {"count": "记录数", "count_distinct": "去重数", "sum": "合计", "min": "最小值", "max": "最大值",
              "collect_set": "取值集合"}
TYPE_LABELS = {"number": "数值", "string": "文本", "date": "日期", "boolean": "是/否", "list": "列表"}
LOGIC_LABELS = {"AND": "全部满足 (AND)", "OR": "任一满足 (OR)", "NOT": "都不满足 (NOT)"}
OPERATOR_LABELS = {
    "=": "等于", "!=": "不等于", ">": "大于", ">=": "大于等于", "<": "小于", "<=": "小于等于",
    "in": "属于", "not_in": "不属于", "between": "介于", "in_range": "在区间内", "contains": "包含",
    "starts_with": "开头是", "recent_days": "最近N天内", "is_null": "为空", "is_not_null": "不为空",
}


def value_kind(operator: str) -> str:
    """What the operator's `value` is: none, scalar, list, range ([low, high]) or days."""
    if operator in NULL_OPERATORS:
        return "none"
    if operator in ("in", "not_in"):
        return "list"
    if operator in RANGE_OPERATORS:
        return "range"
    if operator == "recent_days":
        return "days"
    return "scalar"


def rule_types_for(source_kind: str) -> list[str]:
    """The rule types a field of this source type may be compared as (a text field holding
    ISO dates may be compared as a date)."""
    return [t for t in TYPES if source_kind in SOURCE_TYPES_FOR_RULE_TYPE[t]]


# columns every ODS table has besides the report's own (features.config.ADDED_COLUMNS)
ADDED_COLUMN_LABELS = {"platform": "平台", "shop_id": "店铺", "period": "周期", "period_start": "周期开始",
                       "period_end": "周期结束"}


def _origins(source: Source, catalog: Catalog) -> dict[str, tuple[str, str, str]]:
    """feature -> (Chinese label, where it comes from, the group it is listed under)."""
    out: dict[str, tuple[str, str, str]] = {"user_id": ("用户ID", "每个用户一行的主键", "用户")}
    platform_of: dict[str, tuple[str, str]] = {}  # feature -> (platform name, label without it)
    for entry in source.datasets:
        ds = catalog.dataset(*entry.platform_code)
        platform = catalog.platforms[ds.platform].name
        aliases = {**ADDED_COLUMN_LABELS, **{c.name: (c.aliases[0] if c.aliases else c.name) for c in ds.columns}}
        where = f"{platform} {ds.name} ({entry.dataset})"
        for name in entry.columns:
            out[name] = (aliases.get(name, name), f"{where} 列 {name}", f"{platform} {ds.name}")
        for name, feature in entry.features.items():
            column = f"{aliases.get(feature.column, feature.column)} " if feature.column else ""
            rest = f"{ds.name} {column}{AGG_LABELS[feature.agg]}"
            platform_of[name] = (platform, rest)
            out[name] = (f"{platform}{rest}", f"{where}: {feature.agg}({feature.column or '*'})，近 "
                                              f"{source.window_days} 天", f"{platform} {ds.name}")
    for name, derived in source.derived.items():
        how = " + ".join(derived.inputs) if derived.op == "sum" else f"greatest({', '.join(derived.inputs)})"
        parts = [platform_of.get(i) for i in derived.inputs]
        if all(parts) and len({rest for _, rest in parts}) == 1:  # the same feature of several platforms
            label = f"{parts[0][1]} ({'+'.join(p for p, _ in parts)}{'合计' if derived.op == 'sum' else '取最新'})"
        else:
            label = f"{'合计' if derived.op == 'sum' else '最新'}: " + "、".join(out.get(i, (i, ""))[0]
                                                                           for i in derived.inputs)
        out[name] = (label, how, "跨数据集合计")
    return out


def form_spec(source: Source, catalog: Catalog) -> dict[str, Any]:
    """Everything the rule form is built from (see the module docstring)."""
    schema = feature_schema(source, catalog)
    origins = _origins(source, catalog)
    fields = []
    for name, kind in schema.items():
        label, origin, group = origins.get(name, (name, "", "其他"))
        fields.append({"name": name, "type": kind, "rule_types": rule_types_for(kind), "label": label,
                       "origin": origin, "group": group})
    operators = sorted({op for ops in OPERATORS_BY_TYPE.values() for op in ops})
    return {
        "fields": fields,
        "types": [{"type": t, "label": TYPE_LABELS[t], "operators": list(OPERATORS_BY_TYPE[t])} for t in TYPES],
        "operators": {op: {"label": OPERATOR_LABELS.get(op, op), "value": value_kind(op)} for op in operators},
        "logics": [{"logic": logic, "label": LOGIC_LABELS[logic]} for logic in LOGICS],
        "limits": {"max_depth": MAX_DEPTH, "max_group_width": MAX_GROUP_WIDTH, "max_list_values": MAX_LIST_VALUES},
    }
