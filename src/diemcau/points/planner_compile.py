"""From a planning request to the integer model: ``compile_problem``, a short story of steps.

Each step checks one thing and raises ``PlanInfeasible`` naming the halls and schools at fault:
unique ids and whole counts, fixed halls and pins, the session's halls, K, pins within their group,
keep-together units, one pin per unit, the integer model (costs, allowed pairs), then the seats
(per unit, per pinned hall, in all, per group).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .planner_model import (
    NOT_ALLOWED,
    CompiledProblem,
    Hall,
    Institution,
    PlanInfeasible,
    PlanProblem,
    great_circle_km,
    listed_ids,
    whole_number,
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
                    f"Khoảng cách nhập vào nhắc tới cặp không tồn tại: {listed_ids(unknown)}.",
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
    req = _Request.read(problem)
    fixed, pins = _fixed_and_pins(req)
    serving = _serving_halls(req, fixed, pins)
    k = _points_to_open(req, fixed, serving)
    _check_pins(req, pins, fixed)
    units = _units(req)
    unit_pin = _unit_pins(req, units, pins)
    forced_set = {req.hall_pos[h] for h in fixed} | {j for j in unit_pin if j is not None}
    if len(forced_set) > k:
        raise PlanInfeasible(
            "too_many_pinned_halls",
            f"Các trường được giữ và điểm cầu cố định chiếm {whole_number(len(forced_set))} hội trường "
            f"khác nhau, nhiều hơn số điểm cầu được mở ({whole_number(k)}).",
            [{"required_open": len(forced_set), "k": k}],
        )
    cand = sorted(forced_set) if len(forced_set) == k else serving
    cp = _integer_model(req, cand, units, unit_pin, forced_set, k)
    _check_capacity(cp, problem, [req.halls[j] for j in cand], req.insts, unit_pin,
                    {j: c for c, j in enumerate(cand)})
    return cp


@dataclass
class _Request:
    """A request being compiled: its halls and institutions in input order, their positions and counts."""

    problem: PlanProblem
    halls: list[Hall]
    insts: list[Institution]
    hall_pos: dict
    inst_pos: dict
    caps: list[int]
    sizes: list[int]

    @classmethod
    def read(cls, problem: PlanProblem) -> _Request:
        """Check the ids are unique and the counts whole numbers."""
        halls, insts = list(problem.halls), list(problem.institutions)
        for label, items in (("hội trường", halls), ("trường", insts)):
            seen, dup = set(), []
            for item in items:
                if item.id in seen:
                    dup.append(item.id)
                seen.add(item.id)
            if dup:
                raise PlanInfeasible(
                    "duplicate_id", f"Mã {label} bị trùng: {listed_ids(dup)}.", [{"id": x} for x in dup]
                )
        caps = [_as_count(h.capacity, "Sức chứa", h.id) for h in halls]
        sizes = [_as_count(i.size, "Số người", i.id) for i in insts]
        return cls(problem, halls, insts, {h.id: j for j, h in enumerate(halls)},
                   {i.id: j for j, i in enumerate(insts)}, caps, sizes)

    def serves(self, h: Hall) -> bool:
        """True when the hall serves the request's session."""
        session = self.problem.session
        return session is None or h.sessions is None or session in h.sessions

    def group_of_inst(self, inst_id):
        return self.insts[self.inst_pos[inst_id]].group

    def group_of_hall(self, hall_id):
        return self.halls[self.hall_pos[hall_id]].group


def _unknown(kind: str, ids):
    raise PlanInfeasible(
        "unknown_id", f"Không tìm thấy {kind}: {listed_ids(ids)}.", [{"id": x, "kind": kind} for x in ids]
    )


def _fixed_and_pins(req: _Request) -> tuple[list, dict]:
    """The fixed halls and the pins (institution → hall), every id known."""
    fixed = list(dict.fromkeys(req.problem.fixed))
    if bad := [x for x in fixed if x not in req.hall_pos]:
        _unknown("hội trường", bad)
    pins = dict(req.problem.pins)
    if bad := [x for x in pins if x not in req.inst_pos]:
        _unknown("trường", bad)
    if bad := sorted({h for h in pins.values() if h not in req.hall_pos}, key=str):
        _unknown("hội trường", bad)
    return fixed, pins


def _serving_halls(req: _Request, fixed: list, pins: dict) -> list[int]:
    """Positions of the halls that serve the session; fixed and pinned halls must be among them."""
    session = req.problem.session
    chosen = fixed + list(dict.fromkeys(pins.values()))
    if bad := [h for h in chosen if not req.serves(req.halls[req.hall_pos[h]])]:
        bad = list(dict.fromkeys(bad))
        raise PlanInfeasible(
            "hall_not_in_session",
            f"Hội trường {listed_ids(bad)} không phục vụ phiên {session} nhưng được chọn cố định "
            "hoặc có trường được giữ tại đó.",
            [{"hall": h, "session": session} for h in bad],
        )
    serving = [j for j, h in enumerate(req.halls) if req.serves(h)]
    if not serving:
        raise PlanInfeasible("no_halls", "Không có hội trường nào phục vụ phiên này.", [{"session": session}])
    return serving


def _points_to_open(req: _Request, fixed: list, serving: list[int]) -> int:
    """K: the request's, or the number of fixed halls when it gives none."""
    k = req.problem.k
    if k is None:
        if not fixed:
            raise PlanInfeasible(
                "missing_k", "Cần cho biết số điểm cầu cần mở hoặc danh sách điểm cầu cố định.", []
            )
        k = len(fixed)
    else:
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
        session = req.problem.session
        raise PlanInfeasible(
            "too_many_points",
            f"Yêu cầu mở {whole_number(k)} điểm cầu nhưng chỉ có {whole_number(len(serving))} hội trường "
            "được phép" + (f" cho phiên {session}." if session is not None else "."),
            [{"requested": k, "available_halls": len(serving)}],
        )
    return k


def _check_pins(req: _Request, pins: dict, fixed: list) -> None:
    """Pins go to halls that may open (the fixed ones when K is not given) and stay in their group."""
    if req.problem.k is None and (bad := [(i, h) for i, h in pins.items() if h not in set(fixed)]):
        raise PlanInfeasible(
            "pin_not_open",
            f"Có {len(bad)} trường được giữ tại hội trường không nằm trong danh sách điểm cầu cố định "
            f"({listed_ids(dict.fromkeys(h for _, h in bad))}).",
            [{"institution": i, "hall": h} for i, h in bad],
        )
    if req.problem.respect_groups and (
        bad := [(i, h) for i, h in pins.items() if req.group_of_inst(i) != req.group_of_hall(h)]
    ):
        raise PlanInfeasible(
            "pin_crosses_group",
            f"Có {len(bad)} trường được giữ tại hội trường ngoài phạm vi đơn vị của mình "
            f"(ví dụ trường {bad[0][0]} tại hội trường {bad[0][1]}).",
            [
                {"institution": i, "hall": h, "institution_group": req.group_of_inst(i),
                 "hall_group": req.group_of_hall(h)}
                for i, h in bad
            ],
        )


def _units(req: _Request) -> list[list[int]]:
    """Keep-together sets become units; a union-find merges sets that share a school."""
    parent = list(range(len(req.insts)))

    def root(x: int) -> int:
        while parent[x] != x:
            parent[x] = parent[parent[x]]
            x = parent[x]
        return x

    for group in req.problem.together:
        members = list(group)
        if bad := [x for x in members if x not in req.inst_pos]:
            _unknown("trường", bad)
        for x in members[1:]:
            a, b = root(req.inst_pos[members[0]]), root(req.inst_pos[x])
            if a != b:
                parent[max(a, b)] = min(a, b)
    by_root: dict[int, list[int]] = {}
    for i in range(len(req.insts)):
        by_root.setdefault(root(i), []).append(i)
    return list(by_root.values())


def _unit_pins(req: _Request, units: list[list[int]], pins: dict) -> list[int | None]:
    """The hall position each unit is pinned to (None: free); a unit's members agree and share a group."""
    unit_pin: list[int | None] = []
    for members in units:
        member_ids = [req.insts[i].id for i in members]
        pinned = {req.hall_pos[pins[x]] for x in member_ids if x in pins}
        if len(pinned) > 1:
            raise PlanInfeasible(
                "pin_conflict",
                f"Các trường phải đi cùng nhau ({listed_ids(member_ids)}) lại được giữ ở các hội trường "
                f"khác nhau ({listed_ids(req.halls[j].id for j in sorted(pinned))}).",
                [{"institutions": member_ids, "halls": [req.halls[j].id for j in sorted(pinned)]}],
            )
        if req.problem.respect_groups and len(groups := {req.insts[i].group for i in members}) > 1:
            raise PlanInfeasible(
                "together_crosses_group",
                f"Các trường phải đi cùng nhau ({listed_ids(member_ids)}) thuộc các đơn vị khác nhau "
                f"({listed_ids(sorted(groups, key=str))}), không thể giữ trong phạm vi.",
                [{"institutions": member_ids, "groups": sorted(groups, key=str)}],
            )
        unit_pin.append(pinned.pop() if pinned else None)
    return unit_pin


def _integer_model(req: _Request, cand: list[int], units: list[list[int]], unit_pin: list[int | None],
                   forced_set: set[int], k: int) -> CompiledProblem:
    """Costs in person-metres and the allowed (unit, hall) pairs over the candidate halls."""
    insts = req.insts
    dist = _distance_km(req.problem, [req.halls[j] for j in cand], insts)  # cand × inst
    allowed_inst = np.isfinite(dist)
    if req.problem.respect_groups:
        same = np.array([[req.halls[j].group == inst.group for inst in insts] for j in cand], dtype=bool)
        allowed_inst &= same
    metres = np.where(allowed_inst, np.rint(np.where(np.isfinite(dist), dist, 0) * 1000), 0).astype(np.int64)

    size_arr = np.array(req.sizes, dtype=np.int64)
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
    cap = np.array([req.caps[j] for j in cand], dtype=np.int64)
    forced = np.zeros(m, dtype=bool)
    forced[[cand_pos[j] for j in forced_set]] = True
    return CompiledProblem(
        [req.halls[j].id for j in cand],
        [i.id for i in insts],
        units,
        unit_size,
        np.where(allowed, cost, NOT_ALLOWED),
        allowed,
        cap,
        forced,
        k,
    )


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
            f"{whole_number(len(bad))} trường không có hội trường nào được phép đến "
            f"({listed_ids(x for u in bad for x in names(u))}): kiểm tra phạm vi đơn vị, phiên "
            "và khoảng cách.",
            [{"institutions": names(u), "group": insts[cp.units[u][0]].group} for u in bad],
        )
    best_cap = np.where(cp.allowed, cp.capacity[None, :], -1).max(axis=1)
    if bad := [u for u in range(cp.n_units) if cp.unit_size[u] > best_cap[u] and unit_pin[u] is None]:
        u = bad[0]
        together = len(cp.units[u]) > 1
        what = (
            f"Nhóm trường phải đi cùng nhau ({listed_ids(names(u))})"
            if together
            else f"Đoàn của trường {names(u)[0]}"
        )
        raise PlanInfeasible(
            "together_too_large" if together else "delegation_too_large",
            f"{what} có {whole_number(cp.unit_size[u])} người, lớn hơn hội trường lớn nhất được phép "
            f"({whole_number(best_cap[u])} chỗ).",
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
            f"Hội trường {cp.hall_ids[c]} có {whole_number(cp.capacity[c])} chỗ nhưng các trường được giữ tại đó "
            f"có {whole_number(load)} người, thừa {whole_number(load - cp.capacity[c])}.",
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
            f"Không đủ chỗ ngồi: cần {whole_number(need)} chỗ, {whole_number(cp.k)} hội trường lớn nhất "
            f"có thể mở chỉ có {whole_number(available)} chỗ, thiếu {whole_number(need - available)}.",
            [{"needed": need, "available": available, "missing": need - available, "k": cp.k}],
        )
    if problem.respect_groups:
        _check_group_capacity(cp, halls, insts)


def _check_group_capacity(cp: CompiledProblem, halls: list[Hall], insts: list[Institution]) -> None:
    """Each group (subtree) must seat its own delegations within K points in all."""
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
            f"đơn vị {r['group']}: cần {whole_number(r['needed'])}, có {whole_number(r['available'])}, "
            f"thiếu {whole_number(r['missing'])}"
            for r in short
        )
        raise PlanInfeasible(
            "not_enough_seats_in_group", f"Không đủ chỗ ngồi trong phạm vi đơn vị ({text}).", short
        )
    min_points = sum(r["min_points"] for r in rows)
    if min_points > cp.k:
        raise PlanInfeasible(
            "not_enough_points_for_groups",
            f"Để mỗi đơn vị đủ chỗ trong phạm vi của mình cần mở ít nhất {whole_number(min_points)} điểm cầu, "
            f"nhưng chỉ được mở {whole_number(cp.k)}.",
            [r for r in rows if r["min_points"]],
        )
