"""What a widget shows where no widget can run: a saved notebook on GitHub or nbviewer, a cell
not yet run or not trusted. The output bundle then carries, beside the live view, an HTML
snapshot of the same state and a one-line text — never ``VBox(children=…)``."""

from __future__ import annotations

from typing import Any


class StaticFallback:
    """Mixed into a widget: ``static_html()`` and ``static_text()`` describe what it shows."""

    def static_html(self) -> str:
        raise NotImplementedError

    def static_text(self) -> str:
        raise NotImplementedError

    def _repr_mimebundle_(self, **kwargs: Any) -> dict[str, Any]:
        bundle = dict(super()._repr_mimebundle_(**kwargs) or {})  # type: ignore[misc]
        bundle["text/plain"] = self.static_text()
        bundle["text/html"] = self.static_html()
        return bundle


__all__ = ["StaticFallback"]
