"""The SSDA903 codes caresim reads, and how they map onto the model's placement states and exits.

Codes follow the DfE's annual guidance (../shared/ssda903.md). Codes retired before 2016-17 that
still appear in five-year histories are accepted where their meaning is plain (E43, E44: special
guardianship before the split into E45-E48; A1, A2: placed for adoption before 2013-14).
"""
from __future__ import annotations

RNE = frozenset({"S", "L", "P", "T", "B", "U"})
REDUNDANT_RNE = frozenset({"L", "T", "U"})  # the carer did not change: not a placement move
LEGAL_STATUS = frozenset({"C1", "C2", "D1", "E1", "V2", "V3", "V4", "L1", "L2", "L3", "J1", "J2", "J3"})
SHORT_BREAK = frozenset({"V3", "V4"})  # short breaks: left out of every national count
PLACE = frozenset({"U1", "U2", "U3", "U4", "U5", "U6", "A1", "A2", "A3", "A4", "A5", "A6", "K1", "K2", "K3", "H5",
                   "P1", "P2", "P3", "R1", "R2", "R3", "R5", "S1", "T0", "T1", "T2", "T3", "T4", "Z1", "Z11",
                   "Z12", "Z13", "Z14"})
PROVIDER = frozenset({"PR0", "PR1", "PR2", "PR3", "PR4", "PR5"})
REC = frozenset({"X1", "E11", "E12", "E2", "E3", "E4A", "E4B", "E13", "E41", "E43", "E44", "E45", "E46", "E47",
                 "E48", "E5", "E6", "E7", "E9", "E14", "E15", "E16", "E17", "E8"})
CIN = frozenset({f"N{k}" for k in range(1, 10)})
SEX = frozenset({"1", "2", "M", "F", "U"})

# placement groups as the DfE's national tables show them (and the model's output groups)
GROUPS = ("foster", "residential", "with parents", "for adoption", "other")
INDEPENDENT_SECTOR = frozenset({"PR4", "PR5"})


def placement_group(place: str) -> str:
    """The DfE output group of a PLACE code."""
    if place.startswith("U"):
        return "foster"
    if place in ("K1", "K2", "K3", "H5", "R1"):
        return "residential"
    if place == "P1":
        return "with parents"
    if place.startswith("A"):
        return "for adoption"
    return "other"


def model_state(place: str, provider: str) -> str:
    """The model's care state (sim.states.State name) of a PLACE code and its provider."""
    independent = provider in INDEPENDENT_SECTOR
    if place in ("U1", "U2", "U3"):
        return "KINSHIP"
    if place in ("U4", "U5", "U6"):
        return "FOSTER_AGENCY" if independent else "FOSTER_IN_HOUSE"
    if place in ("K1", "K2", "R1"):  # the model's children's homes include secure ones
        return "HOME_PRIVATE" if independent else "HOME_LA"
    if place in ("H5", "K3"):
        return "SEMI_INDEPENDENT"
    if place == "P1":
        return "PLACED_WITH_PARENTS"
    if place.startswith("A"):
        return "PLACED_FOR_ADOPTION"
    return "OTHER_PLACEMENT"


# each DfE group is the sum of model states (placement_group and model_state agree on every code)
GROUP_STATES = {"foster": ("KINSHIP", "FOSTER_IN_HOUSE", "FOSTER_AGENCY"),
                "residential": ("HOME_LA", "HOME_PRIVATE", "SEMI_INDEPENDENT"),
                "with parents": ("PLACED_WITH_PARENTS",), "for adoption": ("PLACED_FOR_ADOPTION",),
                "other": ("OTHER_PLACEMENT",)}
STATES = tuple(s for states in GROUP_STATES.values() for s in states)
STATE_LABELS = {"KINSHIP": "kinship", "FOSTER_IN_HOUSE": "in-house", "FOSTER_AGENCY": "agency", "HOME_LA": "LA home",
                "HOME_PRIVATE": "private home", "SEMI_INDEPENDENT": "semi-indep."}


# why a period of care ended, in the model's exit groups; "aged 18" is read from the age at DEC
EXIT_GROUPS = ("returned home", "special guardianship", "adopted", "aged 18", "left 16-17", "other")


def exit_group(rec: str, age_years: int) -> str:
    """The model's exit group of a REC code at the child's age (in whole years) on leaving."""
    if rec in ("E4A", "E4B", "E13", "E41"):
        return "returned home"
    if rec in ("E43", "E44", "E45", "E46", "E47", "E48"):
        return "special guardianship"
    if rec in ("E11", "E12"):
        return "adopted"
    if age_years >= 18:
        return "aged 18"
    if age_years >= 16 and rec in ("E5", "E6", "E7", "E9", "E14", "E16", "E17", "E8"):
        return "left 16-17"
    return "other"


# age bands of the DfE's tables: under 1, 1-4, 5-9, 10-15, 16 and over
AGE_BANDS = ((0, "under 1"), (1, "1-4"), (5, "5-9"), (10, "10-15"), (16, "16+"))
AGE_BAND_EDGES = [lo for lo, _ in AGE_BANDS] + [200]
AGE_BAND_NAMES = [name for _, name in AGE_BANDS]
