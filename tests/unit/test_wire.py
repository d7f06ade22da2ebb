"""The wire, pinned: the JSON schema of what a device and the server exchange, kept in
wire_schema.json under the protocol version it belongs to. A change to these shapes that leaves
PROTOCOL_VERSION where it was fails here, so a peer of the old version is never left to misread
the new one.

After bumping PROTOCOL_VERSION (sync/protocol/common.py), regenerate the file with
    .venv/bin/python -m tests.unit.test_wire
It refuses to rewrite the schema of a version that already has one; pass --same-version for a
change no older peer could misread (and say why in the commit).
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

from sync import protocol as p

GOLDEN = Path(__file__).with_name("wire_schema.json")
REGENERATE = ".venv/bin/python -m tests.unit.test_wire"

# The device's side of the wire: what it sends and every answer it reads to stay in sync.
PINNED = (p.PushRequest, p.PushResponse, p.PullPage, p.SnapshotPage, p.ServerInfo)


def wire_schema() -> dict[str, Any]:
    """Each pinned model's schema as it is validated (read) and as it is serialized (written)."""
    return {
        f"{model.__name__} ({mode})": model.model_json_schema(mode=mode)
        for model in PINNED
        for mode in ("validation", "serialization")
    }


def differences(old: Any, new: Any, path: str = "") -> list[str]:
    """Where two parsed JSON values differ (key order is not a difference)."""
    if isinstance(old, dict) and isinstance(new, dict):
        out: list[str] = []
        for key in sorted(old.keys() | new.keys()):
            if key not in new:
                out.append(f"{path}/{key}: removed")
            elif key not in old:
                out.append(f"{path}/{key}: added")
            else:
                out += differences(old[key], new[key], f"{path}/{key}")
        return out
    if isinstance(old, list) and isinstance(new, list) and len(old) == len(new):
        return [
            d
            for i, (a, b) in enumerate(zip(old, new, strict=True))
            for d in differences(a, b, f"{path}[{i}]")
        ]
    return [] if old == new else [f"{path}: {json.dumps(old)[:80]} -> {json.dumps(new)[:80]}"]


def test_the_wire_changes_only_with_the_protocol_version():
    golden = json.loads(GOLDEN.read_text())
    version = str(p.PROTOCOL_VERSION)
    assert version in golden, (
        f"PROTOCOL_VERSION is {version} but {GOLDEN.name} pins version(s) {', '.join(golden)}: "
        f"regenerate it with `{REGENERATE}`"
    )
    changed = differences(golden[version], wire_schema())
    assert not changed, (
        f"the wire schema changed while PROTOCOL_VERSION stayed {version}. If a peer of version "
        f"{version} could misread the change, bump PROTOCOL_VERSION in sync/protocol/common.py; "
        f"then regenerate {GOLDEN.name} with `{REGENERATE}` (if only a new pydantic wrote the "
        f"same wire differently, regenerate with --same-version). Changes:\n  "
        + "\n  ".join(changed[:20])
    )


def test_a_changed_field_is_a_difference():
    # The check is not vacuous: the golden file holds every pinned model, and one field's type
    # changed deep inside it is found and named.
    pinned = json.loads(GOLDEN.read_text())[str(p.PROTOCOL_VERSION)]
    assert set(pinned) == set(wire_schema())
    changed = json.loads(json.dumps(pinned))
    changed["ServerInfo (validation)"]["properties"]["max_batch"]["type"] = "string"
    assert differences(pinned, changed) == [
        '/ServerInfo (validation)/properties/max_batch/type: "integer" -> "string"'
    ]


def main(argv: list[str]) -> int:
    version = str(p.PROTOCOL_VERSION)
    golden = json.loads(GOLDEN.read_text()) if GOLDEN.exists() else {}
    schema = wire_schema()
    if version in golden and differences(golden[version], schema) and "--same-version" not in argv:
        print(
            f"{GOLDEN.name} already pins a different schema for version {version}: bump "
            "PROTOCOL_VERSION first, or pass --same-version if no older peer could misread it"
        )
        return 1
    GOLDEN.write_text(json.dumps({version: schema}, indent=1, sort_keys=True) + "\n")
    print(f"wrote {GOLDEN} (protocol version {version}, {len(schema)} schemas)")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
