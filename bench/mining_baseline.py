"""The anchor of bench/mining.sh: TF-IDF + a linear SVM (scikit-learn) on the same BANKING77
split (train + dev to train, test to measure), timed on this machine."""
import json, sys, time
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.svm import LinearSVC

data = sys.argv[1]
def load(name):
    return [json.loads(l) for l in open(f"{data}/{name}.jsonl") if l.strip()]
train = load("train") + load("dev")
test = load("test")
for name, vec in [
    ("TF-IDF words (scikit-learn defaults) + LinearSVC", TfidfVectorizer()),
    ("TF-IDF words 1-2 + char_wb 2-5 + LinearSVC", None),
]:
    t0 = time.perf_counter()
    if vec is None:
        from sklearn.pipeline import FeatureUnion
        vec = FeatureUnion([("w", TfidfVectorizer(ngram_range=(1, 2), sublinear_tf=True)),
                            ("c", TfidfVectorizer(analyzer="char_wb", ngram_range=(2, 5), sublinear_tf=True))])
    x = vec.fit_transform([m["text"] for m in train])
    clf = LinearSVC(C=1.0).fit(x, [m["label"] for m in train])
    fit = time.perf_counter() - t0
    t1 = time.perf_counter()
    pred = clf.predict(vec.transform([m["text"] for m in test]))
    el = time.perf_counter() - t1
    acc = sum(p == m["label"] for p, m in zip(pred, test)) / len(test)
    print(f"anchor, {name}: test accuracy {acc*100:.2f} %, fit {fit:.2f} s, predict {len(test)/el:,.0f} texts/s")
