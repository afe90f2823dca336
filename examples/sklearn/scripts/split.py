"""Split a CSV into stratified, seeded train/validation/test CSV files."""
import argparse

import pandas as pd
from sklearn.model_selection import train_test_split


def main():
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--data", required=True)
    p.add_argument("--target", required=True)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--train", required=True, help="output: training rows (60%%)")
    p.add_argument("--validation", required=True, help="output: validation rows (20%%)")
    p.add_argument("--test", required=True, help="output: test rows (20%%)")
    a = p.parse_args()
    df = pd.read_csv(a.data)
    rest, test = train_test_split(df, test_size=0.2, random_state=a.seed, stratify=df[a.target])
    train, val = train_test_split(rest, test_size=0.25, random_state=a.seed, stratify=rest[a.target])
    train.to_csv(a.train, index=False)
    val.to_csv(a.validation, index=False)
    test.to_csv(a.test, index=False)
    print(f"train {len(train)}, validation {len(val)}, test {len(test)} rows")


if __name__ == "__main__":
    main()
