"""Problems found in a scenario, each located at a line: collected, then reported all at once."""

from __future__ import annotations

from dataclasses import dataclass, field

from ihe_test_util.errors import ScenarioError
from ihe_test_util.record.variables import Path, render_path
from ihe_test_util.record.yaml_lines import Located


@dataclass(frozen=True)
class Problem:
    line: int | None
    path: Path
    message: str
    hint: str | None = None

    def render(self, source: str) -> str:
        where = f"{source}:{self.line}" if self.line is not None else source
        field_name = render_path(self.path)
        text = f"{where}: {field_name}: {self.message}" if field_name else \
            f"{where}: {self.message}"
        return f"{text} ({self.hint})" if self.hint else text


@dataclass
class Problems:
    """Collects problems against a located document; :meth:`raise_if_any` reports them."""

    located: Located
    items: list[Problem] = field(default_factory=list)

    def add(self, path: Path, message: str, hint: str | None = None, *,
            line: int | None = None) -> None:
        problem = Problem(line if line is not None else self.located.line(path), path, message,
                          hint)
        if problem not in self.items:
            self.items.append(problem)

    def __bool__(self) -> bool:
        return bool(self.items)

    def rendered(self) -> list[str]:
        ordered = sorted(self.items, key=lambda p: (p.line or 0, render_path(p.path)))
        return [problem.render(self.located.source) for problem in ordered]

    def raise_if_any(self) -> None:
        if self.items:
            raise ScenarioError(self.located.source, self.rendered(),
                                hint="nothing was sent; fix these and run again")
