"""Named ages and durations (in months) that the rules of the model use as cut-offs.

Every age or duration a rule compares against is named here, so that a reader sees what a
number means and a change of a cut-off is made in one place. Ages are in whole months.
"""
from __future__ import annotations

MONTHS_PER_YEAR = 12

AGE_1_MONTHS = 12  # under 1: the infant care-entry multiplier applies (DfE: most entries under 1)
AGE_5_MONTHS = 60  # under 5: children placed for adoption (few adopted older; DfE CLA)
AGE_11_MONTHS = 132  # 11+: high-need children may need a children's home; breakdowns may end in one
AGE_14_MONTHS = 168  # 14+: unaccompanied asylum-seeking children arrive from this age
AGE_16_MONTHS = 192  # 16+: special guardianship stops, leaving care at 16-17 and semi-independence start
ADULT_MONTHS = 18 * MONTHS_PER_YEAR  # 18th birthday: care ends

EARLY_EPISODE_MONTHS = 6  # first months of a care episode: return home is likelier; no SGO or adoption yet
STALE_HOME_MONTHS = 6  # a private children's home empty this long may close (assumption)
ADOPTION_PLACEMENT_YOUNGEST_MONTHS = 6  # youngest age of the 2015 stock placed for adoption (assumption)
