"""The planner's input and output, and the integer model both solvers work on.

A request is a ``PlanProblem`` (halls, institutions, K and the constraints); ``planner_compile``
validates it into a ``CompiledProblem`` (units = institutions merged by ``together``, candidate
halls, the cost matrix in person-metres, seats); a ``Plan`` is the answer. ``PlanInfeasible``
explains input that cannot be planned (stable ``code``, Vietnamese ``message``, ``details``).
"""

from __future__ import annotations

from collections.abc import Collection, Hashable, Mapping, Sequence
from dataclasses import dataclass, field
from time import perf_counter

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


def whole_number(value) -> str:
    """Format a whole number the Vietnamese way: 3.200, not 3,200."""
    return f"{int(value):,}".replace(",", ".")


def listed_ids(values, limit: int = 5) -> str:
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
