"""Shared by the tests: a shopper going through the test shop's checkout."""

import json
import re

UA = "Mozilla/5.0 (X11; Linux x86_64) sentinel-ua"
HOSTILE = "</script><script>alert(1)</script> & \u2028 \"quote\" 'apos'"
FBQ_PURCHASE = re.compile(r"fbq\('track',\"Purchase\",(\{.*?\}),\{\"eventID\":\"([^\"]+)\"\}\);")


def checkout(client, *, title="Mug", consent="granted", query="", cookies=None, **extra):
    if consent:
        client.cookies["shop_consent"] = consent
    for k, v in (cookies or {}).items():
        client.cookies[k] = v
    headers = {"HTTP_USER_AGENT": UA, "REMOTE_ADDR": "203.0.113.7"}
    headers.update(extra)
    resp = client.post("/checkout/" + query, {
        "email": "  Sentinel.Person@Example.COM ", "phone": "020 7183 8750", "country": "GB",
        "currency": "EUR", "sku": "SKU-1", "title": title, "price": "19.95", "quantity": "2",
    }, **headers)
    assert resp.status_code == 302, resp.content[:300]
    page = client.get(resp["Location"] + query, **headers)
    assert page.status_code == 200
    return page.content.decode()


def pixel_purchase(page):
    m = FBQ_PURCHASE.search(page)
    assert m, "no fbq Purchase call with an eventID in the page"
    return json.loads(m.group(1)), m.group(2)
