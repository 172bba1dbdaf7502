"""The one place where a child's state changes: checked against the allowed moves, logged.

`Transitions.move` refuses a move that sim/states.py does not allow (naming the states and
the reason), writes the journey log, releases any place the child held (through the ledger),
keeps the per-episode counters (entries, placements, months in care) and counts entries,
re-entries and exits for the month.
"""
from __future__ import annotations

import numpy as np

from agents.children import LegalStatus
from sim.states import ALLOWED, IS_IN_CARE, Reason, State


class Transitions:
    """Moves children between states (module docstring)."""

    def __init__(self, model):
        self.model = model
        self.children = model.children

    def move(self, rows: np.ndarray, to, reason: Reason | np.ndarray) -> None:
        """Move `rows` to state(s) `to` for reason(s) `reason`."""
        if rows.size == 0:
            return
        c, m = self.children, self.model
        frm = c.state[rows]
        one_target = not isinstance(to, np.ndarray)  # (most calls): scalar lookups
        if one_target:
            to = np.int8(to)
            allowed, now_in = ALLOWED[:, to][frm], IS_IN_CARE[to]  # a numpy bool: ~ negates it
        else:
            to = np.asarray(to, dtype=np.int8)
            allowed, now_in = ALLOWED[frm, to], IS_IN_CARE[to]
        if not allowed.all():
            bad = np.flatnonzero(~allowed)[0]
            target = to if one_target else to[bad]
            why = Reason(int(reason if np.ndim(reason) == 0 else reason[bad])).name
            raise RuntimeError(f"disallowed move {State(frm[bad]).name} -> {State(target).name} ({why})")
        m.journeys.add(rows, m.month, frm, to, reason)
        m.ledger.release(rows)
        was_in = IS_IN_CARE[frm]
        entering = ~was_in & now_in
        if entering.any():
            new = rows.compress(entering)
            c.n_entries[new] += 1
            c.months_in_care[new] = 0
            c.on_plan[new] = False
            m.flows["new_entries"] += new.size
            back = frm.compress(entering) == State.RETURNED_HOME
            m.flows["new_reentries"] += int(np.count_nonzero(back))
            if m.n_authorities > 1:
                m.recorder.count_by_authority("new_entries", new)
                m.recorder.count_by_authority("new_reentries", new.compress(back))
        leaving = was_in & ~now_in
        if leaving.any():
            m.flows["new_exits"] += int(leaving.sum())
            if m.n_authorities > 1:
                m.recorder.count_by_authority("new_exits", rows.compress(leaving))
            c.legal_status[rows.compress(leaving)] = LegalStatus.NONE
        if one_target:
            if now_in:
                c.n_placements[rows] += 1
        else:
            c.n_placements[rows.compress(now_in)] += 1
        c.state[rows] = to
        c.months_in_state[rows] = 0
