"""The planner's assignment moves: given the open halls, move and swap delegations between them.

Used by the heuristic (``planner._Search``) once the open set is chosen: a polish of single moves,
pair exchanges and splits, and a generalised-assignment local search.
"""

from __future__ import annotations

import numpy as np


def polish(cost: np.ndarray, size: np.ndarray, cap: np.ndarray, a: np.ndarray) -> np.ndarray:
    """Alternate exact pairwise exchange and shift/swap search until neither lowers the cost."""
    rows = np.arange(len(a))
    value = float(cost[rows, a].sum())
    while True:
        a = _pair_exchange(cost, size, cap, a)
        a = gap_local_search(cost, size, cap, a)
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


def _second_moves(shift: np.ndarray, mine: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    """For each starter (row) and unit j: j's best shift to a hall other than the starter's, and that hall."""
    two = np.argpartition(shift, 1, axis=1)[:, :2] if k > 2 else np.argsort(shift, axis=1)[:, :2]
    two_val = np.take_along_axis(shift, two, axis=1)
    flip = two_val[:, 1] < two_val[:, 0]
    two[flip] = two[flip][:, ::-1]
    two_val[flip] = two_val[flip][:, ::-1]
    clash = two[None, :, 0] == mine[:, None]
    j_move = np.where(clash, two_val[None, :, 1], two_val[None, :, 0])
    j_to = np.where(clash, two[None, :, 1], two[None, :, 0])
    return j_move, j_to


def gap_local_search(
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
            j_move, j_to = _second_moves(shift, mine, k)
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
