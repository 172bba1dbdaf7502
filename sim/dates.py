"""The model's calendar: the run starts at 31 March 2015 and each step is one calendar month.

Kept apart from the model so that the command line can check years without importing Mesa.
"""
from __future__ import annotations

START_YEAR = 2015  # the run starts at 31 March of this year
START_DATE_YEARS = START_YEAR + 0.25  # 31 March as a fractional year
