"""Policy by date: national eras, local overrides, validation and the rule-set helpers."""

from __future__ import annotations

import json
from datetime import date

import pytest

from ledger.errors import LedgerError
from ledger.fund.errors import FundError, PolicyError
from ledger.fund.policy import (
    RuleSet,
    load_overrides_file,
    merge_params,
    national_eras,
    national_rates,
    national_rules,
    record_override,
    reference_rate_ppm,
    rule_history,
    rules_on,
    validate_params,
)

D = date
WAN = 1_000_000  # 1万 yuan in fen


def limits(on: date) -> dict:
    return dict(national_rules(on).params["loan_limit_fen"])


# --- national eras ----------------------------------------------------------------------


def test_eras_are_in_date_order_and_the_first_is_complete():
    eras = national_eras()
    starts = [e.effective_from for e in eras]
    assert starts == sorted(starts) and len(set(starts)) == len(starts)
    assert starts[0] == D(2002, 10, 1)
    validate_params(dict(eras[0].params), partial=False)
    assert [e.name for e in eras] == ["2002", "2008", "2015", "2016", "2018", "2020", "2021"]


def test_no_rules_before_the_first_era():
    with pytest.raises(PolicyError) as err:
        national_rules(D(2002, 9, 30))
    assert str(err.value) == (
        "no rules were in force on 2002-09-30: the national rules start on 2002-10-01"
    )
    assert err.value.zh == "2002-09-30 没有有效的政策规则：全国规则自 2002-10-01 起施行"
    assert err.value.code == "policy"
    assert isinstance(err.value, FundError) and isinstance(err.value, LedgerError)


@pytest.mark.parametrize(
    ("on", "individual", "small_enterprise", "source"),
    [
        (D(2002, 10, 1), 2 * WAN, 0, "national:2002"),
        (D(2007, 12, 31), 2 * WAN, 0, "national:2002"),
        (D(2008, 1, 1), 5 * WAN, 200 * WAN, "national:2008"),
        (D(2015, 4, 30), 5 * WAN, 200 * WAN, "national:2008"),
        (D(2015, 5, 1), 10 * WAN, 200 * WAN, "national:2015"),
        (D(2017, 12, 31), 10 * WAN, 200 * WAN, "national:2016"),
        (D(2018, 1, 1), 15 * WAN, 300 * WAN, "national:2018"),
        (D(2019, 12, 31), 15 * WAN, 300 * WAN, "national:2018"),
        (D(2020, 1, 1), 20 * WAN, 300 * WAN, "national:2020"),
        (D(2025, 6, 30), 20 * WAN, 300 * WAN, "national:2021"),
    ],
)
def test_loan_limits_on_era_boundaries(on, individual, small_enterprise, source):
    rules = national_rules(on)
    assert rules.loan_limit("individual") == individual
    assert rules.loan_limit("small_enterprise") == small_enterprise
    assert rules.sources == (source,)


def test_effective_from_is_the_era_start():
    assert national_rules(D(2019, 12, 31)).effective_from == D(2018, 1, 1)
    assert national_rules(D(2020, 1, 1)).effective_from == D(2020, 1, 1)


def test_terms_and_rate_basis_change_in_2020():
    before, after = national_rules(D(2019, 12, 31)), national_rules(D(2020, 1, 1))
    assert before["max_term_months"] == 24 and after["max_term_months"] == 36
    assert before["max_extension_months"] == 12 and after["max_extensions"] == 1
    assert dict(before["rate_cap"]) == {"basis": "benchmark", "spread_bp": 300}
    assert dict(after["rate_cap"]) == {"basis": "lpr", "spread_bp": 300}


def test_subsidy_method_by_era_leaves_no_key_of_the_old_method():
    full = national_rules(D(2015, 12, 31))["subsidy"]
    assert full["method"] == "full"
    assert dict(full["share_ppm"]) == {
        "individual": 1_000_000,
        "partnership": 1_000_000,
        "small_enterprise": 500_000,
    }
    declining = national_rules(D(2016, 1, 1))["subsidy"]
    assert set(declining) == {"method", "share_ppm_by_year", "types"}
    assert declining["share_ppm_by_year"] == (1_000_000, 666_667, 333_333)
    lpr_minus = national_rules(D(2021, 1, 1))["subsidy"]
    # 财金〔2020〕21号: small and micro enterprises pay up to LPR − 150bp like individuals.
    assert dict(lpr_minus) == {
        "method": "lpr_minus",
        "borrower_pays_spread_bp": -150,
        "small_enterprise_share_ppm": 1_000_000,
    }


def test_subsidy_conditions_by_era():
    """2002 and 2008: an individual's subsidy only for a micro-profit project outside the
    restricted trades, paid by central finance; 2008 adds the labour-intensive small
    enterprise's half of the benchmark, split half and half; 2016 drops the conditions."""
    y2003, y2009 = (
        national_rules(D(2003, 1, 1))["subsidy"],
        national_rules(D(2009, 1, 1))["subsidy"],
    )
    for rule in (y2003, y2009):
        assert rule["micro_profit_only"] == ("individual", "partnership")
        assert rule["restricted_trades"] == (
            "construction", "entertainment", "real_estate", "housing_agency", "advertising",
            "pawnbroking", "sauna", "massage", "internet_cafe", "oxygen_bar",
        )  # fmt: skip
    assert dict(y2003["central_share_ppm"]) == {"individual": 1_000_000, "partnership": 1_000_000}
    assert "rate_basis" not in y2003 and y2003["share_ppm"]["small_enterprise"] == 0
    assert dict(y2009["rate_basis"]) == {"small_enterprise": "benchmark"}
    assert dict(y2009["central_share_ppm"]) == {
        "individual": 1_000_000,
        "partnership": 1_000_000,
        "small_enterprise": 500_000,
    }
    assert not {"micro_profit_only", "restricted_trades", "central_share_ppm"} & set(
        national_rules(D(2016, 1, 1))["subsidy"]
    )
    # No guarantee fee nationally: a locality that charges one says so.
    assert dict(national_rules(D(2025, 1, 1))["guarantee_fee"]) == {
        "rate_ppm": 0,
        "payer": "finance_bureau",
    }
    assert national_rules(D(2025, 1, 1)).guarantee_fee_rate_ppm() == 0


def test_categories_grow_with_the_eras():
    assert national_rules(D(2003, 1, 1))["eligible_categories"] == (
        "registered_unemployed",
        "reemployment_certificate",
        "person_4050",
    )
    assert "returning_migrant" not in national_rules(D(2015, 4, 30))["eligible_categories"]
    assert "returning_migrant" in national_rules(D(2015, 5, 1))["eligible_categories"]
    assert "poverty_alleviated" not in national_rules(D(2020, 12, 31))["eligible_categories"]
    assert "poverty_alleviated" in national_rules(D(2021, 1, 1))["eligible_categories"]


def test_other_defaults():
    rules = national_rules(D(2024, 3, 1))
    assert rules["coverage_ppm"] == 800_000
    assert rules["claim_after_days_overdue"] == 90
    assert rules["claim_basis"] == "principal"
    assert rules["suspend_above_compensation_rate_ppm"] == 100_000
    assert rules["loss_attribution"]["rule"] == "pro_rata"
    assert rules["loss_attribution"]["first_loss_order"] == (
        "city",
        "district",
        "provincial",
        "other",
    )
    assert dict(rules["counter_guarantee"]) == {
        "required_above_fen": 10 * WAN,
        "waiver_kinds": ("credit_community",),
        "max_loans_per_guarantor": 1,
    }
    assert dict(rules["repeat_loans"]) == {"max_loans": 3, "require_on_time": True, "max_active": 1}
    assert (rules["min_age"], dict(rules["max_age"])) == (18, {"male": 60, "female": 55})
    assert (rules.max_age_for("M"), rules.max_age_for("F")) == (60, 55)
    assert national_rules(D(2003, 1, 1))["repeat_loans"]["max_loans"] == 1
    assert national_rules(D(2003, 1, 1))["counter_guarantee"]["required_above_fen"] == 0


def test_params_are_read_only():
    rules = national_rules(D(2024, 3, 1))
    with pytest.raises(TypeError):
        rules.params["coverage_ppm"] = 1  # type: ignore[index]
    with pytest.raises(TypeError):
        rules.params["leverage"]["high"] = 20  # type: ignore[index]
    copy = rules.as_dict()
    copy["leverage"]["high"] = 20
    assert rules["leverage"]["high"] == 10


# --- merging --------------------------------------------------------------------------------


def test_deep_merge_changes_only_the_given_keys():
    base = {
        "leverage": {"base": 5, "high": 5, "high_if_repayment_rate_ppm": 900_000},
        "eligible_categories": ["registered_unemployed", "veteran"],
        "coverage_ppm": 800_000,
    }
    merged = merge_params(base, {"leverage": {"high": 8}, "eligible_categories": ["graduate"]})
    assert merged == {
        "leverage": {"base": 5, "high": 8, "high_if_repayment_rate_ppm": 900_000},
        "eligible_categories": ["graduate"],
        "coverage_ppm": 800_000,
    }
    assert base["leverage"]["high"] == 5  # the base is not changed
    assert base["eligible_categories"] == ["registered_unemployed", "veteran"]


def test_merge_of_a_different_subsidy_method_replaces_the_table():
    base = {"subsidy": {"method": "full", "share_ppm": {"individual": 1_000_000}}}
    new = {"subsidy": {"method": "lpr_minus", "borrower_pays_spread_bp": -100}}
    assert merge_params(base, new) == new
    same = merge_params(base, {"subsidy": {"method": "full", "share_ppm": {"partnership": 1}}})
    assert same == {
        "subsidy": {"method": "full", "share_ppm": {"individual": 1_000_000, "partnership": 1}}
    }


# --- validation ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("params", "message"),
    [
        (
            {"leverage": {"high": "ten"}},
            "policy key leverage.high must be a positive integer, not 'ten'",
        ),
        ({"leverage": {"high": 0}}, "policy key leverage.high must be a positive integer, not 0"),
        ({"leverage": {"hgh": 8}}, "unknown policy key leverage.hgh"),
        ({"leverege": {"high": 8}}, "unknown policy key leverege"),
        ({"leverage": 8}, "policy key leverage must be a table, not 8"),
        (
            {"coverage_ppm": 1_200_000},
            "policy key coverage_ppm must be an integer between 0 and 1000000 ppm, not 1200000",
        ),
        (
            {"coverage_ppm": 0.8},
            "policy key coverage_ppm must be an integer between 0 and 1000000 ppm, not 0.8",
        ),
        (
            {"loan_limit_fen": {"individual": -1}},
            "policy key loan_limit_fen.individual must be an amount in fen "
            "(an integer, zero or more), not -1",
        ),
        (
            {"max_term_months": True},
            "policy key max_term_months must be a positive integer, not true",
        ),
        (
            {"rate_cap": {"basis": "libor"}},
            "policy key rate_cap.basis must be one of 'benchmark', 'lpr', not 'libor'",
        ),
        (
            {"subsidy": {"method": "half"}},
            "policy key subsidy.method must be one of 'full', 'declining', 'lpr_minus', not 'half'",
        ),
        (
            {"subsidy": {"method": "full", "borrower_pays_spread_bp": -150}},
            "policy key subsidy.borrower_pays_spread_bp does not belong to subsidy method 'full'",
        ),
        ({"subsidy": {"share": 1}}, "unknown policy key subsidy.share"),
        (
            {"subsidy": {"method": "declining", "rate_basis": {"individual": "loan"}}},
            "policy key subsidy.rate_basis does not belong to subsidy method 'declining'",
        ),
        (
            {"subsidy": {"rate_basis": {"small_enterprise": "lpr"}}},
            "policy key subsidy.rate_basis.small_enterprise must be one of 'loan', "
            "'benchmark', not 'lpr'",
        ),
        (
            {"subsidy": {"micro_profit_only": ["individual", "company"]}},
            "policy key subsidy.micro_profit_only[1] must be one of 'individual', "
            "'partnership', 'small_enterprise', not 'company'",
        ),
        (
            {"subsidy": {"central_share_ppm": {"individual": 1_500_000}}},
            "policy key subsidy.central_share_ppm.individual must be an integer between 0 and "
            "1000000 ppm, not 1500000",
        ),
        (
            {"subsidy": {"restricted_trades": ["sauna", "sauna"]}},
            "policy key subsidy.restricted_trades lists 'sauna' twice",
        ),
        (
            {"guarantee_fee": {"rate_ppm": -1}},
            "policy key guarantee_fee.rate_ppm must be an integer between 0 and 1000000 ppm, "
            "not -1",
        ),
        (
            {"subsidy": {"share_ppm_by_year": [1_000_000, 2_000_000]}},
            "policy key subsidy.share_ppm_by_year[1] must be an integer between 0 and 1000000 "
            "ppm, not 2000000",
        ),
        (
            {"loss_attribution": {"rule": "city_first"}},
            "policy key loss_attribution.rule must be one of 'pro_rata', 'first_loss', "
            "not 'city_first'",
        ),
        (
            {"loss_attribution": {"first_loss_order": ["city", "county"]}},
            "policy key loss_attribution.first_loss_order[1] must be one of 'provincial', "
            "'city', 'district', 'other', not 'county'",
        ),
        (
            {"loss_attribution": {"first_loss_order": ["city", "city"]}},
            "policy key loss_attribution.first_loss_order lists 'city' twice",
        ),
        (
            {"eligible_categories": ["veteran", "pensioner"]},
            "policy key eligible_categories[1] must be one of 'registered_unemployed', "
            "'reemployment_certificate', 'person_4050', 'veteran', 'graduate', 'disabled', "
            "'returning_migrant', 'zero_employment_household', 'poverty_alleviated', "
            "'both_spouses_laid_off', 'landless_farmer', 'woman_entrepreneur', not 'pensioner'",
        ),
        (
            {"eligible_categories": []},
            "policy key eligible_categories must be a list that is not empty, not a list",
        ),
        (
            {"repeat_loans": {"require_on_time": 1}},
            "policy key repeat_loans.require_on_time must be true or false, not 1",
        ),
        (
            {"counter_guarantee": {"waiver_kinds": ["credit_village"]}},
            "policy key counter_guarantee.waiver_kinds[0] must be one of 'guarantor', "
            "'mortgage', 'pledge', 'joint_group', 'credit_community', not 'credit_village'",
        ),
        (
            {"rate_cap": {"spread_bp": 20_000}},
            "policy key rate_cap.spread_bp must be an integer number of basis points between "
            "-10000 and 10000, not 20000",
        ),
        ({"max_age": 200}, "policy key max_age must be an age in whole years (0 to 150), not 200"),
    ],
)
def test_validation_messages(params, message):
    with pytest.raises(PolicyError) as err:
        validate_params(params, partial=True)
    assert str(err.value) == message
    assert err.value.zh


def test_validation_message_in_chinese():
    with pytest.raises(PolicyError) as err:
        validate_params({"leverage": {"high": "ten"}}, partial=True)
    assert err.value.zh == "政策参数 leverage.high 必须是正整数，不能是 'ten'"


def test_complete_validation_needs_every_key_and_consistency():
    full = national_rules(D(2024, 1, 1)).as_dict()
    validate_params(full, partial=False)
    del full["leverage"]["high"]
    with pytest.raises(PolicyError, match=r"^policy key leverage\.high is missing$"):
        validate_params(full, partial=False)
    validate_params(full, partial=True)

    full = national_rules(D(2024, 1, 1)).as_dict()
    full["min_age"] = 56
    with pytest.raises(PolicyError) as err:
        validate_params(full, partial=False)
    assert str(err.value) == "policy key min_age (56) must not be above max_age (55)"
    full["min_age"], full["max_age"] = 18, {"male": 60}
    with pytest.raises(PolicyError) as err:
        validate_params(full, partial=False)
    assert str(err.value).startswith(
        "policy key max_age must be an age, or a table of male and female ages"
    )

    full = national_rules(D(2024, 1, 1)).as_dict()
    full["leverage"]["high"] = 4
    with pytest.raises(PolicyError) as err:
        validate_params(full, partial=False)
    assert str(err.value) == "policy key leverage.high (4) must not be below leverage.base (5)"

    full = national_rules(D(2024, 1, 1)).as_dict()
    del full["subsidy"]["method"]
    with pytest.raises(PolicyError, match=r"^policy key subsidy\.method is missing$"):
        validate_params(full, partial=False)


def test_parameters_must_be_a_table():
    with pytest.raises(PolicyError, match=r"^policy parameters must be a table, not a list$"):
        validate_params([], partial=True)  # type: ignore[arg-type]


# --- helpers -----------------------------------------------------------------------------


def test_loan_limit_for_each_type():
    rules = national_rules(D(2021, 6, 1))
    assert rules.loan_limit("individual") == 20 * WAN
    assert rules.loan_limit("small_enterprise") == 300 * WAN
    assert rules.loan_limit("partnership", 2) == 40 * WAN
    assert rules.loan_limit("partnership", 5) == 100 * WAN
    assert rules.loan_limit("partnership", 6) == 110 * WAN  # 120万 capped at 110万
    assert rules.loan_limit("partnership", 30) == 110 * WAN
    assert national_rules(D(2003, 1, 1)).loan_limit("small_enterprise") == 0


def test_partnership_heads_are_capped_at_max_heads():
    params = national_rules(D(2021, 6, 1)).as_dict()
    params["loan_limit_fen"].update(partnership_cap=10_000 * WAN, partnership_max_heads=10)
    rules = RuleSet(D(2021, 6, 1), ("test",), params)
    assert rules.loan_limit("partnership", 10) == 200 * WAN
    assert rules.loan_limit("partnership", 12) == 200 * WAN


def test_loan_limit_refusals():
    rules = national_rules(D(2021, 6, 1))
    with pytest.raises(PolicyError) as err:
        rules.loan_limit("partnership", 1)
    assert str(err.value) == "a partnership has at least 2 people, not 1"
    assert err.value.zh == "合伙创业至少需要 2 人，不能是 1"
    with pytest.raises(PolicyError) as err:
        rules.loan_limit("partnership")
    assert str(err.value) == "a partnership has at least 2 people, not 1"
    with pytest.raises(PolicyError) as err:
        rules.loan_limit("cooperative")
    assert str(err.value) == (
        "unknown borrower type 'cooperative': use one of individual, partnership, small_enterprise"
    )


def test_reference_rates():
    assert reference_rate_ppm("lpr", D(2023, 8, 20)) == 35_500
    assert reference_rate_ppm("lpr", D(2023, 8, 21)) == 34_500
    assert reference_rate_ppm("lpr", D(2023, 9, 1)) == 34_500
    assert reference_rate_ppm("lpr", D(2025, 5, 20)) == 30_000
    assert reference_rate_ppm("benchmark", D(2015, 10, 23)) == 46_000
    assert reference_rate_ppm("benchmark", D(2015, 10, 24)) == 43_500
    assert reference_rate_ppm("benchmark", D(2024, 1, 1)) == 43_500
    assert reference_rate_ppm("benchmark", D(2002, 10, 1)) == 53_100
    with pytest.raises(PolicyError) as err:
        reference_rate_ppm("lpr", D(2019, 8, 19))
    assert str(err.value) == "no lpr rate is known on or before 2019-08-19"
    with pytest.raises(PolicyError) as err:
        reference_rate_ppm("shibor", D(2020, 1, 1))
    assert str(err.value) == "unknown reference rate kind 'shibor': use one of benchmark, lpr"
    assert all(r.kind in ("benchmark", "lpr") for r in national_rates())


def test_extra_reference_rates_extend_the_table():
    extra = [
        ("lpr", D(2030, 1, 20), 29_000),
        {"kind": "lpr", "effective_from": D(2030, 2, 20), "rate_ppm": 28_500},
    ]
    assert reference_rate_ppm("lpr", D(2030, 1, 19), extra) == 30_000
    assert reference_rate_ppm("lpr", D(2030, 1, 20), extra) == 29_000
    assert reference_rate_ppm("lpr", D(2030, 3, 1), extra) == 28_500
    # On the same date an extra row wins over the packaged one.
    assert reference_rate_ppm("lpr", D(2025, 5, 20), [("lpr", D(2025, 5, 20), 30_100)]) == 30_100
    with pytest.raises(PolicyError, match="reference rate #1 must have a kind"):
        reference_rate_ppm("lpr", D(2030, 1, 1), [("lpr", D(2030, 1, 1), 3.0)])


def test_rate_cap_from_the_reference_rate():
    rules = national_rules(D(2023, 9, 1))
    assert rules.rate_cap_ppm(34_500) == 64_500
    assert rules.rate_cap_on(D(2023, 9, 1)) == 64_500  # LPR 3.45% + 300bp = 6.45%
    # 2008 era: benchmark + 300bp; 2002 era: benchmark, no mark-up.
    assert national_rules(D(2010, 1, 1)).rate_cap_on(D(2010, 1, 1)) == 53_100 + 30_000
    assert national_rules(D(2005, 1, 1)).rate_cap_on(D(2005, 1, 1)) == 55_800
    with pytest.raises(PolicyError, match=r"^a reference rate must be an integer between 0"):
        rules.rate_cap_ppm(-1)


@pytest.mark.parametrize(
    ("on", "rate", "multiplier"),
    [
        (D(2019, 12, 31), None, 5),
        (D(2019, 12, 31), 899_999, 5),
        (D(2019, 12, 31), 900_000, 5),
        (D(2019, 12, 31), 1_000_000, 5),
        (D(2020, 1, 1), None, 5),
        (D(2020, 1, 1), 899_999, 5),
        (D(2020, 1, 1), 900_000, 10),
        (D(2020, 1, 1), 1_000_000, 10),
        (D(2020, 1, 1), 0, 5),
    ],
)
def test_leverage_multiplier(on, rate, multiplier):
    assert national_rules(on).leverage_multiplier(rate) == multiplier


def test_leverage_multiplier_refuses_a_bad_rate():
    with pytest.raises(PolicyError, match=r"^a repayment rate must be an integer"):
        national_rules(D(2020, 1, 1)).leverage_multiplier(1_000_001)


def test_json_round_trip_and_fingerprint():
    rules = national_rules(D(2023, 9, 1))
    text = rules.to_json()
    assert " " not in text
    assert text == json.dumps(json.loads(text), sort_keys=True, separators=(",", ":"))
    again = RuleSet.from_json(text)
    assert again == rules
    assert again.to_json() == text
    assert again.fingerprint() == rules.fingerprint()
    assert again.effective_from == D(2021, 1, 1) and again.sources == ("national:2021",)
    assert again.loan_limit("partnership", 3) == 60 * WAN

    changed = rules.as_dict()
    changed["leverage"]["high"] = 9
    other = RuleSet(rules.effective_from, rules.sources, changed)
    assert other != rules
    assert other.fingerprint() != rules.fingerprint()
    assert len(rules.fingerprint()) == 64
    assert hash(again) == hash(rules)


def test_from_json_refuses_garbage():
    with pytest.raises(PolicyError, match=r"^not a stored rule set"):
        RuleSet.from_json("{}")
    bad = json.loads(national_rules(D(2023, 9, 1)).to_json())
    bad["params"]["coverage_ppm"] = -5
    with pytest.raises(PolicyError, match=r"^policy key coverage_ppm must be"):
        RuleSet.from_json(json.dumps(bad))


# --- locality overrides (database) --------------------------------------------------------

TODAY = D(2030, 1, 1)


@pytest.fixture
def session(factory):
    """A session on books whose one user is the admin who records the overrides."""
    from ledger.fund.reference import SYSTEM, add_user

    with factory() as s:
        add_user(s, "admin", "系统管理员", ["admin"], actor=SYSTEM)
        s.commit()
        yield s


def record(session, on: date, params: dict, **kw):
    kw.setdefault("actor", "admin")
    kw.setdefault("today", TODAY)
    row = record_override(session, effective_from=on, params=params, **kw)
    session.commit()
    return row


def test_an_override_applies_from_its_date_not_before(session):
    row = record(session, D(2030, 3, 1), {"leverage": {"high": 8}}, note="市政府 2029 年第 5 号文")
    assert row.id is not None and row.recorded_by == "admin"
    assert row.note == "市政府 2029 年第 5 号文"
    assert json.loads(row.params) == {"leverage": {"high": 8}}

    before = rules_on(session, D(2030, 2, 28))
    assert before["leverage"]["high"] == 10
    assert before.sources == ("national:2021",)
    assert before == national_rules(D(2030, 2, 28))

    after = rules_on(session, D(2030, 3, 1))
    assert dict(after["leverage"]) == {
        "base": 5,
        "high": 8,
        "high_if_repayment_rate_ppm": 900_000,
        "basis": "exposure",
        "min_lending_multiple": 3,
    }
    assert after.sources == ("national:2021", "local:2030-03-01")
    assert after.effective_from == D(2030, 3, 1)
    assert after.leverage_multiplier(950_000) == 8


def test_a_later_override_changes_later_dates_only(session):
    record(session, D(2030, 3, 1), {"leverage": {"high": 8}})
    record(session, D(2031, 1, 1), {"coverage_ppm": 700_000, "leverage": {"base": 4}})
    mid = rules_on(session, D(2030, 12, 31))
    assert (mid["coverage_ppm"], mid["leverage"]["base"], mid["leverage"]["high"]) == (
        800_000,
        5,
        8,
    )
    late = rules_on(session, D(2031, 1, 1))
    assert (late["coverage_ppm"], late["leverage"]["base"], late["leverage"]["high"]) == (
        700_000,
        4,
        8,
    )
    assert late.sources == ("national:2021", "local:2030-03-01", "local:2031-01-01")


def test_an_old_rule_set_is_unchanged_by_a_new_override(session):
    old = rules_on(session, D(2029, 12, 31))
    stored = old.to_json()
    record(session, TODAY, {"loan_limit_fen": {"individual": 30 * WAN}, "coverage_ppm": 900_000})
    assert rules_on(session, D(2029, 12, 31)).fingerprint() == old.fingerprint()
    assert RuleSet.from_json(stored).loan_limit("individual") == 20 * WAN
    assert rules_on(session, TODAY).loan_limit("individual") == 30 * WAN


def test_a_backdated_override_is_refused(session):
    with pytest.raises(PolicyError) as err:
        record(session, D(2029, 12, 31), {"coverage_ppm": 700_000})
    assert str(err.value) == (
        "an override may not be backdated: 2029-12-31 is before today (2030-01-01); "
        "record it from today or a later date"
    )
    assert err.value.zh.startswith("政策调整不能追溯生效")
    record(session, TODAY, {"coverage_ppm": 700_000})  # from today on is fine


def test_the_default_today_is_the_real_date(session):
    with pytest.raises(PolicyError, match="may not be backdated"):
        record_override(
            session, effective_from=D(2024, 1, 1), params={"coverage_ppm": 1}, actor="admin"
        )
    row = record_override(
        session, effective_from=D(2099, 1, 1), params={"coverage_ppm": 1}, actor="admin"
    )
    assert row.effective_from == D(2099, 1, 1)


def test_a_second_override_on_the_same_date_is_refused(session):
    first = record(session, D(2030, 3, 1), {"leverage": {"high": 8}})
    with pytest.raises(PolicyError) as err:
        record(session, D(2030, 3, 1), {"coverage_ppm": 700_000})
    assert str(err.value) == (
        f"an override taking effect on 2030-03-01 already exists (id {first.id}); "
        "choose another date"
    )
    session.rollback()
    assert rules_on(session, D(2030, 3, 1))["coverage_ppm"] == 800_000


def test_invalid_overrides_are_refused(session):
    with pytest.raises(PolicyError, match=r"^policy key leverage\.high must be a positive integer"):
        record(session, D(2030, 3, 1), {"leverage": {"high": "ten"}})
    with pytest.raises(PolicyError, match=r"^an override must change at least one policy key$"):
        record(session, D(2030, 3, 1), {})
    # A new subsidy method must come complete: the merged rules would lack a key.
    with pytest.raises(PolicyError) as err:
        record(session, D(2030, 3, 1), {"subsidy": {"method": "declining", "types": []}})
    assert str(err.value) == (
        "the override would leave the rules in force on 2030-03-01 invalid: "
        "policy key subsidy.share_ppm_by_year is missing"
    )
    # An override that breaks a later override's merged rules is refused too.
    record(session, D(2031, 1, 1), {"leverage": {"high": 6}})
    with pytest.raises(PolicyError) as err:
        record(session, D(2030, 6, 1), {"leverage": {"base": 7}})
    assert str(err.value) == (
        "the override would leave the rules in force on 2031-01-01 invalid: "
        "policy key leverage.high (6) must not be below leverage.base (7)"
    )
    session.rollback()
    assert [d for d, s in rule_history(session) if s.startswith("local:")] == [D(2031, 1, 1)]


def test_rule_history(session):
    record(session, D(2030, 3, 1), {"leverage": {"high": 8}})
    history = rule_history(session)
    assert history[0] == (D(2002, 10, 1), "national:2002")
    assert history[-2:] == [(D(2021, 1, 1), "national:2021"), (D(2030, 3, 1), "local:2030-03-01")]
    assert [d for d, _ in history] == sorted(d for d, _ in history)


POLICY_FILE = """\
[[override]]
effective_from = 2030-03-01
note = "市人社局 2029 年第 12 号文"
coverage_ppm = 700_000
leverage = { high = 8 }

[[override]]
effective_from = 2031-01-01
loan_limit_fen = { individual = 30_000_000 }

[override.rate_cap]
spread_bp = 50
"""


def test_override_file_loading(session, tmp_path):
    path = tmp_path / "city.toml"
    path.write_text(POLICY_FILE, encoding="utf-8")
    loaded = load_overrides_file(path)
    assert loaded == [
        (
            D(2030, 3, 1),
            {"coverage_ppm": 700_000, "leverage": {"high": 8}},
            "市人社局 2029 年第 12 号文",
        ),
        (
            D(2031, 1, 1),
            {"loan_limit_fen": {"individual": 30 * WAN}, "rate_cap": {"spread_bp": 50}},
            "",
        ),
    ]
    for on, params, note in loaded:
        record(session, on, params, note=note)
    rules = rules_on(session, D(2031, 2, 1))
    assert rules["coverage_ppm"] == 700_000
    assert rules.loan_limit("individual") == 30 * WAN
    assert rules.rate_cap_on(D(2031, 2, 1)) == 30_000 + 5_000
    assert rules_on(session, D(2030, 12, 31)).loan_limit("individual") == 20 * WAN


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("[[override]]\ncoverage_ppm = 1\n", "override #1 needs effective_from = a date"),
        (
            "[[override]]\neffective_from = 2030-01-01T00:00:00\ncoverage_ppm = 1\n",
            "override #1 needs effective_from = a date",
        ),
        (
            "[[override]]\neffective_from = 2030-01-01\ncoverage = 1\n",
            "override #1 (2030-01-01): unknown policy key coverage",
        ),
        (
            "[[override]]\neffective_from = 2030-01-01\ncoverage_ppm = 1\n"
            "[[override]]\neffective_from = 2030-01-01\nmin_age = 20\n",
            "override #2: a second override taking effect on 2030-01-01",
        ),
        ("[[override]]\neffective_from = 2030-01-01\n", "override #1 (2030-01-01) changes no"),
        ("[[era]]\neffective_from = 2030-01-01\n", "unknown key 'era'"),
        ("coverage_ppm = ", "is not valid TOML"),
        ("", "holds no [[override]] table"),
    ],
)
def test_override_file_errors(tmp_path, text, message):
    path = tmp_path / "city.toml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(PolicyError) as err:
        load_overrides_file(path)
    assert message in str(err.value)
    assert err.value.zh


def test_missing_override_file(tmp_path):
    with pytest.raises(PolicyError, match=r"^cannot read policy file"):
        load_overrides_file(tmp_path / "nope.toml")


def test_only_an_admin_records_an_override_whoever_calls(session):
    from ledger.fund.errors import PermissionDeniedError
    from ledger.principal import Principal

    clerk = Principal("wang.fang", ["clerk", "approver"])
    with pytest.raises(PermissionDeniedError) as info:
        record(session, D(2030, 3, 1), {"leverage": {"high": 8}}, actor=clerk)
    assert str(info.value) == ("user wang.fang may not do this: it needs the admin role")
    session.rollback()
    row = record(session, D(2030, 3, 1), {"leverage": {"high": 8}}, actor="admin")
    assert row.recorded_by == "admin"
