from typing import Any, Mapping, Optional, Union, final


__all__ = ["__version__", "normalize", "hash", "event_id", "Tracker"]
__version__: str

def normalize(field: str, value: str, country: Optional[str] = None) -> Optional[str]: ...
def hash(field: str, value: str, country: Optional[str] = None) -> Optional[str]: ...
def event_id(pixel_id: str, event_name: str, order_id: Union[str, int]) -> str: ...
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
    ) -> dict[str, Any]: ...
    @property
    def settings(self) -> dict[str, Any]: ...
