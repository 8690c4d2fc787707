"""Writing files so that a reader never sees half of one, and hashing files.

- `write_bytes_atomic` / `write_text_atomic`: the new content goes to a temporary
  file in the target's folder, is flushed to disk (fsync) and then renamed over the
  target (`os.replace`), so the target is either the old file or the complete new
  one. The temporary file is removed on any failure, Ctrl-C included. The file gets
  the mode of any new file (0666 minus the umask), not mkstemp's private 0600.
- `replacing`: the same for writers that create the file themselves (GDAL).
- `sha256_file` / `sha256_files`: hashes read 1 MiB at a time, so a national-size
  layer is never held in memory.

Temporary names are `.<name>.<8 hex digits>.tmp` beside the target (a name that is
already hidden keeps its single dot), so file managers hide them and a leftover
is recognisable.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import secrets
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path

CHUNK = 1 << 20  # bytes read at a time when hashing
# Files SQLite (GeoPackage) may leave beside a database it was writing.
_SQLITE_SIDE_FILES = ("-wal", "-shm", "-journal")

Replace = Callable[[Path, Path], None]


def temp_path(target: Path, suffix: str = ".tmp") -> Path:
    """A fresh hidden name beside `target`, `.<name>.<random>` + `suffix`; nothing is created.

    Same folder as `target`, so `os.replace` onto it is a rename on one file system.
    """
    hidden = target.name if target.name.startswith(".") else f".{target.name}"
    return target.with_name(f"{hidden}.{secrets.token_hex(4)}{suffix}")


def write_bytes_atomic(path: Path, data: bytes, *, replace: Replace | None = None) -> None:
    """Write `data` to `path` via a fsynced temporary file and a rename.

    The folder must exist. `replace(tmp, path)` does the rename (default `os.replace`,
    looked up at call time); `pipeline.outputs` passes one that retries while Windows
    reports the target in use. Whatever it raises propagates, the temporary file removed.
    """
    path = Path(path)
    tmp = temp_path(path)
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0)
    fd = os.open(tmp, flags, 0o666)  # the umask applies, as for any new file
    try:
        with open(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        (replace or os.replace)(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def write_text_atomic(path: Path, text: str, *, replace: Replace | None = None) -> None:
    """`write_bytes_atomic` of `text` in UTF-8; line ends are written as they are ("\\n")."""
    write_bytes_atomic(path, text.encode("utf-8"), replace=replace)


@contextlib.contextmanager
def replacing(target: Path) -> Iterator[Path]:
    """A temporary path beside `target` for a writer that creates the file itself (GDAL).

    The path ends in `target`'s suffix (GDAL checks it) and does not exist yet. When the
    with-block ends normally the file there replaces `target` (`os.replace`); when it
    raises, the file and any SQLite side files are removed and `target` is untouched.
    """
    target = Path(target)
    tmp = temp_path(target, f".tmp{target.suffix}")
    try:
        yield tmp
        os.replace(tmp, target)
    except BaseException:
        for leftover in (tmp, *(tmp.with_name(tmp.name + s) for s in _SQLITE_SIDE_FILES)):
            leftover.unlink(missing_ok=True)
        raise


def sha256_files(paths: Iterable[Path]) -> str:
    """sha256 (hex) of the files' bytes read one after another, in the order given."""
    digest = hashlib.sha256()
    for path in paths:
        with open(path, "rb") as fh:
            while chunk := fh.read(CHUNK):
                digest.update(chunk)
    return digest.hexdigest()


def sha256_parts(paths: Iterable[Path]) -> tuple[str, dict[Path, str]]:
    """In one pass: the sha256 of the files read one after another (as `sha256_files`) and
    each file's own sha256 (as `sha256sum` prints it)."""
    whole, parts = hashlib.sha256(), {}
    for path in paths:
        own = hashlib.sha256()
        with open(path, "rb") as fh:
            while chunk := fh.read(CHUNK):
                whole.update(chunk)
                own.update(chunk)
        parts[path] = own.hexdigest()
    return whole.hexdigest(), parts


def sha256_file(path: Path) -> str:
    """sha256 (hex) of one file, read in 1 MiB chunks."""
    return sha256_files([path])


# ---------------------------------------------------------------------------- digest cache

DIGEST_CACHE = ".opjord-sha256.json"  # in the processed folder, staged with the outputs
DIGEST_CACHE_SCHEMA = "opjord.sha256-cache/1"
RACY_NS = 2_000_000_000  # a file changed this close before hashing may change again unseen


def file_stamp(path: Path) -> dict:
    """What says a file is unchanged without reading it (as git's index): size,
    modification time in ns and inode."""
    st = os.stat(path)
    return {"size": st.st_size, "mtime_ns": st.st_mtime_ns, "inode": st.st_ino}


def load_digest_cache(folder: Path) -> dict[str, dict]:
    """The cached digests in `folder` by source path (empty when there is no cache, or the
    file is not opjord's cache: wrong schema, damaged)."""
    import json

    try:
        data = json.loads((Path(folder) / DIGEST_CACHE).read_text(encoding="utf-8"))
    except (OSError, ValueError, UnicodeDecodeError):
        return {}
    if not isinstance(data, dict) or data.get("schema") != DIGEST_CACHE_SCHEMA or \
            not isinstance(data.get("sources"), dict):
        return {}
    return data["sources"]


def cached_digest(entry: dict | None, paths: list[Path]) -> tuple[str, dict[Path, str]] | None:
    """The digests of `paths` from a cache entry (`digest_entry`) when every file is the one
    hashed then (same paths, sizes, modification times and inodes), else None."""
    if not isinstance(entry, dict) or not isinstance(entry.get("files"), list):
        return None
    files = entry["files"]
    if len(files) != len(paths):
        return None
    try:
        for f, path in zip(files, paths, strict=True):
            if f.get("path") != str(path) or any(f.get(k) != v for k, v in
                                                 file_stamp(path).items()):
                return None
        return str(entry["sha256"]), {p: str(f["sha256"]) for p, f in zip(paths, files,
                                                                          strict=True)}
    except (OSError, KeyError, AttributeError, TypeError):
        return None


def digest_entry(paths: list[Path], stamps: list[dict], whole: str, parts: dict[Path, str],
                 hashed_at_ns: int) -> dict | None:
    """A cache entry for files hashed at `hashed_at_ns` (time.time_ns) with their stamps
    taken before hashing; None when a file changed during the hash or was modified within
    RACY_NS before it (its stamp might not show a later change)."""
    try:
        if [file_stamp(p) for p in paths] != stamps:
            return None
    except OSError:
        return None
    if any(s["mtime_ns"] > hashed_at_ns - RACY_NS for s in stamps):
        return None
    return {"sha256": whole, "files": [{"path": str(p), **s, "sha256": parts[p]}
                                       for p, s in zip(paths, stamps, strict=True)]}


def write_digest_cache(folder: Path, entries: dict[str, dict]) -> str:
    """Write the cache of `entries` (by source path; may be none) into `folder` (a
    publication's staging folder, so it is committed and listed with the outputs); return
    its name."""
    import json

    data = {"schema": DIGEST_CACHE_SCHEMA, "sources": dict(sorted(entries.items()))}
    (Path(folder) / DIGEST_CACHE).write_text(json.dumps(data, indent=1) + "\n",
                                             encoding="utf-8", newline="\n")
    return DIGEST_CACHE
