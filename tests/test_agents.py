"""The Mesa agents read and write the same state the monthly arrays hold."""
from __future__ import annotations

import mesa
import numpy as np
import pytest

from agents.children import Child, Family
from agents.providers import CareProvider, ProviderKind
from agents.workers import SocialWorker
from sim.states import IS_IN_CARE, State
from tests.conftest import small_model


def test_agents_are_mesa_agents_and_views_of_their_rows():
    m = small_model(seed=2)
    m.run_until(2016)
    row = int(m.active_rows[IS_IN_CARE[m.children.state[m.active_rows]]][0])
    child = m.child(row)
    assert isinstance(child, Child) and isinstance(child, mesa.Agent)
    assert child is m.child(row)  # one agent per child
    assert child in m.agents
    assert child.state == State(m.children.state[row]) and child.in_care
    provider = child.placement
    if child.state in (State.PLACED_WITH_PARENTS, State.PLACED_FOR_ADOPTION, State.OTHER_PLACEMENT):
        assert provider is None
    else:
        assert isinstance(provider, CareProvider)
        assert provider.kind == ProviderKind(int(child.state))
        assert 1 <= provider.occupied <= provider.places
    worker = child.social_worker
    assert isinstance(worker, SocialWorker)
    assert worker.direct_hours_per_week + worker.other_hours_per_week == worker.weekly_hours == 37.0
    assert child in worker.children
    family = child.family
    assert isinstance(family, Family) and child in family.children
    journey = child.journey()
    assert journey["to_state"].iloc[-1] == child.state.name
    m.release()


def test_sibling_groups_are_referred_together():
    m = small_model(seed=9)
    m.run_until(2016)
    c = m.children
    sizes = m.families.n_children[c.family[: c.n]]
    multi = sizes > 1
    assert multi.any()
    fam = c.family[: c.n][multi]
    # all children of a family were created in the same month with consecutive rows
    rows = [m.family(int(f)).children for f in fam[:50]]
    for kids in rows:
        assert len(kids) == m.families.n_children[kids[0].family.row]
        assert [k.row for k in kids] == list(range(kids[0].row, kids[0].row + len(kids)))
    m.release()


def test_every_provider_and_worker_is_a_mesa_agent_on_request():
    m = small_model(seed=1)
    assert not m.agents_by_type.get(SocialWorker) and not m.agents_by_type.get(CareProvider)  # none made yet
    providers = [m.provider(r) for r in range(m.providers.n)]
    workers = [m.social_worker(r) for r in range(m.workers.n)]
    assert {a.kind for a in providers} >= set(ProviderKind) - {ProviderKind.KINSHIP}
    assert len(m.agents_by_type[SocialWorker]) == m.workers.n == len(set(workers))
    assert len(m.agents_by_type[CareProvider]) == m.providers.n
    assert m.provider(0) is providers[0] and m.social_worker(0) is workers[0]  # one agent per row
    for make, n in ((m.provider, m.providers.n), (m.social_worker, m.workers.n), (m.child, m.children.n)):
        with pytest.raises(IndexError):
            make(n)
    household = int(m.market.fostering_rows()[0])
    low, high = m.provider(household).approved_ages_months
    assert m.provider(household).kind in (ProviderKind.FOSTER_IN_HOUSE, ProviderKind.FOSTER_AGENCY) and high > low
    m.release()


def test_a_kinship_carer_is_the_familys_own_provider_and_an_agent_on_request():
    m = small_model(seed=4)
    m.run_until(2017)
    c, prov = m.children, m.providers
    kin = m.active_rows[c.state[m.active_rows] == State.KINSHIP]
    assert kin.size > 0
    carers = c.provider[kin]
    assert np.array_equal(prov.family[carers], c.family[kin])  # each child is with its own family's carer
    assert np.array_equal(m.families.kinship_carer[c.family[kin]], carers)
    assert np.unique(carers).size == np.unique(c.family[kin]).size  # siblings share one carer
    carer = m.child(int(kin[0])).placement
    assert isinstance(carer, CareProvider) and carer.kind == ProviderKind.KINSHIP
    assert carer in m.agents_by_type[CareProvider]
    m.release()
