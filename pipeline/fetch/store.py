"""Where fetched data lands: the GeoPackage and the folder's `manifest.json`.

The manifest (`{"schema", "files": {name: entry}}`) records for each fetched file
where it came from (URL, layer, filter), when, how many features, its sha256 and
its licence and attribution. Its keys and values are a machine contract: English.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from pipeline.errors import InputError
from pipeline.files import replacing, sha256_file, write_text_atomic

OUTPUT_LAYER = "jordbruksblock"
LICENCE = "CC BY 4.0"
ATTRIBUTION = "Jordbruksblock © Jordbruksverket, CC BY 4.0"
LICENCE_URL = "https://creativecommons.org/licenses/by/4.0/"
MANIFEST_NAME = "manifest.json"
MANIFEST_SCHEMA = "opjord.manifest/1"


def utc_now() -> str:
    """The time now in UTC, to the second, as ISO 8601 with a Z: 2025-03-01T10:00:00Z."""
    return datetime.now(UTC).replace(microsecond=0).isoformat().replace("+00:00", "Z")


def write_geopackage(frame, path: Path, description: str = ATTRIBUTION) -> str:
    """Write `frame` as layer `jordbruksblock` to `path` atomically; return its sha256.

    `description` goes into gpkg_contents (QGIS shows it), so the attribution
    travels with the file even without the manifest.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    with replacing(path) as tmp:
        frame.to_file(tmp, layer=OUTPUT_LAYER, driver="GPKG", engine="pyogrio",
                      promote_to_multi=True, layer_options={"DESCRIPTION": description})
        digest = sha256_file(tmp)
    return digest


def read_manifest(path: Path) -> dict[str, Any]:
    """The manifest at `path` ({"schema", "files": {name: entry}}), empty if absent."""
    if not path.exists():
        return {"schema": MANIFEST_SCHEMA, "files": {}}
    try:
        doc = json.loads(path.read_text(encoding="utf-8"))
        if not isinstance(doc, dict) or not isinstance(doc.get("files"), dict):
            raise ValueError("ingen tabell `files`")
    except (OSError, ValueError) as exc:
        raise InputError(
            f"{path}: förteckningen över hämtade data kan inte läsas ({exc}). Inget hämtades. "
            "Åtgärd: reparera JSON-filen eller flytta undan den (nästa hämtning skapar den "
            "på nytt).") from exc
    return doc


def update_manifest(path: Path, name: str, entry: dict[str, Any]) -> None:
    """Set `files[name] = entry` in the manifest at `path`, atomically."""
    doc = read_manifest(path)
    doc["files"][name] = entry
    path.parent.mkdir(parents=True, exist_ok=True)
    write_text_atomic(path, json.dumps(doc, indent=2, ensure_ascii=False) + "\n")
