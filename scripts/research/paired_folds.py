"""Compares two recipes fold by fold on `xraykit evaluate --shifts` outputs (markdown).

usage: python3 scripts/research/paired_folds.py A_PATTERN B_PATTERN FOLD [FOLD ...]
  e.g. scripts/research/paired_folds.py /work/kf/S{}.eval /work/kf/ST{}.eval 1 2 3 4 5
Each figure (AUC, accuracy, sensitivity, specificity; unshifted, mean and worst over the
shifts): the mean of A and of B over the folds, the per-fold difference B - A as mean +-
standard deviation, and in how many folds B is higher. Folds are paired: the same images.
"""
import statistics
import sys

from shift_summary import parse

ROWS = [("validation as is", "none"), ("mean over the shifts", "mean (shifted)"), ("worst shift", "worst (shifted)")]
FIGURES = ["AUC", "accuracy", "sensitivity", "specificity"]


def main():
    a_pattern, b_pattern, folds = sys.argv[1], sys.argv[2], sys.argv[3:]
    a = [parse(a_pattern.format(f))[1] for f in folds]
    b = [parse(b_pattern.format(f))[1] for f in folds]
    print(f"| figure ({len(folds)} folds) | A | B | B - A | B higher |")
    print("|---|---|---|---|---|")
    for label, row in ROWS:
        for i, figure in enumerate(FIGURES):
            digits = 4 if figure == "AUC" else 1
            xs = [r[row][i] for r in a]
            ys = [r[row][i] for r in b]
            d = [y - x for x, y in zip(xs, ys)]
            spread = statistics.stdev(d) if len(d) > 1 else 0.0
            print(f"| {label}: {figure} | {statistics.mean(xs):.{digits}f} | {statistics.mean(ys):.{digits}f} | "
                  f"{statistics.mean(d):+.{digits}f} ± {spread:.{digits}f} | {sum(v > 0 for v in d)} of {len(d)} |")


if __name__ == "__main__":
    main()
