"""Background analyses of a conference's opinions: opinion groups from the votes, proposed topics.

Each starts as a :mod:`diemcau.core.tasks` job (progress shown on the page that started it, and
over ``/ws/jobs/<id>/``) and stores its result in the database: an :class:`OpinionGroupsRun`, or
:class:`TopicProposal` rows. The engines are :mod:`groups` and :mod:`topics`.

Who may start them: opinion groups, whoever may read the policy summary (analysts, organisers,
moderators), over the votes of their own subtree; topic proposals, the topic editors.
"""

import numpy as np
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from diemcau.core import audit, tasks
from diemcau.core.errors import DomainError, ScopeError
from diemcau.events import access as event_access
from diemcau.events.models import Conference
from diemcau.orgs.models import Role, Unit
from diemcau.orgs.scoping import SYSTEM, scope_for

from . import access, topic_list
from . import groups as group_engine
from . import topics as topic_engine
from .models import Opinion, OpinionGroupsRun, TopicProposal, Vote

GROUPS_JOB = "voice.opinion_groups"
PROPOSALS_JOB = "voice.propose_topics"
ANALYST_ROLES = (Role.ANALYST, Role.NATIONAL_ORGANISER, Role.UNIT_ORGANISER, Role.MODERATOR, Role.DIRECTOR)
SCATTER_POINTS = 1500  # participants drawn on the map (a seeded sample)
MIN_VOTES = 3  # votes a participant needs to be placed in a group (Pol.is uses 7 on long lists)


def can_analyse(user) -> bool:
    return user is SYSTEM or scope_for(user).has_role(*ANALYST_ROLES)


def analysis_unit(user, unit: Unit | None = None) -> Unit:
    """The subtree an analysis covers: ``unit`` if in the user's scope, else the top of their scope."""
    if not can_analyse(user):
        raise ScopeError()
    if user is SYSTEM:
        return unit or Unit.objects.filter(parent__isnull=True).order_by("path").first()
    scope = scope_for(user)
    if unit is not None:
        return scope.require(unit)
    top = scope.roots().order_by("depth", "path").first()
    if top is None:
        raise ScopeError()
    return top


# --- opinion groups -----------------------------------------------------------------------------

def start_groups(user, conference, unit: Unit | None = None) -> OpinionGroupsRun:
    """Queue the computation of opinion groups over the votes of the user's subtree."""
    event_access.require_sees(user, conference)
    unit = analysis_unit(user, unit)
    with transaction.atomic():
        run = OpinionGroupsRun.objects.create(conference=conference, unit=unit,
                                              requested_by=user if getattr(user, "pk", None) else None)
        run.job = tasks.enqueue(GROUPS_JOB, owner=user, run=run.pk)
        run.save(update_fields=["job"])
        audit.record(user, "voice.groups.start", run, unit_path=unit.path)
    return run


def vote_matrix(conference, unit: Unit):
    """The agree/disagree/pass votes of the subtree's people on the conference's statements.

    Returns (VoteMatrix, person ids by row, opinion ids by column).
    """
    rows = Vote.objects.filter(
        opinion__conference=conference, opinion__kind=Opinion.Kind.OPINION, family="stance",
        opinion__status__in=access.VISIBLE, person__unit__path__startswith=unit.path,
    ).values_list("person_id", "opinion_id", "kind")
    people, statements, p_idx, s_idx, values = {}, {}, [], [], []
    sign = {Vote.Kind.AGREE: 1, Vote.Kind.DISAGREE: -1, Vote.Kind.PASS: 0}
    for person_id, opinion_id, kind in rows.iterator(chunk_size=20000):
        p_idx.append(people.setdefault(person_id, len(people)))
        s_idx.append(statements.setdefault(opinion_id, len(statements)))
        values.append(sign[kind])
    matrix = group_engine.VoteMatrix.from_triples(np.array(p_idx, dtype=np.int64), np.array(s_idx, dtype=np.int64),
                                                  np.array(values, dtype=np.int8), len(people), len(statements))
    return matrix, list(people), list(statements)


def compute_groups(run: OpinionGroupsRun, progress=None) -> dict:
    """Compute and store a run's opinion groups; a refusal (too few votes) is stored as its error."""
    progress = progress or (lambda *a, **k: None)
    progress(0, 100, _("Reading the votes"))
    matrix, _people, statements = vote_matrix(run.conference, run.unit)
    n, m = matrix.shape
    if m < 3 or n < 6:
        raise DomainError(_("Too few votes to find opinion groups yet: %(n)d people voted on %(m)d statements.")
                          % {"n": n, "m": m}, "too_few_votes")

    def engine_progress(done, total, message):
        progress(int(100 * done / max(total, 1)), 100, message)

    try:
        found = group_engine.find_opinion_groups(matrix, k_range=(2, min(6, max(2, n // 10))), min_votes=MIN_VOTES,
                                                 n_representative=5, n_consensus=8, progress=engine_progress)
    except ValueError:
        raise DomainError(_("Too few people voted on enough statements to find opinion groups."),
                          "too_few_votes") from None
    texts = dict(Opinion.objects.filter(pk__in=statements).values_list("pk", "text"))

    def statement(i):
        return {"opinion": statements[i], "text": texts.get(statements[i], "")}

    groups = []
    for g in range(found.k):
        reps = [{**statement(r.statement), "direction": r.direction, "group_pct": round(100 * r.group_rate),
                 "rest_pct": round(100 * r.rest_rate)} for r in found.representative.get(g, [])]
        groups.append({"n": int(found.sizes[g]), "representative": reps})
    consensus = [{**statement(c.statement), "direction": c.direction,
                  "pcts": [round(100 * r) for r in c.rates]} for c in found.consensus + found.consensus_against]
    placed = np.flatnonzero(found.labels >= 0)
    rng = np.random.default_rng(0)
    if len(placed) > SCATTER_POINTS:
        placed = np.sort(rng.choice(placed, SCATTER_POINTS, replace=False))
    xy = found.projection[placed]
    scatter = [[round(float(x), 3), round(float(y), 3), int(found.labels[i])]
               for (x, y), i in zip(xy, placed, strict=True)]
    result = {
        "participants": n, "statements": m, "votes": int(matrix.matrix.nnz), "k": found.k,
        "placed": int((found.labels >= 0).sum()),
        "silhouettes": {str(k): round(v, 3) for k, v in found.silhouettes.items()},
        "explained": [round(float(e), 3) for e in found.explained[:2]],
        "groups": groups, "consensus": consensus, "scatter": scatter,
    }
    OpinionGroupsRun.objects.filter(pk=run.pk).update(status=OpinionGroupsRun.Status.DONE, result=result,
                                                      finished_at=timezone.now())
    return {"run": run.pk, "k": found.k, "participants": n}


@tasks.handler(GROUPS_JOB)
def groups_job(job, progress):
    run = OpinionGroupsRun.objects.select_related("conference", "unit").get(pk=job.params["run"])
    try:
        return compute_groups(run, progress)
    except Exception as exc:
        message = exc.message if isinstance(exc, DomainError) else f"{type(exc).__name__}: {exc}"
        OpinionGroupsRun.objects.filter(pk=run.pk).update(status=OpinionGroupsRun.Status.FAILED,
                                                          error=str(message)[:500], finished_at=timezone.now())
        raise


def latest_groups(user, conference, unit: Unit | None = None) -> OpinionGroupsRun | None:
    """The latest run over the user's subtree (or ``unit``), finished or not."""
    try:
        unit = analysis_unit(user, unit)
    except ScopeError:
        return None
    return OpinionGroupsRun.objects.filter(conference=conference, unit=unit).select_related("job").first()


def latest_done_groups(user, conference, unit: Unit | None = None) -> OpinionGroupsRun | None:
    try:
        unit = analysis_unit(user, unit)
    except ScopeError:
        return None
    return OpinionGroupsRun.objects.filter(conference=conference, unit=unit,
                                           status=OpinionGroupsRun.Status.DONE).first()


# --- proposed topics ----------------------------------------------------------------------------

def start_topic_proposals(user, conference):
    """Queue the search for new topics among the items no topic fits."""
    access.require_topic_editor(user, conference)
    with transaction.atomic():
        job = tasks.enqueue(PROPOSALS_JOB, owner=user, conference=conference.pk)
        audit.record(user, "voice.topic.propose", conference, unit_path=conference.host_unit.path)
    return job


def propose(conference, progress=None, job=None) -> list[TopicProposal]:
    """Cluster the items the current topics fit badly; store each cluster as a proposal."""
    progress = progress or (lambda *a, **k: None)
    progress(0, 3, _("Reading the items"))
    rows = list(Opinion.objects.filter(conference=conference).exclude(status=Opinion.Status.REJECTED)
                .order_by("pk").values_list("pk", "text")[:20000])
    if not rows:
        return []
    suggester = topic_list._suggester(conference)
    progress(1, 3, _("Clustering the items no topic fits"))
    found = topic_engine.propose_topics([t for _pk, t in rows], suggester=suggester, min_size=4)
    progress(2, 3, _("Naming the clusters"))
    existing = {n.lower() for n in conference.voice_topics.values_list("name", flat=True)}
    with transaction.atomic():
        # Earlier proposals not acted on are replaced by this run's.
        TopicProposal.objects.filter(conference=conference, status=TopicProposal.Status.PROPOSED).delete()
        made = [TopicProposal.objects.create(
            conference=conference, job=job, name=p.name[:200], terms=list(p.terms),
            members=[rows[i][0] for i in p.members], cohesion=float(p.cohesion))
            for p in found[:12] if p.name.lower() not in existing]
    progress(3, 3, _("Done"))
    return made


@tasks.handler(PROPOSALS_JOB)
def proposals_job(job, progress):
    conference = Conference.objects.select_related("host_unit").get(pk=job.params["conference"])
    made = propose(conference, progress, job=job)
    return {"proposals": len(made)}


def proposals(conference):
    return TopicProposal.objects.filter(conference=conference, status=TopicProposal.Status.PROPOSED)


def proposal_samples(proposal: TopicProposal, n: int = 3) -> list[str]:
    return list(Opinion.objects.filter(pk__in=proposal.members[:n]).values_list("text", flat=True))
