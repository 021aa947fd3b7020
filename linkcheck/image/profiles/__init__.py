"""Built-in image profiles: one JSON data file per image family, read by ``linkcheck.image.target``;
and the one reader of the package's JSON data files, shared with the runtime profiles."""

from __future__ import annotations

import json
from typing import Any

from linkcheck.errors import TargetError


def read_json(path: str, what: str) -> Any:
    """The JSON data file at ``path``; ``what`` names it in the one-line TargetError a broken
    installation gets."""
    try:
        with open(path, encoding="utf-8") as f:
            return json.load(f)
    except OSError as e:
        raise TargetError(f"{what}: cannot be read: {e.strerror or e}") from None
    except (ValueError, RecursionError) as e:  # UnicodeDecodeError is a ValueError
        raise TargetError(f"{what}: not valid JSON: {e}") from None
