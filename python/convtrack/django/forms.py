# mypy: disable-error-code="import-untyped,import-not-found,misc,untyped-decorator,no-any-return"
"""The forms of the controls dashboard. They only read the POST; every rule (the legal
acknowledgement, the access token, the modes) is the core's, in ``Tracker.set_controls``."""

from __future__ import annotations

from django import forms

MODES = [
    ("pixel_and_server", "Pixel and server events (normal)"),
    ("catalog_only", "Catalog only: no pixel and no events, the product feed only"),
]


class ControlsForm(forms.Form):
    data_controls = forms.ChoiceField(
        choices=[("off", "Off: only the browser pixel"), ("on", "On: also send receipt data from the server")],
        widget=forms.RadioSelect,
        label="Data controls",
    )
    mode = forms.ChoiceField(choices=MODES, label="Mode")
    legal_ack = forms.BooleanField(
        required=False,
        label="I confirm the legal review: sending our customers' receipt data (hashed) to Meta is allowed "
        "by our privacy policy and the consent we collect.",
    )


class TestEventForm(forms.Form):
    test_event_code = forms.CharField(
        required=False,
        max_length=64,
        label="Test event code",
        help_text="From Events Manager > your pixel > Test events (for example TEST12345). "
        "Leave empty to use CONVTRACK['test_event_code'].",
    )
