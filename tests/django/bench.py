"""Prints what the Django layer costs per request (no assertions; numbers vary by machine).

    cd tests/django && ../../.venv/bin/python bench.py [N]
"""

import os
import statistics
import sys
import tempfile
import time

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "shopsite.settings")
tmp = tempfile.mkdtemp()

import django  # noqa: E402
from django.conf import settings  # noqa: E402

django.setup()
settings.CONVTRACK = dict(settings.CONVTRACK, outbox_path=os.path.join(tmp, "bench.sqlite3"), sender="manual",
                          endpoint="http://127.0.0.1:9")

from django.template import Context, Template  # noqa: E402
from django.test import RequestFactory  # noqa: E402

from convtrack.django import conf, track_purchase  # noqa: E402
from convtrack.django.context import capture  # noqa: E402

N = int(sys.argv[1]) if len(sys.argv) > 1 else 2000
rf = RequestFactory()
UA = "Mozilla/5.0 (X11; Linux x86_64) bench"
tag = Template("{% load convtrack %}{% convtrack_pixel %}")
conf.get_tracker()


def req():
    r = rf.get("/thanks/?fbclid=IwAR123", HTTP_USER_AGENT=UA, REMOTE_ADDR="203.0.113.7")
    r.COOKIES.update({"_fbp": "fb.1.1732780000000.1", "shop_consent": "granted"})
    return r


def timed(label, fn):
    samples = []
    for i in range(N):
        t0 = time.perf_counter()
        fn(i)
        samples.append((time.perf_counter() - t0) * 1e6)
    samples.sort()
    print(f"{label:<44} median {statistics.median(samples):8.1f} us   p99 {samples[int(N * 0.99)]:8.1f} us   (n={N})")


requests = [req() for _ in range(N)]
timed("middleware capture (cookies, IP, UA, consent)", lambda i: capture(requests[i]))
timed("{% convtrack_pixel %} PageView (build)", lambda i: tag.render(Context({"request": requests[i]})))
for r in requests:
    r.convtrack = capture(r)
order = {"currency": "EUR", "value": "39.90", "items": [{"id": "SKU-1", "quantity": 2, "price": "19.95", "title": "Mug"}],
         "customer": {"email": "a@example.com", "phone": "020 7183 8750", "country": "GB"}}
timed("track_purchase (hash, gate, durable enqueue)", lambda i: track_purchase(requests[i], dict(order, order_id=i)))
timed("{% convtrack_pixel %} with the purchase", lambda i: tag.render(Context({"request": requests[i]})))
print(f"queue depth after: {conf.get_tracker().status()['queue']['depth']}")
conf.close_tracker()
