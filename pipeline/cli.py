"""The `opjord` command line: run, analyse, validate, map, report, scenario, fetch, demo.

Exit codes: 0 success, 2 bad input or config (one paragraph per problem, no
traceback), 1 unexpected error.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import sys
import time
import traceback
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from pipeline import __version__, fmt
from pipeline.config import DEFAULT_CONFIG_NAME, Config, load_config
from pipeline.console import safe_console
from pipeline.errors import InputError
from pipeline.outputs import ROLES, check_output_folders, publishing
from pipeline.results import demo_note, farmland_beside, goal_text, ratio_trap_text

if TYPE_CHECKING:  # imported by `opjord scenario` only
    from pipeline.scenario import ScenarioFigures

log = logging.getLogger("pipeline")


class _Formatter(logging.Formatter):
    def __init__(self) -> None:
        super().__init__()
        self.start = time.perf_counter()

    def format(self, record: logging.LogRecord) -> str:
        prefix = {"WARNING": "varning: ", "ERROR": "fel: "}.get(record.levelname, "")
        return f"[{time.perf_counter() - self.start:6.1f} s] {prefix}{record.getMessage()}"


def _setup_logging(verbosity: int) -> None:
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(_Formatter())
    root = logging.getLogger("pipeline")
    root.handlers[:] = [handler]
    root.setLevel({-1: logging.WARNING, 0: logging.INFO}.get(verbosity, logging.DEBUG))
    root.propagate = False


def summary_lines(summary: dict, outputs: list[Path]) -> list[str]:
    """The short Swedish summary printed at the end of a run."""
    lines = []
    if summary.get("demo"):
        lines.append(demo_note(summary.get("kommun")))
    lines.append("Andel jordbruksmark i utvecklingsområdena:")
    for p in summary["plans"].values():
        share = fmt.percent(p["share"]) if p["share"] is not None else "saknas (inga områden)"
        lines.append(f"  {p['label']}: {share} ({fmt.hectares(p['agricultural_ha'])} "
                     f"jordbruksmark av {fmt.hectares(p['development_area_ha'])})")
    base_label = summary["plans"][summary["baseline"]]["label"]
    base = summary["plans"][summary["baseline"]]
    for key, c in summary["comparisons"].items():
        plan = summary["plans"][key]
        goal = goal_text(c["goal_met"])
        lines.append(f"  {plan['label']} jämfört med {base_label}: "
                     f"{fmt.percentage_points(c['share_change_pp'])} "
                     f"({farmland_beside(plan, base)}) – {goal}.")
        if c.get("ratio_trap"):
            lines.append(f"  {ratio_trap_text(plan, base)}")
    if any("landcover" in p for p in summary["plans"].values()):
        from pipeline.landcover_text import agreement_lines

        lines.extend(agreement_lines(summary))
    if outputs:
        folders = list(dict.fromkeys(_output_folder(p, outputs) for p in outputs))
        lines.append("Resultat i: " + ", ".join(str(f) for f in folders))
    return lines


def _output_folder(path: Path, outputs: list[Path]) -> Path:
    """The topmost folder of `path` that holds outputs (reports/, not reports/figures/)."""
    folder = path.parent
    while any(p.parent == folder.parent for p in outputs) and folder.parent != folder:
        folder = folder.parent
    return folder


@dataclass(frozen=True)
class Outcome:
    """What a command produced: the files it wrote, and the summary to print (if any)."""

    outputs: list[Path] = field(default_factory=list)
    summary: dict | None = None


def cmd_analyse(config: Config, args: argparse.Namespace) -> Outcome:
    """Read, clean, overlay, compute, write data/processed."""
    return _publish(config, ("processed",))


def cmd_map(config: Config, args: argparse.Namespace) -> Outcome:
    """The public web maps (maps/) from data/processed."""
    from pipeline.webmap import build_maps

    return Outcome(build_maps(config))


def cmd_report(config: Config, args: argparse.Namespace) -> Outcome:
    """The goal report (reports/) from data/processed."""
    from pipeline.report import build_report

    return Outcome(build_report(config))


def cmd_run(config: Config, args: argparse.Namespace) -> Outcome:
    """All steps, staged and committed together: analysis, web maps, report."""
    return _publish(config, ROLES)


def _publish(config: Config, roles: tuple[str, ...]) -> Outcome:
    """Analyse, then write the outputs of `roles` as one publication (see pipeline.outputs).

    The map and the report are built from the staged, checked analysis files, so all
    three folders switch to the new run together or not at all.
    """
    from pipeline.analyse import analyse
    from pipeline.export import write_processed
    from pipeline.results import SUMMARY, read_processed

    written: dict[str, list[str]] = {}
    with publishing(config, roles) as pub:
        analysis = analyse(config)
        stage = pub.stage("processed")
        written["processed"] = write_processed(analysis, stage)
        if roles == ("processed",):  # nothing is built from the staged files: no read-back
            summary = json.loads((stage / SUMMARY).read_text(encoding="utf-8"))
        else:
            processed = read_processed(stage)
            summary = processed.summary
        for role in roles:
            pub.run_ids[role] = summary["run_id"]
        if "maps" in roles:  # before the report, which links to the map
            from pipeline.webmap import INDEX, write_maps

            written["maps"] = write_maps(config, processed, pub.stage("maps"))
        if "reports" in roles:
            from pipeline.report import report_data, write_report

            data = report_data(processed, config.output.maps / INDEX if "maps" in roles
                               else _existing(config.output.maps / "index.html"), config)
            written["reports"] = write_report(data, config.output.reports, pub.stage("reports"))
    outputs = [pub.final(role, name) for role, names in written.items() for name in names]
    return Outcome(outputs, summary)


def _existing(path: Path) -> Path | None:
    return path if path.is_file() else None


def cmd_validate(config: Config, args: argparse.Namespace) -> Outcome:
    """Check every input and the output folders and say what was found; write nothing."""
    from pipeline.analyse import validate_inputs

    check_output_folders(config)
    lines, warnings = validate_inputs(config)
    for line in lines:
        print(line)
    if config.landcover is not None:
        from pipeline.files import load_digest_cache
        from pipeline.landcover_text import describe_raster
        from pipeline.zonal import inspect_raster

        print(describe_raster(inspect_raster(config.landcover, read_pixels=True,
                                             digests=load_digest_cache(config.output.processed))))
    print("Indata ser bra ut: inga fel hittades"
          + (f"; {fmt.number(len(warnings), 0)} varning{'ar' if len(warnings) > 1 else ''} "
             "ovan (samma som `opjord run` ger)." if warnings else "."))
    return Outcome()


def cmd_scenario(config: Config, args: argparse.Namespace) -> int:
    """The exact figures of a selection of areas, from data/processed (docs/scenario.md)."""
    from pipeline import scenario
    from pipeline.files import write_text_atomic
    from pipeline.outputs import output_folders
    from pipeline.results import read_processed

    data = read_processed(config.output.processed).scenario
    keys = [p["key"] for p in data["plans"]]
    plan = args.plan or keys[-1]
    if plan not in keys:
        raise InputError(f"--plan {plan}: ingen plan med den nyckeln i {config.path.name} "
                         f"(planerna är {', '.join(keys)}). Åtgärd: ange en av dem.")
    if args.areas and (args.without or args.with_):
        raise InputError("--areas anger hela urvalet och kan inte kombineras med --without "
                         "eller --with. Åtgärd: ange antingen --areas eller --without/--with.")
    if args.areas:
        chosen, unknown = scenario.read_selection_csv(Path(args.areas), data)
        where = args.areas
    else:
        removed, unknown_out = scenario.resolve_ids(data, plan, scenario.split_ids(args.without))
        added, unknown_in = scenario.resolve_ids(data, plan, scenario.split_ids(args.with_))
        unknown = unknown_out + unknown_in
        chosen = sorted((set(scenario.plan_areas(data, plan)) - set(removed)) | set(added))
        where = "--without/--with"
    if unknown:
        shown = ", ".join(dict.fromkeys(unknown))
        raise InputError(
            f"{where}: okända område-id: {shown}. Id:na ska finnas i areas.csv (kolumnen "
            f"area_id); ett område i en annan plan än {plan} skrivs plan:id, t.ex. "
            f"{keys[0]}:{data['areas'][0]['area_id'] if data['areas'] else 'U-001'}. Åtgärd: "
            "rätta eller ta bort id:na.")
    figures = scenario.figures(data, plan, chosen)
    if args.json:
        target = Path(args.json)
        if any(target.resolve().is_relative_to(f.resolve())
               for f in output_folders(config).values()):
            raise InputError(f"--json {target}: ligger i en av opjords utdatamappar, där opjord "
                             "bara skriver sina egna filer. Åtgärd: välj en sökväg utanför dem.")
        out = {"run_id": data["run_id"],
               "selection": [{"plan": data["areas"][i]["plan"],
                              "area_id": data["areas"][i]["area_id"]} for i in figures.areas],
               **figures.as_dict()}
        try:
            write_text_atomic(target, json.dumps(out, ensure_ascii=False, indent=2) + "\n")
        except OSError as exc:
            raise InputError(f"--json {target}: kan inte skrivas ({exc.strerror}). Åtgärd: "
                             "välj en mapp som finns och där du får skriva.") from exc
    if not args.quiet:
        print("\n".join(scenario_lines(data, figures)))
    return 0


def scenario_lines(data: dict, figures: ScenarioFigures) -> list[str]:
    """The Swedish lines `opjord scenario` prints for a selection's `ScenarioFigures`."""
    plans = {p["key"]: p for p in data["plans"]}
    plan, base = plans[figures.plan], plans[figures.baseline]
    by_class = ", ".join(f"{c.lower()} {fmt.hectares(v)}"
                         for c, v in figures.agricultural_ha_by_class.items())
    lines = [f"Scenario mätt på {plan['label']} ({figures.plan}): "
             f"{fmt.number(len(figures.areas), 0)} utvecklingsområden valda.",
             f"  Utvecklingsområden: {fmt.hectares(figures.development_area_ha)} (överlapp "
             "räknas en gång, inom kommungränsen)",
             f"  Jordbruksmark: {fmt.hectares(figures.agricultural_ha)} ({by_class})",
             "  Andel jordbruksmark: " + (fmt.percent(figures.share) if figures.share is not None
                                          else "saknas (inga områden)")]
    mine = {"label": "scenariot", "share": figures.share,
            "agricultural_ha": figures.agricultural_ha,
            "development_area_ha": figures.development_area_ha}
    lines.append(f"  Jämfört med {base['label']}: "
                 f"{fmt.percentage_points(figures.share_change_pp)} "
                 f"({farmland_beside(mine, base)}) – {goal_text(figures.goal_met)}.")
    if figures.ratio_trap:
        lines.append(f"  {ratio_trap_text(mine, base)}")
    return lines


def cmd_fetch(args: argparse.Namespace) -> int:
    """Fetch field blocks over WFS; the config is optional (it gives the boundary)."""
    from pipeline import fetch

    config = None
    if Path(args.config).is_file() or args.config != DEFAULT_CONFIG_NAME:
        config = load_config(args.config, inputs_must_exist=False)
    return fetch.run(fetch.options_from_args(args), config)


def cmd_demo(args: argparse.Namespace) -> int:
    from pipeline.demo import generate_demo

    out = Path(args.out) if args.out else Path(args.config).resolve().parent / "data/raw/demo"
    for path in generate_demo(out):
        print(path)
    return 0


COMMANDS: dict[str, tuple[str, Callable[[Config, argparse.Namespace], Outcome]]] = {
    "run": ("alla steg: analys, webbkartor och målrapport", cmd_run),
    "analyse": ("läs, rensa, överlagra, beräkna och skriv data/processed", cmd_analyse),
    "validate": ("kontrollera indata utan att skriva något", cmd_validate),
    "map": ("webbkartorna (maps/) från data/processed", cmd_map),
    "report": ("målrapporten (reports/) från data/processed", cmd_report),
}


class _HelpFormatter(argparse.HelpFormatter):
    """argparse's help in Swedish where opjord controls the words."""

    def add_usage(self, usage, actions, groups, prefix=None):  # noqa: ANN001 - argparse's API
        super().add_usage(usage, actions, groups, prefix="användning: " if prefix is None
                          else prefix)


class _Parser(argparse.ArgumentParser):
    """An ArgumentParser whose section titles and error line are Swedish."""

    def __init__(self, *args, parents=(), **kwargs):
        kwargs.setdefault("formatter_class", _HelpFormatter)
        super().__init__(*args, **kwargs)
        self._positionals.title = "kommandon och argument"
        self._optionals.title = "flaggor"
        for action in self._actions:
            if isinstance(action, argparse._HelpAction):
                action.help = "visa den här hjälpen och avsluta"
        for parent in parents:  # after the titles, so the parents' options join "flaggor"
            self._add_container_actions(parent)
            self._defaults.update(parent._defaults)

    def error(self, message: str):  # noqa: ANN201 - argparse's API: never returns
        self.print_usage(sys.stderr)
        self.exit(2, f"{self.prog}: fel i kommandoraden: {message}. Se `{self.prog} --help`.\n")


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog="opjord",
        description="Andelen jordbruksmark i översiktsplanens utvecklingsområden.")
    parser.add_argument("--version", action="version", version=f"opjord {__version__}",
                        help="visa versionen och avsluta")
    common = _Parser(add_help=False)
    common.add_argument("--config", default=DEFAULT_CONFIG_NAME, metavar="SÖKVÄG",
                        help=f"konfigurationsfilen (standard: {DEFAULT_CONFIG_NAME} i den här "
                             "mappen)")
    common.add_argument("-v", "--verbose", action="count", default=0, help="mer detaljer")
    common.add_argument("-q", "--quiet", action="store_true", help="bara varningar och fel")
    sub = parser.add_subparsers(dest="command", required=True, metavar="KOMMANDO",
                                parser_class=_Parser)
    for name, (help_text, _) in COMMANDS.items():
        sub.add_parser(name, parents=[common], help=help_text, description=help_text)
    from pipeline import fetch

    fetch.configure_parser(sub.add_parser(
        "fetch", parents=[common], help="hämta Jordbruksverkets jordbruksblock via WFS"))
    what = "exakta siffror för ett urval av utvecklingsområden (från data/processed)"
    scen = sub.add_parser("scenario", parents=[common], help=what, description=(
        f"{what[0].upper()}{what[1:]}: planens egna områden, minus --without och plus --with, "
        "eller urvalet i --areas. Se docs/scenario.md."))
    scen.add_argument("--plan", metavar="NYCKEL",
                      help="planen vars jordbruksmark mäter urvalet och vars områden är "
                           "utgångspunkten (standard: den sista planen)")
    scen.add_argument("--without", metavar="ID,ID", default="",
                      help="område-id att ta bort, kommaseparerade (en annan plans: plan:id)")
    scen.add_argument("--with", dest="with_", metavar="ID,ID", default="",
                      help="område-id att lägga till, kommaseparerade (en annan plans: plan:id)")
    scen.add_argument("--areas", metavar="FIL.csv",
                      help="hela urvalet som CSV med kolumnerna plan,area_id (som "
                           "scenariosidan laddar ner)")
    scen.add_argument("--json", metavar="FIL",
                      help="skriv också siffrorna som JSON (stabila engelska nycklar)")
    demo = sub.add_parser("demo", parents=[common], help="återskapa demodata (data/raw/demo)")
    demo.add_argument("--out", metavar="MAPP",
                      help="mappen att skriva (standard: data/raw/demo bredvid konfigurationen)")
    return parser


def main(argv: list[str] | None = None) -> int:
    safe_console()  # a cp1252/cp850/ascii console gets "-" for "−" instead of a traceback
    args = build_parser().parse_args(argv)
    _setup_logging(-1 if args.quiet else args.verbose)
    try:
        if args.command == "demo":
            return cmd_demo(args)
        if args.command == "fetch":
            return cmd_fetch(args)
        config = load_config(args.config)
        if args.command == "scenario":
            return cmd_scenario(config, args)
        _, func = COMMANDS[args.command]
        outcome = func(config, args)
        if outcome.summary is not None and not args.quiet:
            print("\n".join(summary_lines(outcome.summary, outcome.outputs)))
        return 0
    except InputError as exc:
        print(f"opjord: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("opjord: avbrutet innan något skrevs; alla tidigare resultat är orörda.",
              file=sys.stderr)
        return 130
    except Exception:  # noqa: BLE001 - the last resort: a bug, not bad input
        traceback.print_exc()
        print("opjord: oväntat fel (ett fel i opjord, inte i dina data); inga tidigare "
              "resultat har ändrats. Rapportera gärna felet med raderna ovan.", file=sys.stderr)
        return 1


def entry() -> None:  # pragma: no cover - the console script; tests call main()
    """The `opjord` console script: `main()`, then end the process without tearing the
    interpreter down (freeing every geometry and module one by one costs 0.2–0.4 s at
    Norrköping size, see benchmarks/README.md). Every output is written, fsynced and
    closed by then and no worker thread is left; stdout, stderr and logging are flushed.
    Under a profiler, tracer or coverage the process exits normally, so they save their data."""
    code = main()
    if sys.getprofile() is not None or sys.gettrace() is not None:
        sys.exit(code)
    logging.shutdown()
    try:
        sys.stdout.flush()
        sys.stderr.flush()
    except OSError:  # a closed pipe (`opjord … | head`): nothing left to show
        pass
    os._exit(code)


if __name__ == "__main__":  # pragma: no cover
    entry()
