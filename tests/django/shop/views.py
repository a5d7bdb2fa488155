from decimal import Decimal, InvalidOperation

from django.http import HttpResponse, HttpResponseBadRequest
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from convtrack.django import track_order, track_purchase

from .models import Order


def home(request):
    return render(request, "shop/home.html")


@csrf_exempt  # the tests post directly; a real shop keeps CSRF on
@require_POST
def checkout(request):
    try:
        price = Decimal(request.POST.get("price", ""))
        quantity = int(request.POST.get("quantity", "1"))
    except (InvalidOperation, ValueError):
        return HttpResponseBadRequest("bad price or quantity")
    order = Order.objects.create(
        email=request.POST.get("email", ""),
        phone=request.POST.get("phone", ""),
        country=request.POST.get("country", ""),
        currency=request.POST.get("currency", "EUR"),
        sku=request.POST.get("sku", ""),
        title=request.POST.get("title", ""),
        price=price,
        quantity=quantity,
        checkout_url=request.convtrack.page_url or "",
        browser=request.convtrack.browser,
        consent=request.convtrack.consent,
    )
    return redirect("thanks", pk=order.pk)


def thanks(request, pk):
    """The thank-you page: docs/django.md step 7 (track_purchase) and step 6 (the tag)."""
    order = get_object_or_404(Order, pk=pk)
    result = track_purchase(request, order)
    return render(request, "shop/thanks.html", {"order": order, "tracking": result})


@csrf_exempt
@require_POST
def payment_webhook(request, pk):
    """A payment provider's webhook: no shopper browser here, so the context stored at checkout is used."""
    order = get_object_or_404(Order, pk=pk)
    result = track_order(order, browser=order.browser, consent=order.consent)
    return HttpResponse(f"{result['event_id']} {result['server']}", content_type="text/plain")
