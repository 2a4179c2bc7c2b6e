"""The one report every section writes to: its lines as they are measured, and the rows of the
summary table that closes the run."""
from __future__ import annotations

import statistics

HEADER = ("runtime", "measurement", "figure", "goal", "met")


def p50_p99(times: list[float]) -> tuple[float, float]:
    """The median and the 99th percentile of `times` (sorted in place)."""
    times.sort()
    return statistics.median(times), times[max(int(len(times) * 0.99) - 1, 0)]


class Report:
    """What one run has measured, shared by every section."""

    def __init__(self) -> None:
        self.rows: list[tuple[str, str, str, str, str]] = []

    def line(self, section: str, text: str) -> None:
        """A line of `section`, printed now: the section's name is the first column."""
        print(f"{section:8}{text}")

    def figure(self, runtime: str, measurement: str, value: float, unit: str, goal: float | None,
               goal_text: str, at_least: bool = False) -> None:
        """A row of the summary; `goal` is a ceiling (a floor with `at_least`), and None says
        there is none to meet."""
        if goal is None:
            met = "-"
        else:
            met = "met" if (value >= goal if at_least else value <= goal) else "not met"
        self.rows.append((runtime, measurement, f"{value:.2f} {unit}", goal_text, met))

    def print_summary(self) -> None:
        print("\nsummary:")
        widths = [max(len(row[i]) for row in self.rows + [HEADER]) for i in range(len(HEADER))]
        for row in [HEADER] + self.rows:
            print("  " + "  ".join(cell.ljust(w) for cell, w in zip(row, widths)).rstrip())
