"""Compares two recipes fold by fold on `xraykit evaluate --shifts` outputs (markdown).

usage: python3 scripts/research/paired_folds.py A B FOLD [FOLD ...]
  A and B: an evaluation output pattern with {} for the fold (/work/kf/S{}.eval), or
  RECORDS.jsonl#NAME for the summaries saved there (docs/research/binary_folds.jsonl#B);
  RECORDS.jsonl#NAME1+NAME2 takes each fold from the first name that has it (a baseline
  retrained on another machine for some folds: binary_folds.jsonl#Bf+B)
  e.g. scripts/research/paired_folds.py docs/research/binary_folds.jsonl#B /work/kf/L{}.eval 1 2 3 4 5
       python3 scripts/research/paired_folds.py --save RECORDS.jsonl NAME PATTERN FOLD [FOLD ...] [--note TEXT]
  --save appends each fold's summary rows (what the comparison reads) to RECORDS.jsonl, so
  that comparisons outlive the models and evaluation outputs; --note says how they were made
  where that differs from the recipe's other folds (another machine, fp32 instead of bf16).
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
        path, names = source.split("#", 1)
        records = [json.loads(line) for line in open(path)]
        for name in names.split("+"):
            for record in records:
                if record["recipe"] == name and str(record["fold"]) == str(fold):
                    return record["rows"]
        sys.exit(f"{path}: no record of {names}, fold {fold}")
    rows = parse(source.format(fold))[1]
    return {row: rows[row] for _, row in ROWS}


def save(path, name, pattern, folds, note):
    with open(path, "a") as out:
        for f in folds:
            source = pattern.format(f) + (f" ({note})" if note else "")
            out.write(json.dumps({"recipe": name, "fold": int(f), "source": source, "rows": summary(pattern, f)}) + "\n")


def main():
    args = sys.argv[1:]
    note = ""
    if "--note" in args and args.index("--note") + 1 < len(args):
        i = args.index("--note")
        note = args.pop(i + 1)
        args.pop(i)
    if len(args) < 3 or (args[0] == "--save" and len(args) < 5):
        sys.exit(__doc__)
    if args[0] == "--save":
        save(args[1], args[2], args[3], args[4:], note)
        return
    a_source, b_source, folds = args[0], args[1], args[2:]
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
