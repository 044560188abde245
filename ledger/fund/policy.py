"""Policy parameters by date: national defaults by era, plus the locality's overrides.

The rules of the micro guaranteed loan change over the years (loan limits, terms, rate
caps, interest subsidy, leverage …) and a locality changes some of them. Every guarantee
commitment and loan is bound to the :class:`RuleSet` in force on its date: the caller
stores :meth:`RuleSet.to_json` in the row, and a later rule never changes it.

* National defaults live in ``policy_national.toml`` beside this module, one ``[[era]]``
  per rule set (the first defines every parameter, later ones only what changes), plus the
  one-year reference rates (``[[reference_rate]]``: PBoC benchmark, LPR).
* A locality's overrides are rows of ``policy_overrides`` (:func:`record_override`, or a
  file for ``fundledger policy load``: :func:`load_overrides_file`). An override takes
  effect from its date on and may not be backdated.
* :func:`rules_on` merges the national eras in force on a date, in order, then every
  override in force on that date, in order. Tables merge key by key (so an override may
  change only ``leverage.high``); lists and plain values are replaced; a ``subsidy`` table
  that names a different ``method`` replaces the old one wholesale.

Money is integer fen, rates and ratios integer ppm (3.85% = 38_500, 80% = 800_000),
spreads basis points (1bp = 100 ppm).
"""

from __future__ import annotations

import datetime as dt
import functools
import hashlib
import json
import tomllib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from types import MappingProxyType
from typing import Any

from ledger.clock import business_today, utcnow
from ledger.fund.categories import catalogue
from ledger.fund.errors import GuaranteeFeeCapError, PolicyError
from ledger.fund.trades import catalogue as trade_catalogue
from ledger.money import format_percent

__all__ = [
    "BORROWER_TYPES",
    "CAPITAL_SOURCE_KINDS",
    "CATEGORIES",
    "COUNTER_GUARANTEE_KINDS",
    "CREDENTIAL_KINDS",
    "FEE_PAYERS",
    "GUARANTEE_FEE_CAP_PPM",
    "RATE_BASES",
    "RATE_KINDS",
    "TRADES",
    "Era",
    "PolicyError",
    "ReferenceRate",
    "RuleSet",
    "load_overrides_file",
    "merge_params",
    "national_eras",
    "national_rates",
    "national_rules",
    "record_override",
    "reference_rate_ppm",
    "rule_history",
    "rules_on",
    "today_local",
    "validate_params",
]

PPM = 1_000_000

#: Borrower types a loan limit is set for.
BORROWER_TYPES = ("individual", "partnership", "small_enterprise")
#: Eligibility categories (the ``eligible_categories`` values).
CATEGORIES = tuple(catalogue())
#: Documents the labour office issues to a person (``credential.kind`` values).
CREDENTIAL_KINDS = ("reemployment_certificate",)
#: Kinds of capital source (``loss_attribution.first_loss_order`` values).
CAPITAL_SOURCE_KINDS = ("provincial", "city", "district", "other")
#: Kinds of counter-guarantee (``counter_guarantee.waiver_kinds`` values).
COUNTER_GUARANTEE_KINDS = ("guarantor", "mortgage", "pledge", "joint_group", "credit_community")
#: Kinds of reference rate (``rate_cap.basis`` values).
RATE_KINDS = ("benchmark", "lpr")
SUBSIDY_METHODS = ("full", "declining", "lpr_minus")
#: Of which rate a subsidy share is (``subsidy.rate_basis``): the loan's contract rate, or
#: the PBoC benchmark on the contract date without the mark-up (never more than the loan's).
RATE_BASES = ("loan", "benchmark")
#: Trades a project may be in (``subsidy.restricted_trades`` values): the catalogue.
TRADES = tuple(trade_catalogue())
#: Who pays the guarantee fee (``guarantee_fee.payer``).
FEE_PAYERS = ("finance_bureau", "borrower")
#: The most a guarantee fee may be: 1% a year of the principal guaranteed.
GUARANTEE_FEE_CAP_PPM = 10_000
LOSS_RULES = ("pro_rata", "first_loss")
#: Whose contributions a loss is split by: as they stood on the write-off date, or on
#: the date the guarantee was approved (``loss_attribution.as_of``).
LOSS_DATES = ("write_off", "guarantee")
CLAIM_BASES = ("principal", "principal_and_interest")
#: What the leverage cap counts: the fund's covered share (担保责任余额 as guarantee
#: exposure) or the whole principal the bank has outstanding on guaranteed loans.
LEVERAGE_BASES = ("exposure", "principal")

#: Policy dates are calendar dates in China (UTC+8).
_NATIONAL_FILE = "policy_national.toml"


def today_local() -> dt.date:
    """Today's date in China (UTC+8): the date a policy override is compared with."""
    return business_today()


# --- validation -----------------------------------------------------------------------


def _describe(value: Any) -> str:
    if isinstance(value, Mapping):
        return "a table"
    if isinstance(value, list | tuple):
        return "a list"
    if value is True:
        return "true"
    if value is False:
        return "false"
    return repr(value)


def _fail(path: str, expected: str, expected_zh: str, value: Any) -> PolicyError:
    shown = _describe(value)
    return PolicyError(
        f"policy key {path} must be {expected}, not {shown}",
        zh=f"政策参数 {path} 必须是{expected_zh}，不能是 {shown}",
    )


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _positive(path: str, value: Any) -> None:
    if not _is_int(value) or value <= 0:
        raise _fail(path, "a positive integer", "正整数", value)


def _count(path: str, value: Any) -> None:
    if not _is_int(value) or value < 0:
        raise _fail(path, "an integer, zero or more", "非负整数", value)


def _fen(path: str, value: Any) -> None:
    if not _is_int(value) or value < 0:
        raise _fail(
            path, "an amount in fen (an integer, zero or more)", "以分计的非负整数金额", value
        )


def _ppm(path: str, value: Any) -> None:
    if not _is_int(value) or not 0 <= value <= PPM:
        raise _fail(
            path,
            "an integer between 0 and 1000000 ppm",
            "0 到 1000000 之间的整数（百万分之一）",
            value,
        )


def _bp(path: str, value: Any) -> None:
    if not _is_int(value) or not -10_000 <= value <= 10_000:
        raise _fail(
            path,
            "an integer number of basis points between -10000 and 10000",
            "-10000 到 10000 之间的整数基点",
            value,
        )


def _age(path: str, value: Any) -> None:
    if not _is_int(value) or not 0 <= value <= 150:
        raise _fail(path, "an age in whole years (0 to 150)", "0 到 150 之间的整数周岁", value)


def _age_by_sex(path: str, value: Any) -> None:
    """An age, or a table of one for each sex (``{ male = 60, female = 55 }``)."""
    if isinstance(value, Mapping):
        if set(value) != {"male", "female"}:
            raise _fail(
                path, "an age, or a table of male and female ages", "周岁，或按性别的周岁表", value
            )
        for sex in ("male", "female"):
            _age(f"{path}.{sex}", value[sex])
        return
    _age(path, value)


def _bool(path: str, value: Any) -> None:
    if not isinstance(value, bool):
        raise _fail(path, "true or false", "true 或 false", value)


def _choice(options: tuple[str, ...]):
    shown = ", ".join(repr(o) for o in options)

    def check(path: str, value: Any) -> None:
        if not isinstance(value, str) or value not in options:
            raise _fail(path, f"one of {shown}", f"以下之一：{shown}", value)

    return check


def _choices(options: tuple[str, ...], *, nonempty: bool):
    one = _choice(options)

    def check(path: str, value: Any) -> None:
        if not isinstance(value, list | tuple):
            raise _fail(path, "a list", "列表", value)
        if nonempty and not value:
            raise _fail(path, "a list that is not empty", "非空列表", value)
        for i, item in enumerate(value):
            one(f"{path}[{i}]", item)
        seen: set[str] = set()
        for item in value:
            if item in seen:
                raise PolicyError(
                    f"policy key {path} lists {item!r} twice",
                    zh=f"政策参数 {path} 重复列出了 {item!r}",
                )
            seen.add(item)

    return check


def _ppm_list(path: str, value: Any) -> None:
    if not isinstance(value, list | tuple) or not value:
        raise _fail(path, "a list that is not empty", "非空列表", value)
    for i, item in enumerate(value):
        _ppm(f"{path}[{i}]", item)


def _fee_rate(path: str, value: Any) -> None:
    _ppm(path, value)
    if value > GUARANTEE_FEE_CAP_PPM:
        cap = GUARANTEE_FEE_CAP_PPM
        raise GuaranteeFeeCapError(
            f"policy key {path} is {format_percent(value)} a year ({value} ppm): the guarantee "
            f"fee may be at most {format_percent(cap)} a year ({cap} ppm) of the principal "
            "guaranteed",
            zh=f"政策参数 {path} 为每年 {format_percent(value)}（{value} ppm），担保费最高为"
            f"担保本金的每年 {format_percent(cap)}（{cap} ppm）",
        )


#: Subsidy keys by method; a partial override without ``method`` may give any of them.
_SUBSIDY_KEYS: dict[str, dict[str, Any]] = {
    "full": {
        "share_ppm": {"individual": _ppm, "partnership": _ppm, "small_enterprise": _ppm},
    },
    "declining": {
        "share_ppm_by_year": _ppm_list,
        "types": _choices(BORROWER_TYPES, nonempty=False),
    },
    "lpr_minus": {"borrower_pays_spread_bp": _bp, "small_enterprise_share_ppm": _ppm},
}
#: Keys a subsidy table may give, and need not, by method: a type missing from one of
#: these tables takes the default (the loan's rate; no central/local split).
_SUBSIDY_OPTIONAL: dict[str, dict[str, Any]] = {
    "full": {"rate_basis": {t: _choice(RATE_BASES) for t in BORROWER_TYPES}},
    "declining": {},
    "lpr_minus": {},
}
#: Optional keys of every method: who gets a subsidy (a micro-profit project, a trade not
#: restricted) and who pays it (central finance's share; local finance the rest).
_SUBSIDY_COMMON: dict[str, Any] = {
    "micro_profit_only": _choices(BORROWER_TYPES, nonempty=False),
    "restricted_trades": _choices(TRADES, nonempty=False),
    "central_share_ppm": {t: _ppm for t in BORROWER_TYPES},
}

#: The parameter schema: a dict is a table of sub-keys, a function checks a value.
SCHEMA: dict[str, Any] = {
    "loan_limit_fen": {
        "individual": _fen,
        "partnership_per_head": _fen,
        "partnership_max_heads": _positive,
        "partnership_cap": _fen,
        "small_enterprise": _fen,
    },
    "max_term_months": _positive,
    "max_extension_months": _count,
    "max_extensions": _count,
    "rate_cap": {"basis": _choice(RATE_KINDS), "spread_bp": _bp},
    "subsidy": None,  # checked by _check_subsidy: its keys depend on its method
    "leverage": {
        "base": _positive,
        "high": _positive,
        "high_if_repayment_rate_ppm": _ppm,
        "basis": _choice(LEVERAGE_BASES),
        "min_lending_multiple": _count,
    },
    "coverage_ppm": _ppm,
    "claim_after_days_overdue": _positive,
    "claim_basis": _choice(CLAIM_BASES),
    "suspend_above_compensation_rate_ppm": _ppm,
    "loss_attribution": {
        "rule": _choice(LOSS_RULES),
        "first_loss_order": _choices(CAPITAL_SOURCE_KINDS, nonempty=True),
        "as_of": _choice(LOSS_DATES),
    },
    "counter_guarantee": {
        "required_above_fen": _fen,
        "waiver_kinds": _choices(COUNTER_GUARANTEE_KINDS, nonempty=False),
        "max_loans_per_guarantor": _positive,
    },
    "repeat_loans": {"max_loans": _positive, "require_on_time": _bool, "max_active": _positive},
    "eligible_categories": _choices(CATEGORIES, nonempty=True),
    "credential": {
        "kind": _choice(CREDENTIAL_KINDS),
        "required_for": _choices(BORROWER_TYPES, nonempty=False),
    },
    "min_age": _age,
    "max_age": _age_by_sex,
    "personal_data": {"retention_years": _positive},
    "guarantee_fee": {"rate_ppm": _fee_rate, "payer": _choice(FEE_PAYERS)},
    "deposit_interest": {"rate_ppm": _ppm},
}


def _unknown(path: str) -> PolicyError:
    return PolicyError(f"unknown policy key {path}", zh=f"未知的政策参数 {path}")


def _missing(path: str) -> PolicyError:
    return PolicyError(f"policy key {path} is missing", zh=f"缺少政策参数 {path}")


def _check_table(path: str, schema: dict[str, Any], value: Any, partial: bool) -> None:
    if not isinstance(value, Mapping):
        raise _fail(path, "a table", "表", value)
    for key in value:
        if key not in schema:
            raise _unknown(f"{path}.{key}" if path else str(key))
    for key, check in schema.items():
        sub = f"{path}.{key}" if path else key
        if key not in value:
            if not partial:
                raise _missing(sub)
            continue
        if key == "subsidy" and not path:
            _check_subsidy(value[key], partial)
        elif isinstance(check, dict):
            _check_table(sub, check, value[key], partial)
        else:
            check(sub, value[key])


def _check_subsidy(value: Any, partial: bool) -> None:
    if not isinstance(value, Mapping):
        raise _fail("subsidy", "a table", "表", value)
    method = value.get("method")
    if method is None and not partial:
        raise _missing("subsidy.method")
    if method is not None:
        _choice(SUBSIDY_METHODS)("subsidy.method", method)
        schema = _SUBSIDY_KEYS[method]
        optional = _SUBSIDY_OPTIONAL[method] | _SUBSIDY_COMMON
    else:
        schema = {k: v for keys in _SUBSIDY_KEYS.values() for k, v in keys.items()}
        optional = {k: v for keys in _SUBSIDY_OPTIONAL.values() for k, v in keys.items()}
        optional |= _SUBSIDY_COMMON
    for key in value:
        if key == "method":
            continue
        if key not in schema and key not in optional:
            if any(key in keys for keys in (*_SUBSIDY_KEYS.values(), *_SUBSIDY_OPTIONAL.values())):
                raise PolicyError(
                    f"policy key subsidy.{key} does not belong to subsidy method {method!r}",
                    zh=f"政策参数 subsidy.{key} 不适用于贴息方式 {method!r}",
                )
            raise _unknown(f"subsidy.{key}")
    _check_table("subsidy", schema, {k: v for k, v in value.items() if k in schema}, partial)
    _check_table("subsidy", optional, {k: v for k, v in value.items() if k in optional}, True)


def validate_params(params: Mapping, *, partial: bool) -> None:
    """Refuse unknown keys, wrong types, negative amounts, ppm outside [0, 1_000_000] and
    unknown choices, with a :class:`PolicyError` naming the key path.

    ``partial``: an override or later era, giving only some keys. Otherwise every key must
    be there and the parameters must agree with each other (``min_age`` ≤ ``max_age``,
    ``leverage.high`` ≥ ``leverage.base``).
    """
    if not isinstance(params, Mapping):
        raise PolicyError(
            f"policy parameters must be a table, not {_describe(params)}",
            zh=f"政策参数必须是表，不能是 {_describe(params)}",
        )
    _check_table("", SCHEMA, params, partial)
    if partial:
        return
    oldest = params["max_age"]
    if isinstance(oldest, Mapping):
        oldest = min(oldest.values())
    if params["min_age"] > oldest:
        raise PolicyError(
            f"policy key min_age ({params['min_age']}) must not be above max_age ({oldest})",
            zh=f"政策参数 min_age（{params['min_age']}）不能大于 max_age（{oldest}）",
        )
    leverage = params["leverage"]
    if leverage["high"] < leverage["base"]:
        raise PolicyError(
            f"policy key leverage.high ({leverage['high']}) must not be below "
            f"leverage.base ({leverage['base']})",
            zh=f"政策参数 leverage.high（{leverage['high']}）不能小于 "
            f"leverage.base（{leverage['base']}）",
        )


# --- merging and freezing ---------------------------------------------------------------


def _thaw(value: Any) -> Any:
    """Plain, mutable JSON-like data (dicts and lists) from frozen or TOML data."""
    if isinstance(value, Mapping):
        return {str(k): _thaw(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_thaw(v) for v in value]
    return value


def _freeze(value: Any) -> Any:
    if isinstance(value, Mapping):
        return MappingProxyType({str(k): _freeze(v) for k, v in value.items()})
    if isinstance(value, list | tuple):
        return tuple(_freeze(v) for v in value)
    return value


def merge_params(base: Mapping, override: Mapping) -> dict:
    """``base`` with ``override`` merged over it, as new plain data (neither is changed).

    Tables merge key by key, recursively; lists and plain values are replaced. A table
    that names a different ``method`` than the one it merges over (the subsidy) replaces
    it wholesale, so no key of the old method lingers.
    """
    merged = _thaw(base)
    for key, value in override.items():
        old = merged.get(key)
        if (
            isinstance(old, dict)
            and isinstance(value, Mapping)
            and not ("method" in value and value["method"] != old.get("method"))
        ):
            merged[key] = merge_params(old, value)
        else:
            merged[key] = _thaw(value)
    return merged


def _canonical(value: Any) -> str:
    return json.dumps(_thaw(value), sort_keys=True, separators=(",", ":"), ensure_ascii=False)


# --- the rule set -----------------------------------------------------------------------


@dataclass(frozen=True, eq=False)
class RuleSet:
    """The rules in force on a date: complete, validated, read-only parameters.

    ``effective_from`` is the date of the newest era or override that contributed;
    ``sources`` names the newest national era and every local override merged, e.g.
    ``("national:2021", "local:2023-01-01")``. ``params`` is a read-only mapping (tables
    are mappings, lists are tuples) with the keys of :data:`SCHEMA`.
    """

    effective_from: dt.date
    sources: tuple[str, ...]
    params: Mapping[str, Any] = field(repr=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "sources", tuple(self.sources))
        object.__setattr__(self, "params", _freeze(self.params))

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, RuleSet):
            return NotImplemented
        return self.to_json() == other.to_json()

    def __hash__(self) -> int:
        return hash(self.to_json())

    def __getitem__(self, key: str) -> Any:
        return self.params[key]

    # serialisation

    def to_json(self) -> str:
        """Canonical JSON (sorted keys, no spaces): what a commitment or loan row stores."""
        return _canonical(
            {
                "effective_from": self.effective_from.isoformat(),
                "sources": list(self.sources),
                "params": self.params,
            }
        )

    @classmethod
    def from_json(cls, text: str) -> RuleSet:
        """The rule set :meth:`to_json` wrote. The parameters are checked key by key (not
        for completeness: a snapshot keeps the keys of its own day)."""
        try:
            data = json.loads(text)
            effective_from = dt.date.fromisoformat(data["effective_from"])
            sources = data["sources"]
            params = data["params"]
            if not isinstance(sources, list) or not all(isinstance(s, str) for s in sources):
                raise ValueError("sources must be a list of strings")
        except (ValueError, TypeError, KeyError) as exc:
            raise PolicyError(
                f"not a stored rule set: {exc}", zh=f"不是有效的政策规则快照：{exc}"
            ) from exc
        validate_params(params, partial=True)
        return cls(effective_from, tuple(sources), params)

    def fingerprint(self) -> str:
        """SHA-256 (hex) of :meth:`to_json`: equal exactly when the rule sets are equal."""
        return hashlib.sha256(self.to_json().encode("utf-8")).hexdigest()

    def as_dict(self) -> dict:
        """The parameters as plain, mutable data (a copy)."""
        return _thaw(self.params)

    # helpers

    def loan_limit(self, borrower_type: str, head_count: int = 1) -> int:
        """The largest loan in fen for ``borrower_type``; 0 when the type is not offered.

        A partnership's limit is the per-head limit × min(head_count, max heads), capped
        at ``partnership_cap``; ``head_count`` is ignored for the other types.
        """
        limits = self.params["loan_limit_fen"]
        if borrower_type == "individual":
            return limits["individual"]
        if borrower_type == "small_enterprise":
            return limits["small_enterprise"]
        if borrower_type != "partnership":
            shown = ", ".join(BORROWER_TYPES)
            raise PolicyError(
                f"unknown borrower type {borrower_type!r}: use one of {shown}",
                zh=f"未知的借款人类型 {borrower_type!r}，应为以下之一：{shown}",
            )
        if not _is_int(head_count) or head_count < 2:
            raise PolicyError(
                f"a partnership has at least 2 people, not {head_count!r}",
                zh=f"合伙创业至少需要 2 人，不能是 {head_count!r}",
            )
        heads = min(head_count, limits["partnership_max_heads"])
        return min(limits["partnership_per_head"] * heads, limits["partnership_cap"])

    def rate_cap_ppm(self, reference_ppm: int) -> int:
        """The highest contract rate: the reference rate (of ``rate_cap.basis``) plus
        ``rate_cap.spread_bp`` (1bp = 100 ppm), never below 0."""
        if not _is_int(reference_ppm) or not 0 <= reference_ppm <= PPM:
            raise PolicyError(
                f"a reference rate must be an integer between 0 and 1000000 ppm, "
                f"not {reference_ppm!r}",
                zh=f"基准利率必须是 0 到 1000000 之间的整数（百万分之一），"
                f"不能是 {reference_ppm!r}",
            )
        return max(0, reference_ppm + self.params["rate_cap"]["spread_bp"] * 100)

    def rate_cap_on(self, on: dt.date, extra: Iterable | None = None) -> int:
        """:meth:`rate_cap_ppm` of the reference rate of ``rate_cap.basis`` on ``on``."""
        return self.rate_cap_ppm(reference_rate_ppm(self.params["rate_cap"]["basis"], on, extra))

    def guarantee_fee_rate_ppm(self) -> int:
        """The guarantee fee a year, ppm of the principal guaranteed (0: not charged; a
        rule set frozen before the fee was a parameter charges none)."""
        return self.params.get("guarantee_fee", {}).get("rate_ppm", 0)

    def max_age_for(self, sex: str) -> int:
        """The oldest a borrower of ``sex`` (``M`` or ``F``) may be: ``max_age``, or its
        entry for that sex when the rules set one for each."""
        oldest = self.params["max_age"]
        if isinstance(oldest, Mapping):
            return oldest["male" if sex == "M" else "female"]
        return oldest

    def leverage_multiplier(self, last_year_repayment_rate_ppm: int | None) -> int:
        """How many times a bank's special-account balance its guarantee exposure may reach.

        ``leverage.high`` when last year's repayment rate at maturity is at least
        ``leverage.high_if_repayment_rate_ppm``; ``leverage.base`` otherwise, and when no
        loans matured last year (``None``).
        """
        leverage = self.params["leverage"]
        rate = last_year_repayment_rate_ppm
        if rate is None:
            return leverage["base"]
        if not _is_int(rate) or not 0 <= rate <= PPM:
            raise PolicyError(
                f"a repayment rate must be an integer between 0 and 1000000 ppm, not {rate!r}",
                zh=f"还款率必须是 0 到 1000000 之间的整数（百万分之一），不能是 {rate!r}",
            )
        if rate >= leverage["high_if_repayment_rate_ppm"]:
            return leverage["high"]
        return leverage["base"]


# --- national defaults ------------------------------------------------------------------


@dataclass(frozen=True)
class Era:
    """One national rule set as written (``params`` partial after the first era)."""

    effective_from: dt.date
    name: str
    params: Mapping[str, Any] = field(repr=False)

    @property
    def source(self) -> str:
        return f"national:{self.name}"


@dataclass(frozen=True)
class ReferenceRate:
    """A one-year reference rate in force from ``effective_from`` until the next one."""

    kind: str
    effective_from: dt.date
    rate_ppm: int


def _plain_date(value: Any) -> bool:
    return isinstance(value, dt.date) and not isinstance(value, dt.datetime)


@functools.cache
def _national() -> tuple[tuple[Era, ...], tuple[dict, ...], tuple[ReferenceRate, ...]]:
    """Eras, their cumulative merged parameters, and reference rates; loaded once."""
    text = resources.files("ledger.fund").joinpath(_NATIONAL_FILE).read_text(encoding="utf-8")
    data = tomllib.loads(text)
    eras: list[Era] = []
    merged: list[dict] = []
    current: dict = {}
    for i, raw in enumerate(data.get("era", [])):
        raw = dict(raw)
        start, name = raw.pop("effective_from", None), raw.pop("name", None)
        where = f"{_NATIONAL_FILE}: era #{i + 1}"
        if not _plain_date(start) or not isinstance(name, str) or not name:
            raise PolicyError(
                f"{where} needs an effective_from date and a name",
                zh=f"{where} 缺少生效日期（effective_from）或名称（name）",
            )
        if eras and start <= eras[-1].effective_from:
            raise PolicyError(
                f"{where} ({start}) must start after the era before it",
                zh=f"{where}（{start}）的生效日期必须晚于前一时期",
            )
        try:
            validate_params(raw, partial=bool(eras))
            current = merge_params(current, raw)
            validate_params(current, partial=False)
        except PolicyError as exc:
            raise PolicyError(f"{where}: {exc}", zh=f"{where}：{exc.zh}") from exc
        eras.append(Era(start, name, _freeze(raw)))
        merged.append(current)
    if not eras:
        raise PolicyError(f"{_NATIONAL_FILE} has no era", zh=f"{_NATIONAL_FILE} 中没有任何时期")
    rates = tuple(_rate_rows(data.get("reference_rate", []), _NATIONAL_FILE))
    return tuple(eras), tuple(merged), rates


def _rate_rows(rows: Iterable, where: str) -> list[ReferenceRate]:
    out: list[ReferenceRate] = []
    for i, row in enumerate(rows):
        if isinstance(row, ReferenceRate):
            item = row
        elif isinstance(row, Mapping):
            item = ReferenceRate(row.get("kind"), row.get("effective_from"), row.get("rate_ppm"))
        elif isinstance(row, tuple | list) and len(row) == 3:
            item = ReferenceRate(*row)
        else:
            item = None
        if (
            item is None
            or item.kind not in RATE_KINDS
            or not _plain_date(item.effective_from)
            or not _is_int(item.rate_ppm)
            or not 0 <= item.rate_ppm <= PPM
        ):
            raise PolicyError(
                f"{where}: reference rate #{i + 1} must have a kind ({', '.join(RATE_KINDS)}), "
                f"an effective_from date and a rate_ppm between 0 and 1000000, not {row!r}",
                zh=f"{where}：第 {i + 1} 条基准利率须有种类（{', '.join(RATE_KINDS)}）、"
                f"生效日期和 0 到 1000000 之间的 rate_ppm，不能是 {row!r}",
            )
        out.append(item)
    return out


def national_eras() -> list[Era]:
    """The national eras, oldest first (loaded once from the packaged TOML)."""
    return list(_national()[0])


def national_rates() -> list[ReferenceRate]:
    """The packaged reference-rate table, in file order."""
    return list(_national()[2])


def reference_rate_ppm(kind: str, on: dt.date, extra: Iterable | None = None) -> int:
    """The one-year reference rate of ``kind`` (``benchmark`` or ``lpr``) in force on
    ``on``: the latest row dated on or before it.

    ``extra`` adds a locality's rows (:class:`ReferenceRate`, ``(kind, date, rate_ppm)``
    tuples or mappings with those keys); on the same date an extra row wins.
    """
    if kind not in RATE_KINDS:
        raise PolicyError(
            f"unknown reference rate kind {kind!r}: use one of {', '.join(RATE_KINDS)}",
            zh=f"未知的基准利率种类 {kind!r}，应为以下之一：{', '.join(RATE_KINDS)}",
        )
    rows = list(national_rates())
    if extra is not None:
        rows += _rate_rows(extra, "extra reference rates")
    best: ReferenceRate | None = None
    for row in rows:  # later rows (extra) win a tie
        if (
            row.kind == kind
            and row.effective_from <= on
            and (best is None or row.effective_from >= best.effective_from)
        ):
            best = row
    if best is None:
        raise PolicyError(
            f"no {kind} rate is known on or before {on}",
            zh=f"{on} 及之前没有已知的 {kind} 利率",
        )
    return best.rate_ppm


# --- locality overrides -------------------------------------------------------------------


def _local_source(effective_from: dt.date) -> str:
    return f"local:{effective_from.isoformat()}"


def _merged(
    on: dt.date, overrides: Iterable[tuple[dt.date, Mapping]]
) -> tuple[dt.date, tuple[str, ...], dict]:
    eras, merged, _ = _national()
    index = None
    for i, era in enumerate(eras):
        if era.effective_from <= on:
            index = i
    if index is None:
        first = eras[0].effective_from
        raise PolicyError(
            f"no rules were in force on {on}: the national rules start on {first}",
            zh=f"{on} 没有有效的政策规则：全国规则自 {first} 起施行",
        )
    start = eras[index].effective_from
    sources = [eras[index].source]
    params = merged[index]
    for effective_from, override in overrides:
        if effective_from <= on:
            params = merge_params(params, override)
            sources.append(_local_source(effective_from))
            start = max(start, effective_from)
    return start, tuple(sources), params


def value_unit(path: str) -> str:
    """The unit of a policy key path: ``_fen``, ``_ppm``, ``_bp`` or "" (a plain number)."""
    for segment in reversed(path.split(".")):
        if segment.endswith("_heads"):
            return ""
        for unit in ("_fen", "_ppm", "_bp"):
            if segment.endswith(unit) or f"{unit}_" in segment:
                return unit
    return ""


@dataclass(frozen=True)
class OverrideView:
    """A locality's override as recorded: in force from ``effective_from``."""

    id: int
    effective_from: dt.date
    params: dict
    note: str
    recorded_by: str
    recorded_at: dt.datetime


def overrides(session) -> tuple[OverrideView, ...]:
    """The locality's overrides, oldest first (what the policy page lists)."""
    return tuple(
        OverrideView(row.id, day, params, row.note, row.recorded_by, row.recorded_at)
        for day, params, row in _stored_overrides(session)
    )


def _stored_overrides(session) -> list[tuple[dt.date, dict, Any]]:
    from sqlalchemy import select

    from ledger.fund.models import PolicyOverride

    rows = session.scalars(
        select(PolicyOverride).order_by(PolicyOverride.effective_from, PolicyOverride.id)
    ).all()
    out = []
    for row in rows:
        try:
            params = json.loads(row.params)
        except ValueError as exc:
            raise PolicyError(
                f"policy override {row.id} ({row.effective_from}) holds unreadable JSON: {exc}",
                zh=f"政策调整 {row.id}（{row.effective_from}）的参数不是有效的 JSON：{exc}",
            ) from exc
        out.append((row.effective_from, params, row))
    return out


def national_rules(on: dt.date) -> RuleSet:
    """The national default rule set in force on ``on``, without any local override."""
    start, sources, params = _merged(on, ())
    return RuleSet(start, sources, params)


def rules_on(session, on: dt.date) -> RuleSet:
    """The rule set in force on ``on``: the national eras that started on or before it,
    merged in order, then every local override that started on or before it, in order."""
    overrides = [(d, p) for d, p, _ in _stored_overrides(session)]
    start, sources, params = _merged(on, overrides)
    validate_params(params, partial=False)
    return RuleSet(start, sources, params)


def stored_rule_set_id(session, rules: RuleSet) -> int:
    """The id under which ``rules`` is stored (``rule_sets``), storing it the first time.

    Content-addressed by :meth:`RuleSet.fingerprint`; a concurrent first store of the same
    rule set is absorbed by ``ON CONFLICT DO NOTHING`` (both engines).
    """
    from sqlalchemy import text

    fingerprint = rules.fingerprint()
    found = session.execute(
        text("SELECT id FROM rule_sets WHERE fingerprint = :f"), {"f": fingerprint}
    ).scalar()
    if found is not None:
        return found
    session.execute(
        text(
            "INSERT INTO rule_sets (fingerprint, rules, created_at) VALUES (:f, :r, :t) "
            "ON CONFLICT (fingerprint) DO NOTHING"
        ),
        {"f": fingerprint, "r": rules.to_json(), "t": utcnow()},
    )
    return session.execute(
        text("SELECT id FROM rule_sets WHERE fingerprint = :f"), {"f": fingerprint}
    ).scalar_one()


def stored_rules(session, rule_set_id: int) -> RuleSet:
    """The rule set a commitment or loan froze (see :func:`stored_rule_set_id`)."""
    from sqlalchemy import text

    stored = session.execute(
        text("SELECT rules FROM rule_sets WHERE id = :i"), {"i": rule_set_id}
    ).scalar_one()
    return _parsed(stored)


@functools.lru_cache(maxsize=256)
def _parsed(stored: str) -> RuleSet:
    return RuleSet.from_json(stored)


def rule_history(session) -> list[tuple[dt.date, str]]:
    """Every national era and local override by date (national first on the same date)."""
    history = [(era.effective_from, era.source) for era in national_eras()]
    history += [(d, _local_source(d)) for d, _, _ in _stored_overrides(session)]
    return sorted(history, key=lambda item: (item[0], item[1].startswith("local:")))


def record_override(
    session,
    *,
    effective_from: dt.date,
    params: dict,
    actor: str,
    note: str = "",
    today: dt.date | None = None,
    backdated: bool = False,
):
    """Record a locality's override in force from ``effective_from`` on; return the row.
    Only an admin may.

    Refused: invalid parameters; a date before today (China time) — an override may not
    pretend to have been in force already — unless ``backdated`` says so explicitly, which
    a bureau adopting the books does to record its rules with their real dates: then only
    while no guarantee, loan, extension, claim or write-off dated on or after it exists
    (their rules were applied and are kept); the row's ``recorded_at`` shows the
    backdating;
    a second override on the same date; parameters that would leave the rules in force on
    that date or any later rule date incomplete or inconsistent. The caller commits.
    """
    from sqlalchemy.exc import IntegrityError

    from ledger.fund.models import PolicyOverride
    from ledger.fund.reference import Role, require_role

    require_role(session, actor, Role.ADMIN)

    if not _plain_date(effective_from):
        raise PolicyError(
            f"an override's effective_from must be a date, not {effective_from!r}",
            zh=f"政策调整的生效日期必须是日期，不能是 {effective_from!r}",
        )
    validate_params(params, partial=True)
    if not params:
        raise PolicyError(
            "an override must change at least one policy key",
            zh="政策调整至少要修改一项政策参数",
        )
    today = today or today_local()
    if effective_from < today and not backdated:
        raise PolicyError(
            f"an override may not be backdated: {effective_from} is before today ({today}); "
            "record it from today or a later date",
            zh=f"政策调整不能追溯生效：{effective_from} 早于今天（{today}），"
            "请从今天或以后的日期起生效",
        )
    if effective_from < today:
        _check_nothing_governed(session, effective_from)
    stored = _stored_overrides(session)
    for d, _, row in stored:
        if d == effective_from:
            raise PolicyError(
                f"an override taking effect on {effective_from} already exists (id {row.id}); "
                "choose another date",
                zh=f"{effective_from} 起生效的政策调整已存在（编号 {row.id}），请选择其他日期",
            )
    candidate = sorted(
        [(d, p) for d, p, _ in stored] + [(effective_from, params)], key=lambda item: item[0]
    )
    later = {d for d, _ in candidate if d >= effective_from}
    later |= {e.effective_from for e in national_eras() if e.effective_from >= effective_from}
    for on in sorted(later):
        _, _, merged = _merged(on, candidate)
        try:
            validate_params(merged, partial=False)
        except PolicyError as exc:
            raise PolicyError(
                f"the override would leave the rules in force on {on} invalid: {exc}",
                zh=f"该政策调整会使 {on} 起施行的规则无效：{exc.zh}",
            ) from exc
    row = PolicyOverride(
        effective_from=effective_from,
        params=_canonical(params),
        note=note,
        recorded_by=actor,
        recorded_at=utcnow(),
    )
    try:
        with session.begin_nested():
            session.add(row)
    except IntegrityError as exc:  # another session recorded the same date meanwhile
        raise PolicyError(
            f"an override taking effect on {effective_from} already exists; choose another date",
            zh=f"{effective_from} 起生效的政策调整已存在，请选择其他日期",
        ) from exc
    return row


def _check_nothing_governed(session, effective_from: dt.date) -> None:
    """Refuse a backdated override if a record dated on or after it already had the rules
    of its date applied (a guarantee, a loan, an extension, a claim, a write-off)."""
    from sqlalchemy import select

    from ledger.fund.models import Claim, Commitment, Extension, Loan, WriteOff

    checks = (
        ("guarantee", "担保承诺", Commitment.number, Commitment.approved_on),
        ("loan", "贷款", Loan.contract_no, Loan.disbursed_on),
        ("extension of loan", "展期贷款", Extension.loan_id, Extension.extended_on),
        ("claim", "代偿申请", Claim.number, Claim.filed_on),
        ("write-off", "核销", WriteOff.id, WriteOff.decided_on),
    )
    for what, what_zh, key, on in checks:
        found = session.execute(
            select(key, on).where(on >= effective_from).order_by(on, key).limit(1)
        ).first()
        if found is not None:
            raise PolicyError(
                f"an override backdated to {effective_from} would change the rules already "
                f"applied to {what} {found[0]} of {found[1]}; backdate it no earlier than "
                "the day after the last record it would govern",
                zh=f"追溯至 {effective_from} 的政策调整会改变已适用于{what_zh} {found[0]}"
                f"（{found[1]}）的规则，生效日期不得早于其所涉及的最后一笔业务的次日",
            )


def load_overrides_file(path) -> list[tuple[dt.date, dict, str]]:
    """A locality's policy file: ``[[override]]`` tables, each with ``effective_from``
    (a TOML date), an optional ``note`` and the parameters it changes, e.g.::

        [[override]]
        effective_from = 2026-01-01
        note = "市人社局 2025 年第 12 号文"
        coverage_ppm = 700_000
        leverage = { high = 8 }

    Returns ``(effective_from, params, note)`` in file order, each validated (partially).
    """
    name = str(path)
    try:
        data = tomllib.loads(Path(path).read_text(encoding="utf-8"))
    except OSError as exc:
        raise PolicyError(
            f"cannot read policy file {name}: {exc.strerror or exc}",
            zh=f"无法读取政策文件 {name}：{exc.strerror or exc}",
        ) from exc
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise PolicyError(
            f"policy file {name} is not valid TOML: {exc}",
            zh=f"政策文件 {name} 不是有效的 TOML：{exc}",
        ) from exc
    for key in data:
        if key != "override":
            raise PolicyError(
                f"{name}: unknown key {key!r}; a policy file holds [[override]] tables only",
                zh=f"{name}：未知的键 {key!r}；政策文件只能包含 [[override]] 表",
            )
    overrides = data.get("override", [])
    if not isinstance(overrides, list) or not overrides:
        raise PolicyError(
            f"{name} holds no [[override]] table", zh=f"{name} 中没有 [[override]] 表"
        )
    out: list[tuple[dt.date, dict, str]] = []
    seen: set[dt.date] = set()
    for i, raw in enumerate(overrides):
        where = f"{name}: override #{i + 1}"
        raw = dict(raw)
        start = raw.pop("effective_from", None)
        note = raw.pop("note", "")
        if not _plain_date(start):
            raise PolicyError(
                f"{where} needs effective_from = a date (e.g. 2026-01-01), not {start!r}",
                zh=f"{where} 需要日期形式的 effective_from（如 2026-01-01），不能是 {start!r}",
            )
        if not isinstance(note, str):
            raise PolicyError(
                f"{where}: note must be text, not {note!r}",
                zh=f"{where}：note 必须是文字，不能是 {note!r}",
            )
        if start in seen:
            raise PolicyError(
                f"{where}: a second override taking effect on {start}",
                zh=f"{where}：{start} 起生效的政策调整重复",
            )
        seen.add(start)
        try:
            validate_params(raw, partial=True)
        except PolicyError as exc:  # the same named error, saying where
            raise type(exc)(
                f"{where} ({start}): {exc}", zh=f"{where}（{start}）：{exc.zh}"
            ) from exc
        if not raw:
            raise PolicyError(
                f"{where} ({start}) changes no policy key",
                zh=f"{where}（{start}）没有修改任何政策参数",
            )
        out.append((start, _thaw(raw), note))
    return out
