# mypy: disable-error-code="import-untyped,import-not-found,misc,untyped-decorator,no-any-return"
"""The merchant's pages, staff only (others are sent to the admin login):

- ``convtrack:status``: read-only status (queue, counters, coverage).
- ``convtrack:controls``: the dashboard. Shows the setup, the data-controls toggle and its
  history, the queue and the failed events; its POST actions (change the controls, flush,
  resume, retry/discard failed events, send a test event, check the token and pixel) are
  CSRF-protected and need the permission ``convtrack.change_controls`` (superusers have it).

The views only call the process-wide ``convtrack.Tracker``; every rule is the core's.
"""

from __future__ import annotations

import datetime
from typing import Any, Callable, Dict, List, Optional, Tuple

from django.contrib import messages
from django.contrib.admin.views.decorators import staff_member_required
from django.core.exceptions import ImproperlyConfigured, PermissionDenied
from django.http import HttpResponse, HttpResponseBadRequest, HttpResponseRedirect
from django.template.response import TemplateResponse
from django.views.decorators.csrf import csrf_protect

import convtrack
from convtrack.django import checks, conf
from convtrack.django.degrade import degraded_counts
from convtrack.django.forms import MODES, ControlsForm, TestEventForm
from convtrack.django.models import PERMISSION

NOT_AVAILABLE = "not available in this build of convtrack"


def _tracker() -> Tuple[Optional[convtrack.Tracker], Optional[BaseException]]:
    try:
        return conf.get_tracker(), None
    except (convtrack.ConvtrackError, ImproperlyConfigured, TypeError, ValueError) as exc:
        return None, exc


def _shared_degraded(tracker: Optional[convtrack.Tracker]) -> Optional[List[Tuple[str, int]]]:
    """The requests without tracking counted in the outbox by every process on it, or
    ``None`` without an outbox to read them from (then only this process's are shown).
    With a bad setting the pixel-only tracker may still have the outbox."""
    try:
        source = tracker if tracker is not None else conf.pixel_only_tracker()
        if source is None:
            return None
        counters = source.status().get("counters") or {}  # without an outbox: no "degraded" key
    except (convtrack.ConvtrackError, ImproperlyConfigured):
        return None
    shared = counters.get("degraded")
    return sorted(shared.items()) if isinstance(shared, dict) else None


def _common(tracker: Optional[convtrack.Tracker], tracker_exc: Optional[BaseException]) -> Dict[str, Any]:
    """What both pages show about the setup: the problems ``manage.py check`` reports
    and the requests that lost their tracking, in every process (the outbox's shared
    counts) and in this one."""
    return {
        "problems": [(m.id, m.msg, m.hint, m.is_serious()) for m in checks.dashboard_messages(tracker_exc)],
        "degraded": sorted(degraded_counts().items()),
        "degraded_shared": _shared_degraded(tracker),
    }


@staff_member_required
def status(request: Any) -> HttpResponse:
    tracker, exc = _tracker()
    context: Dict[str, Any] = dict(_common(tracker, exc), title="Conversion tracking")
    if tracker is not None:
        st = tracker.status()
        counters = st.get("counters") or {}
        live = st.get("controls") or {}
        context.update(
            tracker_ok=True,
            status=st,
            data_controls=live.get("data_controls", st.get("data_controls")),
            mode=live.get("mode", st.get("mode")),
            counters=[(k, v) for k, v in counters.items() if not isinstance(v, dict)],
            blocked=sorted((counters.get("blocked") or {}).items()),
            failed=sorted((counters.get("failed") or {}).items()),
            coverage=[(k, round(100 * float(v), 1)) for k, v in (st.get("coverage") or {}).items()],
        )
    return TemplateResponse(request, "convtrack/status.html", context)


# ---------------------------------------------------------------------------------------
# The controls dashboard


def _when(ts: Optional[int]) -> Optional[datetime.datetime]:
    return datetime.datetime.fromtimestamp(ts, tz=datetime.timezone.utc) if ts else None


def _controls(tracker: convtrack.Tracker, st: Dict[str, Any]) -> Tuple[Dict[str, Any], Optional[str]]:
    """(the live controls, why they cannot be changed here or ``None``)."""
    fallback: Dict[str, Any] = {"data_controls": st.get("data_controls"), "mode": st.get("mode"), "history": [],
                "changed_at": None, "changed_by": None, "source": "settings"}
    try:
        return tracker.controls(), None
    except convtrack.NotConfiguredError as exc:  # no outbox_path: the settings are the controls
        return fallback, f"The controls can only be changed here when CONVTRACK['{exc.field}'] is set."
    except AttributeError:  # an older core without the call
        return fallback, f"Changing the controls here is {NOT_AVAILABLE}."


def _dashboard(request: Any, form: Optional[ControlsForm] = None, test_form: Optional[TestEventForm] = None,
               notes: Optional[List[Tuple[str, str]]] = None) -> TemplateResponse:
    tracker, exc = _tracker()
    context: Dict[str, Any] = dict(
        _common(tracker, exc),
        title="Meta conversion tracking: controls",
        can_change=request.user.has_perm(PERMISSION),
        notes=notes or [],
        modes=MODES,
        test_form=test_form or TestEventForm(),
    )
    if tracker is not None:
        st = tracker.status()
        controls, locked = _controls(tracker, st)
        try:
            dead = tracker.dead_letters(100)
        except (convtrack.NotConfiguredError, AttributeError):  # no outbox; an older core
            dead = []
        for row in dead:
            row["failed_at_dt"], row["event_time_dt"] = _when(row.get("failed_at")), _when(row.get("event_time"))
        history = [dict(h, at_dt=_when(h.get("at"))) for h in controls.get("history") or []]
        settings = tracker.settings
        context.update(
            tracker_ok=True,
            status=st,
            controls=controls,
            controls_locked=locked,
            changed_at=_when(controls.get("changed_at")),
            mode_label=dict(MODES).get(str(controls.get("mode")), controls.get("mode")),
            history=history,
            dead_letters=dead,
            token_configured=bool(conf.tracker_settings().get("access_token")),
            test_code_configured=bool(settings.get("test_event_code")),
            endpoint=settings.get("endpoint"),
            to_meta=str(settings.get("endpoint") or "").startswith("https://graph.facebook.com"),
            form=form or ControlsForm(initial={
                "data_controls": "on" if controls.get("data_controls") else "off",
                "mode": controls.get("mode"),
            }),
        )
    return TemplateResponse(request, "convtrack/controls.html", context)


class _Done:
    """What an action tells the merchant: a list of (level, text) notes."""

    def __init__(self) -> None:
        self.notes: List[Tuple[str, str]] = []

    def __call__(self, level: str, text: str) -> None:
        self.notes.append((level, text))


def _ids(request: Any) -> Optional[List[int]]:
    """The dead letters the POST names (``id``, repeatable), or ``None`` for ``all``."""
    if request.POST.get("all"):
        return None
    try:
        return [int(i) for i in request.POST.getlist("id")]
    except ValueError:
        return []


def _plural(n: int, one: str) -> str:
    return f"{n} {one}" + ("" if n == 1 else "s")


def _set_controls(request: Any, tracker: convtrack.Tracker, note: _Done) -> Optional[TemplateResponse]:
    form = ControlsForm(request.POST)
    if not form.is_valid():
        return _dashboard(request, form=form)
    current = tracker.controls()
    on = form.cleaned_data["data_controls"] == "on"
    mode = form.cleaned_data["mode"]
    change: Dict[str, Any] = {}
    if on != bool(current.get("data_controls")):
        change["data_controls"] = on
    if mode != current.get("mode"):
        change["mode"] = mode
    if not change:
        note("info", "Nothing changed: the controls were already set like this.")
        return None
    try:
        new = tracker.set_controls(actor=request.user.get_username(), legal_ack=form.cleaned_data["legal_ack"],
                                   **change)
    except convtrack.ConvtrackError as exc:  # the core's rules; the messages name fields, never values
        if exc.field == "legal_ack":
            form.add_error("legal_ack", "To turn data controls on, tick this box to confirm the legal review.")
        elif exc.field == "access_token":
            form.add_error(None, "Data controls cannot be turned on: no valid access token is configured "
                                 "(CONVTRACK['access_token']).")
        elif exc.field == "mode":
            form.add_error("mode", str(exc))
        else:
            form.add_error(None, f"Not changed: {exc}")
        return _dashboard(request, form=form)
    if "data_controls" in change:
        if new.get("data_controls"):
            note("success", "Data controls are now ON: receipt data (hashed) is sent to Meta from your server.")
        else:
            last = (new.get("history") or [{}])[0]
            discarded, in_flight = last.get("discarded", 0), last.get("in_flight", 0)
            note("success", "Data controls are now OFF: only the browser pixel runs. "
                            f"{_plural(discarded, 'queued server event')} discarded, never sent."
                            + (f" {_plural(in_flight, 'event')} already on its way to Meta could not be recalled."
                               if in_flight else ""))
    if "mode" in change:
        note("success", f"Mode is now: {dict(MODES).get(str(new.get('mode')), new.get('mode'))}.")
    return None


def _flush(request: Any, tracker: convtrack.Tracker, note: _Done) -> None:
    report = tracker.flush(10.0)
    text = (f"Sent {_plural(report.get('sent', 0), 'event')} to Meta; {report.get('failed', 0)} failed; "
            f"{report.get('remaining', 0)} still queued.")
    if report.get("paused"):
        note("error", text + " Delivery is paused (see 'Delivery' below).")
    else:
        note("success", text)


def _resume(request: Any, tracker: convtrack.Tracker, note: _Done) -> None:
    tracker.resume()
    note("success", "Delivery resumed: queued events go out with the next send.")


def _retry(request: Any, tracker: convtrack.Tracker, note: _Done) -> None:
    ids = _ids(request)
    if ids == []:
        note("error", "Choose a failed event, or all of them.")
        return
    n = tracker.retry_dead_letters(ids)
    note("success", f"{_plural(n, 'failed event')} put back in the queue; they are sent with the next send.")


def _discard(request: Any, tracker: convtrack.Tracker, note: _Done) -> None:
    ids = _ids(request)
    if ids == []:
        note("error", "Choose a failed event, or all of them.")
        return
    n = tracker.discard_dead_letters(ids)
    note("success", f"{_plural(n, 'failed event')} deleted; they will never be sent.")


def _test_event(request: Any, tracker: convtrack.Tracker, note: _Done) -> Optional[TemplateResponse]:
    form = TestEventForm(request.POST)
    if not form.is_valid():
        return _dashboard(request, test_form=form)
    try:
        result = tracker.send_test_event(form.cleaned_data["test_event_code"] or None)
    except convtrack.NotConfiguredError:
        form.add_error("test_event_code", "Enter the test event code shown in Events Manager > Test events.")
        return _dashboard(request, test_form=form)
    if result.get("ok"):
        note("success", f"Test event sent with code {result.get('test_event_code')} (event id "
                        f"{result.get('event_id')}). Open Events Manager > Test events to see it.")
    else:
        note("error", f"The test event was not accepted (HTTP {result.get('status') or '-'}): "
                      f"{result.get('error') or 'no answer'}.")
    return None


def _check(request: Any, tracker: convtrack.Tracker, note: _Done) -> None:
    result = tracker.check_online()
    pixel = result.get("pixel") or {}
    if result.get("ok"):
        note("success", f"Token and pixel OK: Meta knows pixel {pixel.get('id')} "
                        f"(\u201c{pixel.get('name') or 'no name'}\u201d) and accepts the token.")
    else:
        note("error", f"Token and pixel check failed (HTTP {result.get('status') or '-'}): "
                      f"{result.get('error') or 'no answer'}.")


ACTIONS: Dict[str, Callable[[Any, convtrack.Tracker, _Done], Optional[TemplateResponse]]] = {
    "controls": _set_controls,
    "flush": _flush,
    "resume": _resume,
    "retry": _retry,
    "discard": _discard,
    "test_event": _test_event,
    "check": _check,
}


@staff_member_required
@csrf_protect
def controls(request: Any) -> HttpResponse:
    if request.method == "GET":
        return _dashboard(request)
    if request.method != "POST":
        return HttpResponse(status=405, headers={"Allow": "GET, POST"})
    if not request.user.has_perm(PERMISSION):
        raise PermissionDenied
    action = ACTIONS.get(request.POST.get("action", ""))
    if action is None:
        return HttpResponseBadRequest("unknown action")
    tracker, exc = _tracker()
    note = _Done()
    if tracker is None:
        note("error", "Nothing was done: tracking is not set up (see 'Setup problems').")
    else:
        try:
            page = action(request, tracker, note)
        except convtrack.ConvtrackError as err:  # e.g. the outbox cannot be written
            note("error", f"Nothing was done: {err}")
            page = None
        except AttributeError as err:
            if getattr(err, "obj", None) is not tracker:
                raise
            note("error", f"This action is {NOT_AVAILABLE} (Tracker.{err.name}).")  # an older core
            page = None
        if page is not None:
            return page  # a form with errors, shown again
    if hasattr(request, "_messages"):  # django.contrib.messages: show the notes after a redirect
        for level, text in note.notes:
            messages.add_message(request, getattr(messages, level.upper()), text)
        return HttpResponseRedirect(request.path)
    return _dashboard(request, notes=note.notes)
