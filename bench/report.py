"""The side-by-side table: one row per workload and link, both servers, their ratio, the target."""

import statistics


def median(samples):
    return statistics.median(samples) if samples else None


def _milliseconds(seconds):
    if seconds is None:
        return "n/a"
    value = seconds * 1000.0
    if value >= 100:
        return "%.0f ms" % value
    if value >= 10:
        return "%.1f ms" % value
    return "%.2f ms" % value


class Row:
    """`probeshare` and `pyocd` are median seconds (None: not measurable, e.g. no handle offered);
    `target` is the least ratio pyOCD/probeshare asked for, or None."""

    def __init__(self, workload, link, probeshare, pyocd, target=None):
        self.workload = workload
        self.link = link
        self.probeshare = probeshare
        self.pyocd = pyocd
        self.target = target

    @property
    def ratio(self):
        if self.probeshare is None or self.pyocd is None or self.probeshare <= 0:
            return None
        return self.pyocd / self.probeshare

    def verdict(self):
        if self.target is None:
            return ""
        if self.ratio is None:
            return "≥ %g×: not measured" % self.target
        return "≥ %g×: %s" % (self.target, "met" if self.ratio >= self.target else "NOT met")

    def cells(self):
        ratio = "n/a" if self.ratio is None else "%.1f×" % self.ratio
        return [self.workload, self.link, _milliseconds(self.probeshare), _milliseconds(self.pyocd),
                ratio, self.verdict()]


HEADER = ["workload", "link", "probeshare", "pyOCD server", "ratio", "target"]


def markdown_table(rows):
    table = [HEADER] + [row.cells() for row in rows]
    widths = [max(len(line[column]) for line in table) for column in range(len(HEADER))]

    def render(cells):
        return "| " + " | ".join(cell.ljust(width) for cell, width in zip(cells, widths)) + " |"

    lines = [render(HEADER), "|" + "|".join("-" * (width + 2) for width in widths) + "|"]
    lines.extend(render(cells) for cells in table[1:])
    return "\n".join(lines)


def unmet_targets(rows):
    return [row for row in rows if row.target is not None and (row.ratio is None or row.ratio < row.target)]
