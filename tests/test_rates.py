"""Targets in one currency (issue 13, item 6): exchange rates the user keeps (`crm config rates`),
a won-value target that converts wins in other currencies exactly, and lists what it could not
convert instead of counting it as 0. Domain functions, and the CLI on SQLite and PostgreSQL."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from decimal import Decimal as D
from fractions import Fraction
from pathlib import Path

import pytest
from test_cli import ok, one_line_error

from crmcli.analytics import targets
from crmcli.analytics.summary import attainment
from crmcli.domain import deals, rates, settings
from crmcli.errors import Invalid, NotFound
from crmcli.values import periods

NOW = "2026-11-20T12:00:00Z"


@pytest.fixture(autouse=True)
def frozen(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CRM_NOW", NOW)


def table(pairs: dict[str, tuple[str, str]]) -> dict[str, dict]:
    """{'USD': ('0.92', 'EUR')} → rates as rates.load gives them."""
    return {c: {"currency": c, "rate": D(r), "base": b} for c, (r, b) in pairs.items()}


# ---------------------------------------------------------------- converting: exact, rounded once


def test_rates_convert_both_ways_and_through_the_base_exactly() -> None:
    stored = table({"USD": ("0.92", "EUR"), "GBP": ("1.15", "EUR")})
    assert rates.factor(stored, "EUR", "EUR") == 1
    assert rates.factor(stored, "USD", "EUR") == D("0.92")
    assert rates.factor(stored, "EUR", "USD") == 1 / Fraction(D("0.92"))  # the inverse, a fraction: not rounded
    assert rates.factor(stored, "CHF", "EUR") is None and rates.factor(stored, "EUR", "CHF") is None
    # 115 USD = 105.80 EUR = 92 GBP: through the base, exact (115 × 0.92 / 1.15 in floats is 91.99999999999999)
    assert rates.convert({"USD": D("115.00")}, "GBP", stored, "EUR")["value"] == D("92.00")
    assert rates.convert({"EUR": D("0.92")}, "USD", stored, "EUR")["value"] == D("1.00")
    assert rates.convert({"EUR": D("1.00")}, "USD", stored, "EUR")["value"] == D("1.09")  # 1.0869565…
    got = rates.convert({"EUR": D("100.00"), "USD": D("1200.00")}, "EUR", stored, "EUR")
    assert got == {"value": D("1204.00"), "converted": {"EUR": D("100.00"), "USD": D("1200.00")},
                   "unconverted": {}, "missing_rates": []}  # fmt: skip
    assert str(got["value"]) == "1204.00"


@pytest.mark.parametrize(
    ("amounts", "target", "expected"),
    [
        ({"USD": D("0.05")}, "EUR", "0.02"),  # 0.025: half to even, down
        ({"USD": D("0.15")}, "EUR", "0.08"),  # 0.075: half to even, up
        ({"USD": D("0.07")}, "EUR", "0.04"),  # 0.035 → 0.04
        # rounded once, after adding: 0.005 + 0.005 = 0.01 (each rounded first would give 0.00)
        ({"USD": D("0.01"), "GBP": D("0.01")}, "EUR", "0.01"),
        ({"USD": D("1.00")}, "JPY", "2"),  # 2.5 yen → 2
        ({"USD": D("3.00")}, "JPY", "8"),  # 7.5 yen → 8
        ({"USD": D("0.01")}, "KWD", "0.005"),  # three decimals: 0.005 exactly
        ({"EUR": D("0")}, "USD", "0.00"),  # nothing to convert: 0, and not listed as unconverted
    ],
)
def test_conversion_rounds_half_to_even_once_to_the_targets_minor_unit(amounts, target, expected) -> None:
    stored = table({"USD": ("0.5", "EUR"), "GBP": ("0.5", "EUR"), "JPY": ("0.4", "USD"), "KWD": ("1", "EUR")})
    got = rates.convert(amounts, target, stored, "EUR")
    assert str(got["value"]) == expected
    assert got["unconverted"] == {} and got["missing_rates"] == []


def test_what_has_no_rate_is_listed_never_counted_as_zero() -> None:
    stored = table({"USD": ("0.92", "EUR")})
    got = rates.convert({"EUR": D("100.00"), "USD": D("10.00"), "CHF": D("5.00")}, "EUR", stored, "EUR")
    assert got["value"] == D("109.20")
    assert got["unconverted"] == {"CHF": D("5.00")} and got["missing_rates"] == ["CHF"]
    # a target in a currency without a rate: the rate missing is the target's own
    got = rates.convert({"EUR": D("100.00")}, "GBP", stored, "EUR")
    assert got["value"] == D("0.00") and got["unconverted"] == {"EUR": D("100.00")}
    assert got["missing_rates"] == ["GBP"]


# ---------------------------------------------------------------- keeping rates


def test_parse_rate_takes_positive_decimals_only() -> None:
    assert rates.parse_rate("0.92") == D("0.92")
    assert str(rates.parse_rate("1.0800")) == "1.08"
    assert str(rates.parse_rate("150")) == "150"
    assert rates.parse_rate("0.000000057") == D("0.000000057")
    for bad, fragment in (("0", "above 0"), ("-1", "above 0"), ("abc", "such as 0.92"), ("0,92", "decimal point"),
                          ("NaN", "above 0"), ("inf", "above 0"), ("1e12", "at most"),
                          ("0.0000000000001", "12 decimal places")):  # fmt: skip
        with pytest.raises(Invalid, match=fragment):
            rates.parse_rate(bad)


def test_set_list_remove_rates_against_the_config_currency(session) -> None:
    assert rates.list_rates(session) == []
    assert rates.set_rate(session, "usd", "0.92") == {"currency": "USD", "rate": D("0.92"), "base": "EUR"}
    assert rates.set_rate(session, "USD", "0.93")["rate"] == D("0.93")  # replaced
    with pytest.raises(Invalid, match="EUR is the base currency"):
        rates.set_rate(session, "EUR", "1")
    with pytest.raises(Invalid, match="unknown currency"):
        rates.set_rate(session, "XYZ", "1")
    settings.set_value(session, "currency", "USD")  # a later base: the stored rate keeps its meaning
    rates.set_rate(session, "GBP", "1.27")
    assert rates.list_rates(session) == [
        {"currency": "GBP", "rate": D("1.27"), "base": "USD"},
        {"currency": "USD", "rate": D("0.93"), "base": "EUR"},
    ]
    # GBP → EUR goes through USD: 100 GBP = 127 USD = 118.11 EUR
    assert rates.converted_value(session, {"GBP": D("100.00")}, "EUR")["value"] == D("118.11")
    assert not any(s["key"].startswith("rate") for s in settings.all_settings(session))  # rates are not settings
    assert rates.remove_rate(session, "usd")["currency"] == "USD"
    with pytest.raises(NotFound, match="no rate for USD"):
        rates.remove_rate(session, "USD")


def test_a_rates_file_is_read_whole_or_not_at_all(session) -> None:
    text = "\ufeffcurrency,rate\n# from the bank, 20 Nov\nUSD,0.92\n\nGBP;1.15\nJPY\t0.0061\n"
    assert rates.parse_rates_file(text) == [("USD", D("0.92")), ("GBP", D("1.15")), ("JPY", D("0.0061"))]
    assert [r["currency"] for r in rates.import_rates(session, text)] == ["USD", "GBP", "JPY"]
    for bad, fragment in (("USD,0.92\nGBP,abc\n", "line 2: invalid rate 'abc' for GBP"),
                          ("USD,0.92\nXYZ,1\n", "line 2: unknown currency"),
                          ("USD,0.92,EUR\n", "line 1: expected 'currency,rate'"),
                          ("USD,0.92\nusd,0.93\n", "line 2: USD is given twice"),
                          ("# nothing\n", "no rates")):  # fmt: skip
        with pytest.raises(Invalid, match=fragment):
            rates.parse_rates_file(bad)


# ---------------------------------------------------------------- the won-value target


def _won(session, title: str, amount: str, currency: str, day: int) -> None:
    deal = deals.add_deal(session, title=title, amount=amount, currency=currency, owner="ana",
                          created_at=datetime(2026, 10, 1, tzinfo=UTC))  # fmt: skip
    deals.win(session, deal, at=datetime(2026, 11, day, 10, tzinfo=UTC))


def _won_value(session) -> dict:
    rows = attainment(session, periods.window("2026-11"))
    return next(r for r in rows if r["metric"] == "won_value")


def test_a_target_in_eur_counts_wins_in_other_currencies_converted(session) -> None:
    """The fault: a won-value target in EUR read €0.00 when the wins were in dollars."""
    _won(session, "Dollar deal", "1200", "USD", 3)
    _won(session, "Pound deal", "500", "GBP", 4)
    targets.set_target(session, metric="won_value", value="2000", period="month")  # the config currency: EUR
    row = _won_value(session)
    assert row["currency"] == "EUR" and row["actual"] == D("0.00")
    assert row["unconverted"] == {"GBP": D("500.00"), "USD": D("1200.00")}
    assert row["missing_rates"] == ["GBP", "USD"]
    assert row["status"] == "incomplete" and not row["behind"]  # not "behind": the rest may make it
    rates.set_rate(session, "USD", "0.92")
    row = _won_value(session)
    assert row["actual"] == D("1104.00") and row["unconverted"] == {"GBP": D("500.00")}
    assert row["converted"] == {"USD": D("1200.00")}
    rates.set_rate(session, "GBP", "1.1537")
    row = _won_value(session)
    assert row["actual"] == D("1680.85")  # 1,104 + 576.85 (576.85: 500 × 1.1537 exactly)
    assert row["unconverted"] == {} and row["status"] == "on pace"  # 2,000 × 19.5/30 = 1,300 by now
    assert row["attainment_pct"] == D("84.0")


def test_a_target_in_another_currency_converts_through_the_base(session) -> None:
    _won(session, "Euro deal", "920", "EUR", 5)
    _won(session, "Dollar deal", "100", "USD", 6)
    targets.set_target(session, metric="won_value", value="1000", period="month", currency="USD")
    row = _won_value(session)
    assert row["actual"] == D("100.00") and row["unconverted"] == {"EUR": D("920.00")}
    assert row["missing_rates"] == ["USD"]  # EUR is the base: it is USD's rate that is missing
    rates.set_rate(session, "USD", "0.92")
    row = _won_value(session)
    assert row["actual"] == D("1100.00") and row["unconverted"] == {} and row["status"] == "met"


# ---------------------------------------------------------------- through the CLI


def test_config_rates_commands(cli, tmp_path: Path) -> None:
    assert "1 USD = 0.92 EUR" in ok(cli("config", "rates", "set", "usd", "0.92")).stderr
    ok(cli("config", "rates", "set", "GBP", "1.15"))
    assert json.loads(ok(cli("config", "rates", "list", "-f", "json")).stdout) == [
        {"currency": "GBP", "rate": "1.15", "base": "EUR", "id": "GBP", "meaning": "1 GBP = 1.15 EUR"},
        {"currency": "USD", "rate": "0.92", "base": "EUR", "id": "USD", "meaning": "1 USD = 0.92 EUR"},
    ]
    assert ok(cli("config", "rates", "list")).stdout.splitlines() == [
        "GBP\t1.15\t1 GBP = 1.15 EUR", "USD\t0.92\t1 USD = 0.92 EUR",
    ]  # fmt: skip
    assert "Rate" in ok(cli("config", "rates", "list", "-f", "table")).stdout
    ok(cli("config", "rates", "rm", "GBP", "--yes"))
    assert [r["currency"] for r in json.loads(ok(cli("config", "rates", "list", "-f", "json")).stdout)] == ["USD"]
    one_line_error(cli("config", "rates", "rm", "GBP", "-y"), 1, "no rate for GBP")
    one_line_error(cli("config", "rates", "set", "EUR", "1"), 1, "EUR is the base currency")
    one_line_error(cli("config", "rates", "set", "USD", "0,92"), 1, "decimal point")
    one_line_error(cli("config", "rates", "set", "USD", "--", "-1"), 1, "above 0")
    assert cli("config", "rates", "set", "USD").exit_code == 2

    path = tmp_path / "rates.csv"
    path.write_text("currency,rate\nUSD,0.91\nCHF,1.04\n", encoding="utf-8")
    assert "2 rates set" in ok(cli("config", "rates", "import", str(path))).stderr
    ok(cli("config", "rates", "import", "-", input="JPY,0.0061\nIDR,0.000057\n"))
    listed = {r["currency"]: r["rate"] for r in json.loads(ok(cli("config", "rates", "list", "-f", "json")).stdout)}
    assert listed == {"CHF": "1.04", "IDR": "0.000057", "JPY": "0.0061", "USD": "0.91"}
    assert "1 IDR = 0.000057 EUR" in ok(cli("config", "rates", "list")).stdout  # never 5.7E-5
    path.write_text("USD,0.5\nGBP,x\n", encoding="utf-8")
    one_line_error(cli("config", "rates", "import", str(path)), 1, "rates file line 2")
    assert json.loads(ok(cli("config", "rates", "list", "-f", "json")).stdout)[3]["rate"] == "0.91"  # none set
    one_line_error(cli("config", "rates", "import", str(tmp_path / "missing.csv")), 1, "no such file")


def test_kpi_shows_a_target_converted_and_lists_what_has_no_rate(cli) -> None:
    env = {"COLUMNS": "200"}
    for title, amount, currency in (("Dollar deal", "1200", "USD"), ("Euro deal", "300", "EUR")):
        deal_id = ok(cli("deals", "add", title, "--amount", amount, "--currency", currency)).stdout.strip()
        ok(cli("deals", "won", deal_id))
    ok(cli("targets", "set", "won_value", "2000"))
    data = json.loads(ok(cli("kpi", "-f", "json")).stdout)
    (target,) = data["targets"]
    assert (target["currency"], target["actual"], target["unconverted"], target["missing_rates"], target["status"]) == (
        "EUR", "300.00", {"USD": "1200.00"}, ["USD"], "incomplete",
    )  # fmt: skip
    screen = ok(cli("kpi", "-f", "table", env=env)).stdout
    assert "€300.00*" in screen and "? rate missing" in screen
    assert "* won_value (team): + $1,200.00 USD not converted: no rate (crm config rates set USD …)" in screen
    plain = [x for x in ok(cli("kpi")).stdout.splitlines() if x.startswith("target won_value")]
    assert plain == [
        "target won_value\tteam\tNovember 2026\t€2,000.00\t€300.00 + $1,200.00 USD not converted: no rate "
        "(crm config rates set USD …)\t? rate missing"
    ]

    ok(cli("config", "rates", "set", "USD", "0.92"))
    (target,) = json.loads(ok(cli("kpi", "-f", "json")).stdout)["targets"]
    assert (target["actual"], target["unconverted"], target["status"]) == ("1404.00", {}, "on pace")
    screen = ok(cli("kpi", "-f", "table", env=env)).stdout
    assert "€1,404.00" in screen and "not converted" not in screen
