from django.contrib import admin
from django.urls import include, path

from shop import views

urlpatterns = [
    path("admin/", admin.site.urls),
    path("convtrack/", include("convtrack.django.urls")),  # step 5: the status page
    path("", views.home, name="home"),
    path("checkout/", views.checkout, name="checkout"),
    path("thanks/<int:pk>/", views.thanks, name="thanks"),
    path("webhooks/paid/<int:pk>/", views.payment_webhook, name="payment-webhook"),
]
