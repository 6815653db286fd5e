"""The table ``make bench`` prints: a row a figure, the monitor next to its floor and target."""

from __future__ import annotations

Row = tuple[str, str, str, str, str, str]
HEADER: Row = ("measure", "monitor", "floor", "ratio", "target", "")


def ratio(label: str, mine: float, base: float, target: float) -> Row:
    """Times in ms, their ratio, and whether it is within ``target``."""
    verdict = "ok" if mine / base <= target else "OVER"
    return (label, f"{mine:.1f} ms", f"{base:.1f} ms", f"{mine / base:.2f}x", f"{target}x", verdict)


def info(label: str, value: str = "", floor: str = "") -> Row:
    """A figure shown without a target."""
    return (label, value, floor, "", "", "")


def render(rows: list[Row]) -> str:
    """The header, a rule, and the rows, in aligned columns."""
    widths = [max(len(row[i]) for row in [HEADER, *rows]) for i in range(len(HEADER))]

    def line(row: Row) -> str:
        return "  ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)).rstrip()

    return "\n".join([line(HEADER), "  ".join("-" * w for w in widths), *map(line, rows)])
