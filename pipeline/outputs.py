"""Output folders: safety checks, manifests, staging and one commit for a whole run.

opjord writes into three output folders (`[output] processed`, `maps`, `reports`).
Three rules keep a planner's files safe and the folders consistent:

1. **Safe folders.** Before anything is written, `check_output_folders` refuses
   (InputError, exit 2) an output folder that is, contains or lies inside an
   input's folder, that is or contains the config's folder, that is, contains or
   lies inside another output folder, or that is an existing file. An input's
   folder that also holds the config (or lies above it) is the project folder,
   not a data folder: outputs may lie below it (the default layout).
2. **Only our own files.** Each output folder holds `.opjord-manifest.json`, the
   list of files opjord wrote there. opjord replaces or deletes only files listed
   in it; any other file (a README, a planner's own notes) is left alone, and a
   new output whose name is taken by a file opjord did not write is refused.
3. **One run, one set.** A `Publication` stages every new file in a hidden folder
   inside its output folder (`.opjord-stage-…`, same file system, so the final
   moves are renames). Only when every step has succeeded does `commit` write a
   journal (`.opjord-journal.json`, the commit point), move the previous outputs
   aside, move the new ones in, write the manifests and remove the journal. A
   failure or Ctrl-C before the journal leaves every folder as it was; a process
   killed after it is completed by the next opjord command (`recover`), so the
   folders are always either all from the previous run or all from the new one.
   A file held open by another program (Excel, QGIS on Windows) makes the commit
   put everything back and say which file to close.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import secrets
import shutil
import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

from pipeline.config import Config
from pipeline.errors import InputError
from pipeline.files import write_text_atomic

log = logging.getLogger(__name__)

MANIFEST = ".opjord-manifest.json"
JOURNAL = ".opjord-journal.json"
STAGE_PREFIX = ".opjord-stage-"
OLD_PREFIX = ".opjord-old-"
MANIFEST_SCHEMA = "opjord.manifest/1"
JOURNAL_SCHEMA = "opjord.journal/1"
ROLES = ("processed", "maps", "reports")
ROLE_SV = {"processed": "analysresultat", "maps": "webbkartor", "reports": "målrapport"}
# Windows refuses to move a file another program holds open; Explorer or a virus scanner may
# hold one for a moment. Retry for about a second before saying which file is held.
_RETRIES = (0.05, 0.1, 0.2, 0.3, 0.4)


def output_folders(config: Config) -> dict[str, Path]:
    """The configured output folders by role (processed, maps, reports)."""
    return {role: getattr(config.output, role) for role in ROLES}


# ---------------------------------------------------------------------------- checks


def _inside(path: Path, folder: Path) -> bool:
    """True when `path` is `folder` or lies below it (both resolved)."""
    return path == folder or folder in path.parents


def input_paths(config: Config) -> list[Path]:
    """Every input file (or folder, for a File Geodatabase) the config reads."""
    paths = [s.path for s in config.vector_sources()]
    if config.landcover is not None:
        paths.append(config.landcover.path)
    return paths


def folder_problems(config: Config) -> list[str]:
    """Why the configured output folders are unsafe (empty when they are safe)."""
    root = config.root.resolve()
    outputs = {role: folder.resolve() for role, folder in output_folders(config).items()}
    inputs = [p.resolve() for p in input_paths(config)]
    cfg = config.path
    problems: list[str] = []

    def refuse(role: str, folder: Path, what: str) -> None:
        problems.append(
            f"{cfg}: [output] {role} = {folder} {what}. opjord ersätter sitt eget innehåll i "
            "utdatamapparna och får aldrig skriva bland indata, i konfigurationens mapp eller i "
            f"en annan utdatamapp. Åtgärd: låt [output] {role} peka på en egen mapp, t.ex. "
            f'{role} = "{_default(role)}".')

    for role, folder in outputs.items():
        if folder.exists() and not folder.is_dir():
            problems.append(
                f"{cfg}: [output] {role} = {folder} är en befintlig fil, inte en mapp. "
                f"Åtgärd: ange en mapp (den skapas om den saknas), t.ex. "
                f'{role} = "{_default(role)}".')
            continue
        if _inside(root, folder):
            refuse(role, folder, "är konfigurationsfilens mapp eller en mapp ovanför den")
            continue
        for path in inputs:
            data_folder = path.parent
            if folder == data_folder:
                refuse(role, folder, f"är mappen där indatafilen {path} ligger")
            elif _inside(path, folder):
                refuse(role, folder, f"innehåller indatafilen {path}")
            elif _inside(folder, path):
                refuse(role, folder, f"ligger inuti indata {path}")
            elif _inside(folder, data_folder) and not _inside(root, data_folder):
                refuse(role, folder, f"ligger i indatamappen {data_folder} (för {path.name})")
            else:
                continue
            break
        for other, other_folder in outputs.items():
            if other == role:
                continue
            if folder == other_folder:
                refuse(role, folder, f"är samma mapp som [output] {other}")
            elif _inside(other_folder, folder):
                refuse(role, folder, f"innehåller [output] {other} = {other_folder}")
            elif _inside(folder, other_folder):
                refuse(role, folder, f"ligger inuti [output] {other} = {other_folder}")
    return list(dict.fromkeys(problems))


def _default(role: str) -> str:
    return {"processed": "data/processed", "maps": "maps", "reports": "reports"}[role]


def check_output_folders(config: Config) -> None:
    """Raise InputError when any configured output folder is unsafe (see module docstring)."""
    problems = folder_problems(config)
    if problems:
        raise InputError(problems)


# ---------------------------------------------------------------------------- manifests


def read_manifest(folder: Path) -> dict:
    """The folder's manifest: {"schema", "run_id", "files": [relative posix paths]}.

    A folder without one holds nothing opjord wrote. A damaged manifest is an InputError.
    """
    path = folder / MANIFEST
    if not path.is_file():
        return {"schema": MANIFEST_SCHEMA, "run_id": None, "files": []}
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        if data.get("schema") != MANIFEST_SCHEMA or not all(
                isinstance(f, str) for f in data["files"]):
            raise ValueError("okänt innehåll")
    except (ValueError, KeyError, TypeError, AttributeError, UnicodeDecodeError) as exc:
        raise InputError(
            f"{path}: opjords förteckning över sina filer i mappen är skadad ({exc}). "
            "Åtgärd: kontrollera mappens innehåll, ta bort de filer opjord har skrivit och "
            f"{MANIFEST}, och kör igen.") from exc
    return data


def _write_json_atomic(path: Path, data: dict) -> None:
    """Write JSON via a fsynced temporary file `<name>.<hex>.tmp` in the same folder, then
    renamed with `_replace` (HeldOpen when Windows keeps the file in use)."""
    write_text_atomic(path, json.dumps(data, ensure_ascii=False, indent=2) + "\n",
                      replace=_replace)


def _files_below(folder: Path) -> list[str]:
    """Every file below `folder`, as sorted relative posix paths."""
    return sorted(p.relative_to(folder).as_posix() for p in folder.rglob("*") if p.is_file())


def _fsync_file(path: Path) -> None:
    with path.open("rb+") as fh:
        os.fsync(fh.fileno())


# ---------------------------------------------------------------------------- moving files


class HeldOpen(Exception):
    """A file could not be moved because another program holds it (Windows)."""

    def __init__(self, path: Path, error: OSError):
        super().__init__(str(path))
        self.path, self.error = path, error


def _replace(src: Path, dst: Path) -> None:
    """os.replace, retried briefly when Windows reports the file as in use."""
    for pause in (*_RETRIES, None):
        try:
            os.replace(src, dst)
            return
        except PermissionError as exc:
            if pause is None:
                raise HeldOpen(dst if dst.exists() else src, exc) from exc
            time.sleep(pause)


def _held_message(held: HeldOpen) -> str:
    return (f"{held.path}: filen kan inte ersättas ({held.error.strerror or held.error}); "
            "troligen är den öppen i ett annat program, t.ex. Excel eller QGIS, eller så saknas "
            "skrivrätt. Inget har ändrats: alla tidigare resultat är kvar som de var. Åtgärd: "
            "stäng filen (eller programmet) och kör igen.")


def _remove_empty_parents(path: Path, folder: Path) -> None:
    """Remove the now-empty folders between `path` and `folder` (never `folder` itself)."""
    for parent in path.parents:
        if parent == folder or folder not in parent.parents:
            return
        try:
            parent.rmdir()
        except OSError:
            return


# ---------------------------------------------------------------------------- journal


def _apply(journal: dict) -> None:
    """Complete a committed journal: old outputs aside, new ones in, manifests, clean up.

    Idempotent: a process killed at any point of this function is completed by
    running it again (`recover`).
    """
    lost = [Path(e["folder"]) / rel for e in journal["folders"] for rel in e["install"]
            if not (Path(e["folder"]) / e["stage"] / rel).exists()
            and not (Path(e["folder"]) / rel).exists()]
    if lost:
        raise InputError(
            f"{_journal_path(journal)}: en avbruten körning kan inte slutföras, eftersom "
            f"{len(lost)} av dess nya filer saknas (t.ex. {lost[0]}). Tidigare resultat som "
            f"redan hade flyttats undan ligger kvar i mapparna {OLD_PREFIX}…. Åtgärd: flytta "
            "tillbaka dem om du vill ha dem, ta bort journalen och kör opjord igen.")
    for entry in journal["folders"]:
        folder = Path(entry["folder"])
        stage, old = folder / entry["stage"], folder / entry["old"]
        for rel in [*entry["install"], *entry["remove"]]:
            target = folder / rel
            if target.exists() and (rel not in entry["install"] or (stage / rel).exists()):
                (old / rel).parent.mkdir(parents=True, exist_ok=True)
                _replace(target, old / rel)
    for entry in journal["folders"]:
        folder = Path(entry["folder"])
        stage = folder / entry["stage"]
        for rel in entry["install"]:
            if (stage / rel).exists():
                (folder / rel).parent.mkdir(parents=True, exist_ok=True)
                _replace(stage / rel, folder / rel)
        for rel in entry["remove"]:
            _remove_empty_parents(folder / rel, folder)
        _write_json_atomic(folder / MANIFEST, {"schema": MANIFEST_SCHEMA,
                                               "run_id": entry["run_id"],
                                               "files": entry["install"]})
    _journal_path(journal).unlink(missing_ok=True)
    for entry in journal["folders"]:
        folder = Path(entry["folder"])
        for name in (entry["stage"], entry["old"]):
            shutil.rmtree(folder / name, ignore_errors=True)


def _undo(journal: dict) -> None:
    """Put the previous outputs back after a failed first phase (nothing new was moved in)."""
    for entry in journal["folders"]:
        folder = Path(entry["folder"])
        old = folder / entry["old"]
        for rel in [*entry["install"], *entry["remove"]]:
            if (old / rel).exists() and not (folder / rel).exists():
                os.replace(old / rel, folder / rel)
    _journal_path(journal).unlink(missing_ok=True)


def _journal_path(journal: dict) -> Path:
    return Path(journal["folders"][0]["folder"]) / JOURNAL


def recover(folders: Iterable[Path]) -> None:
    """Complete any run that was killed while committing, then remove leftover staging.

    Every opjord command that writes calls this first, so a kill at any point leaves
    the output folders all from the previous run or all from the new one.
    """
    folders = [f for f in folders if f.is_dir()]
    for folder in folders:
        path = folder / JOURNAL
        if not path.is_file():
            continue
        try:
            journal = json.loads(path.read_text(encoding="utf-8"))
            if journal.get("schema") != JOURNAL_SCHEMA:
                raise ValueError("okänt innehåll")
        except (ValueError, UnicodeDecodeError) as exc:
            raise InputError(
                f"{path}: journalen från en avbruten körning är skadad ({exc}). Åtgärd: "
                "kontrollera utdatamapparna och ta bort journalen, kör sedan igen.") from exc
        log.warning("Slutför en körning som avbröts medan resultaten skrevs (%s).", path)
        try:
            _apply(journal)
        except HeldOpen as held:
            raise InputError(_held_message(held)) from held
    for folder in folders:
        for leftover in folder.iterdir():
            if leftover.is_dir() and leftover.name.startswith((STAGE_PREFIX, OLD_PREFIX)):
                log.debug("Tar bort kvarlämnad mellanlagring %s", leftover)
                shutil.rmtree(leftover, ignore_errors=True)
            elif leftover.name.startswith((f"{MANIFEST}.", f"{JOURNAL}.")) and \
                    leftover.name.endswith(".tmp"):
                leftover.unlink(missing_ok=True)


# ---------------------------------------------------------------------------- publication


@dataclass
class Publication:
    """New outputs staged for several output folders, committed together.

    `stage(role)` is the empty folder a step writes its files into; `commit()` makes
    them the outputs. Use through `publishing`.
    """

    folders: dict[str, Path]  # role -> final output folder
    token: str = field(default_factory=lambda: secrets.token_hex(6))
    run_ids: dict[str, str | None] = field(default_factory=dict)
    committed: bool = False

    def stage(self, role: str) -> Path:
        """The staging folder of `role` (created on first use)."""
        path = self.folders[role] / f"{STAGE_PREFIX}{self.token}"
        try:
            path.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise InputError(_unwritable(self.folders[role], exc)) from exc
        return path

    def final(self, role: str, rel: str) -> Path:
        """Where a staged file of `role` ends up."""
        return self.folders[role] / rel

    def _entries(self) -> list[dict]:
        """One journal entry per staged folder; InputError when a new file's name is taken."""
        entries, problems = [], []
        for role, folder in self.folders.items():
            stage = folder / f"{STAGE_PREFIX}{self.token}"
            if not stage.is_dir():
                continue
            ours = set(read_manifest(folder)["files"])
            install = _files_below(stage)
            for rel in install:
                clash = _clash(folder, rel, ours)
                if clash is not None:
                    problems.append(
                        f"{clash}: finns redan i {ROLE_SV[role]}mappen men är inte skriven av "
                        f"opjord (den saknas i {folder / MANIFEST}), så opjord skriver inte över "
                        "den. Inget har ändrats. Åtgärd: flytta eller byt namn på den – eller, om "
                        "den är från en tidigare version av opjord, ta bort den – och kör igen.")
            entries.append({"role": role, "folder": str(folder), "stage": stage.name,
                            "old": f"{OLD_PREFIX}{self.token}", "install": install,
                            "remove": sorted(ours - set(install)),
                            "run_id": self.run_ids.get(role)})
        if problems:
            raise InputError(list(dict.fromkeys(problems)))
        return entries

    def commit(self) -> None:
        """Make every staged file an output, all folders together (see module docstring)."""
        entries = self._entries()
        if not entries:
            return
        for entry in entries:  # every new byte on disk before the commit point
            stage = Path(entry["folder"]) / entry["stage"]
            for rel in entry["install"]:
                _fsync_file(stage / rel)
        journal = {"schema": JOURNAL_SCHEMA, "token": self.token, "folders": entries}
        path = _journal_path(journal)
        try:
            _write_json_atomic(path, journal)
        except HeldOpen as held:
            raise InputError(_held_message(held)) from held
        try:
            try:
                _apply(journal)
            except HeldOpen as held:
                if _nothing_installed(journal):
                    _undo(journal)
                    raise InputError(_held_message(held)) from held
                raise InputError(_held_message(held).replace(
                    "Inget har ändrats: alla tidigare resultat är kvar som de var.",
                    "De nya resultaten är delvis på plats; nästa körning av opjord slutför "
                    "dem.")) from held
        except KeyboardInterrupt:
            _apply(journal)  # past the commit point: finish, so the folders are one run
            log.warning("Avbrottet kom när de nya resultaten redan skrevs; de är nu kompletta.")
        self.committed = True

    def abort(self) -> None:
        """Remove the staging folders; the previous outputs stay as they were.

        Past the commit point (this publication's journal exists) the commit is
        completed instead, so the folders never hold two runs.
        """
        for folder in self.folders.values():
            path = folder / JOURNAL
            if path.is_file() and _token(path) == self.token:
                recover(self.folders.values())
                return
        for folder in self.folders.values():
            shutil.rmtree(folder / f"{STAGE_PREFIX}{self.token}", ignore_errors=True)


def _clash(folder: Path, rel: str, ours: set[str]) -> Path | None:
    """The existing path, not written by opjord, that a new output `rel` would replace."""
    target = folder / rel
    if rel in ours:
        return target if target.is_dir() else None
    if target.exists():
        return target
    parent = target.parent
    while parent != folder:  # a file where the output needs a folder
        if parent.exists() and not parent.is_dir():
            return parent
        parent = parent.parent
    return None


def _token(path: Path) -> str | None:
    """The token of the publication a journal belongs to (None when unreadable)."""
    try:
        return json.loads(path.read_text(encoding="utf-8")).get("token")
    except (ValueError, UnicodeDecodeError, AttributeError):
        return None


def _nothing_installed(journal: dict) -> bool:
    """True while every staged file is still in its staging folder (first phase)."""
    return all((Path(e["folder"]) / e["stage"] / rel).exists()
               for e in journal["folders"] for rel in e["install"])


def _unwritable(folder: Path, exc: OSError) -> str:
    return (f"{folder}: opjord kan inte skriva i mappen ({exc.strerror or exc}). Inget har "
            "ändrats. Åtgärd: ge skrivrätt till mappen eller låt [output] peka på en mapp du "
            "kan skriva i.")


@contextlib.contextmanager
def publishing(config: Config, roles: Iterable[str]) -> Iterator[Publication]:
    """Check the output folders, complete any interrupted run, stage, and commit on success.

    On any exception (or Ctrl-C) before the commit the staging is removed and the
    previous outputs are untouched. OSErrors while staging (a full disk, a folder
    without write permission) become InputErrors naming the file.
    """
    check_output_folders(config)
    folders = output_folders(config)
    recover(folders.values())
    publication = Publication({role: folders[role] for role in roles})
    try:
        yield publication
    except OSError as exc:
        publication.abort()
        where = Path(exc.filename) if exc.filename else None
        if where is None or not any(_inside(where.absolute(), f.absolute())
                                    for f in publication.folders.values()):
            raise  # not about writing the outputs
        raise InputError(_unwritable(where, exc)) from exc
    except BaseException:
        publication.abort()
        raise
    try:
        publication.commit()
    except BaseException:
        publication.abort()
        raise
