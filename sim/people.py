"""Who is in the simulation: adding children and families, the active set, referred sibling groups.

Children and families are rows of the struct-of-arrays tables (agents/children.py); rows are
appended and never move. The active set is the rows of children still in an active state,
ascending; new rows join it on its next read. Sibling groups are referred together, so a
family's children are adjacent rows (the per-family reductions rely on it).
"""
from __future__ import annotations

import numpy as np

from sim import hazards
from sim.ages import ADULT_MONTHS, AGE_1_MONTHS, MONTHS_PER_YEAR
from sim.parameters import REFERRAL_AGE_BANDS
from sim.states import Reason, State

RISKS = ("domestic_abuse", "substance_misuse", "mental_health")


class People:
    """The child and family tables of a model, and its active set."""

    def __init__(self, model):
        self.model = model
        self.params = model.params
        self.children = model.children
        self.families = model.families
        self._active_rows = np.zeros(0, dtype=np.int64)
        self._pending_rows: list[np.ndarray] = []

    # ------------------------------------------------------------------ the active set
    @property
    def active_rows(self) -> np.ndarray:
        """Rows of the children still in the simulation, ascending (new rows join on first read)."""
        if self._pending_rows:
            self._active_rows = np.concatenate([self._active_rows, *self._pending_rows])
            self._pending_rows = []
        return self._active_rows

    @active_rows.setter
    def active_rows(self, rows: np.ndarray) -> None:
        if self._pending_rows:
            raise RuntimeError("set active_rows only from a value read after the last addition")
        self._active_rows = rows

    # ------------------------------------------------------------------ adding rows
    def add_children(self, count: int, state: State, ages: np.ndarray, families: np.ndarray,
                     need: np.ndarray) -> np.ndarray:
        c = self.children
        rows = c.append(count)
        c.state[rows] = state
        c.age_months[rows] = ages
        c.family[rows] = families
        c.need[rows] = need
        c.on_plan[rows] = state in (State.CHILD_PROTECTION, State.EDGE_OF_CARE)
        if self.model.n_authorities > 1:
            c.authority[rows] = self.families.authority[families]
        self._pending_rows.append(rows)
        return rows

    def draw_family_risks(self, count: int, gen: np.random.Generator) -> dict[str, np.ndarray]:
        p = self.params
        return {"domestic_abuse": gen.random(count) < p.domestic_abuse_share,
                "substance_misuse": gen.random(count) < p.substance_misuse_share,
                "mental_health": gen.random(count) < p.mental_health_share}

    def add_families(self, count: int, gen: np.random.Generator, sizes: np.ndarray | None = None,
                     risks: dict[str, np.ndarray] | None = None, authority: np.ndarray | None = None) -> np.ndarray:
        """Add `count` families. In a region (`model.n_authorities` > 1) each belongs to `authority`
        or, if None, to an authority drawn in proportion to the authorities' sizes: a counter-based
        draw keyed by the family's row (stream `authority`), so no other stream moves."""
        f = self.families
        rows = f.append(count)
        f.n_children[rows] = 1 if sizes is None else sizes
        for name, values in (risks or self.draw_family_risks(count, gen)).items():
            getattr(f, name)[rows] = values
        m = self.model
        if m.n_authorities > 1:
            if authority is None:
                u = m.streams["authority"].uniform(rows, 0)
                authority = np.searchsorted(m.start.cumulative_shares, u, side="right")
            f.authority[rows] = authority
        return rows

    def family_sizes(self, n_families: int, gen: np.random.Generator) -> np.ndarray:
        p = self.params
        shares = np.array([1 - p.sibling_share_2 - p.sibling_share_3 - p.sibling_share_4,
                           p.sibling_share_2, p.sibling_share_3, p.sibling_share_4])
        return 1 + gen.choice(4, size=n_families, p=shares / shares.sum())

    def mean_family_size(self) -> float:
        p = self.params
        return 1 + p.sibling_share_2 + 2 * p.sibling_share_3 + 3 * p.sibling_share_4

    @staticmethod
    def draw_ages(bands, n: int, gen: np.random.Generator) -> np.ndarray:
        """Ages in months from (low year, high year, weight) bands, uniform within a band."""
        weights = np.array([b[2] for b in bands])
        band = gen.choice(len(bands), size=n, p=weights / weights.sum())
        lo = np.array([b[0] for b in bands])[band] * MONTHS_PER_YEAR
        hi = np.array([b[1] for b in bands])[band] * MONTHS_PER_YEAR
        return (lo + gen.random(n) * (hi - lo)).astype(np.int16)

    # ------------------------------------------------------------------ referrals
    def referred_sibling_groups(self, n_children_expected: float, state: State, gen,
                                history_months: int = 0) -> np.ndarray:
        """Referral of sibling groups adding up to about `n_children_expected` children.

        With `history_months`, the groups were referred uniformly over that many past months and
        only those still at home now are kept: each family survives its own exit and care-entry
        hazards for the months since referral. This gives the initial stock the risk mix of a
        stock in steady state (high-risk families have already left), not that of new referrals.
        """
        p = self.params
        n_fam = int(gen.poisson(max(n_children_expected, 0) / self.mean_family_size()))
        if n_fam == 0:
            return np.zeros(0, dtype=np.int64)
        sizes = self.family_sizes(n_fam, gen)
        risks = self.draw_family_risks(n_fam, gen)
        child_fam = np.repeat(np.arange(n_fam), sizes)
        n = child_fam.size
        ages = self.draw_ages(REFERRAL_AGE_BANDS, n, gen)
        need = (gen.random(n) < p.high_need_share).astype(np.int8)
        months_ago = np.zeros(n, dtype=np.int16)
        if history_months:
            fam_ago = gen.integers(0, history_months, n_fam)
            keep_fam = self._still_at_home(state, fam_ago, child_fam, risks, need, ages, gen)
            months_ago = fam_ago[child_fam].astype(np.int16)
            keep = keep_fam[child_fam] & (ages + months_ago < ADULT_MONTHS)
            ages = ages + months_ago
            kept_fams, child_fam = np.unique(child_fam[keep], return_inverse=True)
            sizes = np.bincount(child_fam, minlength=kept_fams.size)
            risks = {k: v[kept_fams] for k, v in risks.items()}
            ages, need, months_ago = ages[keep], need[keep], months_ago[keep]
            n, n_fam = int(keep.sum()), kept_fams.size
            if n == 0:
                return np.zeros(0, dtype=np.int64)
        fams = self.add_families(n_fam, gen, sizes, risks)
        rows = self.add_children(n, state, ages, fams[child_fam], need)
        self.children.months_in_state[rows] = months_ago
        self.model.journeys.add(rows, self.model.month, np.full(n, int(State.CLOSED)), np.int8(state), Reason.REFERRAL)
        return rows

    def _still_at_home(self, state, fam_ago, child_fam, risks, need, ages, gen) -> np.ndarray:
        """Whether each family referred `fam_ago` months ago survived its exit and entry hazards."""
        p = self.params
        n = child_fam.size
        on_plan = np.full(n, state == State.CHILD_PROTECTION)
        n_risks = (risks["domestic_abuse"].astype(np.int8) + risks["substance_misuse"]
                   + risks["mental_health"])[child_fam]
        # months of exposure: a referral faces the hazards in its own month too; the infant
        # multiplier applies only to the months a child was under one
        exposed = (fam_ago[child_fam] + 1).astype(float)
        infant_months = np.clip(AGE_1_MONTHS - ages, 0, None).clip(max=exposed)
        older = hazards.entry_hazard(p, on_plan, n_risks, need, np.full(n, AGE_1_MONTHS))
        infant = hazards.entry_hazard(p, on_plan, n_risks, need, np.zeros(n))
        cumulative = older * exposed + (infant - older) * infant_months
        starts = np.flatnonzero(np.concatenate([[True], child_fam[1:] != child_fam[:-1]]))
        exit_rate = (p.cp_plan_end_rate_per_year if state == State.CHILD_PROTECTION
                     else p.at_risk_closure_rate_per_year + p.at_risk_escalation_rate_per_year)
        survival = np.exp(-(exit_rate * (fam_ago + 1) + np.maximum.reduceat(cumulative, starts)) / MONTHS_PER_YEAR)
        return gen.random(fam_ago.size) < survival
