"""CSV files for the supervisor: written whole to a temporary name, then renamed, so a failed
export never leaves half a file that looks complete."""

from __future__ import annotations

import csv
import os
from collections.abc import Iterable, Sequence
from datetime import datetime
from pathlib import Path

from app.store.paths import data_dir


def exports_dir() -> Path:
    """Where exports go: a folder under the app's data directory."""
    return data_dir() / "exports"


def write_csv(
    folder: Path, stem: str, header: Sequence[str], rows: Iterable[Sequence[object]]
) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    stamp = datetime.now().strftime("%Y%m%d-%H%M%S-%f")
    target = folder / f"{stem}-{stamp}.csv"
    partial = target.with_suffix(".csv.part")
    with partial.open("w", newline="", encoding="utf-8") as out:
        writer = csv.writer(out)
        writer.writerow(header)
        writer.writerows(rows)
    os.replace(partial, target)
    return target
