"""Pages of the organisation tree: browse, search, a unit and its people. Thin: services decide."""

from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.db.models import Count
from django.shortcuts import get_object_or_404, render

from diemcau.core.vntext import by_name, people_order
from diemcau.orgs.scoping import scope_for

from . import services
from .models import Person, Unit


def _visible_unit(request, pk) -> Unit:
    """The unit ``pk`` if the user may see it; 404 otherwise (no hint that it exists)."""
    return get_object_or_404(scope_for(request.user).units(), pk=pk)


def _with_child_counts(qs):
    return qs.annotate(n_children=Count("children"))


@login_required
def tree(request):
    """The user's part of the tree, top units first; rows expand on demand."""
    scope = scope_for(request.user)
    if scope.is_empty:
        raise PermissionDenied
    roots = _with_child_counts(scope.roots()).order_by(by_name())
    return render(request, "orgs/tree.html", {"roots": roots, "q": request.GET.get("q", "")})


@login_required
def children(request, pk):
    """The child rows of one unit (an htmx fragment)."""
    unit = _visible_unit(request, pk)
    rows = _with_child_counts(unit.children.filter(is_active=True)).order_by("kind", by_name())
    return render(request, "orgs/_tree_rows.html", {"units": rows, "parent": unit})


@login_required
def search(request):
    """Units whose name or code contain the typed words, diacritics and case ignored."""
    q = request.GET.get("q", "")[:100]
    results = list(services.search_units(request.user, q, limit=50)) if q.strip() else []
    paths = {a for u in results for a in u.ancestor_ids()[:-1]}
    names = dict(Unit.objects.filter(pk__in=paths).values_list("pk", "name"))
    for u in results:
        u.trail = [names[i] for i in u.ancestor_ids()[:-1] if i in names]
    template = "orgs/_search_results.html" if request.headers.get("HX-Request") else "orgs/search.html"
    return render(request, template, {"results": results, "q": q})


@login_required
def unit_detail(request, pk):
    unit = _visible_unit(request, pk)
    scope = scope_for(request.user)
    trail = [a for a in services.ancestors(unit) if scope.can_see(a)]
    kids = _with_child_counts(unit.children.all()).order_by("kind", by_name())
    page = Paginator(kids, 100).get_page(request.GET.get("page"))
    return render(request, "orgs/unit_detail.html", {
        "unit": unit,
        "trail": trail,
        "page": page,
        "counts": services.unit_counts(unit),
        "can_change": scope.can_change(unit),
        "can_change_people": scope.can_change_people(unit),
    })


@login_required
def people_list(request, pk):
    """People of a unit's subtree, searchable and filterable by category."""
    unit = _visible_unit(request, pk)
    q = request.GET.get("q", "")[:100]
    category = request.GET.get("category", "")
    qs = services.search_people(request.user, q, within=unit).select_related("unit")
    if category in Person.Category.values:
        qs = qs.filter(category=category)
    page = Paginator(qs.order_by("unit__path", "category", *people_order()), 50).get_page(request.GET.get("page"))
    context = {"unit": unit, "page": page, "q": q, "category": category,
               "categories": Person.Category.choices,
               "contacts": services.can_see_contacts(request.user, unit)}
    if request.headers.get("HX-Request"):
        return render(request, "orgs/_people_rows.html", context)
    return render(request, "orgs/people_list.html", context)
