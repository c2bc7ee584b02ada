"""Column names of the Metabase cards (the old exports' headers) mapped to our fields."""

from __future__ import annotations

from datetime import datetime

from yd_platform.incentives.rules import Contract

CONTRACT_COLUMNS: dict[str, tuple[str, ...]] = {
    "contract_id": ("合同ID(_id)", "_id", "contract_id"),
    "contract_no": ("合同编号(contractdocNum)", "contractdocNum", "contract_no"),
    "housekeeper": ("管家(serviceHousekeeper)", "serviceHousekeeper", "housekeeper"),
    "provider": ("服务商(orgName)", "orgName", "provider"),
    "amount": ("合同金额(adjustRefundMoney)", "adjustRefundMoney", "amount"),
    "signed_at": ("签约时间(signedDate)", "signedDate", "signed_at"),
}
# optional: a card without them still works (each contract its own work order, rate unknown)
CONTRACT_OPTIONAL_COLUMNS: dict[str, tuple[str, ...]] = {
    "work_order": ("工单编号(serviceAppointmentNum)", "serviceAppointmentNum", "work_order"),
    "conversion": ("转化率(conversion)", "conversion"),
}

VIOLATION_COLUMNS: dict[str, tuple[str, ...]] = {
    "violation_id": ("_id", "violation_id"),
    "provider": ("orgName", "服务商(orgName)", "provider"),
    "order_no": ("orderNum", "工单编号(orderNum)", "order_no"),
    "created_at": ("saCreateTime", "建单时间(saCreateTime)", "created_at"),
    "housekeeper": ("supervisorName", "管家(supervisorName)", "housekeeper"),
    "kind": ("msg", "违规类型(msg)", "kind"),
    "memo": ("memo", "违规描述(memo)"),
}


class SourceRowError(ValueError):
    """A source row lacks a column or has a bad value; the message says which and where."""


def pick(row: dict, field: str, names: tuple[str, ...], where: str) -> object:
    for name in names:
        if name in row and row[name] is not None:
            return row[name]
    raise SourceRowError(f"{where}: column {field!r} missing (looked for {', '.join(names)})")


def _optional(row: dict, names: tuple[str, ...]) -> object:
    return next((row[n] for n in names if row.get(n) not in (None, "")), None)


def _rate(value: object, at: str) -> float | None:
    if value is None:
        return None
    try:
        return float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        raise SourceRowError(f"{at}: conversion {value!r} is not a number") from None


def _text_time(value: object) -> str:
    if isinstance(value, datetime):
        return value.isoformat()
    return str(value)


def contracts_from_rows(rows: list[dict], where: str) -> list[Contract]:
    out = []
    for i, row in enumerate(rows):
        at = f"{where}, row {i + 1}"
        values = {f: pick(row, f, names, at) for f, names in CONTRACT_COLUMNS.items()}
        try:
            amount = float(values["amount"])  # type: ignore[arg-type]
        except (TypeError, ValueError):
            raise SourceRowError(f"{at}: amount {values['amount']!r} is not a number") from None
        try:
            work_order = _optional(row, CONTRACT_OPTIONAL_COLUMNS["work_order"])
            out.append(Contract(contract_id=str(values["contract_id"]), contract_no=str(values["contract_no"]),
                                housekeeper=str(values["housekeeper"]), provider=str(values["provider"]),
                                amount=amount, signed_at=_text_time(values["signed_at"]),
                                work_order="" if work_order is None else str(work_order),
                                conversion=_rate(_optional(row, CONTRACT_OPTIONAL_COLUMNS["conversion"]), at)))
        except ValueError as exc:
            raise SourceRowError(f"{at}: {exc}") from None
    return out


def violations_from_rows(rows: list[dict], where: str) -> list[dict]:
    out = []
    for i, row in enumerate(rows):
        at = f"{where}, row {i + 1}"
        record = {f: str(pick(row, f, names, at)) for f, names in VIOLATION_COLUMNS.items() if f != "memo"}
        record["memo"] = str(row.get("memo") or row.get("违规描述(memo)") or "")
        out.append(record)
    return out
