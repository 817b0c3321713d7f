"""The exact reference for the bridge-point planner: the unsplittable capacitated p-median as a MIP.

Same validation and integer costs as the heuristic (``planner.compile_problem``), so the two are
compared on equal terms. Model, with y_h = hall h open and x_uh = unit u seated at h (binary):

    min  Σ cost[u,h]·x_uh
    s.t. Σ_h x_uh = 1            every unit seated once, whole
         x_uh ≤ y_h              only at open halls (the strong form: tight LP bound)
         Σ_u size_u·x_uh ≤ cap_h·y_h
         Σ_h y_h = K,  y_h = 1 for fixed or pinned halls

Solved by HiGHS branch-and-cut (default: it proved every benchmark district optimal in 7–35 s
where CP-SAT needed up to 150 s or more) or OR-Tools CP-SAT. Given a hint (the heuristic's
plan), the LP relaxation's reduced costs first remove the pairs that no plan as good as the hint
can use. With a time limit the best plan found is returned with the proven lower bound, so its
gap is known.
"""

from __future__ import annotations

import os
import sys
from time import perf_counter

import numpy as np

from .planner_compile import compile_problem
from .planner_model import CompiledProblem, Plan, PlanInfeasible, PlanProblem


def plan_exact(
    problem: PlanProblem,
    *,
    time_limit: float = 60.0,
    backend: str = "highs",
    workers: int = 2,
    hint: Plan | None = None,
    seed: int = 0,
    fix: bool = True,
) -> Plan:
    """Solve a request exactly (or to a proven gap when ``time_limit`` seconds run out).

    ``hint`` (e.g. the heuristic's plan) is given to the solver as a first solution and, with
    ``fix``, its cost lets LP reduced costs remove pairs that no plan as good can use.
    """
    started = perf_counter()
    cp = compile_problem(problem)
    if backend not in ("cpsat", "highs"):
        raise ValueError(f"unknown backend {backend!r}")
    start = _hint_arrays(cp, hint) if hint is not None else None
    allowed = cp.allowed
    if start is not None and fix:
        allowed, _ = fix_by_reduced_cost(cp, cp.objective(start), workers, seed)
    remaining = max(0.1, time_limit - (perf_counter() - started))
    solve = _solve_cpsat if backend == "cpsat" else solve_highs
    status, assign, bound = solve(cp, allowed, remaining, workers, start, seed)
    if status == "infeasible":
        raise PlanInfeasible(
            "infeasible",
            f"Đã chứng minh không có cách nào mở {cp.k} điểm cầu và xếp mọi đoàn (mỗi đoàn trọn "
            "một hội trường) mà không vượt sức chứa và đúng mọi ràng buộc.",
            [{"needed": int(cp.unit_size.sum()), "k": cp.k}],
        )
    if status == "unknown":
        raise PlanInfeasible(
            "no_solution_in_time",
            f"Lời giải chính xác chưa tìm được phương án nào sau {time_limit:g} giây; hãy tăng "
            "thời gian hoặc dùng phương án nhanh.",
            [{"time_limit_s": time_limit}],
        )
    if start is not None and cp.objective(start) < cp.objective(assign):
        assign = start  # a solver stopped early may not have adopted the hint; never return worse
    open_idx = np.unique(assign)
    if len(open_idx) < cp.k:  # halls the model opened but left empty: report them as open too
        spare = [j for j in np.argsort(-cp.capacity, kind="stable") if j not in set(open_idx)]
        forced = [j for j in np.flatnonzero(cp.forced) if j not in set(open_idx)]
        extra = forced + [j for j in spare if j not in forced]
        open_idx = np.concatenate([open_idx, extra[: cp.k - len(open_idx)]]).astype(int)
    return cp.make_plan(
        open_idx,
        assign,
        method=backend,
        started=started,
        lower_bound_pm=int(np.ceil(bound - 1e-6)) if np.isfinite(bound) else None,
        optimal=status == "optimal",
    )


def _hint_arrays(cp: CompiledProblem, hint: Plan) -> np.ndarray | None:
    """A plan expressed as unit → hall index, or None if it is not a feasible plan of this model."""
    pos = {h: j for j, h in enumerate(cp.hall_ids)}
    assign = np.empty(cp.n_units, dtype=int)
    for u, members in enumerate(cp.units):
        halls = {hint.assignment.get(cp.institution_ids[i]) for i in members}
        hall = halls.pop()
        if halls or hall not in pos or not cp.allowed[u, pos[hall]]:
            return None
        assign[u] = pos[hall]
    loads = np.bincount(assign, weights=cp.unit_size, minlength=cp.n_halls)
    if (loads > cp.capacity).any() or len(set(assign) | set(np.flatnonzero(cp.forced))) > cp.k:
        return None
    return assign


def _solve_cpsat(cp: CompiledProblem, allowed: np.ndarray, time_limit: float, workers: int, start, seed: int):
    """CP-SAT on the model above; returns (status, unit → hall index, lower bound)."""
    from ortools.sat.python import cp_model

    model = cp_model.CpModel()
    n, m = cp.cost.shape
    y = [model.new_bool_var(f"y{j}") for j in range(m)]
    x: dict[tuple[int, int], object] = {}
    for u, j in zip(*np.nonzero(allowed), strict=True):
        x[int(u), int(j)] = model.new_bool_var(f"x{u}_{j}")
    by_unit: list[list] = [[] for _ in range(n)]
    by_hall: list[list] = [[] for _ in range(m)]
    for (u, j), var in x.items():
        by_unit[u].append(var)
        by_hall[j].append((int(cp.unit_size[u]), var))
        model.add_implication(var, y[j])
    for u in range(n):
        model.add_exactly_one(by_unit[u])
    for j in range(m):
        model.add(sum(s * v for s, v in by_hall[j]) <= int(cp.capacity[j]) * y[j])
        if cp.forced[j]:
            model.add(y[j] == 1)
    model.add(sum(y) == cp.k)
    # Redundant but it prunes: the open seats must hold everyone.
    model.add(sum(int(cp.capacity[j]) * y[j] for j in range(m)) >= int(cp.unit_size.sum()))
    model.minimize(sum(int(cp.cost[u, j]) * var for (u, j), var in x.items()))
    if start is not None:
        open_set = set(int(j) for j in start)
        for (u, j), var in x.items():
            model.add_hint(var, start[u] == j)
        for j in range(m):
            model.add_hint(y[j], j in open_set)
    solver = cp_model.CpSolver()
    solver.parameters.max_time_in_seconds = float(time_limit)
    solver.parameters.num_workers = int(workers)
    solver.parameters.random_seed = int(seed)
    status = solver.solve(model)
    if status == cp_model.INFEASIBLE:
        return "infeasible", None, None
    if status not in (cp_model.OPTIMAL, cp_model.FEASIBLE):
        # Out of time before any solution of its own: the hint still stands, now with a proven bound.
        if start is not None:
            return "feasible", start, min(solver.best_objective_bound, cp.objective(start))
        return "unknown", None, None
    assign = np.empty(n, dtype=int)
    for (u, j), var in x.items():
        if solver.boolean_value(var):
            assign[u] = j
    if status == cp_model.OPTIMAL:
        return "optimal", assign, solver.objective_value
    return "feasible", assign, solver.best_objective_bound


_highs_banner_shown = False
_highs_threads: int | None = None


def _new_highs(highspy):
    """A HiGHS instance; the banner its first construction prints on fd 1 goes to /dev/null.

    It would otherwise land in the middle of a job's or a benchmark's output.
    """
    global _highs_banner_shown
    if _highs_banner_shown:
        return highspy.Highs()
    _highs_banner_shown = True
    sys.stdout.flush()
    saved = os.dup(1)
    try:
        with open(os.devnull, "w") as null:
            os.dup2(null.fileno(), 1)
            return highspy.Highs()
    finally:
        os.dup2(saved, 1)
        os.close(saved)


def _highs_model(cp: CompiledProblem, allowed: np.ndarray, integer: bool, workers: int, seed: int):
    """The model above for HiGHS (binary, or its LP relaxation); returns (solver, pair units, pair halls)."""
    import highspy

    global _highs_threads
    n, m = cp.cost.shape
    pu, pj = np.nonzero(allowed)
    npair = len(pu)
    ncol = npair + m
    # HiGHS keeps one thread pool per process, sized by the first run: a run asking for another
    # size fails (the heuristic's neighbourhood MIPs use 1 thread, the exact solver 2).
    if _highs_threads is not None and _highs_threads != int(workers):
        highspy.Highs.resetGlobalScheduler(True)
    _highs_threads = int(workers)
    h = _new_highs(highspy)
    h.setOptionValue("output_flag", False)
    h.setOptionValue("threads", int(workers))
    h.setOptionValue("random_seed", int(seed))
    lower = np.zeros(ncol)
    lower[npair:][cp.forced] = 1.0
    empty_i, empty_f = np.array([], dtype=np.int32), np.array([])
    h.addCols(ncol, np.concatenate([cp.cost[pu, pj].astype(float), np.zeros(m)]), lower, np.ones(ncol),
              0, empty_i, empty_i, empty_f)
    if integer:
        h.changeColsIntegrality(ncol, np.arange(ncol, dtype=np.int32),
                                np.full(ncol, highspy.HighsVarType.kInteger))
    starts, index, value, lo, up = [], [], [], [], []

    def row(cols, coefs, low, high):
        starts.append(len(index))
        index.extend(cols)
        value.extend(coefs)
        lo.append(low)
        up.append(high)

    pairs_of_unit = [[] for _ in range(n)]
    pairs_of_hall = [[] for _ in range(m)]
    for p, (u, j) in enumerate(zip(pu, pj, strict=True)):
        pairs_of_unit[u].append(p)
        pairs_of_hall[j].append(p)
        row([p, npair + j], [1.0, -1.0], -np.inf, 0.0)
    for u in range(n):
        row(pairs_of_unit[u], [1.0] * len(pairs_of_unit[u]), 1.0, 1.0)
    for j in range(m):
        ps = pairs_of_hall[j]
        sizes = [float(cp.unit_size[pu[p]]) for p in ps]
        row([*ps, npair + j], [*sizes, -float(cp.capacity[j])], -np.inf, 0.0)
    row(list(range(npair, ncol)), [1.0] * m, float(cp.k), float(cp.k))
    row(list(range(npair, ncol)), [float(c) for c in cp.capacity], float(cp.unit_size.sum()), np.inf)
    h.addRows(len(lo), np.array(lo), np.array(up), len(index), np.array(starts, dtype=np.int32),
              np.array(index, dtype=np.int32), np.array(value))
    return h, pu, pj


def fix_by_reduced_cost(cp: CompiledProblem, upper: int, workers: int, seed: int):
    """Drop pairs that cannot be in any plan costing at most ``upper`` (LP reduced-cost fixing).

    A pair whose LP reduced cost exceeds upper − (LP bound) would push any plan using it above
    ``upper``; removing it loses no plan as good as the hint, so optimality claims stay exact.
    Returns (allowed mask, LP bound), or (cp.allowed, None) if the LP does not solve.
    """
    import highspy

    h, pu, pj = _highs_model(cp, cp.allowed, integer=False, workers=workers, seed=seed)
    h.run()
    if h.getModelStatus() != highspy.HighsModelStatus.kOptimal:
        return cp.allowed, None
    bound = h.getInfo().objective_function_value
    reduced = np.asarray(h.getSolution().col_dual)[: len(pu)]
    slack = upper - bound + 1.0 + 1e-7 * abs(upper)  # integer costs; guard against float noise
    keep = reduced <= slack
    allowed = np.zeros_like(cp.allowed)
    allowed[pu[keep], pj[keep]] = True
    return allowed, bound


def solve_highs(
    cp: CompiledProblem,
    allowed: np.ndarray,
    time_limit: float,
    workers: int,
    start,
    seed: int,
    max_nodes: int | None = None,
):
    """HiGHS branch-and-cut on the model above; returns (status, unit → hall index, lower bound)."""
    import highspy

    h, pu, pj = _highs_model(cp, allowed, integer=True, workers=workers, seed=seed)
    n, m = cp.cost.shape
    npair, ncol = len(pu), len(pu) + m
    h.setOptionValue("time_limit", float(time_limit))
    if max_nodes is not None:
        h.setOptionValue("mip_max_nodes", int(max_nodes))
    h.setOptionValue("mip_rel_gap", 0.0)
    if start is not None:
        sol = highspy.HighsSolution()
        vals = np.zeros(ncol)
        vals[np.flatnonzero(start[pu] == pj)] = 1.0
        vals[npair + np.unique(start)] = 1.0
        vals[npair:][cp.forced] = 1.0
        opened = int(vals[npair:].sum())
        if opened < cp.k:  # the hint must open exactly K halls
            spare = [j for j in np.argsort(-cp.capacity, kind="stable") if vals[npair + j] == 0]
            vals[npair + np.array(spare[: cp.k - opened], dtype=int)] = 1.0
        sol.col_value = list(vals)
        h.setSolution(sol)
    h.run()
    status = h.getModelStatus()
    info = h.getInfo()
    if status == highspy.HighsModelStatus.kInfeasible:
        return "infeasible", None, None
    if info.primal_solution_status != 2:  # no feasible point
        if start is not None:
            return "feasible", start, min(info.mip_dual_bound, cp.objective(start))
        return "unknown", None, None
    vals = np.asarray(h.getSolution().col_value)
    chosen = vals[:npair] > 0.5
    assign = np.empty(n, dtype=int)
    assign[pu[chosen]] = pj[chosen]
    if status == highspy.HighsModelStatus.kOptimal:
        return "optimal", assign, info.objective_function_value
    return "feasible", assign, info.mip_dual_bound
