"""Compares two recipes fold by fold on `xraykit evaluate --shifts` outputs (markdown).

usage: python3 scripts/research/paired_folds.py A B FOLD [FOLD ...]
  A and B: an evaluation output pattern with {} for the fold (/work/kf/S{}.eval), or
  RECORDS.jsonl#NAME for the summaries saved there (docs/research/binary_folds.jsonl#B)
  e.g. scripts/research/paired_folds.py docs/research/binary_folds.jsonl#B /work/kf/L{}.eval 1 2 3 4 5
       python3 scripts/research/paired_folds.py --save RECORDS.jsonl NAME PATTERN FOLD [FOLD ...]
  --save appends each fold's summary rows (what the comparison reads) to RECORDS.jsonl, so
  that comparisons outlive the models and evaluation outputs.
Each figure (AUC, accuracy, sensitivity, specificity; unshifted, mean and worst over the
shifts): the mean of A and of B over the folds, the per-fold difference B - A as mean +-
standard deviation, and in how many folds B is higher. Folds are paired: the same images.
"""
import json
import statistics
import sys

from shift_summary import parse

ROWS = [("validation as is", "none"), ("mean over the shifts", "mean (shifted)"), ("worst shift", "worst (shifted)")]
FIGURES = ["AUC", "accuracy", "sensitivity", "specificity"]


def summary(source, fold):
    """The rows of ROWS for one fold of a recipe: from its evaluation output or a saved record."""
    if ".jsonl#" in source:
        path, name = source.split("#", 1)
        for line in open(path):
            record = json.loads(line)
            if record["recipe"] == name and str(record["fold"]) == str(fold):
                return record["rows"]
        sys.exit(f"{path}: no record of {name}, fold {fold}")
    rows = parse(source.format(fold))[1]
    return {row: rows[row] for _, row in ROWS}


def save(path, name, pattern, folds):
    with open(path, "a") as out:
        for f in folds:
            out.write(json.dumps({"recipe": name, "fold": int(f), "source": pattern.format(f),
                                  "rows": summary(pattern, f)}) + "\n")


def main():
    if sys.argv[1] == "--save":
        save(sys.argv[2], sys.argv[3], sys.argv[4], sys.argv[5:])
        return
    a_source, b_source, folds = sys.argv[1], sys.argv[2], sys.argv[3:]
    a = [summary(a_source, f) for f in folds]
    b = [summary(b_source, f) for f in folds]
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
