"""The tree: paths, subtree queries, moves and cycles."""

import pytest

from diemcau.core.errors import DomainError
from diemcau.orgs import services
from diemcau.orgs.models import PATH_STEP, Unit
from diemcau.orgs.scoping import SYSTEM

pytestmark = pytest.mark.smoke


def test_paths_follow_the_tree(tree):
    school = tree["school_a"]
    assert school.depth == 3
    assert len(school.path) == 4 * PATH_STEP
    assert school.path.startswith(tree["bavi"].path)
    assert school.ancestor_ids() == [tree["ministry"].pk, tree["hanoi"].pk, tree["bavi"].pk, school.pk]


def test_subtree_is_one_range_query(tree, django_assert_num_queries):
    with django_assert_num_queries(1):
        names = set(services.subtree(tree["hanoi"]).values_list("code", flat=True))
    assert names == {"SO01", "PGD_BAVI", "PGD_SOCSON", "TH_TAYDANG_A", "MN_VANHOA", "THCS_PHULINH"}
    assert set(services.subtree(tree["bavi"], include_self=False).values_list("code", flat=True)) == {
        "TH_TAYDANG_A", "MN_VANHOA"}


def test_subtree_does_not_leak_into_a_sibling_with_a_longer_id(make_unit, tree):
    # Ids 1 and 10 share a decimal prefix; fixed-width segments keep their subtrees apart.
    sibling = make_unit(tree["ministry"], "Sở khác", Unit.Kind.DEPARTMENT)
    child = make_unit(sibling, "Trường con")
    assert child not in set(services.subtree(tree["hanoi"]))


def test_move_rewrites_the_whole_subtree(tree):
    services.move_unit(SYSTEM, tree["bavi"], tree["hcm"])
    school = Unit.objects.get(pk=tree["school_a"].pk)
    assert school.path.startswith(Unit.objects.get(pk=tree["hcm"].pk).path)
    assert school.depth == 3
    assert school in set(services.subtree(tree["hcm"]))
    assert school not in set(services.subtree(tree["hanoi"]))


def test_move_under_own_descendant_is_a_cycle(tree):
    with pytest.raises(DomainError) as err:
        services.move_unit(SYSTEM, tree["hanoi"], tree["school_a"])
    assert err.value.code == "cycle"
    assert Unit.objects.get(pk=tree["hanoi"].pk).parent_id == tree["ministry"].pk


@pytest.mark.parametrize("name,code", [
    ("<script>alert(1)</script>", "markup"),
    ("Tr\xadêng TiÓu häc", "legacy_font"),
    ("", "required"),
])
def test_bad_names_are_refused(tree, name, code):
    with pytest.raises(DomainError) as err:
        services.create_unit(SYSTEM, parent=tree["bavi"], kind="institution", code="NEW1", name=name)
    assert err.value.code == code
    assert not Unit.objects.filter(code="NEW1").exists()


def test_duplicate_code_is_refused(tree):
    with pytest.raises(DomainError) as err:
        services.create_unit(SYSTEM, parent=tree["bavi"], kind="institution", code="MN_VANHOA", name="X")
    assert err.value.code == "duplicate_code"


def test_nfd_input_is_stored_as_nfc(tree):
    import unicodedata

    name = unicodedata.normalize("NFD", "Trường Tiểu học Cẩm Lĩnh")
    unit = services.create_unit(SYSTEM, parent=tree["bavi"], kind="institution", code="TH_CL", name=name)
    assert unit.name == unicodedata.normalize("NFC", name)


@pytest.mark.parametrize("query", ["ba vi", "BA VÌ", "Ba Vì", "  ba   VI "])
def test_search_ignores_diacritics_and_case(tree, national, query):
    found = list(services.search_units(national, query))
    assert found and found[0].code == "PGD_BAVI"


def test_search_needs_every_word(tree, national):
    assert [u.code for u in services.search_units(national, "tay dang")] == ["TH_TAYDANG_A"]
    assert list(services.search_units(national, "tay dang mam non")) == []
