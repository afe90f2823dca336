"""Regenerate data.csv from the copy of UCI WDBC that Debian's python3-sklearn ships.

Usage: python3 convert.py [/usr/lib/python3/dist-packages/sklearn/datasets/data/breast_cancer.csv]
"""
import csv
import sys

NAMES = [
    "radius", "texture", "perimeter", "area", "smoothness", "compactness",
    "concavity", "concave_points", "symmetry", "fractal_dimension",
]
HEADER = ["mean_" + n for n in NAMES] + [n + "_error" for n in NAMES] + ["worst_" + n for n in NAMES] + ["diagnosis"]

src = sys.argv[1] if len(sys.argv) > 1 else "/usr/lib/python3/dist-packages/sklearn/datasets/data/breast_cancer.csv"
with open(src, newline="") as f:
    rows = list(csv.reader(f))
n, d, *labels = rows[0]
assert int(d) == 30 and labels == ["malignant", "benign"], rows[0]
out = csv.writer(open("data.csv", "w", newline=""), lineterminator="\n")
out.writerow(HEADER)
for r in rows[1:]:
    out.writerow(r[:30] + [labels[int(r[30])]])
assert len(rows) - 1 == int(n)
