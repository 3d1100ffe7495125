"""The suite's counts, printed at the end of the session: mutations tried, clear violations,
unchanged results, crashes, silent changes (and the other faults), per level, with the failing
mutations listed by class of fault.

The summary is a plugin object registered by the mutation tests themselves (a fixture of
tests/test_mutations.py), so it exists only in sessions that run them: no hook is added to any
other test session."""

from __future__ import annotations

from collections import Counter, defaultdict
from dataclasses import dataclass, field

from tests.mutation.verdict import CRASH, OUTCOMES, PASSING, SILENT, UNCHANGED, VIOLATION

LEVELS = ("loader", "statement", "figures", "full run")


@dataclass
class Tally:
    outcomes: dict[str, Counter] = field(default_factory=lambda: defaultdict(Counter))
    failures: dict[str, list[tuple[str, str, str]]] = field(default_factory=lambda: defaultdict(list))  # outcome -> (level, id, message)
    kinds: dict[str, Counter] = field(default_factory=lambda: defaultdict(Counter))  # failing outcome -> (level, kind) counts
    datasets: dict[tuple, set] = field(default_factory=lambda: defaultdict(set))  # (outcome, level, kind) -> datasets
    properties: list[tuple[str, int, str | None]] = field(default_factory=list)  # (test, examples, falsifying message)

    def record(self, level: str, mutation_id: str, outcome: str, message: str = "", kind: str | None = None,
               dataset: str | None = None) -> None:
        self.outcomes[level][outcome] += 1
        if outcome not in PASSING:
            self.failures[outcome].append((level, mutation_id, message))
            self.kinds[outcome][(level, kind or mutation_id)] += 1
            if dataset:
                self.datasets[(outcome, level, kind or mutation_id)].add(dataset)

    def record_property(self, name: str, examples: int, failure: str | None) -> None:
        self.properties.append((name, examples, failure))

    def total(self, outcome: str | None = None) -> int:
        return sum(c[outcome] if outcome else sum(c.values()) for c in self.outcomes.values())

    def lines(self) -> list[str]:
        out = [f"mutations tried: {self.total()}  ("
               + ", ".join(f"{level} {sum(self.outcomes[level].values())}" for level in LEVELS if self.outcomes.get(level)) + ")"]
        for outcome in OUTCOMES:
            n = self.total(outcome)
            if n or outcome in (VIOLATION, UNCHANGED, CRASH, SILENT):
                split = ", ".join(f"{level} {self.outcomes[level][outcome]}" for level in LEVELS if self.outcomes.get(level, {}).get(outcome))
                out.append(f"  {outcome + ':':27} {n:5}" + (f"  ({split})" if split else ""))
        if self.properties:
            falsified = [p for p in self.properties if p[2]]
            out.append(f"property tests (hypothesis): {len(self.properties)}, examples run {sum(p[1] for p in self.properties)}, "
                       f"falsified {len(falsified)}")
        for outcome in OUTCOMES:
            items = self.failures.get(outcome, [])
            if not items:
                continue
            out.append(f"-- {outcome} ({len(items)}), by kind of mutation:")
            for (level, kind), n in sorted(self.kinds[outcome].items(), key=lambda kv: (LEVELS.index(kv[0][0]), -kv[1], kv[0][1])):
                where = sorted(self.datasets.get((outcome, level, kind), ()))
                out.append(f"   [{level}] {kind}: {n}" + (f"  ({', '.join(where)})" if where else ""))
            out.append("   e.g. " + "; ".join(f"{mutation_id}" for _level, mutation_id, _m in items[:3]))
        for name, examples, failure in self.properties:
            if failure:
                out.append(f"-- property falsified: {name}: {failure.splitlines()[0][:300]}")
        return out


class SummaryPlugin:
    """pytest_terminal_summary for the mutation suite only (registered by its own fixture)."""

    def __init__(self, tally: Tally):
        self.tally = tally

    def pytest_terminal_summary(self, terminalreporter, exitstatus, config):
        if not self.tally.total() and not self.tally.properties:
            return
        terminalreporter.section("mutation suite: bad input never becomes a number")
        for line in self.tally.lines():
            terminalreporter.write_line(line)


TALLY = Tally()
