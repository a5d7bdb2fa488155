"""The shop's consent provider (CONVTRACK["consent"]): what its cookie banner stored."""


def from_cookie(request):
    value = request.COOKIES.get("shop_consent")
    if value in ("granted", "denied"):
        return {"marketing": value}
    return None  # no choice yet: CONVTRACK["unknown_consent"] decides (deny by default)
