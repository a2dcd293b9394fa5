"""Name the field of a template a person must fix: items[6] (consciousness).code."""

from __future__ import annotations

from typing import Any


def field_path(raw: Any, loc: tuple[Any, ...]) -> str:
    """A field path a person can find: items[6] (linkId consciousness).code."""
    parts: list[str] = []
    node = raw
    for part in loc:
        if isinstance(part, int):
            label = f"[{part}]"
            if isinstance(node, list) and part < len(node) and isinstance(node[part], dict):
                link_id = node[part].get("linkId") or node[part].get("name") or node[part].get("id")
                if link_id:
                    label += f" ({link_id})"
            parts.append(label)
        else:
            parts.append(f".{part}" if parts else str(part))
        node = node[part] if isinstance(node, list | dict) and _has(node, part) else None
    return "".join(parts) or "(top level)"


def _has(node: Any, key: Any) -> bool:
    if isinstance(node, list):
        return isinstance(key, int) and key < len(node)
    return bool(key in node)
