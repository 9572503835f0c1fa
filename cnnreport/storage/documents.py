"""JSON documents of a run: parsed within limits, written with finite numbers only.

A run folder may hold files that are not ours (copied, hand-edited, hostile); anything too
large or too deeply nested to be one of our documents is refused with one line naming it.
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

from cnnreport.errors import RunError, os_reason
from cnnreport.storage.reading import read_regular

MAX_JSON_BYTES = 64 * 1024**2  # our largest document is well under 1 MB
MAX_JSON_DEPTH = 32  # our documents nest 5 deep; deeper ones are not ours
# Our longest strings are command lines and paths; a class label of megabytes would cost the
# report gigabytes of memory where it is laid out, so every string (and key) is bounded.
MAX_STRING_CHARS = 16 * 1024


def parse_json(path: Path) -> Any:
    """The parsed document, or a RunError naming the file for anything we would not trust."""
    try:
        data = json.loads(read_regular(path, MAX_JSON_BYTES).decode())
    except FileNotFoundError:
        raise RunError(f"{path}: missing") from None
    except OSError as exc:  # permission denied, a folder in the file's place, ...
        raise RunError(f"{path}: unreadable ({os_reason(exc)})") from None
    except (UnicodeDecodeError, ValueError) as exc:  # ValueError: bad JSON, 5000-digit numbers
        raise RunError(f"{path}: not valid JSON ({str(exc)[:200]})") from None
    except (RecursionError, MemoryError):
        raise RunError(f"{path}: not a cnnreport file (nested too deeply or too large to read)") from None
    if depth(data) > MAX_JSON_DEPTH:
        raise RunError(f"{path}: not a cnnreport file (nested more than {MAX_JSON_DEPTH} levels deep)")
    longest = longest_string(data)
    if longest > MAX_STRING_CHARS:
        raise RunError(
            f"{path}: not a cnnreport file (a string of {longest:,} characters; ours have at most {MAX_STRING_CHARS:,})"
        )
    return data


def depth(data: Any) -> int:
    """How deeply lists and objects nest, found without recursion."""
    deepest, stack = 0, [(data, 1)]
    while stack:
        item, level = stack.pop()
        if isinstance(item, (dict, list)):
            deepest = max(deepest, level)
            if level <= MAX_JSON_DEPTH:
                stack.extend((child, level + 1) for child in (item.values() if isinstance(item, dict) else item))
    return deepest


def longest_string(data: Any) -> int:
    """The length of the longest string (value or key) in a parsed document, found without recursion."""
    longest, stack = 0, [data]
    while stack:
        item = stack.pop()
        if isinstance(item, str):
            longest = max(longest, len(item))
        elif isinstance(item, dict):
            stack.extend(item.keys())
            stack.extend(item.values())
        elif isinstance(item, list):
            stack.extend(item)
    return longest


def finite_only(value: Any, where: str, nulls: dict[str, str]) -> Any:
    """A copy with every NaN or infinity replaced by None; `nulls` records where and what."""
    if isinstance(value, float) and not math.isfinite(value):
        nulls[where or "/"] = str(value)
        return None
    if isinstance(value, dict):
        return {k: finite_only(v, f"{where}/{k}", nulls) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [finite_only(v, f"{where}/{i}", nulls) for i, v in enumerate(value)]
    return value


def document_text(data: dict[str, Any]) -> str:
    """The JSON text of a document; NaN and infinities (not JSON) become null, listed under 'nulls'."""
    nulls: dict[str, str] = {}
    clean = finite_only(data, "", nulls)
    if nulls:
        clean["nulls"] = {where: f"was {value}, which JSON cannot hold" for where, value in nulls.items()}
    return json.dumps(clean, indent=2, allow_nan=False)
