"""Error types: user-facing input problems (exit 2) versus bugs (exit 1)."""

from __future__ import annotations

from collections.abc import Iterable


class InputError(ValueError):
    """Bad input data or configuration: the CLI prints the message and exits 2.

    Each problem is one paragraph naming the file, the layer or key, the problem
    and the fix. Validators collect every problem and raise once, so a planner
    fixes all their data issues in one round.
    """

    def __init__(self, problems: str | Iterable[str]):
        if isinstance(problems, str):
            problems = [problems]
        self.problems: list[str] = list(problems)
        super().__init__("\n\n".join(self.problems))


class Problems:
    """Collects problem paragraphs; `raise_if_any()` raises one InputError."""

    def __init__(self) -> None:
        self.items: list[str] = []

    def add(self, message: str) -> None:
        self.items.append(message)

    def __bool__(self) -> bool:
        return bool(self.items)

    def raise_if_any(self) -> None:
        if self.items:
            raise InputError(self.items)
