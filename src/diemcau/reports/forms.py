"""Forms of the documents' pages: they parse input; the services decide what is allowed."""

from django import forms
from django.utils.translation import gettext_lazy

from diemcau.core.vntext import reject_unsafe_chars, reject_unsafe_chars_multiline


class ConvocationForm(forms.Form):
    """Issuing a convocation, or forwarding one down with the unit's own additions."""

    issued_on = forms.DateField(label=gettext_lazy("Date"), input_formats=["%d/%m/%Y", "%Y-%m-%d"],
                                widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"))
    place = forms.CharField(label=gettext_lazy("Place"), max_length=100, required=False,
                            validators=[reject_unsafe_chars])
    number = forms.CharField(label=gettext_lazy("Number"), max_length=20, required=False,
                             validators=[reject_unsafe_chars],
                             help_text=gettext_lazy("Empty: written by hand once registered."))
    signer_title = forms.CharField(label=gettext_lazy("Signer's title"), max_length=150, required=False,
                                   validators=[reject_unsafe_chars])
    signer_on_behalf = forms.CharField(label=gettext_lazy("Signs for"), max_length=150, required=False,
                                       validators=[reject_unsafe_chars])
    signer_name = forms.CharField(label=gettext_lazy("Signer's name"), max_length=150, required=False,
                                  validators=[reject_unsafe_chars])
    additions = forms.CharField(label=gettext_lazy("Additional text"), max_length=4000, required=False,
                                widget=forms.Textarea(attrs={"rows": 3}), validators=[reject_unsafe_chars_multiline])
