from decimal import Decimal

from django.db import models


class Order(models.Model):
    email = models.CharField(max_length=254)
    phone = models.CharField(max_length=64, blank=True)
    country = models.CharField(max_length=2, blank=True)
    currency = models.CharField(max_length=3, default="EUR")
    sku = models.CharField(max_length=64)
    title = models.TextField()
    price = models.DecimalField(max_digits=12, decimal_places=2)
    quantity = models.PositiveIntegerField(default=1)
    created = models.DateTimeField(auto_now_add=True)
    # Stored at checkout so the payment webhook (no request) can send the same context.
    checkout_url = models.TextField(blank=True)
    browser = models.JSONField(default=dict, blank=True)
    consent = models.JSONField(null=True, blank=True)

    @property
    def total(self) -> Decimal:
        return self.price * self.quantity

    def to_convtrack(self) -> dict:
        """docs/django.md step 7: the order in convtrack's event terms."""
        event = {
            "order_id": self.pk,
            "event_time": int(self.created.timestamp()),
            "currency": self.currency,
            "value": str(self.total),
            "items": [{"id": self.sku, "quantity": self.quantity, "price": str(self.price), "title": self.title}],
            "customer": {"email": self.email, "phone": self.phone, "country": self.country},
        }
        if self.checkout_url:
            event["event_source_url"] = self.checkout_url
        return event
