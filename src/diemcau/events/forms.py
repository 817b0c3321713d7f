"""Forms of the conference pages: they parse input; the services decide what is allowed."""

import datetime

from django import forms
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from diemcau.core.vntext import reject_unsafe_chars, reject_unsafe_chars_multiline
from diemcau.orgs.models import EducationLevel, Unit

LEVEL_CHOICES = [(str(bit), label) for bit, _key, label in EducationLevel.CHOICES]


class ConferenceForm(forms.Form):
    title = forms.CharField(label=gettext_lazy("Title"), max_length=500,
                            widget=forms.TextInput(attrs={"autocomplete": "off"}), validators=[reject_unsafe_chars])
    date = forms.DateField(label=gettext_lazy("Date"), input_formats=["%d/%m/%Y", "%Y-%m-%d"],
                           widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"))
    host_unit = forms.ModelChoiceField(label=gettext_lazy("Host unit"), queryset=Unit.objects.none())
    place = forms.CharField(label=gettext_lazy("Place written on documents"), max_length=100, required=False,
                            help_text=gettext_lazy("For example: Hà Nội"), validators=[reject_unsafe_chars])
    description = forms.CharField(label=gettext_lazy("Description"), required=False,
                                  widget=forms.Textarea(attrs={"rows": 3}),
                                  validators=[reject_unsafe_chars_multiline])

    def __init__(self, *args, hosts=None, **kwargs):
        super().__init__(*args, **kwargs)
        if hosts is None:
            del self.fields["host_unit"]
        else:
            self.fields["host_unit"].queryset = hosts


class SessionForm(forms.Form):
    title = forms.CharField(label=gettext_lazy("Title"), max_length=300, validators=[reject_unsafe_chars])
    starts = forms.TimeField(label=gettext_lazy("Starts at"), widget=forms.TimeInput(attrs={"type": "time"}))
    ends = forms.TimeField(label=gettext_lazy("Ends at"), widget=forms.TimeInput(attrs={"type": "time"}))
    levels = forms.MultipleChoiceField(label=gettext_lazy("Audience: levels of education"), required=False,
                                       choices=LEVEL_CHOICES, widget=forms.CheckboxSelectMultiple)
    units = forms.CharField(
        label=gettext_lazy("Audience: subtrees (unit codes)"), required=False,
        help_text=gettext_lazy("Codes separated by commas. Empty: everyone under the host unit."),
        validators=[reject_unsafe_chars],
    )

    def __init__(self, *args, conference=None, **kwargs):
        self.conference = conference
        super().__init__(*args, **kwargs)

    def clean_units(self):
        codes = [c for c in self.cleaned_data["units"].replace(";", ",").replace("\n", ",").split(",") if c.strip()]
        codes = [c.strip() for c in codes]
        units = list(Unit.objects.filter(code__in=codes))
        unknown = sorted(set(codes) - {u.code for u in units})
        if unknown:
            raise forms.ValidationError(_("Unknown unit codes: %(codes)s.") % {"codes": ", ".join(unknown)})
        return units

    def window(self):
        day = self.conference.date
        return (timezone.make_aware(datetime.datetime.combine(day, self.cleaned_data["starts"])),
                timezone.make_aware(datetime.datetime.combine(day, self.cleaned_data["ends"])))

    def levels_mask(self) -> int:
        return sum(int(x) for x in self.cleaned_data["levels"])

    @staticmethod
    def initial_for(session) -> dict:
        return {"title": session.title, "starts": timezone.localtime(session.starts_at).time(),
                "ends": timezone.localtime(session.ends_at).time(),
                "levels": [str(b) for b, _k, _l in EducationLevel.CHOICES if session.audience_levels & b],
                "units": ", ".join(u.code for u in session.audience_units.all())}


class AgendaItemForm(forms.Form):
    starts = forms.TimeField(label=gettext_lazy("Starts at"), widget=forms.TimeInput(attrs={"type": "time"}))
    ends = forms.TimeField(label=gettext_lazy("Ends at"), required=False,
                           widget=forms.TimeInput(attrs={"type": "time"}))
    title = forms.CharField(label=gettext_lazy("Item"), max_length=300, validators=[reject_unsafe_chars])
    speaker = forms.CharField(label=gettext_lazy("Speaker"), max_length=200, required=False,
                              validators=[reject_unsafe_chars])

    def times(self, day):
        def aware(t):
            return timezone.make_aware(datetime.datetime.combine(day, t)) if t else None

        return aware(self.cleaned_data["starts"]), aware(self.cleaned_data.get("ends"))


