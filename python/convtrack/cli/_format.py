"""Human-readable text for the status document, a flush report and the merchant's controls (no Python reprs).
``--json`` prints the documents themselves; these functions only render them."""

from __future__ import annotations

import time
from typing import Any, Dict, List, Mapping, Optional


def when(unix_s: Optional[float]) -> str:
    """``2026-12-04 19:40 UTC`` (or ``-``)."""
    if unix_s is None:
        return "-"
    return time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime(unix_s))


def age(seconds: Optional[float]) -> str:
    if seconds is None:
        return "-"
    s = int(seconds)
    if s < 120:
        return f"{s} s"
    if s < 7200:
        return f"{s // 60} min"
    if s < 172800:
        return f"{s // 3600} h"
    return f"{s // 86400} days"


def counts(group: Optional[Mapping[str, Any]]) -> str:
    """``{"consent_denied": 2, "too_old": 1}`` as ``2 consent_denied, 1 too_old``; empty as ``0``."""
    if not group:
        return "0"
    return ", ".join(f"{n} {name}" for name, n in sorted(group.items()))


def pause_text(paused: Optional[Mapping[str, Any]]) -> str:
    if not paused:
        return "no"
    since = paused.get("since_ms")
    code = f", Graph error {paused['code']}" if paused.get("code") is not None else ""
    fix = " (replace the access token, or run resume after fixing permissions)"
    return f"yes: {paused.get('reason', 'unknown')}{code}, since {when(since / 1000 if since else None)}{fix}"


def error_text(err: Optional[Mapping[str, Any]]) -> str:
    if not err:
        return "none"
    parts = [str(err.get("reason") or "error")]
    if err.get("code") is not None:
        parts.append(f"Graph error {err['code']}" + (f"/{err['subcode']}" if err.get("subcode") is not None else ""))
    if err.get("fbtrace_id"):
        parts.append(f"fbtrace_id {err['fbtrace_id']}")
    t = err.get("time_ms")
    parts.append(f"at {when(t / 1000 if t else None)}")
    return ", ".join(parts)


def controls_line(c: Optional[Mapping[str, Any]], data_controls: bool = False) -> str:
    """``Data controls: on (since 2026-12-04 19:40 UTC, by alice, legal review acknowledged)``."""
    if not c:
        return f"Data controls: {'on' if data_controls else 'off'} (from the settings file)"
    state = "on" if c.get("data_controls") else "off"
    if c.get("source") != "outbox" or c.get("changed_at") is None:
        return f"Data controls: {state} (from the settings file; never changed here)"
    ack = ", legal review acknowledged" if c.get("data_controls") and c.get("legal_ack") else ""
    return f"Data controls: {state} (since {when(c['changed_at'])}, by {c.get('changed_by') or '-'}{ack})"


def controls_text(c: Mapping[str, Any]) -> str:
    lines = [controls_line(c), f"Mode: {c.get('mode', '-')}"]
    history: List[Mapping[str, Any]] = list(c.get("history") or [])
    lines.append(f"History ({len(history)} change{'s' if len(history) != 1 else ''}, newest first):" if history else "History: none")
    for h in history:
        what = []
        if h.get("data_controls") is not None:
            what.append(f"data controls {'on' if h['data_controls'] else 'off'}")
        if h.get("mode") is not None:
            what.append(f"mode {h['mode']}")
        if h.get("legal_ack"):
            what.append("legal review acknowledged")
        if h.get("discarded"):
            what.append(f"{h['discarded']} queued events discarded")
        if h.get("in_flight"):
            what.append(f"{h['in_flight']} already on their way to Meta")
        lines.append(f"  {when(h.get('at'))}  {h.get('actor', '-')}: {', '.join(what) or 'no change'}")
    return "\n".join(lines) + "\n"


def status_text(st: Mapping[str, Any]) -> str:
    q: Dict[str, Any] = st.get("queue") or {}
    c: Dict[str, Any] = st.get("counters") or {}
    cov = st.get("coverage") or {}
    lines = [
        f"Pixel {st['pixel_id']}   catalog {st.get('catalog_name') or '-'} ({st.get('catalog_id') or '-'})   mode {st['mode']}",
        controls_line(st.get("controls"), bool(st.get("data_controls"))),
        f"Test event code: {st.get('test_event_code') or 'none'}   sender: {st.get('sender', '-')}",
        f"Queue: {q.get('depth', 0)} queued ({q.get('due', 0)} due), oldest {age(q.get('oldest_age_s'))}, "
        f"{q.get('dead_letters', 0)} dead letters",
        f"Delivery paused: {pause_text(st.get('paused'))}",
        f"Last error: {error_text(st.get('last_error'))}",
        f"Events: {c.get('accepted', 0)} accepted, {c.get('sent', 0)} sent, {c.get('duplicate', 0)} duplicates, "
        f"{c.get('retried', 0)} retried, {c.get('expired', 0)} expired, {c.get('revoked', 0)} revoked",
        f"Blocked: {counts(c.get('blocked'))}",
        f"Failed: {counts(c.get('failed'))}",
    ]
    if "discarded" in c:
        lines.append(f"Discarded: {counts(c.get('discarded'))}")
    if c.get("discarded_in_flight"):
        lines.append(f"Already on their way at a switch-off: {counts(c.get('discarded_in_flight'))}")
    if cov:
        lines.append("Match keys in sent events: " + ", ".join(f"{k} {round(v * 100)}%" for k, v in cov.items()))
    cu = st.get("catalog_updates")
    if cu:
        cc = cu.get("counters") or {}
        lines.append(
            f"Catalog updates: {cu.get('depth', 0)} queued, {cu.get('dead_letters', 0)} dead letters, "
            f"{cc.get('sent', 0)} sent, paused: {pause_text(cu.get('paused'))}"
        )
    return "\n".join(lines) + "\n"


def flush_text(r: Mapping[str, Any]) -> str:
    lines = [
        f"Flush: {r['sent']} sent in {r['requests']} requests, {r['retried']} to retry, {r['failed']} failed, "
        f"{r.get('expired', 0)} expired; {r['remaining']} still queued",
    ]
    if r.get("paused"):
        lines.append(f"Delivery paused: {r['paused']} (replace the access token, or run resume after fixing permissions)")
    cat = r.get("catalog") or {}
    if cat.get("requests") or cat.get("remaining"):
        lines.append(f"Catalog updates: {cat.get('sent', 0)} sent, {cat.get('failed', 0)} failed, {cat.get('remaining', 0)} still queued")
    return "\n".join(lines) + "\n"
