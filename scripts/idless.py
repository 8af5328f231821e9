#!/usr/bin/env python3
"""Reads one JSON document on stdin and prints it without release ids ("id",
"release_id") and with every array sorted: what stays the same between two
stores holding the same releases whose posts were written in another order
(the work queue's workers), where release ids, which follow post ids,
differ."""
import json
import sys


def idless(v):
    if isinstance(v, dict):
        return {k: idless(x) for k, x in v.items() if k not in ("id", "release_id")}
    if isinstance(v, list):
        return sorted((idless(x) for x in v), key=lambda x: json.dumps(x, sort_keys=True))
    return v


json.dump(idless(json.load(sys.stdin)), sys.stdout, sort_keys=True, indent=1)
print()
