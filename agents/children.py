"""Children and families: array state for the monthly hot path, Mesa agents for identity.

Every child who is in care, on a child protection plan, in edge-of-care support, assessed at
risk of care, or recently returned home is a row of `ChildTable`; every family a row of
`FamilyTable`. The model updates the rows on arrays each month (the components of sim/model.py). A
`Child` or `Family` is a Mesa agent that reads and writes one row: the model makes them on
request (`model.child(row)`), so that hundreds of thousands of children do not each cost a
Python object per month (measured in ../shared/PERFORMANCE.md: 20x faster).
"""
from __future__ import annotations

from enum import IntEnum

import numpy as np

from agents.mesa_core import Agent
from agents.table import Table
from sim.states import IS_IN_CARE, State


class Need(IntEnum):
    """A child's assessed needs and risk."""

    AVERAGE = 0
    HIGH = 1


class LegalStatus(IntEnum):
    """Legal basis of a child's status (none while at home)."""

    NONE = 0
    SECTION_20 = 1  # accommodated with parents' agreement
    CARE_ORDER = 2  # interim or full care order
    PLACEMENT_ORDER = 3  # placed for adoption


class ChildTable(Table):
    FIELDS = {
        "state": (np.int8, int(State.CLOSED)),
        "age_months": (np.int16, 0),
        "need": (np.int8, int(Need.AVERAGE)),
        "legal_status": (np.int8, int(LegalStatus.NONE)),
        "provider": (np.int32, -1),  # placement provider row while in a provider's place
        "months_in_state": (np.int16, 0),
        "months_in_care": (np.int16, 0),  # months since the current (or last) care episode began
        "n_entries": (np.int16, 0),  # care episodes begun
        "n_placements": (np.int16, 0),  # placements begun, all episodes
        "family": (np.int32, -1),
        "worker": (np.int32, -1),
        "on_plan": (bool, False),  # child protection plan (at home)
        "uasc": (bool, False),  # unaccompanied asylum-seeking child
        "reunifiable": (bool, False),  # a return home could safely be explored
        "return_appropriate": (bool, False),  # an assessment would find a return home appropriate
        "reunification_support": (bool, False),  # had back-edge support in this care episode (or the return after it)
        "reunification_until": (np.int32, -1),  # last month of the child's reunification support episode, -1 if none
        "authority": (np.int16, 0),  # index of the child's authority in a region (its family's); 0 otherwise
    }


class FamilyTable(Table):
    FIELDS = {
        "n_children": (np.int8, 0),
        "domestic_abuse": (bool, False),
        "substance_misuse": (bool, False),
        "mental_health": (bool, False),
        "support_until": (np.int32, -1),  # last month of edge-of-care support, -1 if none
        "kinship_carer": (np.int32, -1),  # provider row of the family's kinship carer, once it has one
        "authority": (np.int16, 0),  # index of the family's authority in a region (sim/local_start.py); 0 otherwise
    }


class Child(Agent):
    """One child: a Mesa agent over a row of the model's `ChildTable`."""

    def __init__(self, model, row: int):
        super().__init__(model)
        self.row = int(row)

    def _get(self, name):
        return getattr(self.model.children, name)[self.row]

    @property
    def state(self) -> State:
        return State(int(self._get("state")))

    @property
    def age_months(self) -> int:
        return int(self._get("age_months"))

    @property
    def need(self) -> Need:
        return Need(int(self._get("need")))

    @property
    def legal_status(self) -> LegalStatus:
        return LegalStatus(int(self._get("legal_status")))

    @property
    def in_care(self) -> bool:
        return bool(IS_IN_CARE[self._get("state")])

    @property
    def months_in_state(self) -> int:
        return int(self._get("months_in_state"))

    @property
    def n_entries(self) -> int:
        return int(self._get("n_entries"))

    @property
    def n_placements(self) -> int:
        return int(self._get("n_placements"))

    @property
    def placement(self):
        """The CareProvider this child lives with, or None."""
        row = int(self._get("provider"))
        return None if row < 0 else self.model.provider(row)

    @property
    def family(self) -> "Family":
        return self.model.family(int(self._get("family")))

    @property
    def social_worker(self):
        row = int(self._get("worker"))
        return None if row < 0 else self.model.social_worker(row)

    def journey(self):
        """This child's transitions (month, from, to, reason) from the model's journey log."""
        return self.model.journeys.of_child(self.row)

    def __repr__(self) -> str:
        return f"Child(row={self.row}, {self.state.name}, age {self.age_months // 12})"


class Family(Agent):
    """One family (a sibling group and its carers): a Mesa agent over a `FamilyTable` row."""

    def __init__(self, model, row: int):
        super().__init__(model)
        self.row = int(row)

    @property
    def children(self) -> list[Child]:
        rows = np.flatnonzero(self.model.children.family[: self.model.children.n] == self.row)
        return [self.model.child(r) for r in rows]

    @property
    def risks(self) -> list[str]:
        t = self.model.families
        return [name for name in ("domestic_abuse", "substance_misuse", "mental_health")
                if getattr(t, name)[self.row]]

    @property
    def supported(self) -> bool:
        """Whether the family receives edge-of-care support this month."""
        return bool(self.model.families.support_until[self.row] >= self.model.month)

    def __repr__(self) -> str:
        return f"Family(row={self.row}, {len(self.children)} children)"
