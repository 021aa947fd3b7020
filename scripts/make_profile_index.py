#!/usr/bin/env python3
"""Write linkcheck/image/profiles/index.json: every built-in image name and alias -> its family file, so
that `--target alpine` parses alpine.json alone. Run it after changing a profile (scripts/measure_rootfs.py);
tests/test_profiles.py fails when the index and the family files disagree.
Usage: python scripts/make_profile_index.py
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from linkcheck.image.target import INDEX_FILE, _builtin_images, profile_index  # noqa: E402

INDEX_PATH = Path(__file__).resolve().parent.parent / "linkcheck" / "image" / "profiles" / INDEX_FILE

if __name__ == "__main__":
    INDEX_PATH.write_text(json.dumps(profile_index(_builtin_images()), indent=1, sort_keys=True) + "\n")
    print(f"wrote {INDEX_PATH}")
