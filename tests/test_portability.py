"""Nothing POSIX-only on opjord's main path, so it runs where planners work (Windows).

A static check over every module of `pipeline/` (parsed with `ast`, nothing
imported). It fails on a POSIX-only module import (fcntl, termios, pwd, grp,
resource, posix, …), a POSIX-only `os` function (os.fork, os.getuid, …) or
`signal` name (SIGKILL, SIGHUP, alarm, …), and a string that is a POSIX system
path ("/dev/null", "/proc/…", "/tmp/…"). The rule for what is allowed: such a use
is fine when guarded, i.e. inside

- an `if` (or `x if … else y`) whose test asks about the platform: `os.name`,
  `sys.platform`, `platform.system()`, or `hasattr(…)` — both branches count, or
- the body of a `try` with an `except` naming ImportError, ModuleNotFoundError or
  AttributeError (what a missing module or function raises on Windows).

Docstrings are not checked. The same file tests the check on small snippets, and
that report links work when maps/ and reports/ are on different Windows drives.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest
from conftest import make_project

import pipeline
from pipeline.analyse import analyse
from pipeline.config import load_config
from pipeline.export import write_outputs
from pipeline.report import REPORT_MD, build_report

PACKAGE = Path(pipeline.__file__).resolve().parent

POSIX_MODULES = {"fcntl", "termios", "tty", "pty", "pwd", "grp", "spwd", "crypt", "resource",
                 "posix", "syslog", "nis", "curses", "readline"}
POSIX_OS = {"fork", "forkpty", "getuid", "geteuid", "getgid", "getegid", "getgroups",
            "setuid", "setgid", "seteuid", "setegid", "getpgid", "setpgid", "getpgrp", "setsid",
            "getsid", "killpg", "uname", "sched_getaffinity", "sched_setaffinity", "statvfs",
            "fstatvfs", "mkfifo", "mknod", "chown", "lchown", "fchown", "chroot", "getloadavg",
            "nice", "sync", "openpty", "ttyname", "wait3", "wait4", "WNOHANG", "O_NOFOLLOW",
            "O_DIRECTORY", "pipe2", "posix_fadvise", "posix_fallocate"}
POSIX_SIGNAL = {"SIGKILL", "SIGHUP", "SIGQUIT", "SIGALRM", "SIGUSR1", "SIGUSR2", "SIGCHLD",
                "SIGPIPE", "SIGSTOP", "SIGCONT", "SIGTSTP", "SIGTTIN", "SIGTTOU", "SIGWINCH",
                "SIGPROF", "SIGVTALRM", "alarm", "setitimer", "getitimer", "pause",
                "siginterrupt", "sigwait", "pthread_kill", "pthread_sigmask"}
POSIX_OTHER = {"shutil": {"chown"}}
POSIX_PATHS = ("/dev/", "/proc/", "/sys/", "/tmp/", "/etc/", "/var/")
GUARD_EXCEPTIONS = {"ImportError", "ModuleNotFoundError", "AttributeError"}


def _asks_platform(test: ast.expr) -> bool:
    for node in ast.walk(test):
        if (isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name)
                and (node.value.id, node.attr) in {("os", "name"), ("sys", "platform"),
                                                   ("platform", "system")}):
            return True
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and \
                node.func.id == "hasattr":
            return True
    return False


def _catches_missing(handler: ast.ExceptHandler) -> bool:
    kinds = handler.type.elts if isinstance(handler.type, ast.Tuple) else [handler.type]
    return any(isinstance(k, ast.Name) and k.id in GUARD_EXCEPTIONS for k in kinds)


def _docstrings(tree: ast.AST) -> set[int]:
    out = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Module | ast.ClassDef | ast.FunctionDef | ast.AsyncFunctionDef):
            first = node.body[0] if node.body else None
            if isinstance(first, ast.Expr) and isinstance(first.value, ast.Constant):
                out.add(id(first.value))
    return out


def posix_only(source: str, filename: str = "<snippet>") -> list[str]:
    """Unguarded POSIX-only uses in `source`, as "file:line: what" strings."""
    tree = ast.parse(source, filename)
    skip = _docstrings(tree)
    modules: dict[str, str] = {}  # local name -> module, from the imports
    found: list[str] = []

    def report(node: ast.AST, what: str) -> None:
        found.append(f"{filename}:{node.lineno}: {what}")

    def visit(node: ast.AST, guarded: bool) -> None:
        if isinstance(node, ast.If | ast.IfExp):
            inner = guarded or _asks_platform(node.test)
            visit(node.test, guarded)
            for part in (node.body, node.orelse):
                for child in part if isinstance(part, list) else [part]:
                    visit(child, inner)
            return
        if isinstance(node, ast.Try | ast.TryStar):
            inner = guarded or any(_catches_missing(h) for h in node.handlers)
            for child in node.body:
                visit(child, inner)
            for child in [*node.handlers, *node.orelse, *node.finalbody]:
                visit(child, guarded)
            return
        if isinstance(node, ast.Import):
            for alias in node.names:
                modules[alias.asname or alias.name.split(".")[0]] = alias.name.split(".")[0]
                if alias.name.split(".")[0] in POSIX_MODULES and not guarded:
                    report(node, f"import {alias.name}")
        elif isinstance(node, ast.ImportFrom) and node.module and not guarded:
            top = node.module.split(".")[0]
            names = {a.name for a in node.names}
            bad = {"os": POSIX_OS, "signal": POSIX_SIGNAL, **POSIX_OTHER}.get(top, set())
            if top in POSIX_MODULES or names & bad:
                report(node, f"from {node.module} import {', '.join(sorted(names))}")
        elif isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name) \
                and not guarded:
            module = modules.get(node.value.id)
            bad = {"os": POSIX_OS, "signal": POSIX_SIGNAL, **POSIX_OTHER}.get(module, set())
            if node.attr in bad:
                report(node, f"{module}.{node.attr}")
        elif isinstance(node, ast.Constant) and isinstance(node.value, str) and not guarded \
                and id(node) not in skip and node.value.startswith(POSIX_PATHS):
            report(node, f"POSIX path {node.value!r}")
        for child in ast.iter_child_nodes(node):
            visit(child, guarded)

    visit(tree, False)
    return found


def modules() -> list[Path]:
    return sorted(PACKAGE.rglob("*.py"))


def test_pipeline_has_nothing_posix_only_unguarded():
    files = modules()
    assert {"cli.py", "config.py", "export.py", "webmap.py", "parallel.py"} <= {
        f.name for f in files}
    found = [hit for f in files
             for hit in posix_only(f.read_text(encoding="utf-8"), str(f.relative_to(PACKAGE)))]
    assert found == []


def test_the_one_guarded_use_is_seen_and_allowed():
    """parallel.workers asks os.sched_getaffinity (Linux only) inside try/except AttributeError."""
    source = (PACKAGE / "parallel.py").read_text(encoding="utf-8")
    assert "os.sched_getaffinity" in source
    assert posix_only(source.replace("except AttributeError", "except KeyError")) == [
        "<snippet>:32: os.sched_getaffinity"]


@pytest.mark.parametrize("snippet", [
    "import fcntl",
    "import os, termios",
    "import resource as r",
    "from pwd import getpwnam",
    "import grp.x",
    "import os\nos.fork()",
    "import os as o\nuid = o.getuid()",
    "from os import getuid",
    "import signal\nsignal.signal(signal.SIGHUP, print)",
    "import os, signal\nos.kill(1, signal.SIGKILL)",
    "from signal import SIGALRM",
    "open('/dev/null', 'w')",
    "x = f'/proc/{1}/status'",
    "def f():\n    '''Docs.'''\n    return '/tmp/x'",
    "import os\ntry:\n    os.fork()\nexcept OSError:\n    pass",
    "import os\nif os.path.exists('x'):\n    os.fork()",
    "import os\ntry:\n    pass\nexcept ImportError:\n    os.fork()",
])
def test_the_check_finds_posix_only_code(snippet):
    assert len(posix_only(snippet)) == 1


@pytest.mark.parametrize("snippet", [
    "import os\nif os.name != 'nt':\n    import fcntl",
    "import sys\nif sys.platform.startswith('linux'):\n    import resource",
    "import os\nif os.name == 'nt':\n    pass\nelse:\n    os.fork()",
    "import os\npid = os.fork() if hasattr(os, 'fork') else None",
    "try:\n    import fcntl\nexcept ImportError:\n    fcntl = None",
    "import os\ntry:\n    n = len(os.sched_getaffinity(0))\nexcept AttributeError:\n    n = 1",
    "import os, signal\nos.kill(1, signal.SIGTERM)",  # SIGTERM exists on Windows
    "'''Writes to /dev/null in tests only.'''",
    "url = 'https://example.org/dev/x'",
    "import posixpath\nposixpath.join('a', 'b')",
    "from os import path, getcwd",
])
def test_the_check_allows_portable_or_guarded_code(snippet):
    assert posix_only(snippet) == []


def test_report_links_the_map_when_it_is_on_another_drive(tmp_path, monkeypatch):
    """On Windows os.path.relpath raises ValueError across drives: the link is a file URI."""
    config = load_config(make_project(tmp_path))
    write_outputs(analyse(config))
    config.output.maps.mkdir()
    (config.output.maps / "index.html").write_text("<html></html>", encoding="utf-8")

    def across_drives(path, start=None):
        raise ValueError("path is on mount 'D:', start on mount 'C:'")  # ntpath's message

    monkeypatch.setattr("pipeline.report.sections.os.path.relpath", across_drives)
    build_report(config)
    md = (config.output.reports / REPORT_MD).read_text(encoding="utf-8")
    uri = (config.output.maps / "index.html").resolve().as_uri()
    assert f"[öppna webbkartan]({uri})" in md
