import pandas as pd
import pytest
from hypothesis import given
from hypothesis import strategies as st

from partner_forecast.calendar import Quarter, quarter_index
from partner_forecast.config import load_settings
from partner_forecast.errors import ConfigError


def test_quarter_parse_and_bounds():
    q = Quarter.parse("2026Q4")
    assert (q.start, q.end) == (pd.Timestamp("2026-10-01"), pd.Timestamp("2027-01-01"))
    assert str(q + 1) == "2027Q1" and str(q - 4) == "2025Q4"
    assert Quarter.parse("fy2026-q1") == Quarter(2026, 1)
    with pytest.raises(ValueError):
        Quarter.parse("2026Q5")


@given(st.dates(min_value=pd.Timestamp("2000-01-01").date(), max_value=pd.Timestamp("2040-12-31").date()),
       st.integers(1, 12))
def test_containing_quarter_contains_the_date(date, start_month):
    d = pd.Timestamp(date)
    q = Quarter.containing(d, start_month)
    assert q.start <= d < q.end
    assert q.days in range(89, 93)
    assert quarter_index(pd.Series([d]), start_month).iloc[0] == q.index


def test_fiscal_year_named_by_its_end():
    # Fiscal year starting in February: Feb 2026 opens FY2027.
    assert str(Quarter.containing("2026-02-03", 2)) == "2027Q1"
    assert Quarter(2027, 1, 2).start == pd.Timestamp("2026-02-01")


def test_default_settings_and_fingerprint(tmp_path):
    s = load_settings()
    assert s.conversion_probability("reseller", "discovery") == 0.15
    assert s.conversion_probability("marketplace", "negotiation") == 0.75  # default column
    user = tmp_path / "c.toml"
    user.write_text("[attribution]\nco_sell = 0.4\n")
    s2 = load_settings(user)
    assert s2.attribution.co_sell == 0.4 and s2.attribution.sourced == 1.0
    assert s2.fingerprint != s.fingerprint


@pytest.mark.parametrize("text, match", [
    ("[attribution]\nco_sell = 2\n", "attribution.co_sell"),
    ("[nonsense]\nx = 1\n", "unknown config table"),
    ("[confidence]\nweights = { stage = 1.0 }\n", "confidence"),
    ("[sampler]\ndraws = 'many'\n", "sampler.draws"),
    ("not toml = = \n", "not valid TOML"),
])
def test_bad_config_names_the_key(tmp_path, text, match):
    p = tmp_path / "bad.toml"
    p.write_text(text)
    with pytest.raises(ConfigError, match=match):
        load_settings(p)
