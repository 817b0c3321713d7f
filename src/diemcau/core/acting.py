"""Who the running code acts for: the guard under scoped queries (the scope itself is ``orgs.scoping``).

A context variable holds the active actor: a user's scope (activated by ``orgs.scoping``: the
request middleware, consumers per message) or the system, with the reason it acts for nobody in
particular (jobs, commands, loaders, the media runtime). Scoped models refuse a query when nothing
is active (:class:`ScopeMissing`): forgetting the scope is an error, never a leak. Reading the
variable is the whole cost of the guard. Context variables follow ``asyncio`` tasks and asgiref's
``sync_to_async``; a new thread starts with nothing active and must activate its own.
"""

import contextlib
from contextvars import ContextVar


class ScopeMissing(RuntimeError):
    """A scoped model was queried with no active scope: a programming error, never a user's."""


class Activation:
    """What is active: the system actor when ``reason`` is set (subclasses carry a user's scope)."""

    __slots__ = ("memo", "reason")

    def __init__(self, reason: str = ""):
        self.reason = reason
        # What the scope module built for the users acted upon during this activation (a job acting
        # for its owner, a test), so each is built once per activation and never on a user object.
        self.memo: dict = {}

    @property
    def is_system(self) -> bool:
        return bool(self.reason)


_active: ContextVar[Activation | None] = ContextVar("diemcau_actor", default=None)


@contextlib.contextmanager
def activate(activation: Activation):
    """Make ``activation`` the active actor for the block (nested blocks restore the outer one)."""
    token = _active.set(activation)
    try:
        yield activation
    finally:
        _active.reset(token)


def system_scope(reason: str):
    """Act as the system for a block: jobs, commands, loaders, the media runtime.

    ``reason`` says why the block acts for nobody in particular (it shows in the guard's errors).
    """
    if not reason:
        raise ValueError("system_scope needs a reason")
    return activate(Activation(reason))


def current() -> Activation | None:
    """The active actor, or ``None``."""
    return _active.get()


def require_active(what: str = "A scoped model") -> None:
    """Raise :class:`ScopeMissing` unless a scope or the system is active (one context read)."""
    if _active.get() is None:
        raise ScopeMissing(
            f"{what} was queried with no active scope: wrap the code in orgs.scoping.acting_as(user) "
            'or core.acting.system_scope("why") (docs/ARCHITECTURE.md, "Access and scope")')
