#!/usr/bin/env bash
# Create target/bench/litellm-venv (or $VENV) with the LiteLLM proxy, every package at a pinned
# version, for bench/gateway/run.sh. Idempotent: when everything is already installed at the
# pinned versions it installs nothing. Prints the venv's bin directory on stdout.
#
# Version: litellm[proxy] 1.108.7, the newest release whose `proxy` extra installs from the
# package index reachable here (checked 2026-11-30): the later ones checked (1.108.8 to 1.108.14,
# 1.109.3, 1.110.2) pin litellm-enterprise 0.1.79.post2, litellm-proxy-extras 0.4.110.post1 or
# 0.4.113, or a `litellm-proxy` package, none of which the index serves.
#
# LiteLLM's PyPI account was hijacked in March 2026 (1.82.7 and 1.82.8 carried a credential
# stealer), so the three packages LiteLLM publishes itself are installed with pinned sha256
# hashes (the litellm wheel is the manylinux x86_64 one), the venv is checked for stray .pth
# start-up hooks afterwards, and run.sh starts the proxy with a scrubbed environment.
#
# opentelemetry-sdk is not part of litellm[proxy], but the proxy's auth path imports it on every
# request and, when it is missing, retries the failed import each time; it is installed so
# LiteLLM is not charged for that packaging gap.
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
VENV="${VENV:-$(cd "$HERE/../.." && pwd)/target/bench/litellm-venv}"
PYTHON="${PYTHON:-python3}"

LOCK="$(mktemp)"; OWN="$(mktemp)"; trap 'rm -f "$LOCK" "$OWN"' EXIT
# Everything but LiteLLM's own packages, as `pip freeze` listed it after installing
# litellm[proxy]==1.108.7 and opentelemetry-sdk into a fresh venv (Python 3.11).
cat > "$LOCK" <<'LOCK'
aiohappyeyeballs==2.7.1
aiohttp==3.14.5
aiosignal==1.4.0
annotated-doc==0.0.7
annotated-types==0.8.0
anyio==4.16.0
APScheduler==3.11.3
attrs==26.1.0
azure-core==1.41.0
azure-identity==1.27.0
azure-storage-blob==12.31.1
backoff==2.2.1
boto3==1.44.8
botocore==1.44.8
certifi==2026.10.19.post1
cffi==2.1.1
charset-normalizer==3.5.3
click==8.5.1
croniter==7.0.0
cryptography==50.0.2
dnspython==2.9.2
email-validator==2.4.0
Expression==5.8.0
fastapi==0.165.0
fastapi-sso==0.23.0
fastuuid==0.14.0
filelock==4.3.1
frozenlist==1.8.0
fsspec==2026.9.0
granian==2.8.9
gunicorn==23.0.0
h11==0.16.0
h2==4.4.1
hf-xet==1.8.0
hiredis==3.5.0
hpack==4.2.0
httpcore==1.0.9
httpcore2==2.16.2
httpx==0.28.1
httpx2==2.16.2
huggingface_hub==1.33.0
hyperframe==6.1.0
idna==3.20
importlib_metadata==8.9.0
inquirerpy==0.3.4
isodate==0.7.2
Jinja2==3.1.6
jiter==0.19.0
jmespath==1.1.0
jsonschema==4.26.0
jsonschema-specifications==2025.9.1
markdown-it-py==4.3.0
MarkupSafe==3.0.4
mcp==2.3.0
mcp-types==2.3.0
mdurl==0.1.2
msal==1.39.0
msal-extensions==1.3.1
multidict==7.2.1
numpy==2.4.6
oauthlib==4.0.1
openai==3.57.0
opentelemetry-api==1.45.2
opentelemetry-sdk==1.45.2
opentelemetry-semantic-conventions==0.66b2
orjson==3.13.0
packaging==26.4
pfzy==0.3.4
polars==1.44.2
polars-runtime-32==1.44.2
prompt_toolkit==3.0.53
propcache==0.5.4
psycopg==3.3.9
psycopg-binary==3.3.9
pycparser==3.12
pydantic==2.14.4
pydantic-settings==2.16.3
pydantic_core==2.50.5
Pygments==2.21.0
PyJWT==2.15.1
PyNaCl==1.6.2
pyroscope-io==0.8.16
python-dateutil==2.9.0.post0
python-dotenv==1.2.4
python-multipart==0.0.34
PyYAML==6.0.4
redis==8.1.0
referencing==0.37.0
regex==2026.11.19
requests==2.34.2
RestrictedPython==8.5
rich==13.9.4
rpds-py==2026.9.1
rq==2.12.0
s3transfer==0.19.3
six==1.17.0
sniffio==1.3.1
soundfile==0.14.0
sse-starlette==3.7.0
starlette==1.10.0
tiktoken==0.14.0
tokenizers==0.23.3
tomlkit==0.15.2
tqdm==4.70.1
truststore==0.10.5
typing-inspection==0.4.5
typing_extensions==4.16.0
tzlocal==5.4.5
urllib3==2.8.0
uvicorn==0.54.0
uvloop==0.23.0
wcwidth==0.9.4
websockets==15.0.1
yarl==1.25.1
zipp==4.1.2
LOCK
cat > "$OWN" <<'OWN'
litellm==1.108.7 --hash=sha256:0c8a062e285b793b110a44bae485a2beb83c21381a9e4c62001547f296b0e5af
litellm-enterprise==0.1.79.post1 --hash=sha256:b6c922298628b7a8bfd459df51d7e0c4e9346ca1dce0fb30be21d572333733e2
litellm-proxy-extras==0.4.110 --hash=sha256:2a488653b7e5eb97e7a2c84fb67818dfbdbd1d799cd61832f1b5d151c229e907
OWN

if [ ! -x "$VENV/bin/python" ]; then
  echo "setup-litellm.sh: creating venv $VENV with $($PYTHON --version 2>&1)" >&2
  "$PYTHON" -m venv "$VENV"
fi
PY="$VENV/bin/python"

# What is installed now and what is wanted, normalised (lowercase, '-' for '_'), as name==version.
installed() { "$PY" -m pip list --format=freeze --disable-pip-version-check 2>/dev/null | tr 'A-Z_' 'a-z-' | sort; }
wanted()    { { cat "$LOCK"; sed 's/ --hash.*//' "$OWN"; } | tr 'A-Z_' 'a-z-' | sort; }
missing="$(comm -23 <(wanted) <(installed))"

if [ -z "$missing" ]; then
  echo "setup-litellm.sh: all pinned packages already installed, nothing to do" >&2
else
  echo "setup-litellm.sh: installing: $(echo $missing)" >&2
  # LiteLLM's own packages first, hash-checked and without letting them pull anything in;
  # then the rest of the lock; `pip check` below confirms that the set is consistent.
  "$PY" -m pip install -q --disable-pip-version-check --no-deps --require-hashes -r "$OWN"
  "$PY" -m pip install -q --disable-pip-version-check -r "$LOCK"
fi

"$PY" -m pip check --disable-pip-version-check >&2

# A .pth file runs code at every Python start (how 1.82.8's payload ran); only setuptools'
# own is expected here.
site="$("$PY" -c 'import sysconfig; print(sysconfig.get_paths()["purelib"])')"
for pth in "$site"/*.pth; do
  [ -e "$pth" ] || continue
  case "$(basename "$pth")" in
    distutils-precedence.pth) ;;
    *) echo "setup-litellm.sh: unexpected start-up hook $pth; refusing to use this venv" >&2; exit 1 ;;
  esac
done

"$PY" - <<'CHECK' >&2
import importlib.metadata as md
version = md.version("litellm")
assert version == "1.108.7", version
print(f"setup-litellm.sh: ok: litellm {version}, fastapi {md.version('fastapi')}, uvicorn {md.version('uvicorn')}")
CHECK
echo "$VENV/bin"
