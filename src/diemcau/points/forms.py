"""Forms of the points pages: they parse input; the services decide what is allowed."""

import re

from django import forms
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from diemcau.core.vntext import reject_unsafe_chars, reject_unsafe_chars_multiline
from diemcau.orgs.models import Unit

from .models import BridgePoint, Hall


class HallForm(forms.Form):
    name = forms.CharField(label=gettext_lazy("Hall name"), max_length=200, validators=[reject_unsafe_chars])
    capacity = forms.IntegerField(label=gettext_lazy("Seats"), min_value=0)
    address = forms.CharField(label=gettext_lazy("Address"), max_length=300, required=False,
                              validators=[reject_unsafe_chars])
    latitude = forms.DecimalField(label=gettext_lazy("Latitude"), required=False, max_digits=9, decimal_places=6,
                                  help_text=gettext_lazy("Empty: the unit's coordinates."))
    longitude = forms.DecimalField(label=gettext_lazy("Longitude"), required=False, max_digits=9,
                                   decimal_places=6)

    @staticmethod
    def initial_for(hall: Hall) -> dict:
        return {f: getattr(hall, f) for f in ("name", "capacity", "address", "latitude", "longitude")}


class PointForm(forms.Form):
    name = forms.CharField(label=gettext_lazy("Name of the point"), max_length=300, required=False,
                           validators=[reject_unsafe_chars])
    contact_name = forms.CharField(label=gettext_lazy("Technical contact"), max_length=150, required=False,
                                   validators=[reject_unsafe_chars])
    contact_phone = forms.CharField(label=gettext_lazy("Contact phone"), max_length=20, required=False,
                                    validators=[reject_unsafe_chars])
    has_camera = forms.BooleanField(label=gettext_lazy("camera"), required=False)
    has_microphone = forms.BooleanField(label=gettext_lazy("microphone"), required=False)
    has_speakers = forms.BooleanField(label=gettext_lazy("speakers"), required=False)
    has_display = forms.BooleanField(label=gettext_lazy("screen or projector"), required=False)
    has_computer = forms.BooleanField(label=gettext_lazy("computer"), required=False)
    bandwidth_mbps = forms.DecimalField(label=gettext_lazy("measured bandwidth (Mbit/s)"), required=False,
                                        min_value=0, max_digits=7, decimal_places=1)
    sessions = forms.ModelMultipleChoiceField(label=gettext_lazy("Sessions served"), queryset=None,
                                              required=False, widget=forms.CheckboxSelectMultiple)
    keep = forms.BooleanField(
        label=gettext_lazy("Keep this point open when planning"), required=False,
        help_text=gettext_lazy("The planner's default plan keeps it open, as it keeps the points others relay "
                               "through."))

    def __init__(self, *args, conference=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["sessions"].queryset = conference.sessions.all()

    @staticmethod
    def initial_for(point: BridgePoint) -> dict:
        data = {f: getattr(point, f) for f in ("name", "contact_name", "contact_phone", "bandwidth_mbps", "keep",
                                                *BridgePoint.EQUIPMENT_FIELDS)}
        data["sessions"] = list(point.sessions.all())
        return data


class NewPointForm(PointForm):
    hall = forms.ModelChoiceField(label=gettext_lazy("Hall"), queryset=Hall.objects.none())

    field_order = ["hall", "name", "sessions", "contact_name", "contact_phone"]

    def __init__(self, *args, halls=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["hall"].queryset = halls


class CheckForm(forms.Form):
    passed = forms.TypedChoiceField(label=gettext_lazy("Result"), coerce=lambda v: v == "1",
                                    choices=[("1", gettext_lazy("Passed")), ("0", gettext_lazy("Failed"))])
    bandwidth_mbps = forms.DecimalField(label=gettext_lazy("measured bandwidth (Mbit/s)"), required=False,
                                        min_value=0, max_digits=7, decimal_places=1)
    note = forms.CharField(label=gettext_lazy("Note"), max_length=500, required=False,
                           validators=[reject_unsafe_chars_multiline])


_SPLIT = re.compile(r"\s*(?:=|→|->|:|;|,|\t)\s*")


class PlannerForm(forms.Form):
    """The planner's parameters; halls come as checkbox lists named ``hall`` and ``fixed``."""

    MODES = [("choose", gettext_lazy("Choose the best halls")),
             ("existing", gettext_lazy("Only assign, to the halls marked “must open”"))]
    METHODS = [("heuristic", gettext_lazy("Fast (heuristic, about a second)")),
               ("exact", gettext_lazy("Exact (CP-SAT solver, slower, proves the optimum)"))]

    k = forms.IntegerField(label=gettext_lazy("Number of points"), min_value=1, required=False)
    mode = forms.ChoiceField(label=gettext_lazy("Mode"), choices=MODES, initial="choose",
                             widget=forms.RadioSelect)
    pins = forms.CharField(
        label=gettext_lazy("Keep a school at a hall"), required=False, widget=forms.Textarea(attrs={"rows": 3}),
        help_text=gettext_lazy("One per line: institution code = hall number (#), e.g. TH_TAYDANG_A = 12"),
        validators=[reject_unsafe_chars_multiline])
    together = forms.CharField(
        label=gettext_lazy("Keep schools together"), required=False, widget=forms.Textarea(attrs={"rows": 3}),
        help_text=gettext_lazy("One group per line: institution codes separated by commas."),
        validators=[reject_unsafe_chars_multiline])
    respect_groups = forms.BooleanField(label=gettext_lazy("Do not cross the boundary of a unit below"),
                                        required=False)
    use_road_distances = forms.BooleanField(label=gettext_lazy("Use the imported road distances"),
                                            required=False)
    method = forms.ChoiceField(label=gettext_lazy("Method"), choices=METHODS, initial="heuristic")
    time_limit_s = forms.IntegerField(label=gettext_lazy("Time limit of the exact method (seconds)"),
                                      min_value=1, max_value=60, initial=20, required=False)

    def __init__(self, *args, halls=(), institutions=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.hall_ids = {h.pk for h in halls}
        self.codes = {u.code: u.pk for u in institutions}

    def clean(self):
        data = super().clean()
        chosen = [int(x) for x in self.data.getlist("hall") if x.isdigit()] if self.is_bound else []
        fixed = [int(x) for x in self.data.getlist("fixed") if x.isdigit()] if self.is_bound else []
        data["halls"] = [h for h in chosen if h in self.hall_ids]
        data["fixed"] = [h for h in fixed if h in self.hall_ids]
        if data.get("mode") == "existing":
            if not data["fixed"]:
                self.add_error(None, _("Mark the halls that must open."))
            data["halls"] = list(dict.fromkeys(data["fixed"] + data["halls"]))
            data["k"] = None
        elif not data.get("k"):
            self.add_error("k", _("How many points should be opened?"))
        data["halls"] = list(dict.fromkeys(data["halls"] + data["fixed"]))
        data["pins"] = self._pins(data.get("pins", ""))
        data["together"] = self._groups(data.get("together", ""))
        return data

    def _code(self, code: str, line: int) -> int:
        pk = self.codes.get(code.strip())
        if pk is None:
            raise forms.ValidationError(_("Line %(line)d: %(code)s is not an invited institution of this unit.")
                                        % {"line": line, "code": code})
        return pk

    def _pins(self, text: str) -> list[tuple[int, int]]:
        pins = []
        for n, line in enumerate(text.splitlines(), start=1):
            if not line.strip():
                continue
            parts = [p for p in _SPLIT.split(line.strip()) if p]
            if len(parts) != 2:
                self.add_error("pins", _("Line %(line)d: write “institution code = hall number”.") % {"line": n})
                continue
            hall = parts[1].lstrip("#")
            try:
                inst = self._code(parts[0], n)
            except forms.ValidationError as exc:
                self.add_error("pins", exc)
                continue
            if not hall.isdigit() or int(hall) not in self.hall_ids:
                self.add_error("pins", _("Line %(line)d: %(hall)s is not a hall number of the list.")
                               % {"line": n, "hall": parts[1]})
                continue
            pins.append((inst, int(hall)))
        return pins

    def _groups(self, text: str) -> list[list[int]]:
        groups = []
        for n, line in enumerate(text.splitlines(), start=1):
            codes = [c for c in re.split(r"[\s,;]+", line.strip()) if c]
            if not codes:
                continue
            try:
                group = [self._code(c, n) for c in codes]
            except forms.ValidationError as exc:
                self.add_error("together", exc)
                continue
            if len(group) > 1:
                groups.append(group)
        return groups


class UploadForm(forms.Form):
    file = forms.FileField(label=gettext_lazy("Excel file (.xlsx)"))


class UnitChoiceForm(forms.Form):
    unit = forms.ModelChoiceField(label=gettext_lazy("Unit"), queryset=Unit.objects.none())


def _moment(label):
    return forms.DateTimeField(label=label, input_formats=["%Y-%m-%dT%H:%M", "%d/%m/%Y %H:%M"],
                               widget=forms.DateTimeInput(attrs={"type": "datetime-local"}, format="%Y-%m-%dT%H:%M"))


class RehearsalForm(forms.Form):
    """One rehearsal slot for one point."""

    point = forms.ModelChoiceField(label=gettext_lazy("Bridge point"), queryset=BridgePoint.objects.none())
    starts_at = _moment(gettext_lazy("Starts at"))
    ends_at = _moment(gettext_lazy("Ends at"))
    note = forms.CharField(label=gettext_lazy("Note"), max_length=300, required=False,
                           validators=[reject_unsafe_chars_multiline])

    def __init__(self, *args, points=None, **kwargs):
        super().__init__(*args, **kwargs)
        if points is not None:
            self.fields["point"].queryset = points


class RehearsalWindowForm(forms.Form):
    """Slots spread evenly over a window for every point without one."""

    window_start = _moment(gettext_lazy("From"))
    window_end = _moment(gettext_lazy("To"))
    minutes = forms.IntegerField(label=gettext_lazy("Minutes per point"), min_value=5, max_value=240, initial=30)
