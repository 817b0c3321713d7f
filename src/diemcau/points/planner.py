"""The bridge-point planner (lập phương án điểm cầu): choose K halls, send every institution to one.

The problem is the unsplittable capacitated p-median: open exactly K of the candidate halls and
assign each institution's whole delegation to one open hall, within the hall's seats, so that the
total travel (people × km) is least. Organisers add constraints: halls that must be open, schools
pinned to a hall, schools that go together, no crossing of a subtree boundary, halls that serve
only some sessions, and road distances in place of great-circle ones.

``compile_problem`` validates a ``PlanProblem`` and explains infeasible input with a
``PlanInfeasible`` (stable ``code``, Vietnamese ``message``, ``details``). ``plan`` is the fast
heuristic; ``planner_exact.plan_exact`` solves the same compiled model exactly. docs/planner.md
explains the algorithm and its measured quality.
"""

from __future__ import annotations

from collections.abc import Collection, Hashable, Mapping, Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from time import perf_counter, process_time
from typing import NamedTuple

import numpy as np

from diemcau.core.errors import DomainError

EARTH_RADIUS_KM = 6371.0088
# Cost of a forbidden (institution, hall) pair in the integer model: above any real plan
# (a plan costs < 2**40 person-metres) yet far from int64 overflow when a few are summed.
NOT_ALLOWED = 2**40


# --- distances ---------------------------------------------------------------------------------
def great_circle_km(lat1, lon1, lat2, lon2):
    """Great-circle (haversine) distance in km between points given in degrees; arrays broadcast."""
    phi1, phi2 = np.radians(lat1), np.radians(lat2)
    dlam = np.radians(np.asarray(lon2, dtype=float) - np.asarray(lon1, dtype=float))
    a = np.sin((phi2 - phi1) / 2) ** 2 + np.cos(phi1) * np.cos(phi2) * np.sin(dlam / 2) ** 2
    return 2 * EARTH_RADIUS_KM * np.arcsin(np.sqrt(np.clip(a, 0.0, 1.0)))


# --- input and output --------------------------------------------------------------------------
@dataclass(frozen=True)
class Hall:
    """A candidate bridge point (điểm cầu): a hall with seats where nearby schools gather.

    ``sessions`` lists the sessions the hall serves (None: all); ``group`` is the subtree it
    belongs to, compared with institutions' groups when ``respect_groups`` is on.
    """

    id: Hashable
    lat: float
    lon: float
    capacity: int
    sessions: frozenset | None = None
    group: Hashable | None = None


@dataclass(frozen=True)
class Institution:
    """An institution (cơ sở giáo dục) whose delegation of ``size`` people must sit in one hall."""

    id: Hashable
    lat: float
    lon: float
    size: int
    group: Hashable | None = None


@dataclass
class PlanProblem:
    """One planning request: the session's halls and invited institutions, and the constraints.

    - ``k``: how many halls to open; None means exactly the ``fixed`` ones.
    - ``fixed``: hall ids that must be open (with ``k`` None: the only open halls).
    - ``pins``: institution id → hall id it must go to (the hall is then open).
    - ``together``: sets of institution ids that must share a hall (overlapping sets merge).
    - ``respect_groups``: an institution may only go to a hall of the same ``group``.
    - ``session``: halls whose ``sessions`` do not contain it are left out.
    - ``distances``: road km, either {(hall id, institution id): km} (missing pairs fall back to
      great-circle) or an array of shape (halls, institutions) in input order; inf or NaN = no route.
    """

    halls: Sequence[Hall]
    institutions: Sequence[Institution]
    k: int | None = None
    fixed: Collection = ()
    pins: Mapping = field(default_factory=dict)
    together: Sequence[Collection] = ()
    respect_groups: bool = False
    session: Hashable | None = None
    distances: Mapping | np.ndarray | None = None


@dataclass(frozen=True)
class Plan:
    """A proposed grouping: which halls open and where each institution goes.

    ``cost_pm`` is the exact integer objective (person-metres, distances rounded to the metre);
    ``lower_bound_pm`` is a proven bound when an exact solver produced the plan.
    """

    open_halls: tuple
    assignment: dict
    loads: dict
    cost_pm: int
    method: str
    elapsed_s: float
    lower_bound_pm: int | None = None
    optimal: bool = False

    @property
    def cost(self) -> float:
        """Total travel in person-km."""
        return self.cost_pm / 1000.0

    @property
    def gap_pct(self) -> float | None:
        """Proven distance to the optimum in percent, when a bound is known."""
        if self.lower_bound_pm is None:
            return None
        if self.cost_pm == 0:
            return 0.0
        return 100.0 * (self.cost_pm - self.lower_bound_pm) / self.cost_pm


class PlanInfeasible(DomainError):
    """The request cannot be planned; ``code`` is stable, ``message`` Vietnamese, ``details`` structured."""

    def __init__(self, code: str, message: str, details: list[dict] | None = None):
        super().__init__(message, code, details)


def _n(value) -> str:
    """Format a whole number the Vietnamese way: 3.200, not 3,200."""
    return f"{int(value):,}".replace(",", ".")


def _ids(values, limit: int = 5) -> str:
    values = list(values)
    text = ", ".join(str(v) for v in values[:limit])
    return text + (f" và {len(values) - limit} nơi khác" if len(values) > limit else "")


# --- validation: from a request to the integer model -------------------------------------------
@dataclass
class CompiledProblem:
    """The validated integer model both solvers work on.

    Units are institutions merged by ``together``; halls are the candidates that may open.
    ``cost[u, h]`` is person-metres (``NOT_ALLOWED`` where the pair is forbidden).
    """

    hall_ids: list
    institution_ids: list
    units: list[list[int]]
    unit_size: np.ndarray
    cost: np.ndarray
    allowed: np.ndarray
    capacity: np.ndarray
    forced: np.ndarray
    k: int

    @property
    def n_units(self) -> int:
        return len(self.units)

    @property
    def n_halls(self) -> int:
        return len(self.hall_ids)

    def objective(self, assign: np.ndarray) -> int:
        """Integer cost of a unit → hall-index assignment."""
        return int(self.cost[np.arange(self.n_units), assign].sum())

    def make_plan(
        self,
        open_idx,
        assign,
        *,
        method: str,
        started: float,
        lower_bound_pm: int | None = None,
        optimal: bool = False,
    ) -> Plan:
        """Turn hall indices and a unit assignment into a ``Plan`` keyed by the caller's ids."""
        open_idx = sorted(int(j) for j in open_idx)
        assignment, loads = {}, {self.hall_ids[j]: 0 for j in open_idx}
        for u, members in enumerate(self.units):
            hall = self.hall_ids[int(assign[u])]
            loads[hall] += int(self.unit_size[u])
            for i in members:
                assignment[self.institution_ids[i]] = hall
        cost = self.objective(assign)
        if lower_bound_pm is not None:
            lower_bound_pm = min(int(lower_bound_pm), cost)
        return Plan(
            tuple(self.hall_ids[j] for j in open_idx),
            assignment,
            loads,
            cost,
            method,
            perf_counter() - started,
            lower_bound_pm,
            optimal,
        )


def _as_count(value, what: str, owner) -> int:
    """Read a head count or seat count: a whole number ≥ 0."""
    try:
        number = int(value)
        whole = number == value
    except (TypeError, ValueError):
        whole = False
    if not whole or number < 0 or isinstance(value, bool):
        raise PlanInfeasible(
            "invalid_number",
            f"{what} của {owner} không hợp lệ: {value!r} (cần số nguyên ≥ 0).",
            [{"id": owner, "value": repr(value)}],
        )
    return number


def _distance_km(problem: PlanProblem, halls: list[Hall], insts: list[Institution]) -> np.ndarray:
    """Distance matrix hall × institution in km; inf where there is no route."""
    matrix = problem.distances
    if isinstance(matrix, np.ndarray | list | tuple):
        d = np.asarray(matrix, dtype=float)
        if d.shape != (len(halls), len(insts)):
            raise PlanInfeasible(
                "invalid_distances",
                f"Ma trận khoảng cách phải có {len(halls)} dòng (hội trường) và "
                f"{len(insts)} cột (trường), nhận được {d.shape}.",
                [{"expected": [len(halls), len(insts)], "got": list(d.shape)}],
            )
        d = np.where(np.isnan(d), np.inf, d)
    else:
        lat_h = np.array([h.lat for h in halls], dtype=float)[:, None]
        lon_h = np.array([h.lon for h in halls], dtype=float)[:, None]
        lat_i = np.array([i.lat for i in insts], dtype=float)[None, :]
        lon_i = np.array([i.lon for i in insts], dtype=float)[None, :]
        d = great_circle_km(lat_h, lon_h, lat_i, lon_i)
        if matrix:
            hall_pos = {h.id: j for j, h in enumerate(halls)}
            inst_pos = {i.id: j for j, i in enumerate(insts)}
            unknown = [
                key
                for key in matrix
                if not (
                    isinstance(key, tuple) and len(key) == 2 and key[0] in hall_pos and key[1] in inst_pos
                )
            ]
            if unknown:
                raise PlanInfeasible(
                    "unknown_id",
                    f"Khoảng cách nhập vào nhắc tới cặp không tồn tại: {_ids(unknown)}.",
                    [{"pair": repr(key)} for key in unknown],
                )
            for (hid, iid), km in matrix.items():
                km = float(km)
                d[hall_pos[hid], inst_pos[iid]] = np.inf if np.isnan(km) else km
        d = np.where(np.isnan(d), np.inf, d)  # missing coordinates: no usable distance
    if (d < 0).any():
        raise PlanInfeasible("invalid_distances", "Khoảng cách không được âm.", [])
    return d


def compile_problem(problem: PlanProblem) -> CompiledProblem:
    """Validate a request and build the integer model; raise ``PlanInfeasible`` explaining why not."""
    halls, insts = list(problem.halls), list(problem.institutions)
    for label, items in (("hội trường", halls), ("trường", insts)):
        seen, dup = set(), []
        for item in items:
            if item.id in seen:
                dup.append(item.id)
            seen.add(item.id)
        if dup:
            raise PlanInfeasible(
                "duplicate_id", f"Mã {label} bị trùng: {_ids(dup)}.", [{"id": x} for x in dup]
            )
    caps = [_as_count(h.capacity, "Sức chứa", h.id) for h in halls]
    sizes = [_as_count(i.size, "Số người", i.id) for i in insts]
    hall_pos = {h.id: j for j, h in enumerate(halls)}
    inst_pos = {i.id: j for j, i in enumerate(insts)}

    def serves(h: Hall) -> bool:
        return problem.session is None or h.sessions is None or problem.session in h.sessions

    def unknown(kind: str, ids):
        raise PlanInfeasible(
            "unknown_id", f"Không tìm thấy {kind}: {_ids(ids)}.", [{"id": x, "kind": kind} for x in ids]
        )

    fixed = list(dict.fromkeys(problem.fixed))
    if bad := [x for x in fixed if x not in hall_pos]:
        unknown("hội trường", bad)
    pins = dict(problem.pins)
    if bad := [x for x in pins if x not in inst_pos]:
        unknown("trường", bad)
    if bad := sorted({h for h in pins.values() if h not in hall_pos}, key=str):
        unknown("hội trường", bad)
    if bad := [h for h in fixed + list(dict.fromkeys(pins.values())) if not serves(halls[hall_pos[h]])]:
        bad = list(dict.fromkeys(bad))
        raise PlanInfeasible(
            "hall_not_in_session",
            f"Hội trường {_ids(bad)} không phục vụ phiên {problem.session} nhưng được chọn cố định "
            "hoặc có trường được giữ tại đó.",
            [{"hall": h, "session": problem.session} for h in bad],
        )
    serving = [j for j, h in enumerate(halls) if serves(h)]
    if not serving:
        raise PlanInfeasible(
            "no_halls", "Không có hội trường nào phục vụ phiên này.", [{"session": problem.session}]
        )

    only_fixed = problem.k is None
    if only_fixed:
        if not fixed:
            raise PlanInfeasible(
                "missing_k", "Cần cho biết số điểm cầu cần mở hoặc danh sách điểm cầu cố định.", []
            )
        k = len(fixed)
    else:
        k = problem.k
        if isinstance(k, bool) or not isinstance(k, int | np.integer) or k < 1:
            raise PlanInfeasible(
                "invalid_k",
                f"Số điểm cầu cần mở phải là số nguyên từ 1 trở lên (nhận {k!r}).",
                [{"k": repr(k)}],
            )
        k = int(k)
        if k < len(fixed):
            raise PlanInfeasible(
                "invalid_k",
                f"Yêu cầu mở {k} điểm cầu nhưng đã cố định {len(fixed)} điểm.",
                [{"k": k, "fixed": len(fixed)}],
            )
    if k > len(serving):
        raise PlanInfeasible(
            "too_many_points",
            f"Yêu cầu mở {_n(k)} điểm cầu nhưng chỉ có {_n(len(serving))} hội trường được phép"
            + (f" cho phiên {problem.session}." if problem.session is not None else "."),
            [{"requested": k, "available_halls": len(serving)}],
        )
    if only_fixed and (bad := [(i, h) for i, h in pins.items() if h not in set(fixed)]):
        raise PlanInfeasible(
            "pin_not_open",
            f"Có {len(bad)} trường được giữ tại hội trường không nằm trong danh sách điểm cầu cố định "
            f"({_ids(dict.fromkeys(h for _, h in bad))}).",
            [{"institution": i, "hall": h} for i, h in bad],
        )
    if problem.respect_groups and (
        bad := [(i, h) for i, h in pins.items() if insts[inst_pos[i]].group != halls[hall_pos[h]].group]
    ):
        raise PlanInfeasible(
            "pin_crosses_group",
            f"Có {len(bad)} trường được giữ tại hội trường ngoài phạm vi đơn vị của mình "
            f"(ví dụ trường {bad[0][0]} tại hội trường {bad[0][1]}).",
            [
                {
                    "institution": i,
                    "hall": h,
                    "institution_group": insts[inst_pos[i]].group,
                    "hall_group": halls[hall_pos[h]].group,
                }
                for i, h in bad
            ],
        )

    # Keep-together sets become units; a union-find merges sets that share a school.
    parent = list(range(len(insts)))

    def root(x: int) -> int:
        while parent[x] != x:
            parent[x] = parent[parent[x]]
            x = parent[x]
        return x

    for group in problem.together:
        members = list(group)
        if bad := [x for x in members if x not in inst_pos]:
            unknown("trường", bad)
        for x in members[1:]:
            a, b = root(inst_pos[members[0]]), root(inst_pos[x])
            if a != b:
                parent[max(a, b)] = min(a, b)
    by_root: dict[int, list[int]] = {}
    for i in range(len(insts)):
        by_root.setdefault(root(i), []).append(i)
    units = list(by_root.values())

    unit_pin: list[int | None] = []
    for members in units:
        member_ids = [insts[i].id for i in members]
        pinned = {hall_pos[pins[x]] for x in member_ids if x in pins}
        if len(pinned) > 1:
            raise PlanInfeasible(
                "pin_conflict",
                f"Các trường phải đi cùng nhau ({_ids(member_ids)}) lại được giữ ở các hội trường "
                f"khác nhau ({_ids(halls[j].id for j in sorted(pinned))}).",
                [{"institutions": member_ids, "halls": [halls[j].id for j in sorted(pinned)]}],
            )
        if problem.respect_groups and len(groups := {insts[i].group for i in members}) > 1:
            raise PlanInfeasible(
                "together_crosses_group",
                f"Các trường phải đi cùng nhau ({_ids(member_ids)}) thuộc các đơn vị khác nhau "
                f"({_ids(sorted(groups, key=str))}), không thể giữ trong phạm vi.",
                [{"institutions": member_ids, "groups": sorted(groups, key=str)}],
            )
        unit_pin.append(pinned.pop() if pinned else None)

    forced_set = {hall_pos[h] for h in fixed} | {j for j in unit_pin if j is not None}
    if len(forced_set) > k:
        raise PlanInfeasible(
            "too_many_pinned_halls",
            f"Các trường được giữ và điểm cầu cố định chiếm {_n(len(forced_set))} hội trường khác nhau, "
            f"nhiều hơn số điểm cầu được mở ({_n(k)}).",
            [{"required_open": len(forced_set), "k": k}],
        )
    cand = sorted(forced_set) if len(forced_set) == k else serving

    dist = _distance_km(problem, [halls[j] for j in cand], insts)  # cand × inst
    allowed_inst = np.isfinite(dist)
    if problem.respect_groups:
        same = np.array([[halls[j].group == inst.group for inst in insts] for j in cand], dtype=bool)
        allowed_inst &= same
    metres = np.where(allowed_inst, np.rint(np.where(np.isfinite(dist), dist, 0) * 1000), 0).astype(np.int64)

    size_arr = np.array(sizes, dtype=np.int64)
    cand_pos = {j: c for c, j in enumerate(cand)}
    n_u, m = len(units), len(cand)
    unit_size = np.array([size_arr[mem].sum() for mem in units], dtype=np.int64)
    cost = np.zeros((n_u, m), dtype=np.int64)
    allowed = np.ones((n_u, m), dtype=bool)
    for u, members in enumerate(units):
        allowed[u] = allowed_inst[:, members].all(axis=1)
        cost[u] = (metres[:, members] * size_arr[members]).sum(axis=1)
        if unit_pin[u] is not None:
            only = np.zeros(m, dtype=bool)
            only[cand_pos[unit_pin[u]]] = allowed[u, cand_pos[unit_pin[u]]]
            allowed[u] = only
    cap = np.array([caps[j] for j in cand], dtype=np.int64)
    forced = np.zeros(m, dtype=bool)
    forced[[cand_pos[j] for j in forced_set]] = True
    cp = CompiledProblem(
        [halls[j].id for j in cand],
        [i.id for i in insts],
        units,
        unit_size,
        np.where(allowed, cost, NOT_ALLOWED),
        allowed,
        cap,
        forced,
        k,
    )
    _check_capacity(cp, problem, [halls[j] for j in cand], insts, unit_pin, cand_pos)
    return cp


def _check_capacity(
    cp: CompiledProblem,
    problem: PlanProblem,
    halls: list[Hall],
    insts: list[Institution],
    unit_pin: list,
    cand_pos: dict,
) -> None:
    """Explain the seat shortages that make a compiled request infeasible before any search."""

    def names(u):
        return [cp.institution_ids[i] for i in cp.units[u]]

    if bad := [u for u in range(cp.n_units) if not cp.allowed[u].any()]:
        raise PlanInfeasible(
            "no_eligible_hall",
            f"{_n(len(bad))} trường không có hội trường nào được phép đến "
            f"({_ids(x for u in bad for x in names(u))}): kiểm tra phạm vi đơn vị, phiên "
            "và khoảng cách.",
            [{"institutions": names(u), "group": insts[cp.units[u][0]].group} for u in bad],
        )
    best_cap = np.where(cp.allowed, cp.capacity[None, :], -1).max(axis=1)
    if bad := [u for u in range(cp.n_units) if cp.unit_size[u] > best_cap[u] and unit_pin[u] is None]:
        u = bad[0]
        together = len(cp.units[u]) > 1
        what = (
            f"Nhóm trường phải đi cùng nhau ({_ids(names(u))})"
            if together
            else f"Đoàn của trường {names(u)[0]}"
        )
        raise PlanInfeasible(
            "together_too_large" if together else "delegation_too_large",
            f"{what} có {_n(cp.unit_size[u])} người, lớn hơn hội trường lớn nhất được phép "
            f"({_n(best_cap[u])} chỗ).",
            [
                {"institutions": names(u), "people": int(cp.unit_size[u]), "largest_hall": int(best_cap[u])}
                for u in bad
            ],
        )
    pinned_load: dict[int, int] = {}
    for u, j in enumerate(unit_pin):
        if j is not None:
            pinned_load[cand_pos[j]] = pinned_load.get(cand_pos[j], 0) + int(cp.unit_size[u])
    if bad := [(c, load) for c, load in sorted(pinned_load.items()) if load > cp.capacity[c]]:
        c, load = bad[0]
        raise PlanInfeasible(
            "pin_over_capacity",
            f"Hội trường {cp.hall_ids[c]} có {_n(cp.capacity[c])} chỗ nhưng các trường được giữ tại đó "
            f"có {_n(load)} người, thừa {_n(load - cp.capacity[c])}.",
            [
                {
                    "hall": cp.hall_ids[c],
                    "capacity": int(cp.capacity[c]),
                    "people": load,
                    "excess": int(load - cp.capacity[c]),
                }
                for c, load in bad
            ],
        )

    need = int(cp.unit_size.sum())
    free_caps = np.sort(cp.capacity[~cp.forced])[::-1]
    available = int(cp.capacity[cp.forced].sum() + free_caps[: cp.k - int(cp.forced.sum())].sum())
    if need > available:
        raise PlanInfeasible(
            "not_enough_seats",
            f"Không đủ chỗ ngồi: cần {_n(need)} chỗ, {_n(cp.k)} hội trường lớn nhất có thể mở chỉ có "
            f"{_n(available)} chỗ, thiếu {_n(need - available)}.",
            [{"needed": need, "available": available, "missing": need - available, "k": cp.k}],
        )
    if not problem.respect_groups:
        return

    groups = sorted({insts[mem[0]].group for mem in cp.units} | {h.group for h in halls}, key=str)
    rows, short = [], []
    for g in groups:
        in_g = np.array([h.group == g for h in halls], dtype=bool)
        g_need = int(sum(cp.unit_size[u] for u in range(cp.n_units) if insts[cp.units[u][0]].group == g))
        has_units = any(insts[cp.units[u][0]].group == g for u in range(cp.n_units))
        g_avail = int(cp.capacity[in_g].sum())
        forced_g = cp.forced & in_g
        covered = int(cp.capacity[forced_g].sum())
        points = int(forced_g.sum())
        for c in np.sort(cp.capacity[in_g & ~cp.forced])[::-1]:
            if covered >= g_need and (points or not has_units):
                break
            covered += int(c)
            points += 1
        row = {
            "group": g,
            "needed": g_need,
            "available": g_avail,
            "missing": max(0, g_need - g_avail),
            "min_points": points,
        }
        rows.append(row)
        if g_need > g_avail:
            short.append(row)
    if short:
        text = "; ".join(
            f"đơn vị {r['group']}: cần {_n(r['needed'])}, có {_n(r['available'])}, thiếu {_n(r['missing'])}"
            for r in short
        )
        raise PlanInfeasible(
            "not_enough_seats_in_group", f"Không đủ chỗ ngồi trong phạm vi đơn vị ({text}).", short
        )
    min_points = sum(r["min_points"] for r in rows)
    if min_points > cp.k:
        raise PlanInfeasible(
            "not_enough_points_for_groups",
            f"Để mỗi đơn vị đủ chỗ trong phạm vi của mình cần mở ít nhất {_n(min_points)} điểm cầu, "
            f"nhưng chỉ được mở {_n(cp.k)}.",
            [r for r in rows if r["min_points"]],
        )


# --- the heuristic -----------------------------------------------------------------------------
# Above this many (closed hall × unit × open hall) cells the swap estimates drop the capacity term.
_ESTIMATE_CELLS = 4_000_000
# The region step (it runs last) stops after this many CPU seconds of the search, or this many
# wall-clock seconds on a machine so loaded that the CPU budget is not reached in time.
_TIME_BUDGET_S = 1.5
_WALL_CAP_S = 3.0
_LNS_MIPS = 3


class _Eval(NamedTuple):
    """The transportation (splittable) value of an open set and what the rounding needs."""

    value: float  # person-metres, plus a penalty per unseated person
    assign: np.ndarray  # unit → open-hall index: the nearest hall if all fit, else the largest flow share
    exact: bool  # the nearest-hall assignment fits, so it is already the unsplittable optimum
    prices: np.ndarray | None  # seat prices (person-metres per person) of the open halls, when computed


class _Search:
    """Seat-priced interchange on the open halls judged by min-cost flow, then assignment search.

    ``effort`` scales every budget (1 = the district setting measured in docs/planner.md).
    """

    def __init__(self, cp: CompiledProblem, seed: int, effort: float):
        self.cp = cp
        self.top = max(2, round(8 * effort))  # swaps judged per step before taking the best
        self.limit = max(4, round(32 * effort))  # swaps judged before declaring a local optimum
        self.rounds = (round(4 * effort), round(16 * effort))  # restarts: at least, at most
        self.round_work = 60.0 * effort  # restarts past the minimum stop after this much work
        self.elites = max(1, round(3 * effort))  # best open sets turned into whole assignments
        # overflow weights of the assignment restarts (see ``assign``)
        self.starts = (0.1, 0.3, 1.0, 3.0, None) if effort >= 1 else (0.3, 3.0, None) if effort >= 0.5 else ()
        # exact re-planning of regions of neighbouring open halls (see ``neighbourhoods``)
        self.lns_size = 6 if effort >= 0.5 else 0  # open halls per region
        self.lns_reach = 3  # closed halls added per region hall, and per freed unit
        self.lns_pairs = 6  # halls a freed unit may go to (its nearest candidates)
        self.lns_nodes = 2000  # branch-and-bound nodes per region MIP
        self.lns_time = 0.5  # seconds per region MIP
        self.lns_rounds = 6  # improvements accepted at most
        self.lns_mips = _LNS_MIPS  # region MIPs solved at most
        # Time budget of the whole search (the region step stops there): CPU seconds of this process,
        # so that other work on the machine does not change the result, and a wall-clock cap.
        self.cpu_deadline = process_time() + _TIME_BUDGET_S
        self.deadline = perf_counter() + _WALL_CAP_S
        self.n, self.m = cp.cost.shape
        self.s = cp.unit_size
        self.sf = self.s.astype(float)
        self.cap = cp.capacity
        self.k = cp.k
        self.rng = np.random.default_rng(seed)
        self.costf = np.where(cp.allowed, cp.cost.astype(float), np.inf)
        per_person = np.where(self.s[:, None] > 0, self.costf / np.maximum(self.sf, 1)[:, None], self.costf)
        finite = per_person[np.isfinite(per_person)]
        top = float(finite.max()) if finite.size else 1.0
        # An unseated person costs more than any seat anywhere, so feasibility comes first.
        self.penalty = int(10 * top + 1_000_000)
        # Estimates need finite numbers: a forbidden pair looks like an unseated delegation.
        self.cost_est = np.where(cp.allowed, self.costf, (self.sf + 1)[:, None] * self.penalty)
        self.per_person = per_person
        self.cache: dict[bytes, _Eval] = {}
        # Work done, in min-cost-flow solves: bounds the restarts deterministically (no clock).
        self.work = 0.0

    # evaluation of an open set
    def evaluate(self, open_mask: np.ndarray) -> _Eval:
        """Value of an open set: the exact nearest assignment when it fits, else the min-cost flow."""
        key = open_mask.tobytes()
        if (hit := self.cache.get(key)) is not None:
            return hit
        idx = np.flatnonzero(open_mask)
        sub = self.costf[:, idx]
        nearest = np.argmin(sub, axis=1)
        best = sub[np.arange(self.n), nearest]
        loads = np.bincount(nearest, weights=self.sf, minlength=len(idx))
        self.work += 0.03
        if np.isfinite(best).all() and (loads <= self.cap[idx]).all():
            result = _Eval(float(best.sum()), nearest, True, np.zeros(len(idx)))
        else:
            result = self._flow(open_mask, idx)
        self.cache[key] = result
        return result

    def prices(self, open_mask: np.ndarray) -> np.ndarray:
        """Seat prices of an open set (zero when the nearest assignment fits)."""
        ev = self.evaluate(open_mask)
        if ev.prices is None:
            ev = self._flow(open_mask, np.flatnonzero(open_mask), with_prices=True)
            self.cache[open_mask.tobytes()] = ev
        return ev.prices

    def _flow(self, open_mask: np.ndarray, idx: np.ndarray, with_prices: bool = False) -> _Eval:
        """Solve the splittable transportation problem exactly with OR-Tools min-cost flow."""
        from ortools.graph.python import min_cost_flow

        self.work += 1.0
        n, k = self.n, len(idx)
        sink = n + k
        sub = self.costf[:, idx]
        au, ah = np.nonzero(np.isfinite(sub) & (self.s > 0)[:, None])
        pp = self.per_person[au, idx[ah]]
        arc_cost = np.rint(pp).astype(np.int64)
        real = np.flatnonzero(self.s > 0)
        tails = np.concatenate([au, n + np.arange(k), real])
        heads = np.concatenate([n + ah, np.full(k, sink), np.full(len(real), sink)])
        caps = np.concatenate([self.s[au], self.cap[idx], self.s[real]])
        costs = np.concatenate([arc_cost, np.zeros(k, np.int64), np.full(len(real), self.penalty, np.int64)])
        flow = min_cost_flow.SimpleMinCostFlow()
        arcs = flow.add_arcs_with_capacity_and_unit_cost(tails, heads, caps, costs)
        supplies = np.zeros(n + k + 1, dtype=np.int64)
        supplies[:n] = self.s
        supplies[sink] = -int(self.s.sum())
        flow.set_nodes_supplies(np.arange(n + k + 1), supplies)
        status = flow.solve()
        if status != flow.OPTIMAL:  # cannot happen: the penalty arcs always make it feasible
            raise RuntimeError(f"min-cost flow failed with status {status}")
        f = flow.flows(arcs)
        na = len(au)
        x, hall_f, pen_f = f[:na], f[na : na + k], f[na + k :]
        unmet = int(pen_f.sum())
        share = np.zeros((n, k))
        share[au, ah] = x
        # Zero-sized units and fully unseated ones go to their cheapest allowed open hall.
        assign = np.where(
            share.max(axis=1) > 0, share.argmax(axis=1), np.argmin(self.cost_est[:, idx], axis=1)
        )
        stranded = (self.s == 0) & ~np.isfinite(sub).any(axis=1)
        value = float((x * pp).sum()) + self.penalty * (unmet + int(stranded.sum()))
        prices = self._prices(n, idx, au, ah, x, hall_f, real, pen_f, arc_cost) if with_prices else None
        return _Eval(value, assign, False, prices)

    def _prices(self, n, idx, au, ah_col, x, hall_f, real, pen_f, arc_cost) -> np.ndarray:
        """Seat prices = LP duals of the capacities: cheapest cost to push one more person to the sink.

        Computed by Bellman-Ford over the residual network of the optimal flow (no negative cycle).
        """
        k = len(idx)
        sink = n + k
        full = hall_f >= self.cap[idx]
        tails = [au[x < self.s[au]], n + ah_col[x > 0], n + np.flatnonzero(~full), real[pen_f < self.s[real]]]
        heads = [
            n + ah_col[x < self.s[au]],
            au[x > 0],
            np.full(int((~full).sum()), sink),
            np.full(int((pen_f < self.s[real]).sum()), sink),
        ]
        costs = [
            arc_cost[x < self.s[au]],
            -arc_cost[x > 0],
            np.zeros(int((~full).sum())),
            np.full(int((pen_f < self.s[real]).sum()), float(self.penalty)),
        ]
        t, h, c = np.concatenate(tails), np.concatenate(heads), np.concatenate(costs).astype(float)
        phi = np.full(n + k + 1, np.inf)
        phi[sink] = 0.0
        for _ in range(n + k + 1):
            before = phi.copy()
            np.minimum.at(phi, t, c + phi[h])
            if np.array_equal(before, phi):
                break
        return np.clip(phi[n : n + k], 0.0, None)

    # interchange on open halls
    def _swap_estimates(self, open_mask: np.ndarray, prices: np.ndarray):
        """Estimated change of every (close o, open i) swap, on seat-priced costs.

        Closing o sends its units to their next priced hall; opening i takes the units that gain most
        per person, as many as its seats hold (a greedy knapsack), so small halls are not overrated.
        """
        idx = np.flatnonzero(open_mask)
        closed = np.flatnonzero(~open_mask)
        k, n = len(idx), self.n
        priced = self.cost_est[:, idx] + self.sf[:, None] * prices[None, :]
        j1 = np.argmin(priced, axis=1)
        b1 = priced[np.arange(n), j1]
        b2 = np.partition(priced, 1, axis=1)[:, 1] if k > 1 else np.full(n, (self.sf + 1) * self.penalty)
        after = np.broadcast_to(b1, (k, n)).copy()  # [o, u]: u's cost once o is closed
        after[j1, np.arange(n)] = b2
        loss = (after - b1[None, :]).sum(axis=1)
        cin = self.cost_est[:, closed]
        if k * n * len(closed) <= _ESTIMATE_CELLS:
            gain = np.maximum(0.0, after[:, :, None] - cin[None, :, :])  # [o, u, i]
            value = gain.sum(axis=1)
            # Only halls that could be offered more people than they seat need the knapsack;
            # where seats are plentiful (most national districts) the plain sum is exact.
            crowded = np.flatnonzero((self.sf[:, None] * (b2[:, None] > cin)).sum(axis=0) > self.cap[closed])
            if len(crowded):
                g = gain[:, :, crowded]
                order = np.argsort(-g / np.maximum(self.sf, 1.0)[None, :, None], axis=1, kind="stable")
                fits = np.cumsum(self.sf[order], axis=1) <= self.cap[closed[crowded]][None, None, :]
                value[:, crowded] = (np.take_along_axis(g, order, axis=1) * fits).sum(axis=1)
        else:
            # Too big for the [o, u, i] array (a province at once): the uncapacitated fast
            # interchange, in O(n·m) memory.
            gain = np.maximum(0.0, b1[:, None] - cin)
            owner = np.zeros((k, n))
            owner[j1, np.arange(n)] = 1.0
            extra = (
                np.minimum(cin, b2[:, None]) - b1[:, None] + gain - (after[j1, np.arange(n)] - b1)[:, None]
            )
            value = gain.sum(axis=0)[None, :] - owner @ extra
        delta = loss[:, None] - value
        delta[self.cp.forced[idx], :] = np.inf
        return idx, closed, delta

    def local_search(self, open_mask: np.ndarray) -> tuple[np.ndarray, _Eval]:
        """Swap halls while it pays, trying swaps in the order of their estimated change.

        Of the first ``top`` swaps tried, the best improving one is taken; when none improves, the
        search goes further down the list (``limit`` swaps and each hall's best partner) and takes the
        first that improves.
        """
        top, limit = self.top, self.limit
        ev = self.evaluate(open_mask)
        while True:
            # Half the seat price: a swap is a large move, and the full marginal price overstates it
            # (measured: the best swap ranks higher in the estimate list this way).
            idx, closed, delta = self._swap_estimates(open_mask, 0.5 * self.prices(open_mask))
            order = np.argsort(delta, axis=None, kind="stable")[:limit]
            # Also each hall's own best partner: the global list tends to crowd on a few halls.
            extra = np.concatenate(
                [
                    np.arange(len(idx)) * len(closed) + np.argmin(delta, axis=1),
                    np.argmin(delta, axis=0) * len(closed) + np.arange(len(closed)),
                ]
            )
            merged = np.unique(np.concatenate([order, extra]))
            order = merged[np.argsort(delta.flat[merged], kind="stable")]
            best = None
            for rank, flat in enumerate(order):
                if rank >= top and best is not None:
                    break
                o, i = divmod(int(flat), len(closed))
                if not np.isfinite(delta[o, i]):
                    break
                trial = open_mask.copy()
                trial[idx[o]] = False
                trial[closed[i]] = True
                tev = self.evaluate(trial)
                if tev.value < ev.value - 1e-9 * max(1.0, ev.value) and (
                    best is None or tev.value < best[1].value
                ):
                    best = (trial, tev)
            if best is None:
                return open_mask, ev
            open_mask, ev = best

    def construct(self, randomized: bool = False) -> np.ndarray:
        """Greedy opening: each step opens the hall whose seats buy the largest capacity-limited saving.

        ``randomized`` picks among the three best at each step instead (a different starting basin).
        """
        open_mask = self.cp.forced.copy()
        unseated = (self.sf + 1) * self.penalty
        current = unseated.copy()
        for j in np.flatnonzero(open_mask):
            current = np.minimum(current, self.cost_est[:, j])
        while open_mask.sum() < self.k:
            closed = np.flatnonzero(~open_mask)
            saving = np.maximum(0.0, current[:, None] - self.cost_est[:, closed])
            per_person = saving / np.maximum(self.sf, 1.0)[:, None]
            order = np.argsort(-per_person, axis=0, kind="stable")
            fits = np.cumsum(self.sf[order], axis=0) <= self.cap[closed][None, :]
            value = (np.take_along_axis(saving, order, axis=0) * fits).sum(axis=0)
            if randomized and len(closed) > 1:
                best3 = np.argsort(-value, kind="stable")[:3]
                pick = int(best3[self.rng.integers(len(best3))])
            else:
                pick = int(np.argmax(value))
            taken = order[:, pick][fits[:, pick] & (np.take_along_axis(saving, order, axis=0)[:, pick] > 0)]
            current[taken] = self.cost_est[taken, closed[pick]]
            open_mask[closed[pick]] = True
        return open_mask

    def perturb(self, open_mask: np.ndarray) -> np.ndarray:
        """Swap a few random open halls for closed ones (the only use of the seed)."""
        out = np.flatnonzero(open_mask & ~self.cp.forced)
        closed = np.flatnonzero(~open_mask)
        q = min(len(out), len(closed), max(1, self.k // 5))
        trial = open_mask.copy()
        if q:
            trial[self.rng.choice(out, q, replace=False)] = False
            trial[self.rng.choice(closed, q, replace=False)] = True
        return trial

    # from an open set to an unsplittable assignment
    def assign(self, open_mask: np.ndarray, starts: tuple = (None,)) -> tuple[np.ndarray, int] | None:
        """Unsplittable assignment for an open set, or None if no feasible one was found.

        The flow's rounding is repaired by local search once per entry of ``starts`` (an overflow
        weight relative to the typical distance, None = overflow forbidden), then each result is
        polished by exact pairwise exchange; the cheapest wins. Low weights let the search pass
        through overfull states and land in other basins, which is what finds the better plans.
        """
        ev = self.evaluate(open_mask)
        idx = np.flatnonzero(open_mask)
        if ev.exact:  # the nearest hall fits everyone: nothing can beat it
            return idx[ev.assign], self.cp.objective(idx[ev.assign])
        cost, cap = self.costf[:, idx], self.cap[idx]
        rows = np.arange(self.n)
        start_cost = cost[rows, ev.assign]
        finite = np.isfinite(start_cost)
        per_person = start_cost[finite] / np.maximum(self.sf[finite], 1.0)
        scale = float(np.median(per_person)) if per_person.size else 1.0
        best = None
        for mult in starts:
            a = ev.assign.copy()
            if mult is not None:
                a = _gap_local_search(cost, self.s, cap, a, weight=mult * scale)
            a = _gap_local_search(cost, self.s, cap, a)
            if a is None:
                continue
            a = _polish(cost, self.s, cap, a)
            value = float(cost[rows, a].sum())
            if best is None or value < best[0]:
                best = (value, a)
        if best is None:
            return None
        return idx[best[1]], self.cp.objective(idx[best[1]])

    def run(self) -> tuple[np.ndarray, np.ndarray]:
        """Search open sets, then turn the best few into unsplittable plans and keep the cheapest."""
        if self.cp.forced.sum() == self.k or self.k == self.m:
            start = np.ones(self.m, dtype=bool) if self.k == self.m else self.cp.forced.copy()
            result = self.assign(start, self.starts or (None,))
            if result is None:
                raise _no_assignment(self.cp)
            return np.flatnonzero(start), result[0]
        best_mask, best_ev = self.local_search(self.construct())
        at_least, at_most = self.rounds
        budget = self.work + self.round_work
        for r in range(at_most):
            if r >= at_least and self.work > budget:
                break
            # Alternate a kick of the best set with a fresh randomized greedy start: capacity makes
            # the landscape rugged, and some optima are three swaps from any other good set.
            start = self.construct(randomized=True) if r % 2 else self.perturb(best_mask)
            mask, ev = self.local_search(start)
            if ev.value < best_ev.value - 1e-9:
                best_mask, best_ev = mask, ev
        # The splittable value ranks open sets only roughly (packing whole delegations can cost one
        # set more than another): round the best few quickly, give the winner the full treatment.
        ranked = sorted(self.cache.items(), key=lambda kv: kv[1].value)[: self.elites]
        quick = []
        for key, _ in ranked:
            mask = np.frombuffer(key, dtype=bool).copy()
            if (result := self.assign(mask)) is not None:
                quick.append((result[1], len(quick), mask, result))
        if not quick:
            raise _no_assignment(self.cp)
        _, _, mask, result = min(quick, key=lambda q: (q[0], q[1]))
        if self.starts and not self.evaluate(mask).exact:
            full = self.assign(mask, self.starts)
            if full is not None and full[1] < result[1]:
                result = full
        if self.lns_size and not self.evaluate(mask).exact:
            mask, assign = self.neighbourhoods(mask, result[0])
            return np.flatnonzero(mask), assign
        return np.flatnonzero(mask), result[0]

    # large neighbourhoods solved exactly
    def _time_left(self) -> float:
        """Seconds the search may still spend (CPU budget and wall-clock cap)."""
        return min(self.cpu_deadline - process_time(), self.deadline - perf_counter())

    def _region(self, open_mask, assign, region, hd, nearest):
        """The sub-model of a region: its units freed, everything else fixed (see ``neighbourhoods``)."""
        cp = self.cp
        free = np.flatnonzero(np.isin(assign, region))
        closed = np.flatnonzero(~open_mask)
        by_hall = closed[np.argsort(hd[np.ix_(region, closed)], axis=1, kind="stable")[:, : self.lns_reach]]
        near = np.union1d(np.unique(nearest[free]), by_hall.ravel())
        near = near[np.isfinite(self.costf[free][:, near]).any(axis=0)]
        cand = np.union1d(region, near)
        if len(free) == 0 or len(cand) == len(region):
            return None
        load = np.bincount(assign, weights=self.sf, minlength=self.m)
        kept = open_mask[cand] & ~np.isin(cand, region)  # open outside the region: stay open
        residual = self.cap[cand] - np.where(kept, load[cand], 0).astype(self.cap.dtype)
        pos = {int(j): r for r, j in enumerate(cand)}
        start = np.array([pos[int(j)] for j in assign[free]])
        # Each freed unit may only go to its few nearest candidates (and where it sits now).
        rank = np.argsort(np.argsort(self.costf[np.ix_(free, cand)], axis=1, kind="stable"), axis=1)
        pairs = cp.allowed[np.ix_(free, cand)] & (rank < self.lns_pairs)
        pairs[np.arange(len(free)), start] = True
        sub = CompiledProblem(
            [cp.hall_ids[j] for j in cand],
            [],
            [[] for _ in free],
            self.s[free],
            cp.cost[np.ix_(free, cand)],
            pairs,
            residual,
            kept | cp.forced[cand],
            len(region) + int(kept.sum()),
        )
        return sub, free, cand, start

    def neighbourhoods(self, open_mask: np.ndarray, assign: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Re-plan a few neighbouring open halls at a time exactly, with everything else fixed.

        For each open hall c, the region is c and its nearest open halls (``lns_size`` in all); its
        units are freed and may go to their ``lns_pairs`` nearest halls among the region's, the closed
        halls near them, and the other open halls near them (with the seats those have left). A small
        MIP (HiGHS) picks which halls the region opens (as many as before) and seats the freed units
        whole. This sees what the splittable value cannot: several halls changed at once because
        together they pack delegations better. Regions are tried in the order of their LP gap (what
        the relaxation says could be saved); after an improvement the regions are rebuilt.
        """
        from .planner_exact import _fix_by_reduced_cost, _solve_highs

        cp = self.cp
        pp = self.per_person
        # A hall's position: the unit nearest to it (usually the school that hosts it).
        host = np.argmin(np.where(np.isfinite(pp), pp, np.inf), axis=0)
        hd = pp[host, :]
        hd = np.minimum(hd, hd.T)
        nearest = np.argsort(self.costf, axis=1, kind="stable")[:, : self.lns_reach]
        value = cp.objective(assign)
        tried: set[bytes] = set()
        solved = 0
        for _ in range(self.lns_rounds):
            opened = np.flatnonzero(open_mask)
            regions, seen = [], set()
            for c in opened:
                region = np.sort(opened[np.argsort(hd[c, opened], kind="stable")[: self.lns_size]])
                key = region.tobytes()
                if key in seen:
                    continue
                seen.add(key)
                if self._time_left() <= 0:
                    return open_mask, assign
                built = self._region(open_mask, assign, region, hd, nearest)
                if built is None:
                    continue
                sub, free, cand, start = built
                if (assign.tobytes() + key) in tried:
                    continue
                upper = int(sub.cost[np.arange(len(free)), start].sum())
                allowed, bound = _fix_by_reduced_cost(sub, upper, 1, 0)
                if bound is None or upper - bound <= 1e-6 * max(1, upper):
                    continue
                allowed[np.arange(len(free)), start] = True
                regions.append((-(upper - bound), len(regions), region, sub, free, cand, start, allowed))
            regions.sort(key=lambda r: (r[0], r[1]))
            improved = False
            for _, _, region, sub, free, cand, start, allowed in regions:
                if self._time_left() <= 0 or solved >= self.lns_mips:
                    return open_mask, assign
                solved += 1
                tried.add(assign.tobytes() + region.tobytes())
                status, sub_assign, _ = _solve_highs(
                    sub, allowed, max(0.05, min(self.lns_time, self._time_left())),
                    1, start, 0, max_nodes=self.lns_nodes,
                )
                if status not in ("optimal", "feasible") or sub_assign is None:
                    continue
                trial = assign.copy()
                trial[free] = cand[sub_assign]
                new_value = cp.objective(trial)
                if new_value >= value:
                    continue
                # The region keeps its number of open halls: the ones the MIP seats people in, plus
                # (if it left some empty) region halls to make up the count.
                new_mask = open_mask.copy()
                new_mask[region] = False
                new_mask[trial] = True
                new_mask |= cp.forced
                extra = self.k - int(new_mask.sum())
                if extra < 0:
                    continue
                if extra:
                    spare = [j for j in region if not new_mask[j]]
                    new_mask[spare[:extra]] = True
                open_mask, assign, value = new_mask, trial, new_value
                improved = True
                break
            if not improved:
                break
        return open_mask, assign


def _polish(cost: np.ndarray, size: np.ndarray, cap: np.ndarray, a: np.ndarray) -> np.ndarray:
    """Alternate exact pairwise exchange and shift/swap search until neither lowers the cost."""
    rows = np.arange(len(a))
    value = float(cost[rows, a].sum())
    while True:
        a = _pair_exchange(cost, size, cap, a)
        a = _gap_local_search(cost, size, cap, a)
        new = float(cost[rows, a].sum())
        if new >= value - 1e-6:
            return a
        value = new


def _pair_exchange(
    cost: np.ndarray, size: np.ndarray, cap: np.ndarray, a: np.ndarray, near: int = 4
) -> np.ndarray:
    """Re-split the units of two halls between them optimally, for every pair of neighbouring halls.

    Neighbours: some unit of one has the other among its ``near`` cheapest halls. A pair is looked at
    again only after one of its halls changed.
    """
    k = cost.shape[1]
    if k < 2:
        return a
    nearest = np.argsort(cost, axis=1, kind="stable")[:, :near]
    reachable = np.isfinite(np.take_along_axis(cost, nearest, axis=1))
    dirty = np.ones(k, dtype=bool)
    while dirty.any():
        g = np.broadcast_to(a[:, None], nearest.shape)
        ok = reachable & (nearest != g) & (dirty[g] | dirty[nearest])
        lo, hi = np.minimum(g, nearest)[ok], np.maximum(g, nearest)[ok]
        dirty[:] = False
        for code in np.unique(lo * k + hi):
            g1, h1 = divmod(int(code), k)
            new = _pair_split(cost, size, cap, a, g1, h1)
            if new is not None:
                a = new
                dirty[g1] = dirty[h1] = True
    return a


def _pair_split(cost: np.ndarray, size: np.ndarray, cap: np.ndarray, a: np.ndarray, g: int, h: int):
    """Optimal split of the units now in halls g and h between the two (a knapsack by dynamic programming).

    Returns the new assignment if it is cheaper, else None.
    """
    units = np.flatnonzero((a == g) | (a == h))
    if len(units) < 2:
        return None
    cg, ch, s = cost[units, g], cost[units, h], size[units]
    to_h = ~np.isfinite(cg)  # units that cannot sit in g
    stay = ~np.isfinite(ch)
    if (to_h & stay).any():
        return None
    width = int(cap[h])
    base = int(s[to_h].sum())
    low = max(0, int(s.sum()) - int(cap[g]))  # seats h must take so that g is not overfull
    if base > width or low > width:
        return None
    free = np.flatnonzero(~to_h & ~stay)
    best = np.full(width + 1, np.inf)  # best[w]: least extra cost with exactly w people in h
    best[base] = 0.0
    took = np.zeros((len(free), width + 1), dtype=bool)
    extra = ch - cg
    for r, i in enumerate(free):
        w = int(s[i])
        if w > width:
            continue
        candidate = best[: width + 1 - w] + extra[i]
        better = candidate < best[w:]
        took[r, w:] = better
        np.minimum(best[w:], candidate, out=best[w:])
    w = low + int(np.argmin(best[low:]))
    now = float(np.where(a[units] == g, cg, ch).sum())
    new_cost = float(cg[~to_h].sum() + ch[to_h].sum()) + best[w]
    if not new_cost < now - 1e-6:
        return None
    in_h = to_h.copy()
    for r in range(len(free) - 1, -1, -1):
        if took[r, w]:
            in_h[free[r]] = True
            w -= int(s[free[r]])
    out = a.copy()
    out[units] = np.where(in_h, h, g)
    return out


def _gap_local_search(
    cost: np.ndarray,
    size: np.ndarray,
    cap: np.ndarray,
    a: np.ndarray,
    weight: float | None = None,
    max_rounds: int = 10_000,
) -> np.ndarray | None:
    """Generalised-assignment local search: best shift, swap or 2-chain until none helps.

    With ``weight`` None, one person of overflow outweighs any travel saving: the search first empties
    overfull halls, then lowers cost, and returns None if some hall stays overfull. A finite
    ``weight`` (per person of overflow) lets it trade overflow for travel and returns what it reaches.
    """
    n, k = cost.shape
    rows = np.arange(n)
    sf = size.astype(float)
    strict = weight is None
    if strict:
        finite = cost[np.isfinite(cost)]
        weight = 4.0 * (float(finite.max()) if finite.size else 0.0) + 1.0
    cur_cost = cost[rows, a]
    # Pair moves are n² work: only units with a near-tied second hall start one.
    width = min(n, 48)
    for _ in range(max_rounds):
        load = np.bincount(a, weights=sf, minlength=k)
        excess = load - cap
        over = np.maximum(0.0, excess)
        # shift i → g
        src_over = np.maximum(0.0, excess[a] - sf) - over[a]
        dst_over = np.maximum(0.0, excess[None, :] + sf[:, None]) - over[None, :]
        shift = (cost - cur_cost[:, None]) + weight * (src_over[:, None] + dst_over)
        shift[rows, a] = np.inf
        si = int(np.argmin(shift))
        if shift.flat[si] < -1e-9:
            i, g = divmod(si, k)
            a[i] = g
            cur_cost[i] = cost[i, g]
            continue
        if k < 2:
            break
        regret = np.min(np.where(np.isfinite(shift), shift, np.inf), axis=1)
        starters = np.argsort(regret, kind="stable")[:width]
        x = cost[starters][:, a]  # x[r, j] = cost of starter r at j's hall
        mine = a[starters]
        diff = sf[None, :] - sf[starters][:, None]  # s_j - s_i: the change at i's hall in a swap
        same = mine[:, None] == a[None, :]
        with np.errstate(invalid="ignore"):
            # swap i ↔ j
            over_i = np.maximum(0.0, excess[mine][:, None] + diff) - over[mine][:, None]
            over_j = np.maximum(0.0, excess[a][None, :] - diff) - over[a][None, :]
            back = cost[rows[None, :], mine[:, None]]  # cost of j at i's hall
            swap = x + back - cur_cost[starters][:, None] - cur_cost[None, :] + weight * (over_i + over_j)
            swap[same] = np.inf
            # chain: i → hall(j), j → its best other hall c ≠ hall(i)
            two = np.argpartition(shift, 1, axis=1)[:, :2] if k > 2 else np.argsort(shift, axis=1)[:, :2]
            two_val = np.take_along_axis(shift, two, axis=1)
            flip = two_val[:, 1] < two_val[:, 0]
            two[flip] = two[flip][:, ::-1]
            two_val[flip] = two_val[flip][:, ::-1]
            clash = two[None, :, 0] == mine[:, None]
            j_move = np.where(clash, two_val[None, :, 1], two_val[None, :, 0])
            j_to = np.where(clash, two[None, :, 1], two[None, :, 0])
            # j_move counts j leaving its hall alone; that hall also receives i.
            solo_leave = np.maximum(0.0, excess[a] - sf) - over[a]
            both = (
                np.maximum(0.0, excess[a][None, :] - sf[None, :] + sf[starters][:, None]) - over[a][None, :]
            )
            chain = (
                x
                - cur_cost[starters][:, None]
                + weight * src_over[starters][:, None]
                + j_move
                + weight * (both - solo_leave[None, :])
            )
            chain[same] = np.inf
        swap = np.where(np.isnan(swap), np.inf, swap)
        chain = np.where(np.isnan(chain) | (k < 3), np.inf, chain)
        sj, cj = int(np.argmin(swap)), int(np.argmin(chain))
        if min(swap.flat[sj], chain.flat[cj]) >= -1e-9:
            break
        if swap.flat[sj] <= chain.flat[cj]:
            r, j = divmod(sj, n)
            i = int(starters[r])
            a[i], a[j] = a[j], a[i]
        else:
            r, j = divmod(cj, n)
            i = int(starters[r])
            a[i], a[j] = a[j], int(j_to[r, j])
        cur_cost[i], cur_cost[j] = cost[i, a[i]], cost[j, a[j]]
    if strict and (
        (np.bincount(a, weights=sf, minlength=k) > cap).any() or not np.isfinite(cost[rows, a]).all()
    ):
        return None
    return a


def _no_assignment(cp: CompiledProblem) -> PlanInfeasible:
    return PlanInfeasible(
        "no_feasible_assignment",
        f"Không tìm được cách xếp các đoàn vào {_n(cp.k)} điểm cầu mà không vượt sức chứa: tổng số chỗ "
        "đủ nhưng các đoàn không chia vừa các hội trường. Hãy tăng số điểm cầu hoặc sức chứa, "
        "hoặc chạy lời giải chính xác để có kết luận chắc chắn.",
        [{"needed": int(cp.unit_size.sum()), "k": cp.k}],
    )


def plan(problem: PlanProblem, *, seed: int = 0, effort: float = 1.0) -> Plan:
    """Propose a plan quickly with the heuristic; the same ``seed`` and input give the same plan.

    ``effort`` scales the number of candidate swaps judged per step and of restarts.
    """
    started = perf_counter()
    cp = compile_problem(problem)
    open_idx, assign = _Search(cp, seed, effort).run()
    return cp.make_plan(open_idx, assign, method="heuristic", started=started)


def _plan_one(args):
    problem, seed, effort = args
    try:
        return plan(problem, seed=seed, effort=effort)
    except PlanInfeasible as exc:
        return exc


def plan_many(
    problems: Sequence[PlanProblem], *, workers: int = 2, seed: int = 0, effort: float = 1.0
) -> list[Plan | PlanInfeasible]:
    """Plan independent requests (e.g. one per district) in a process pool; errors come back, not raised."""
    jobs = [(p, seed, effort) for p in problems]
    if workers <= 1 or len(jobs) <= 1:
        return [_plan_one(job) for job in jobs]
    chunk = max(1, len(jobs) // (workers * 8))
    with ProcessPoolExecutor(max_workers=workers) as pool:
        return list(pool.map(_plan_one, jobs, chunksize=chunk))
