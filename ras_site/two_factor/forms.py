"""The one field every two-step page asks for: a code."""

from __future__ import annotations

from django import forms

from ras_site.two_factor.services import CODE_FORMAT, is_code, normalise_code

CODE_REQUIRED = "Enter a code."
APP_CODE_FORMAT = "Enter the 6-digit code your authenticator app shows."


class CodeForm(forms.Form):
    """A code from the authenticator app or, when `recovery` is on, a recovery code; spaces
    and hyphens are ignored. Whether the code is right is the service's to say."""

    code = forms.CharField(
        max_length=20,
        error_messages={"required": CODE_REQUIRED},
        widget=forms.TextInput(attrs={"autocomplete": "one-time-code", "spellcheck": "false"}),
    )

    def __init__(self, *args, recovery: bool = True, autofocus: bool = False, **kwargs):
        super().__init__(*args, **kwargs)
        self.recovery = recovery
        field = self.fields["code"]
        if recovery:
            field.label = "Code from your authenticator app, or a recovery code"
        else:
            field.label = "6-digit code from your authenticator app"
            field.widget.attrs["inputmode"] = "numeric"
        if autofocus:
            field.widget.attrs["autofocus"] = True

    def clean_code(self):
        code = normalise_code(self.cleaned_data["code"])
        if self.recovery and not is_code(code):
            raise forms.ValidationError(CODE_FORMAT)
        if not self.recovery and not (len(code) == 6 and code.isascii() and code.isdigit()):
            raise forms.ValidationError(APP_CODE_FORMAT)
        return code
