from typing import IO, Any, Callable, Iterable, Literal, Mapping, Optional, Sequence, Union, final
from os import PathLike


__all__ = ["__version__", "normalize", "hash", "event_id", "Tracker", "export_feed", "export_feed_string", "check_catalog", "warm_up", "first_party_cookies"]

# Products/events: a path, or an iterable of JSON lines (str/bytes) or dicts.
_Source = Union[str, "PathLike[str]", Iterable[Union[str, bytes, Mapping[str, Any]]]]
# Feed destination: a path (replaced atomically) or a binary/text file object.
_Dest = Union[str, "PathLike[str]", IO[bytes], IO[str]]
_OnError = Callable[[dict[str, Any]], object]
_OnProgress = Callable[[int, int, int], object]
__version__: str

def normalize(field: str, value: str, country: Optional[str] = None) -> Optional[str]: ...
def hash(field: str, value: str, country: Optional[str] = None) -> Optional[str]: ...
def event_id(pixel_id: str, event_name: str, order_id: Union[str, int]) -> str: ...
def warm_up() -> None: ...
def first_party_cookies(
    *,
    fbp: Optional[str] = None,
    fbc: Optional[str] = None,
    url: Optional[str] = None,
    fbclid: Optional[str] = None,
    host: Optional[str] = None,
    domain: Optional[str] = None,
    now_ms: Optional[int] = None,
    random: Optional[int] = None,
) -> dict[str, Any]: ...
def _error_table() -> list[tuple[int, str, str]]: ...
def export_feed(
    products: _Source,
    dst: _Dest,
    *,
    format: str = "xml",
    content_id: str = "id",
    channel_title: Optional[str] = None,
    on_error: Optional[_OnError] = None,
    on_progress: Optional[_OnProgress] = None,
    max_errors: int = 100,
) -> dict[str, Any]: ...
def export_feed_string(
    products: _Source,
    *,
    format: str = "xml",
    content_id: str = "id",
    channel_title: Optional[str] = None,
    on_error: Optional[_OnError] = None,
    max_errors: int = 100,
) -> tuple[str, dict[str, Any]]: ...
def check_catalog(events: _Source, products: _Source, *, content_id: str = "id", max_details: int = 100) -> dict[str, Any]: ...
@final
class Tracker:
    def __new__(cls, settings: Optional[Mapping[str, Any]] = None, **kwargs: Any) -> "Tracker": ...
    def build(
        self,
        event: Mapping[str, Any],
        *,
        now: Optional[int] = None,
        nonce: Optional[str] = None,
        script_src: Optional[str] = None,
        payload: Literal["dict", "json"] = "dict",
        server_only: bool = False,
        too_old: Literal["error", "skip_server"] = "error",
    ) -> dict[str, Any]: ...
    def track(
        self,
        event: Mapping[str, Any],
        *,
        now: Optional[int] = None,
        nonce: Optional[str] = None,
        script_src: Optional[str] = None,
        payload: Literal["dict", "json"] = "dict",
        server_only: bool = False,
        too_old: Literal["error", "skip_server"] = "error",
    ) -> dict[str, Any]: ...
    def page_snippet(
        self,
        events: Sequence[Mapping[str, Any]],
        *,
        now: Optional[int] = None,
        nonce: Optional[str] = None,
        script_src: Optional[str] = None,
        too_old: Literal["error", "skip_server"] = "error",
    ) -> str: ...
    def claim_handoff(self, limit: int = 100, lease_seconds: float = 30.0) -> list[dict[str, Any]]: ...
    def ack_handoff(self, ids: list[int]) -> None: ...
    def release_handoff(self, ids: list[int]) -> None: ...
    def send_prepared(self, payload: str, attempts: int = 0) -> dict[str, Any]: ...
    def flush(self, timeout: float = 10.0) -> dict[str, Any]: ...
    def status(self) -> dict[str, Any]: ...
    def revoke_order(self, order_id: Union[str, int], event_name: str = "Purchase") -> bool: ...
    def catalog_update(self, product: Mapping[str, Any]) -> dict[str, Any]: ...
    def catalog_delete(self, product_id: Union[str, int]) -> dict[str, Any]: ...
    def resume(self) -> None: ...
    def set_controls(
        self, *, actor: str, data_controls: Optional[bool] = None, mode: Optional[str] = None, legal_ack: bool = False
    ) -> dict[str, Any]: ...
    def controls(self) -> dict[str, Any]: ...
    def dead_letters(self, limit: int = 100) -> list[dict[str, Any]]: ...
    def retry_dead_letters(self, ids: Optional[list[int]] = None) -> int: ...
    def discard_dead_letters(self, ids: Optional[list[int]] = None) -> int: ...
    def close(self) -> None: ...
    def __enter__(self) -> "Tracker": ...
    def __exit__(self, *_args: object) -> bool: ...
    def export_feed(
        self,
        products: _Source,
        dst: _Dest,
        *,
        format: str = "xml",
        on_error: Optional[_OnError] = None,
        on_progress: Optional[_OnProgress] = None,
        max_errors: int = 100,
    ) -> dict[str, Any]: ...
    def export_feed_string(
        self, products: _Source, *, format: str = "xml", on_error: Optional[_OnError] = None, max_errors: int = 100
    ) -> tuple[str, dict[str, Any]]: ...
    def check_catalog(self, events: _Source, products: _Source, *, max_details: int = 100) -> dict[str, Any]: ...
    @property
    def settings(self) -> dict[str, Any]: ...
