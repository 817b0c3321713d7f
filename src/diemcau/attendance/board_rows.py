"""The attendance board (bảng theo dõi điểm danh) as rows, so that the websocket sends only what changed.

:func:`frame` turns :func:`.board.board_data` into a :class:`diemcau.core.hub_deltas.Frame`: one row per
child unit, bridge point, incomplete delegation and institution with nobody present, plus the board's
single parts (totals, chart, counts, notes, the time of the figures), each as plain data under the id
its element carries in the page (``b-point-12``, ``b-totals``). :func:`render_rows` renders rows
(``board_rows/<kind>.html``) and :func:`compose` lays rendered rows out as the board
(``board_live.html``): the page, the poll view and a websocket snapshot are that same composition. A
row of a list carries ``data-in`` (its table body) and ``data-order`` (where it goes), so the browser
puts a new row in place without the server sending the others again (``static/attendance/board.js``);
every table is always on the page (hidden while empty), so a list that empties or fills is rows too.
"""

from __future__ import annotations

import datetime

from django.contrib.humanize.templatetags.humanize import intcomma
from django.template.defaultfilters import floatformat
from django.template.loader import render_to_string
from django.utils.safestring import mark_safe
from django.utils.translation import gettext as _

from diemcau.core.hub_deltas import Frame
from diemcau.orgs.models import Person

from . import board

LISTS = ("child", "point", "breach", "missing")


def frame(data: dict) -> Frame:
    """The board's rows (display order), figures and layout from :func:`.board.board_data`'s ``data``."""
    rows: dict[str, dict] = {"b-totals": {
        "k": "totals", "expected": data["expected"], "present": data["present"], "absent": data["absent"],
        "percentage": data["percentage"], "bar": data["bar"],
        "by_category": {c["key"]: c["n"] for c in data["by_category"]}}}
    for n, c in enumerate(data["children"]):  # by name, as the roll-up lists them
        rows[f"b-child-{c['unit_id']}"] = {"k": "child", "o": f"{n:05d}", **_pick(
            c, "unit_id", "unit", "present", "expected", "percentage", "bar")}
    for p in data["points"]:
        rows[f"b-point-{p['point_id']}"] = {"k": "point", "o": f"{p['path']} {p['point']}", **_pick(
            p, "point_id", "point", "present", "expected", "percentage", "bar", "headcount")}
    rows["b-points-note"] = {"k": "points_note", "shown": len(data["points"]), "total": data["points_total"]}
    rows["b-chart"] = {"k": "chart", "chart": data["chart"]}
    rows["b-compliance"] = {"k": "compliance", "complete": data["compliance_complete"],
                            "breaches": data["breaches_total"], "total": data["compliance_total"],
                            "institutions": data["institutions_total"]}
    for b in data["breaches"]:
        rows[f"b-breach-{b['institution_id']}"] = {"k": "breach", "o": b["path"],
                                                   "institution": b["institution"], "missing": b["missing"]}
    rows["b-breaches-note"] = {"k": "breaches_note", "shown": len(data["breaches"]), "total": data["breaches_total"]}
    rows["b-missing-count"] = {"k": "missing_count", "total": data["missing_total"]}
    for m in data["missing_institutions"]:
        rows[f"b-missing-{m['institution_id']}"] = {"k": "missing", "o": m["path"], **_pick(
            m, "institution", "parent", "expected")}
    rows["b-missing-note"] = {"k": "missing_note", "shown": len(data["missing_institutions"]),
                              "total": data["missing_total"]}
    for name, kind, listed in (("children", "child", data["children"]), ("points", "point", data["points"]),
                               ("missing", "missing", data["missing_institutions"])):
        rows[f"b-{name}-empty"] = {"k": "empty", "list": kind, "rows": bool(listed)}
    rows["b-updated"] = {"k": "updated", "at": data["computed_at"].isoformat()}
    return Frame(rows=rows, figures=board.figures(data), quiet=frozenset({"b-updated"}))


def _pick(row: dict, *names) -> dict:
    return {name: row[name] for name in names}


def render_row(row_id: str, row: dict, session_id: int) -> str:
    """One row's HTML in the active language."""
    context = {"id": row_id, "r": row, "sid": session_id}
    kind = row["k"]
    if kind == "totals":
        context["categories"] = [{"key": key, "label": label, "n": row["by_category"].get(key, 0)}
                                 for key, label in Person.Category.choices]
    elif kind == "breach":
        context["missing_text"] = board.missing_text(row["missing"])
    elif kind == "chart" and row["chart"]:
        context["counts"] = " ".join(map(str, row["chart"]["counts"]))
    elif kind == "updated":
        context["at"] = datetime.datetime.fromisoformat(row["at"])
    return render_to_string(f"attendance/board_rows/{kind}.html", context).strip()


# A row of these kinds whose only change is its figures goes as those figures, formatted, not as HTML.
PATCHED = ("child", "point")
FIGURES = frozenset({"present", "expected", "percentage", "bar"})


def patch_row(old: dict | None, new: dict) -> dict | None:
    """The changed figures of a unit's or point's row, of the totals or of the chart, in the active
    language (``board.js`` writes them into the elements marked ``data-f``), or None when more than
    its figures changed (then: its HTML).

    On the ministry's board during the national morning every department's and point's row, the totals
    and the chart change every tick: ~60 bytes a row instead of ~500, ~250 for the totals instead of
    ~1,400 and ~200 for the chart instead of ~1,000, for every viewer at every tick.
    """
    if old is None or old.get("k") != new["k"]:
        return None
    if new["k"] == "totals":
        return _patch_totals(new)
    if new["k"] == "chart":
        return _patch_chart(old["chart"], new["chart"])
    if new["k"] not in PATCHED:
        return None
    if any(old.get(name) != value for name, value in new.items() if name not in FIGURES):
        return None
    bar = new["bar"]
    return {"present": intcomma(new["present"]), "expected": intcomma(new["expected"]),
            "pct": _pct(new["percentage"]),
            "bar": [round(bar, 1), "good" if bar >= 90 else "low" if bar < 50 else ""]}


def _pct(percentage) -> str:
    return floatformat(percentage, 1) if percentage is not None else "—"


def _patch_totals(new: dict) -> dict:
    """The totals' figures as ``totals.html`` writes them (the same filters, the same language)."""
    out = {"expected": intcomma(new["expected"]), "present": intcomma(new["present"]),
           "percentage": f"{_pct(new['percentage'])} %" if new["percentage"] is not None else "—",
           "absent": intcomma(new["absent"])}
    for key, _label in Person.Category.choices:
        out[f"cat-{key}"] = intcomma(new["by_category"].get(key, 0))
    bar = new["bar"]
    out["totalbar"] = [round(bar, 1), "bar done" if bar >= 100 else "bar"]
    return out


def _patch_chart(old: dict | None, new: dict | None) -> dict | None:
    """The chart's numbers and its two sentences, when its bars keep their width (else: its HTML)."""
    if not old or not new or old["step"] != new["step"]:
        return None
    return {"chart": {
        "counts": " ".join(map(str, new["counts"])), "start": new["start"], "scale": new["scale"],
        "reference": new["reference"],
        "label": _("%(total)s arrivals since %(from)s") % {"total": new["total"], "from": new["from"]},
        "sum": _("%(total)s people; busiest step %(peak)s") % {"total": intcomma(new["total"]),
                                                               "peak": intcomma(new["peak"])}}}


def render_rows(frame: Frame, row_ids, session_id: int) -> dict[str, str]:
    """The HTML of ``row_ids`` of ``frame`` in the active language."""
    return {row_id: render_row(row_id, frame.rows[row_id], session_id) for row_id in row_ids}


def compose(frame: Frame, rendered: dict[str, str]) -> str:
    """The board's HTML (inside ``#board-live``) from every rendered row of ``frame``, in the active language."""
    one, lists = {}, {kind: [] for kind in LISTS}
    for row_id, row in frame.rows.items():
        html = mark_safe(rendered[row_id])  # noqa: S308 -- rendered by our templates, escaped there
        if row["k"] in lists:
            lists[row["k"]].append(html)
        else:
            one[row_id.removeprefix("b-").replace("-", "_")] = html
    return render_to_string("attendance/board_live.html", {"one": one, "lists": lists})


def board_html(data: dict) -> str:
    """The whole board for a page or a poll, in the active language (the same HTML a snapshot carries)."""
    f = frame(data)
    return compose(f, render_rows(f, f.rows, data["session_id"]))
