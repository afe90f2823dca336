"""Fit a scikit-learn pipeline (standard scaling + logistic regression) and pickle it."""
import argparse
import pickle

import pandas as pd
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler


def main():
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--train", required=True)
    p.add_argument("--target", required=True)
    p.add_argument("--c", type=float, required=True, help="inverse regularisation strength")
    p.add_argument("--model", required=True, help="output: the pickled pipeline")
    a = p.parse_args()
    df = pd.read_csv(a.train)
    x, y = df.drop(columns=[a.target]), df[a.target]
    model = make_pipeline(StandardScaler(), LogisticRegression(C=a.c, max_iter=1000))
    model.fit(x, y)
    with open(a.model, "wb") as f:
        pickle.dump(model, f)
    print(f"trained C={a.c} on {len(df)} rows")


if __name__ == "__main__":
    main()
