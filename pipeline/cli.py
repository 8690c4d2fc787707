"""Command line `opjord` (placeholder while the foundation is built)."""


def main() -> int:
    raise SystemExit(0)
