"""The states a child can be in, the groups the outputs count, and the moves allowed between them.

Every child the model knows is in exactly one `State`. The care states follow the DfE
placement categories (foster with relatives or friends, in-house and agency foster care,
children's homes, semi-independent living, placed with parents, placed for adoption, other);
the left-care states follow the DfE reasons for ceasing to be looked after.
"""
from __future__ import annotations

from enum import IntEnum

import numpy as np


class State(IntEnum):
    """Where a child is this month. Integer values index the arrays below."""

    CHILD_IN_NEED = 0  # known to children's social care, at home, assessed at risk of care
    CHILD_PROTECTION = 1  # on a child protection plan, at home
    EDGE_OF_CARE = 2  # on a plan, family receiving intensive edge-of-care support
    KINSHIP = 3  # in care: fostered with relatives or friends
    FOSTER_IN_HOUSE = 4  # in care: local-authority foster carers
    FOSTER_AGENCY = 5  # in care: independent fostering agency carers
    HOME_LA = 6  # in care: local-authority children's home
    HOME_PRIVATE = 7  # in care: private or voluntary children's home
    SEMI_INDEPENDENT = 8  # in care: semi-independent or supported accommodation
    PLACED_WITH_PARENTS = 9  # in care (care order) but living with parents
    PLACED_FOR_ADOPTION = 10  # in care, placed with prospective adopters
    OTHER_PLACEMENT = 11  # in care: independent living, secure, other
    RETURNED_HOME = 12  # left care home, monitored (may come back into care)
    SPECIAL_GUARDIANSHIP = 13  # left care: special guardianship order
    ADOPTED = 14  # left care: adopted
    AGED_OUT = 15  # left care: 18th birthday
    LEFT_OTHER = 16  # left care aged 16-17 for independent living, custody, other
    CLOSED = 17  # case closed: no longer an agent of the simulation


N_STATES = len(State)


def _mask(states) -> np.ndarray:
    m = np.zeros(N_STATES, dtype=bool)
    m[[int(s) for s in states]] = True
    return m


AT_HOME = (State.CHILD_IN_NEED, State.CHILD_PROTECTION, State.EDGE_OF_CARE)
FOSTER = (State.KINSHIP, State.FOSTER_IN_HOUSE, State.FOSTER_AGENCY)
CHILDRENS_HOMES = (State.HOME_LA, State.HOME_PRIVATE)
NON_KIN_FOSTER = (State.FOSTER_IN_HOUSE, State.FOSTER_AGENCY)  # fostering households recruit and leave
RESIDENTIAL = (State.HOME_LA, State.HOME_PRIVATE, State.SEMI_INDEPENDENT)
OTHER_CARE = (State.PLACED_WITH_PARENTS, State.PLACED_FOR_ADOPTION, State.OTHER_PLACEMENT)
IN_CARE = FOSTER + RESIDENTIAL + OTHER_CARE
LEFT_CARE = (State.RETURNED_HOME, State.SPECIAL_GUARDIANSHIP, State.ADOPTED, State.AGED_OUT,
             State.LEFT_OTHER)
TERMINAL = (State.SPECIAL_GUARDIANSHIP, State.ADOPTED, State.AGED_OUT, State.LEFT_OTHER,
            State.CLOSED)
ACTIVE = AT_HOME + IN_CARE + (State.RETURNED_HOME,)

IS_AT_HOME = _mask(AT_HOME)
IS_IN_CARE = _mask(IN_CARE)
IS_FOSTER = _mask(FOSTER)
IS_NON_KIN_FOSTER = _mask(NON_KIN_FOSTER)
IS_CHILDRENS_HOME = _mask(CHILDRENS_HOMES)
IS_RESIDENTIAL = _mask(RESIDENTIAL)
IS_ACTIVE = _mask(ACTIVE)
IS_TERMINAL = _mask(TERMINAL)


def _code_range(states) -> tuple[int, int]:
    """(first, last) code of `states`, which must be consecutive codes."""
    codes = sorted(int(s) for s in states)
    if codes != list(range(codes[0], codes[-1] + 1)):
        raise AssertionError(f"states {states} are not consecutive codes")
    return codes[0], codes[-1]


_AT_HOME_LAST = _code_range(AT_HOME)[1]
_IN_CARE_FIRST, _IN_CARE_LAST = _code_range(IN_CARE)
_ACTIVE_LAST = _code_range(ACTIVE)[1]
assert _code_range(AT_HOME)[0] == 0 and _code_range(ACTIVE)[0] == 0


# The monthly step asks these of ~170,000 states at a time. The groups are consecutive codes, so a
# comparison answers them exactly, about 10x cheaper than gathering the mask (IS_IN_CARE[state]):
# 0.03 ms against 0.37 ms on 170,000 int8 states.
def is_at_home(state: np.ndarray) -> np.ndarray:
    """IS_AT_HOME[state], by comparison."""
    return state <= _AT_HOME_LAST


def is_in_care(state: np.ndarray) -> np.ndarray:
    """IS_IN_CARE[state], by comparison."""
    return (state >= _IN_CARE_FIRST) & (state <= _IN_CARE_LAST)


def is_active(state: np.ndarray) -> np.ndarray:
    """IS_ACTIVE[state], by comparison."""
    return state <= _ACTIVE_LAST


def _allowed() -> np.ndarray:
    """ALLOWED[a, b] is True when a child may move from state a to state b in one month."""
    ok = np.zeros((N_STATES, N_STATES), dtype=bool)

    def allow(sources, targets):
        for a in sources:
            for b in targets:
                ok[a, b] = True

    allow([State.CHILD_IN_NEED], [State.CHILD_PROTECTION, State.EDGE_OF_CARE, State.CLOSED])
    allow([State.CHILD_PROTECTION], [State.CHILD_IN_NEED, State.EDGE_OF_CARE, State.CLOSED])
    allow([State.EDGE_OF_CARE], [State.CHILD_IN_NEED, State.CHILD_PROTECTION, State.CLOSED])
    allow(AT_HOME + (State.RETURNED_HOME,), IN_CARE)  # entering (or re-entering) care
    allow(IN_CARE, IN_CARE)  # placement moves and step-down
    allow(IN_CARE, [State.RETURNED_HOME, State.AGED_OUT])
    allow(FOSTER + RESIDENTIAL + (State.OTHER_PLACEMENT,), [State.SPECIAL_GUARDIANSHIP])
    allow([State.PLACED_FOR_ADOPTION], [State.ADOPTED])
    allow(IN_CARE, [State.LEFT_OTHER])
    allow([State.RETURNED_HOME], [State.CLOSED])
    for s in State:
        ok[s, s] = s in IN_CARE  # a new placement of the same type (a placement move)
    return ok


ALLOWED = _allowed()


class Reason(IntEnum):
    """Why a child moved: the journey log's `why` column."""

    REFERRAL = 0
    ESCALATION = 1
    PLAN_ENDED = 2
    CASE_CLOSED = 3
    SUPPORT_STARTED = 4
    SUPPORT_ENDED = 5
    ENTERED_CARE = 6
    PLACEMENT_MOVE = 7
    STEP_DOWN = 8
    RETURNED_HOME = 9
    SPECIAL_GUARDIANSHIP = 10
    ADOPTION = 11
    EIGHTEENTH_BIRTHDAY = 12
    LEFT_AGED_16_17 = 13
    MONITORING_ENDED = 14
    INITIAL = 15
