"""The bridge-point planner (lập phương án điểm cầu): choose K halls, send every institution to one.

The problem is the unsplittable capacitated p-median: open exactly K of the candidate halls and
assign each institution's whole delegation to one open hall, within the hall's seats, so that the
total travel (people × km) is least. Organisers add constraints: halls that must be open, schools
pinned to a hall, schools that go together, no crossing of a subtree boundary, halls that serve
only some sessions, and road distances in place of great-circle ones.

The request and its integer model are in ``planner_model.py``. ``plan`` is the fast heuristic
(this module; its assignment moves in ``planner_moves.py``); ``planner_exact.plan_exact`` solves
the same compiled model exactly. docs/planner.md explains the algorithm and its measured quality.
"""

from __future__ import annotations

from collections.abc import Sequence
from concurrent.futures import ProcessPoolExecutor
from time import perf_counter, process_time
from typing import NamedTuple

import numpy as np

from .planner_compile import compile_problem
from .planner_exact import fix_by_reduced_cost, solve_highs
from .planner_model import CompiledProblem, Plan, PlanInfeasible, PlanProblem, whole_number
from .planner_moves import gap_local_search, polish

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
                a = gap_local_search(cost, self.s, cap, a, weight=mult * scale)
            a = gap_local_search(cost, self.s, cap, a)
            if a is None:
                continue
            a = polish(cost, self.s, cap, a)
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
                allowed, bound = fix_by_reduced_cost(sub, upper, 1, 0)
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
                status, sub_assign, _ = solve_highs(
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


def _no_assignment(cp: CompiledProblem) -> PlanInfeasible:
    return PlanInfeasible(
        "no_feasible_assignment",
        f"Không tìm được cách xếp các đoàn vào {whole_number(cp.k)} điểm cầu mà không vượt sức chứa: tổng số chỗ "
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
