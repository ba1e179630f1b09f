"""Summarises `xraykit evaluate --shifts` outputs side by side (markdown).

usage: python3 scripts/research/shift_summary.py NAME=FILE.eval [NAME=FILE.eval ...]
Rows: the unshifted validation figures, the mean and worst over the shifted copies, and the
shifts where the recipes differ most in specificity and sensitivity.
"""
import sys


def parse(path):
    rows, threshold = {}, None
    in_table = False
    for line in open(path):
        if line.startswith("shift benchmark at threshold"):
            threshold = float(line.split()[4])
            in_table = True
            continue
        if in_table:
            parts = line.split()
            if not parts or parts[0] == "shift":
                continue
            name = " ".join(parts[:-4])
            rows[name] = [float(v) if v != "-" else float("nan") for v in parts[-4:]]
    return threshold, rows


def main():
    runs = [(a.split("=", 1)[0], parse(a.split("=", 1)[1])) for a in sys.argv[1:]]
    print("| | " + " | ".join(name for name, _ in runs) + " |")
    print("|---|" + "---|" * len(runs))
    print("| threshold | " + " | ".join(f"{t:.3f}" for _, (t, _) in runs) + " |")
    for row in ["none", "mean (shifted)", "worst (shifted)"]:
        cells = []
        for _, (_, rows) in runs:
            auc, acc, sens, spec = rows[row]
            cells.append(f"AUC {auc:.4f}, acc {acc:.1f}, sens {sens:.1f}, spec {spec:.1f}")
        print(f"| {row} | " + " | ".join(cells) + " |")
    names = [k for k in runs[0][1][1] if k not in ("none", "mean (shifted)", "worst (shifted)")]
    print()
    print("| shift (AUC / sens% / spec%) | " + " | ".join(name for name, _ in runs) + " |")
    print("|---|" + "---|" * len(runs))
    for k in names:
        print(f"| {k} | " + " | ".join(
            f"{rows[k][0]:.4f} / {rows[k][2]:.1f} / {rows[k][3]:.1f}" for _, (_, rows) in runs) + " |")


if __name__ == "__main__":
    main()
