"""Observed drivers inside the model: where a published series replaces a fitted trend.

`CareModel(..., drivers=...)` takes a drivers object (`runner.drivers.Drivers`, read from a
`--drivers FILE`; the model only calls its `multiplier`, so it imports nothing from the runner).
Three trends are driven: referrals (`referrals`: plan starts and at-risk referrals, sim/front_edge.py),
unaccompanied asylum-seeking arrivals (`uasc_started_care`, sim/front_edge.py) and social-worker
FTE (`social_worker_fte`, sim/workforce.py). For the years a driver is observed the trend factor
is the observed value relative to the model's own value in a reference year; after the last
observation it continues on the fitted trend; before the first one the fitted trend is untouched.
Drivers are demand and workforce inputs, never care outcomes: nothing after 2020 is fitted.

`REFERRALS_2020` is DfE's count of every referral in the year to 31 March 2020. The model's
agents are only the referrals at risk of care; `referrals_all` (a recorded measure) is this
count moved by the referral trend, or the driver's observed value when one is given: the
driver passed through, not an emergent figure, so that it can be compared with DfE's series.
"""
from __future__ import annotations

from sim import hazards
from sim.dates import START_DATE_YEARS

REFERRALS_2020 = 642_980.0  # A, DfE Characteristics of children in need: referrals in the year to 31 March 2020
REFERENCE_YEARS_2020 = 4.5  # years from 31 March 2015 to the middle of the year to 31 March 2020


def trend_factor(drivers, measure: str, rate_per_year: float, years: float, *,
                 reference_value: float, reference_years: float = REFERENCE_YEARS_2020) -> float:
    """The growth factor since 31 March 2015 at `years`: the fitted trend, or the observed driver.

    `reference_value` is the model's value of `measure` at `reference_years` (where the trend
    factor is `trend(rate, reference_years)`); an observed value v gives the factor
    trend(rate, reference_years) x v / reference_value.
    """
    own = hazards.trend(rate_per_year, years)
    if drivers is None or reference_value <= 0:
        return own
    multiplier = drivers.multiplier(measure, START_DATE_YEARS + years, reference_value=reference_value,
                                    trend_per_year=rate_per_year)
    if multiplier is None:
        return own
    return hazards.trend(rate_per_year, reference_years) * multiplier
