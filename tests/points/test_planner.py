"""The bridge-point planner: heuristic and exact solver against brute force, constraints, explanations."""

import itertools

import numpy as np
import pytest

from diemcau.core.errors import DomainError
from diemcau.points import planner
from diemcau.points.planner import plan, plan_many
from diemcau.points.planner_compile import compile_problem
from diemcau.points.planner_exact import plan_exact
from diemcau.points.planner_model import Hall, Institution, PlanInfeasible, PlanProblem, great_circle_km

HANOI = (21.0285, 105.8542)
SAIGON = (10.8231, 106.6297)


def random_problem(seed, n=8, m=5, k=2, groups=0, tight=1.25, **extra):
    """Schools and halls scattered over ~30 km; seats = ``tight`` × people spread over k halls."""
    rng = np.random.default_rng(seed)
    lat = 21.1 + rng.uniform(0, 0.27, n + m)
    lon = 105.4 + rng.uniform(0, 0.29, n + m)
    sizes = rng.integers(15, 121, n)
    per_hall = int(np.ceil(tight * sizes.sum() / k))
    caps = rng.integers(max(int(sizes.max()), per_hall // 2), per_hall + per_hall // 2 + 1, m)
    group = (lambda x: f"G{x % groups}") if groups else (lambda x: None)
    insts = [Institution(f"T{i}", float(lat[i]), float(lon[i]), int(sizes[i]), group(i)) for i in range(n)]
    halls = [
        Hall(f"H{j}", float(lat[n + j]), float(lon[n + j]), int(caps[j]), None, group(j)) for j in range(m)
    ]
    return PlanProblem(halls, insts, k=k, **extra)


def brute_force(problem, distances_km=None):
    """Cheapest plan by enumerating every open set and every assignment (person-metres), or None."""
    halls, insts = list(problem.halls), list(problem.institutions)
    n = len(insts)
    if distances_km is None:
        distances_km = np.array([[great_circle_km(h.lat, h.lon, i.lat, i.lon) for i in insts] for h in halls])
    sizes = np.array([i.size for i in insts])
    cost = np.array(
        [
            [
                i.size * round(distances_km[j, t] * 1000) if np.isfinite(distances_km[j, t]) else np.inf
                for t, i in enumerate(insts)
            ]
            for j, h in enumerate(halls)
        ]
    )  # hall × inst
    hall_pos = {h.id: j for j, h in enumerate(halls)}
    ipos = {i.id: t for t, i in enumerate(insts)}
    serving = [
        j
        for j, h in enumerate(halls)
        if problem.session is None or h.sessions is None or problem.session in h.sessions
    ]
    forced = {hall_pos[h] for h in problem.fixed} | {hall_pos[h] for h in problem.pins.values()}
    k = problem.k if problem.k is not None else len(forced)
    best = None
    for open_set in itertools.combinations(serving, k):
        if not forced <= set(open_set) or (problem.k is None and set(open_set) != forced):
            continue
        grid = np.array(
            list(itertools.product(open_set, repeat=n))
        )  # every assignment, hall index per school
        total = cost[grid, np.arange(n)].sum(axis=1)
        ok = np.isfinite(total)
        for j in open_set:
            ok &= ((grid == j) * sizes).sum(axis=1) <= halls[j].capacity
        for inst_id, hall_id in problem.pins.items():
            ok &= grid[:, ipos[inst_id]] == hall_pos[hall_id]
        for together in problem.together:
            cols = [ipos[x] for x in together]
            ok &= (grid[:, cols] == grid[:, cols[:1]]).all(axis=1)
        if problem.respect_groups:
            for t, inst in enumerate(insts):
                ok &= np.array([halls[j].group == inst.group for j in grid[:, t]])
        if ok.any():
            value = int(total[ok].min())
            best = value if best is None else min(best, value)
    return best


def check_plan(problem, result):
    """Every rule the plan must keep, checked from the raw input."""
    halls = {h.id: h for h in problem.halls}
    insts = {i.id: i for i in problem.institutions}
    assert set(result.assignment) == set(insts)
    assert set(result.assignment.values()) <= set(result.open_halls)
    expected_k = problem.k if problem.k is not None else len(set(problem.fixed))
    assert len(result.open_halls) == expected_k
    for hall_id in result.open_halls:
        people = sum(insts[i].size for i, h in result.assignment.items() if h == hall_id)
        assert people == result.loads[hall_id] <= halls[hall_id].capacity
        if problem.session is not None and halls[hall_id].sessions is not None:
            assert problem.session in halls[hall_id].sessions
    assert set(problem.fixed) <= set(result.open_halls)
    for inst_id, hall_id in problem.pins.items():
        assert result.assignment[inst_id] == hall_id
    for together in problem.together:
        assert len({result.assignment[x] for x in together}) == 1
    if problem.respect_groups:
        assert all(halls[h].group == insts[i].group for i, h in result.assignment.items())


# --- distances ---------------------------------------------------------------------------------
def test_great_circle_hanoi_to_saigon():
    km = great_circle_km(*HANOI, *SAIGON)
    assert km == pytest.approx(1137, rel=0.01)
    assert great_circle_km(*SAIGON, *HANOI) == pytest.approx(km)
    assert great_circle_km(*HANOI, *HANOI) == 0
    assert great_circle_km(0, 105, 1, 105) == pytest.approx(111.2, rel=0.001)  # one degree of latitude


def test_distances_broadcast_as_a_matrix():
    d = great_circle_km(
        np.array([[HANOI[0]], [SAIGON[0]]]),
        np.array([[HANOI[1]], [SAIGON[1]]]),
        np.array([[HANOI[0], SAIGON[0]]]),
        np.array([[HANOI[1], SAIGON[1]]]),
    )
    assert d.shape == (2, 2)
    assert d[0, 0] == d[1, 1] == 0
    assert d[0, 1] == pytest.approx(d[1, 0])


# --- optimality against brute force ------------------------------------------------------------
@pytest.mark.parametrize("seed,k", [(s, k) for s in range(4) for k in (2, 3)])
def test_exact_and_heuristic_match_brute_force(seed, k):
    problem = random_problem(seed, k=k, tight=1.1)
    optimum = brute_force(problem)
    exact = plan_exact(problem, time_limit=20)
    heuristic = plan(problem)
    check_plan(problem, exact)
    check_plan(problem, heuristic)
    assert exact.optimal and exact.cost_pm == optimum == exact.lower_bound_pm
    assert heuristic.cost_pm <= optimum * 1.01
    assert heuristic.method == "heuristic" and heuristic.lower_bound_pm is None
    # Starting from the heuristic, with pairs removed by reduced-cost fixing, still the optimum.
    for backend in ("cpsat", "highs"):
        hinted = plan_exact(problem, hint=heuristic, backend=backend)
        assert hinted.optimal and hinted.cost_pm == optimum


def test_highs_backend_agrees_with_cpsat():
    problem = random_problem(7, k=3, tight=1.1)
    assert plan_exact(problem, backend="highs").cost_pm == plan_exact(problem).cost_pm == brute_force(problem)


def test_capacity_forces_a_farther_hall():
    """Two schools next to a small hall: the one that does not fit must travel."""
    halls = [Hall("near", 21.0, 105.0, 100), Hall("far", 21.2, 105.0, 500)]
    insts = [Institution("a", 21.0, 105.001, 80), Institution("b", 21.0, 105.002, 60)]
    problem = PlanProblem(halls, insts, k=2)
    result = plan(problem)
    check_plan(problem, result)
    assert result.assignment == {"a": "near", "b": "far"}  # sending 60 people far beats sending 80
    assert result.cost_pm == brute_force(problem) == plan_exact(problem).cost_pm


def test_unsplittable_beats_what_a_split_would_allow():
    """People may not be split: 3 delegations of 60 do not fit 2 halls of 100, even with 200 seats."""
    halls = [Hall("h1", 21.0, 105.0, 100), Hall("h2", 21.1, 105.0, 100)]
    insts = [Institution(f"s{i}", 21.0 + i / 100, 105.0, 60) for i in range(3)]
    problem = PlanProblem(halls, insts, k=2)
    with pytest.raises(PlanInfeasible) as exact:
        plan_exact(problem)
    assert exact.value.code == "infeasible"
    with pytest.raises(PlanInfeasible) as fast:
        plan(problem)
    assert fast.value.code == "no_feasible_assignment"


# --- constraint variants -----------------------------------------------------------------------
def test_fixed_points_only_assign():
    base = random_problem(11, n=8, m=5, k=3)
    problem = PlanProblem(base.halls, base.institutions, fixed=["H0", "H3", "H4"])
    result = plan(problem)
    check_plan(problem, result)
    assert set(result.open_halls) == {"H0", "H3", "H4"}
    assert result.cost_pm == brute_force(problem) == plan_exact(problem).cost_pm


def test_fixed_halls_with_more_to_choose():
    base = random_problem(12, n=8, m=5, k=3)
    problem = PlanProblem(base.halls, base.institutions, k=3, fixed=["H1"])
    result = plan(problem)
    check_plan(problem, result)
    assert "H1" in result.open_halls
    assert result.cost_pm == brute_force(problem)


def test_pins_keep_a_school_at_its_hall_and_open_it():
    base = random_problem(13, n=8, m=5, k=2)
    free = plan(base)
    far_hall = next(h.id for h in base.halls if h.id not in free.open_halls)
    problem = PlanProblem(base.halls, base.institutions, k=2, pins={"T0": far_hall})
    for result in (plan(problem), plan_exact(problem)):
        check_plan(problem, result)
        assert result.assignment["T0"] == far_hall
    assert plan_exact(problem).cost_pm == brute_force(problem)
    assert plan(problem).cost_pm >= free.cost_pm


def test_keep_together():
    problem = random_problem(14, n=8, m=5, k=3, together=[("T0", "T5"), ("T5", "T7"), ("T2", "T3")])
    optimum = brute_force(problem)
    for result in (plan(problem), plan_exact(problem)):
        check_plan(problem, result)
        assert result.assignment["T0"] == result.assignment["T5"] == result.assignment["T7"]
    assert plan_exact(problem).cost_pm == optimum
    assert plan(problem).cost_pm <= optimum * 1.01


def test_subtree_boundary():
    problem = random_problem(15, n=8, m=5, k=3, groups=2, tight=1.6, respect_groups=True)
    optimum = brute_force(problem)
    for result in (plan(problem), plan_exact(problem)):
        check_plan(problem, result)
    assert plan_exact(problem).cost_pm == optimum
    assert plan(problem).cost_pm <= optimum * 1.01
    crossing = PlanProblem(problem.halls, problem.institutions, k=3, respect_groups=False)
    assert brute_force(crossing) <= optimum


def test_session_excludes_halls_that_do_not_serve_it():
    base = random_problem(16, n=8, m=5, k=2)
    free = plan(base)
    halls = [
        Hall(h.id, h.lat, h.lon, h.capacity, frozenset({"chieu"}) if h.id in free.open_halls else None)
        for h in base.halls
    ]
    morning = PlanProblem(halls, base.institutions, k=2, session="sang")
    result = plan(morning)
    check_plan(morning, result)
    assert not set(result.open_halls) & set(free.open_halls)
    assert result.cost_pm == brute_force(morning) == plan_exact(morning).cost_pm
    afternoon = PlanProblem(halls, base.institutions, k=2, session="chieu")
    assert plan(afternoon).cost_pm == free.cost_pm


def test_road_distances_override_great_circle():
    halls = [Hall("A", 21.0, 105.0, 500), Hall("B", 21.3, 105.0, 500)]
    insts = [Institution("x", 21.0, 105.001, 50), Institution("y", 21.3, 105.001, 40)]
    straight = plan(PlanProblem(halls, insts, k=1))
    assert straight.open_halls == ("A",)  # the bigger delegation stays home
    # A river: x's road to A is 80 km, so B is better in people × road km.
    roads = {("A", "x"): 80.0, ("A", "y"): 35.0, ("B", "x"): 34.0, ("B", "y"): 0.5}
    by_dict = plan(PlanProblem(halls, insts, k=1, distances=roads))
    assert by_dict.open_halls == ("B",)
    assert by_dict.cost_pm == 50 * 34_000 + 40 * 500
    dense = np.array([[80.0, 35.0], [34.0, 0.5]])
    by_array = plan_exact(PlanProblem(halls, insts, k=1, distances=dense))
    assert (by_array.open_halls, by_array.cost_pm) == (by_dict.open_halls, by_dict.cost_pm)
    # Pairs missing from the dict keep their great-circle distance.
    partial = plan(PlanProblem(halls, insts, k=1, distances={("A", "y"): 1.0}))
    assert partial.open_halls == ("A",)
    assert partial.cost_pm == 50 * round(great_circle_km(21.0, 105.0, 21.0, 105.001) * 1000) + 40 * 1000


def test_no_route_is_respected():
    base = random_problem(17, n=8, m=5, k=2)
    d = np.array(
        [[great_circle_km(h.lat, h.lon, i.lat, i.lon) for i in base.institutions] for h in base.halls]
    )
    d[:, 0] = np.inf
    d[2, 0] = 5.0  # school T0 can only reach hall H2
    problem = PlanProblem(base.halls, base.institutions, k=2, distances=d)
    result = plan(problem)
    assert result.assignment["T0"] == "H2"
    assert result.cost_pm == brute_force(problem, d) == plan_exact(problem).cost_pm


# --- explanations of infeasible input ----------------------------------------------------------
def seats(caps, people, k, groups=None):
    halls = [
        Hall(f"H{j}", 21.0, 105.0 + j / 100, c, None, groups[0][j] if groups else None)
        for j, c in enumerate(caps)
    ]
    insts = [
        Institution(f"T{i}", 21.01, 105.0 + i / 1000, p, groups[1][i] if groups else None)
        for i, p in enumerate(people)
    ]
    return PlanProblem(halls, insts, k=k, respect_groups=bool(groups))


def raised(problem, code):
    with pytest.raises(PlanInfeasible) as info:
        plan(problem)
    assert info.value.code == code
    assert isinstance(info.value, DomainError) and str(info.value) == info.value.message
    return info.value


def test_not_enough_seats_says_how_many_are_missing():
    error = raised(seats([1000, 1000, 950, 500], [100] * 32, k=3), "not_enough_seats")
    assert "cần 3.200 chỗ" in error.message and "2.950 chỗ" in error.message and "thiếu 250" in error.message
    assert error.details == [{"needed": 3200, "available": 2950, "missing": 250, "k": 3}]


def test_not_enough_seats_within_a_group():
    problem = seats(
        [500, 300, 900], [300, 300, 300, 200], k=3, groups=(["A", "A", "B"], ["A", "A", "A", "B"])
    )
    error = raised(problem, "not_enough_seats_in_group")
    assert error.details == [{"group": "A", "needed": 900, "available": 800, "missing": 100, "min_points": 2}]
    assert "đơn vị A: cần 900, có 800, thiếu 100" in error.message
    # Without the boundary the same input is fine: B's big hall takes A's schools.
    assert plan(PlanProblem(problem.halls, problem.institutions, k=3)).cost_pm > 0


def test_groups_need_more_points_than_allowed():
    problem = seats(
        [500, 500, 500, 500], [300, 300, 300, 300], k=3, groups=(["A", "A", "B", "B"], ["A"] * 2 + ["B"] * 2)
    )
    error = raised(problem, "not_enough_points_for_groups")
    assert "ít nhất 4 điểm cầu" in error.message
    assert [(r["group"], r["min_points"]) for r in error.details] == [("A", 2), ("B", 2)]


def test_more_points_than_halls():
    error = raised(seats([500, 500], [100], k=3), "too_many_points")
    assert error.details == [{"requested": 3, "available_halls": 2}]
    with_session = seats([500, 500, 500], [100], k=3)
    halls = [
        Hall(h.id, h.lat, h.lon, h.capacity, frozenset({"sang"}) if h.id != "H0" else frozenset({"chieu"}))
        for h in with_session.halls
    ]
    raised(PlanProblem(halls, with_session.institutions, k=3, session="sang"), "too_many_points")


def test_pin_to_a_hall_that_is_not_open():
    base = seats([500, 500, 500], [100, 100], k=None)
    problem = PlanProblem(base.halls, base.institutions, fixed=["H0"], pins={"T1": "H2"})
    error = raised(problem, "pin_not_open")
    assert error.details == [{"institution": "T1", "hall": "H2"}]


def test_pins_over_capacity():
    base = seats([150, 500, 500], [100, 80, 50], k=2)
    error = raised(
        PlanProblem(base.halls, base.institutions, k=2, pins={"T0": "H0", "T1": "H0"}), "pin_over_capacity"
    )
    assert error.details == [{"hall": "H0", "capacity": 150, "people": 180, "excess": 30}]
    assert "thừa 30" in error.message


def test_pins_to_more_halls_than_points():
    base = seats([500, 500, 500], [100, 100], k=1)
    raised(
        PlanProblem(base.halls, base.institutions, k=1, pins={"T0": "H0", "T1": "H1"}),
        "too_many_pinned_halls",
    )


def test_keep_together_larger_than_any_hall():
    base = seats([300, 250], [120, 110, 90], k=2)
    error = raised(
        PlanProblem(base.halls, base.institutions, k=2, together=[["T0", "T1", "T2"]]), "together_too_large"
    )
    assert error.details == [{"institutions": ["T0", "T1", "T2"], "people": 320, "largest_hall": 300}]


def test_together_with_conflicting_pins():
    base = seats([300, 250], [10, 10], k=2)
    problem = PlanProblem(
        base.halls, base.institutions, k=2, together=[["T0", "T1"]], pins={"T0": "H0", "T1": "H1"}
    )
    raised(problem, "pin_conflict")


def test_other_refusals_have_stable_codes():
    base = seats([300, 250], [10, 400], k=2)
    raised(base, "delegation_too_large")
    ok = seats([300, 250], [10, 20], k=2)
    raised(PlanProblem(ok.halls, ok.institutions, k=2, pins={"T9": "H0"}), "unknown_id")
    raised(PlanProblem(ok.halls, ok.institutions, k=0), "invalid_k")
    raised(PlanProblem(ok.halls, ok.institutions), "missing_k")
    raised(PlanProblem([*ok.halls, Hall("H0", 0, 0, 5)], ok.institutions, k=1), "duplicate_id")
    raised(PlanProblem(ok.halls, [Institution("T0", 21, 105, -3)], k=1), "invalid_number")
    raised(PlanProblem(ok.halls, ok.institutions, k=1, distances=np.full((2, 2), np.inf)), "no_eligible_hall")
    raised(PlanProblem(ok.halls, ok.institutions, k=1, distances=np.ones((3, 2))), "invalid_distances")


# --- determinism and scale ---------------------------------------------------------------------
def test_deterministic_for_a_seed_and_in_a_pool():
    problems = [random_problem(s, n=30, m=10, k=4) for s in range(2)]
    first = [plan(p, seed=3) for p in problems]
    again = [plan(p, seed=3) for p in problems]
    pooled = plan_many(problems, workers=2, seed=3)
    for a, b, c in zip(first, again, pooled, strict=True):
        assert (a.open_halls, a.assignment, a.cost_pm) == (b.open_halls, b.assignment, b.cost_pm)
        assert (a.open_halls, a.assignment, a.cost_pm) == (c.open_halls, c.assignment, c.cost_pm)


def test_plan_many_returns_errors_instead_of_raising():
    good = random_problem(1)
    bad = seats([100], [500], k=1)
    results = plan_many([good, bad], workers=1)
    assert results[0].cost_pm > 0
    assert isinstance(results[1], PlanInfeasible) and results[1].code == "delegation_too_large"


def test_heuristic_close_to_exact_on_a_small_district():
    problem = random_problem(21, n=40, m=12, k=5, tight=1.15)
    heuristic, exact = plan(problem), plan_exact(problem, time_limit=20)
    check_plan(problem, heuristic)
    assert exact.optimal
    assert exact.cost_pm <= heuristic.cost_pm <= exact.cost_pm * 1.01


def test_exact_with_a_time_limit_reports_its_bound():
    problem = random_problem(22, n=60, m=20, k=8, tight=1.1)
    hint = plan(problem)
    result = plan_exact(problem, time_limit=0.05, hint=hint)
    check_plan(problem, result)
    assert result.lower_bound_pm <= result.cost_pm <= hint.cost_pm
    assert result.gap_pct == 0 if result.optimal else result.gap_pct >= 0


def test_compiled_model_merges_together_sets():
    problem = random_problem(3, together=[("T0", "T1"), ("T1", "T2")])
    cp = compile_problem(problem)
    assert cp.n_units == 6
    assert sorted(len(u) for u in cp.units) == [1, 1, 1, 1, 1, 3]
    assert cp.unit_size.sum() == sum(i.size for i in problem.institutions)


def test_large_instance_estimates_still_give_a_valid_plan(monkeypatch):
    problem = random_problem(23, n=40, m=12, k=5, tight=1.2)
    reference = plan(problem)
    monkeypatch.setattr(planner, "_ESTIMATE_CELLS", 0)  # take the province-sized path
    cheap = plan(problem)
    check_plan(problem, cheap)
    assert cheap.cost_pm <= reference.cost_pm * 1.02


def bench_district(seed: int) -> PlanProblem:
    """A district instance of the benchmark (bench/planner.py), the generator imported from there."""
    import importlib.util
    from pathlib import Path

    path = Path(__file__).resolve().parents[2] / "bench" / "planner.py"
    spec = importlib.util.spec_from_file_location("bench_planner", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.district(seed)


def test_deep_local_optimum_of_district_1004_is_left():
    """Seed 1004: the optimum (14,518,810 person-m, proven by HiGHS) is three hall swaps from the
    interchange's best set, each swap worse on the splittable value; the exact re-planning of a
    region of neighbouring halls must bring the heuristic within 1 % (it was 1.22 %)."""
    problem = bench_district(1004)
    result = plan(problem)
    check_plan(problem, result)
    assert result.cost_pm <= 14_518_810 * 1.01
