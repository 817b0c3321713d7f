"""The synthetic tree as plain records, without a database: the national plan's size, determinism."""

import pytest

from diemcau.demo import org_reference, org_tree
from diemcau.demo.orgs import SEED
from diemcau.orgs.models import Unit

pytestmark = pytest.mark.smoke


def test_the_national_plan_has_the_benchmarks_size():
    districts = institutions = people = 0
    for province in org_reference.PROVINCES_2023:
        for office in org_tree.department_subtree(SEED, "national", province):
            districts += 1
            for node in office.walk():
                institutions += node.kind == Unit.Kind.INSTITUTION
                people += node.people
    assert 680 <= districts <= 720
    assert 41_000 <= institutions <= 45_000
    assert 1_500_000 <= people <= 1_700_000


def test_the_same_seed_gives_the_same_plan():
    plan_a, plan_b = org_tree.ba_vi(SEED), org_tree.ba_vi(SEED)
    assert [(n.code, n.name, n.people) for n in plan_a.walk()] == [(n.code, n.name, n.people) for n in plan_b.walk()]
    assert org_tree.people_of(SEED, plan_a.children[10]) == org_tree.people_of(SEED, plan_b.children[10])
    assert org_tree.BA_VI_CODE == org_tree.district_code(org_reference.HANOI, org_reference.BA_VI)
