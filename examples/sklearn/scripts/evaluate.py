"""Score a pickled pipeline on labelled rows; write the metrics JSON and the accuracy."""
import argparse
import json
import pickle

import pandas as pd
from sklearn.metrics import accuracy_score, f1_score, roc_auc_score


def main():
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--model", required=True)
    p.add_argument("--data", required=True)
    p.add_argument("--target", required=True)
    p.add_argument("--positive", required=True, help="the positive class label")
    p.add_argument("--metrics", required=True, help="output: metrics JSON")
    p.add_argument("--accuracy", required=True, help="output: accuracy as text")
    a = p.parse_args()
    with open(a.model, "rb") as f:
        model = pickle.load(f)
    df = pd.read_csv(a.data)
    x, y = df.drop(columns=[a.target]), df[a.target]
    pred = model.predict(x)
    pos = list(model.classes_).index(a.positive)
    metrics = {
        "accuracy": accuracy_score(y, pred),
        "f1": f1_score(y, pred, pos_label=a.positive),
        "roc_auc": roc_auc_score(y == a.positive, model.predict_proba(x)[:, pos]),
    }
    with open(a.metrics, "w") as f:
        json.dump(metrics, f)
    with open(a.accuracy, "w") as f:
        f.write(repr(metrics["accuracy"]))
    print(json.dumps(metrics))


if __name__ == "__main__":
    main()
