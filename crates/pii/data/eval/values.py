"""Value factories for the held-out corpus (hand-written pools + checksum helpers)."""
import hashlib
import random
import unicodedata

# ---------------------------------------------------------------- checksums

def luhn_check_digit(partial: str) -> str:
    """Check digit to append to `partial` so the whole number is Luhn-valid."""
    total = 0
    for i, ch in enumerate(reversed(partial)):
        d = int(ch)
        if i % 2 == 0:  # these positions get doubled once the check digit is appended
            d *= 2
            if d > 9:
                d -= 9
        total += d
    return str((10 - total % 10) % 10)


def luhn_ok(num: str) -> bool:
    digits = [int(c) for c in num if c.isdigit()]
    s = 0
    for i, d in enumerate(reversed(digits)):
        if i % 2 == 1:
            d *= 2
            if d > 9:
                d -= 9
        s += d
    return s % 10 == 0


def iban_check_digits(country: str, bban: str) -> str:
    rearranged = bban + country + "00"
    num = "".join(str(int(c, 36)) for c in rearranged)
    return "%02d" % (98 - int(num) % 97)


def iban_ok(iban: str) -> bool:
    s = iban.replace(" ", "")
    r = s[4:] + s[:4]
    return int("".join(str(int(c, 36)) for c in r)) % 97 == 1


B58 = "123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz"


def b58check(payload: bytes) -> str:
    chk = hashlib.sha256(hashlib.sha256(payload).digest()).digest()[:4]
    data = payload + chk
    n = int.from_bytes(data, "big")
    out = ""
    while n:
        n, r = divmod(n, 58)
        out = B58[r] + out
    pad = len(data) - len(data.lstrip(b"\0"))
    return "1" * pad + out


# ---------------------------------------------------------------- pools

PEOPLE = [
    ("José", "Müller"), ("Priya", "Raman"), ("Wei", "Chen"), ("Aoife", "Byrne"),
    ("Oluwaseun", "Adeyemi"), ("Zoë", "Laurent"), ("Søren", "Kjær"), ("Mateus", "Oliveira"),
    ("Fatima", "Al-Sayed"), ("Hiroshi", "Tanaka"), ("Ngozi", "Okafor"), ("Łukasz", "Nowak"),
    ("Björn", "Lindqvist"), ("Élodie", "Marchand"), ("Raúl", "Domínguez"), ("Anika", "Schröder"),
    ("Kwame", "Mensah"), ("Siobhán", "O'Connor"), ("Dmitri", "Volkov"), ("Ana María", "Ruiz"),
    ("Jean-Luc", "Moreau"), ("Mei-Ling", "Huang"), ("Emily", "Carter"), ("James", "Whitaker"),
    ("Sarah", "Goldberg"), ("Michael", "Brennan"), ("Aisha", "Khan"), ("Rahul", "Mehta"),
    ("Lucía", "Fernández"), ("Thomas", "Becker"), ("Chloé", "Dubois"), ("Daniel", "Kowalski"),
    ("Hannah", "Schmidt"), ("Tyrone", "Jackson"), ("Grace", "Nakamura"), ("Liam", "O'Brien"),
    ("Olivia", "Thompson"), ("Noah", "Williams"), ("Isabella", "Rossi"), ("Mohammed", "Haddad"),
    ("Yuki", "Sato"), ("Kofi", "Boateng"), ("Ingrid", "Halvorsen"), ("Pierre", "Lefèvre"),
    ("Camila", "Herrera"), ("Arjun", "Nair"), ("Sophie", "Wagner"), ("Ethan", "Morales"),
    ("Nadia", "Petrova"), ("Connor", "MacLeod"), ("Amara", "Nwosu"), ("Felipe", "Castro"),
    ("Lena", "Hoffmann"), ("Marco", "Bianchi"), ("Jessica", "Nguyen"), ("David", "Cohen"),
    ("Ravi", "Subramanian"), ("Maeve", "Gallagher"), ("Tariq", "Rahman"), ("Clara", "Jiménez"),
    ("Henrik", "Andersson"), ("Amélie", "Girard"), ("Benjamin", "Foster"), ("Leilani", "Kahale"),
    ("Sipho", "Dlamini"), ("Valentina", "Greco"), ("Omar", "Farouk"), ("Keiko", "Yamamoto"),
    ("Patrick", "Doyle"), ("Rosa", "Delgado"), ("Kevin", "Park"), ("Ayesha", "Siddiqui"),
    ("Florian", "Weiß"), ("Margaux", "Perrin"), ("Tomás", "Ó Briain"), ("Nikolai", "Ivanov"),
    ("Chiara", "Esposito"), ("Gabriel", "Santos"), ("Hye-jin", "Lee"), ("Marta", "Wiśniewska"),
    ("Andrea", "Novák"), ("Zainab", "Bello"), ("Lars", "Eriksen"), ("Beatriz", "Souza"),
    ("Vikram", "Iyer"), ("Ruth", "Abernathy"), ("Samuel", "Adebayo"), ("Julia", "Kästner"),
]

MIDDLE_PEOPLE = [
    ("Karen", "T.", "Whitfield"), ("Marcus", "J.", "Bell"), ("Linda", "M.", "Ortiz"),
    ("Robert", "A.", "Kim"), ("Denise", "R.", "Holloway"), ("Samuel", "P.", "Okonkwo"),
    ("Catherine", "E.", "Walsh"), ("Gregory", "L.", "Tran"), ("María", "J.", "Castillo"),
    ("Anthony", "D.", "Russo"), ("Yolanda", "S.", "Brooks"), ("Hugo", "F.", "Lindström"),
]

EMAIL_DOMAINS = ["gmail.com", "outlook.com", "yahoo.co.uk", "web.de", "gmx.de", "orange.fr",
                 "proton.me", "icloud.com", "hotmail.com", "yahoo.com", "free.fr", "t-online.de",
                 "northwind-logistics.com", "velmorafoods.com", "brightwave-energy.com",
                 "kestrelmobile.com", "mail.ru", "rediffmail.com", "bigpond.com", "live.ca"]

CITIES = [
    ("Lyon", "France"), ("Toronto", "Canada"), ("Lagos", "Nigeria"), ("Mumbai", "India"),
    ("São Paulo", "Brazil"), ("Osaka", "Japan"), ("Kraków", "Poland"), ("Gothenburg", "Sweden"),
    ("Munich", "Germany"), ("Dublin", "Ireland"), ("Melbourne", "Australia"), ("Nairobi", "Kenya"),
    ("Seville", "Spain"), ("Mexico City", "Mexico"), ("Bergen", "Norway"), ("Cairo", "Egypt"),
    ("Auckland", "New Zealand"), ("Zürich", "Switzerland"), ("Chicago", "the United States"),
    ("Manchester", "the UK"), ("Bogotá", "Colombia"), ("Seoul", "South Korea"), ("Accra", "Ghana"),
    ("Porto", "Portugal"), ("Vancouver", "Canada"), ("Bengaluru", "India"), ("Rotterdam", "the Netherlands"),
    ("Istanbul", "Turkey"), ("Hanoi", "Vietnam"), ("Cape Town", "South Africa"), ("Montréal", "Canada"),
    ("Düsseldorf", "Germany"), ("Valencia", "Spain"), ("Bordeaux", "France"), ("Denver", "the US"),
    ("Edinburgh", "Scotland"), ("Manila", "the Philippines"), ("Buenos Aires", "Argentina"),
    ("Tallinn", "Estonia"), ("Singapore", "Singapore"),
]
# country names that are written with "the" – the article is not part of the span
STATES = ["Texas", "California", "Ohio", "New York", "Florida", "Oregon", "Georgia", "Illinois",
          "Arizona", "Michigan", "New Jersey", "Colorado", "Washington State", "Massachusetts"]

US_CITIES = [("Portland", "OR", ["97205", "97214"]), ("Austin", "TX", ["78701", "78704"]),
             ("Denver", "CO", ["80202", "80218"]), ("Chicago", "IL", ["60614", "60622"]),
             ("Brooklyn", "NY", ["11215", "11238"]), ("Seattle", "WA", ["98103", "98122"]),
             ("Boston", "MA", ["02116", "02130"]), ("Atlanta", "GA", ["30307", "30318"]),
             ("Phoenix", "AZ", ["85004", "85016"]), ("Columbus", "OH", ["43215", "43201"]),
             ("San Diego", "CA", ["92104", "92116"]), ("Nashville", "TN", ["37206"]),
             ("Madison", "WI", ["53703"]), ("Raleigh", "NC", ["27601", "27605"]),
             ("Minneapolis", "MN", ["55408"]), ("Oakland", "CA", ["94610", "94612"])]
US_STREETS = ["Maple Avenue", "Oak Street", "Elm Street", "Cedar Lane", "Pine Ridge Road",
              "Lakeview Drive", "Washington Boulevard", "Highland Avenue", "Meadowbrook Court",
              "Willow Way", "Church Street", "Riverside Drive", "Magnolia Street", "W 5th Street",
              "N Main Street", "Sycamore Place"]

UK_CITIES = [("London", ["NW1 6XE", "SE15 4QF", "E8 3RL", "N1 9GU", "SW9 8LH", "W12 7RJ"]),
             ("Manchester", ["M21 9NJ", "M14 5TP", "M4 1HN"]), ("Leeds", ["LS6 2AB", "LS11 5DN"]),
             ("Bristol", ["BS3 4HG", "BS7 8PE"]), ("Edinburgh", ["EH9 1QS", "EH6 5JD"]),
             ("Cardiff", ["CF24 3AB", "CF11 9LJ"]), ("Glasgow", ["G12 8QQ", "G41 2PE"]),
             ("Birmingham", ["B15 2TT", "B13 9DG"]), ("Brighton", ["BN2 1RE"]),
             ("York", ["YO10 3DD"]), ("Norwich", ["NR2 3AW"])]
UK_STREETS = ["Elm Grove", "Church Lane", "Victoria Road", "Hartley Road", "Station Road",
              "Queen's Road", "Mill Lane", "Park Avenue", "Albert Street", "Windsor Terrace",
              "Beechwood Close", "Marlborough Crescent", "High Street"]

CA_CITIES = [("Toronto", "ON", ["M5V 2A9", "M4C 1B5", "M6J 3E2"], ["Queen Street West", "Dundas Street East", "Danforth Avenue"]),
             ("Vancouver", "BC", ["V6B 1A1", "V5L 3X8"], ["Granville Street", "Commercial Drive"]),
             ("Montréal", "QC", ["H2X 1Y4", "H2T 2M1"], ["rue Saint-Denis", "boulevard Saint-Laurent"]),
             ("Calgary", "AB", ["T2P 1J9", "T2S 0A1"], ["17th Avenue SW", "Centre Street N"]),
             ("Ottawa", "ON", ["K1P 5G4", "K1S 3W7"], ["Bank Street", "Kent Street"]),
             ("Halifax", "NS", ["B3J 2K9"], ["Barrington Street", "Spring Garden Road"]),
             ("Winnipeg", "MB", ["R3C 0V8"], ["Portage Avenue"])]

DE_CITIES = [("Berlin", ["10115", "10437", "10999", "12047"], ["Hauptstraße", "Kastanienallee", "Oranienstraße", "Friedrichstraße", "Schönhauser Allee"]),
             ("München", ["80331", "80469", "81667"], ["Leopoldstraße", "Sendlinger Straße", "Rosenheimer Straße"]),
             ("Hamburg", ["20095", "22765"], ["Mönckebergstraße", "Ottenser Hauptstraße", "Eppendorfer Weg"]),
             ("Köln", ["50667", "50823"], ["Venloer Straße", "Ehrenstraße"]),
             ("Frankfurt am Main", ["60311", "60594"], ["Berger Straße", "Schweizer Straße"]),
             ("Leipzig", ["04109", "04275"], ["Karl-Liebknecht-Straße", "Goethestraße"]),
             ("Stuttgart", ["70173"], ["Königstraße", "Marienstraße"])]

FR_CITIES = [("Paris", ["75001", "75011", "75018"], ["rue de Rivoli", "rue Oberkampf", "boulevard de Clichy", "avenue Parmentier"]),
             ("Lyon", ["69002", "69007"], ["rue de la République", "avenue Jean Jaurès"]),
             ("Marseille", ["13001", "13006"], ["rue Paradis", "boulevard Longchamp"]),
             ("Toulouse", ["31000"], ["rue d'Alsace-Lorraine", "allée Jean Jaurès"]),
             ("Bordeaux", ["33000"], ["cours de l'Intendance", "rue Sainte-Catherine"]),
             ("Lille", ["59000"], ["rue Nationale", "boulevard de la Liberté"]),
             ("Nantes", ["44000"], ["quai de la Fosse", "rue Crébillon"])]

AU_CITIES = [("Sydney", "NSW", ["2000", "2010"], ["George Street", "Crown Street"]),
             ("Glebe", "NSW", ["2037"], ["Glebe Point Road"]),
             ("Fitzroy", "VIC", ["3065"], ["Smith Street", "Brunswick Street"]),
             ("Melbourne", "VIC", ["3000"], ["Collins Street", "Flinders Lane"]),
             ("Brisbane", "QLD", ["4000", "4101"], ["Queen Street", "Boundary Street"]),
             ("Perth", "WA", ["6000"], ["Hay Street", "Murray Street"]),
             ("Adelaide", "SA", ["5000"], ["Rundle Street"]),
             ("Hobart", "TAS", ["7000"], ["Elizabeth Street"])]

URLS = ["https://portal.brightwave-energy.com/billing", "https://www.halden-home.co.uk/returns/start",
        "www.norrlandtravel.se/konto", "http://status.quanta-net.io/incidents/8812",
        "https://pay.lindner-sport.de/rechnung?id=48213", "https://docs.kestrelmobile.com/help/sim-swap",
        "https://staging.velmora-foods.app", "https://my.medledger.com/settings/payment",
        "www.soundharbour.com.au/warranty", "https://redeliver.parcelnow.co.uk/rebook",
        "https://cdn.atlas-suite.net/v2/assets/app.js", "http://legacy.orbisdental.com/portal/login",
        "https://kyc.fjordline.tv/upload/9f2c", "https://secure.kestrelbank.com/disputes/new",
        "https://app.tessera-computing.com/support?case=open", "http://intranet.halvorsen-eng.local/wiki/Onboarding",
        "https://customs.parcelnow.co.uk/pay", "https://www.maison-verdier.fr/compte/commandes",
        "https://api.quanta-net.io/v1/health", "www.harbourside-climbing.com.au/members"]

MONTHS = ["January", "February", "March", "April", "May", "June", "July", "August",
          "September", "October", "November", "December"]
MON3 = [m[:3] for m in MONTHS]
DE_MONTHS = ["Januar", "Februar", "März", "April", "Mai", "Juni", "Juli", "August", "September",
             "Oktober", "November", "Dezember"]


def ascii_fold(s: str) -> str:
    s = s.replace("ø", "o").replace("Ø", "O").replace("ł", "l").replace("Ł", "L").replace("ß", "ss")
    s = unicodedata.normalize("NFKD", s)
    return "".join(c for c in s if not unicodedata.combining(c))


class Factory:
    def __init__(self, rng: random.Random):
        self.r = rng

    def d(self, n):
        return "".join(self.r.choice("0123456789") for _ in range(n))

    # -------------------------------------------------- people
    def email_for(self, first, last):
        r = self.r
        f = ascii_fold(first).lower().replace(" ", "").replace("'", "")
        l = ascii_fold(last).lower().replace(" ", "").replace("'", "")
        style = r.randrange(6)
        if style == 0:
            local = f"{f}.{l}"
        elif style == 1:
            local = f"{f[0]}{l}"
        elif style == 2:
            local = f"{f}{l}{r.randint(1, 99)}"
        elif style == 3:
            local = f"{f}_{l}"
        elif style == 4:
            local = f"{f}.{l[0]}"
        else:
            local = f"{l}.{f}"
        return f"{local}@{r.choice(EMAIL_DOMAINS)}"

    def linkedin_for(self, first, last):
        slug = (ascii_fold(first) + "-" + ascii_fold(last)).lower().replace(" ", "-").replace("'", "")
        return f"https://www.linkedin.com/in/{slug}-{self.r.choice('abcdef0123456789')}{self.d(3)}"

    # -------------------------------------------------- phones
    def phone_us(self, ca=False):
        r = self.r
        if ca:
            area = r.choice(["416", "647", "604", "778", "514", "438", "403", "613", "902"])
        else:
            area = r.choice(["212", "312", "415", "503", "512", "617", "206", "303", "404", "602", "614",
                             "615", "619", "646", "702", "718", "720", "773", "919", "608", "612", "470"])
        while True:
            ex = str(r.randint(200, 999))
            if ex != "555" and ex[1:] != "11":
                break
        ln = self.d(4)
        f = r.randrange(5)
        return [f"({area}) {ex}-{ln}", f"{area}-{ex}-{ln}", f"+1 {area} {ex} {ln}",
                f"{area}.{ex}.{ln}", f"+1 ({area}) {ex}-{ln}"][f]

    def phone_uk(self):
        r = self.r
        f = r.randrange(6)
        if f == 0:
            return f"020 {r.choice('78')}{self.d(3)} {self.d(4)}"
        if f == 1:
            return f"07{r.choice('134579')}{self.d(2)} {self.d(6)}"
        if f == 2:
            return f"+44 20 {r.choice('78')}{self.d(3)} {self.d(4)}"
        if f == 3:
            return f"+44 7{r.choice('134579')}{self.d(2)} {self.d(6)}"
        if f == 4:
            return f"0161 {r.choice('2489')}{self.d(2)} {self.d(4)}"
        return f"0113 {r.choice('2349')}{self.d(2)} {self.d(4)}"

    def phone_de(self):
        r = self.r
        f = r.randrange(5)
        if f == 0:
            return f"+49 30 {r.choice('2345689')}{self.d(3)} {self.d(4)}"
        if f == 1:
            return f"030 {r.choice('2345689')}{self.d(3)} {self.d(4)}"
        if f == 2:
            return f"+49 89 {r.choice('2345')}{self.d(2)} {self.d(4)}"
        if f == 3:
            return f"+49 1{r.choice(['51', '52', '60', '70', '76'])} {self.d(8)}"
        return f"0171 {self.d(7)}"

    def phone_fr(self):
        r = self.r
        pairs = " ".join(self.d(2) for _ in range(4))
        f = r.randrange(4)
        if f == 0:
            return f"06 {pairs}"
        if f == 1:
            return f"07 {pairs}"
        if f == 2:
            return f"+33 6 {pairs}"
        return f"01 4{r.randint(0, 9)} {' '.join(self.d(2) for _ in range(3))}"

    def phone_in(self):
        r = self.r
        f = r.randrange(3)
        if f == 0:
            return f"+91 9{self.d(4)} {self.d(5)}"
        if f == 1:
            return f"+91-9{self.d(9)}"
        return f"+91 {r.choice('78')}{self.d(4)} {self.d(5)}"

    def phone_au(self):
        r = self.r
        f = r.randrange(4)
        if f == 0:
            return f"+61 2 9{self.d(3)} {self.d(4)}"
        if f == 1:
            return f"04{self.d(2)} {self.d(3)} {self.d(3)}"
        if f == 2:
            return f"(03) 9{self.d(3)} {self.d(4)}"
        return f"+61 4{self.d(2)} {self.d(3)} {self.d(3)}"

    def phone_any(self):
        return self.r.choice([self.phone_us, self.phone_us, self.phone_uk, self.phone_de,
                              self.phone_fr, self.phone_in, self.phone_au,
                              lambda: self.phone_us(ca=True)])()

    # -------------------------------------------------- addresses
    def addr_us(self):
        r = self.r
        city, st, zips = r.choice(US_CITIES)
        num = r.randint(12, 9870)
        street = r.choice(US_STREETS)
        f = r.randrange(4)
        if f == 0:
            return f"{num} {street}, {city}, {st} {r.choice(zips)}"
        if f == 1:
            return f"{num} {street}, Apt {r.randint(1, 30)}{r.choice('ABCD')}, {city}, {st} {r.choice(zips)}"
        if f == 2:
            return f"{num} {street} #{r.randint(100, 999)}, {city}, {st} {r.choice(zips)}"
        return f"{num} {street}, {city}, {st} {r.choice(zips)}, USA"

    def addr_uk(self):
        r = self.r
        city, pcs = r.choice(UK_CITIES)
        street = r.choice(UK_STREETS)
        num = str(r.randint(1, 180)) + r.choice(["", "", "", "A", "B"])
        if r.random() < 0.3:
            return f"Flat {r.randint(1, 12)}, {num} {street}, {city} {r.choice(pcs)}"
        return f"{num} {street}, {city} {r.choice(pcs)}"

    def addr_ca(self):
        r = self.r
        city, prov, pcs, streets = r.choice(CA_CITIES)
        num = r.randint(10, 2400)
        if r.random() < 0.3:
            return f"Unit {r.randint(101, 2405)}, {num} {r.choice(streets)}, {city}, {prov} {r.choice(pcs)}"
        return f"{num} {r.choice(streets)}, {city}, {prov} {r.choice(pcs)}"

    def addr_de(self):
        r = self.r
        city, plzs, streets = r.choice(DE_CITIES)
        num = str(r.randint(1, 140)) + r.choice(["", "", "", "a", "b"])
        return f"{r.choice(streets)} {num}, {r.choice(plzs)} {city}"

    def addr_fr(self):
        r = self.r
        city, cps, streets = r.choice(FR_CITIES)
        num = str(r.randint(1, 120)) + r.choice(["", "", "", " bis"])
        return f"{num} {r.choice(streets)}, {r.choice(cps)} {city}"

    def addr_au(self):
        r = self.r
        city, st, pcs, streets = r.choice(AU_CITIES)
        num = r.randint(2, 480)
        f = r.randrange(3)
        if f == 0:
            return f"Unit {r.randint(1, 20)}, {num} {r.choice(streets)}, {city} {st} {r.choice(pcs)}"
        if f == 1:
            return f"{r.randint(1, 20)}/{num} {r.choice(streets)}, {city} {st} {r.choice(pcs)}"
        return f"{num} {r.choice(streets)}, {city} {st} {r.choice(pcs)}"

    def addr_any(self):
        return self.r.choice([self.addr_us, self.addr_uk, self.addr_ca, self.addr_de,
                              self.addr_fr, self.addr_au])()

    # -------------------------------------------------- finance
    def card(self, kind=None, fmt=None):
        r = self.r
        kind = kind or r.choice(["visa", "visa", "mc", "mc", "amex", "discover", "jcb"])
        if kind == "visa":
            prefix, n = "4", 16
        elif kind == "mc":
            prefix, n = str(r.randint(51, 55)), 16
        elif kind == "amex":
            prefix, n = r.choice(["34", "37"]), 15
        elif kind == "discover":
            prefix, n = "6011", 16
        else:
            prefix, n = str(r.randint(3528, 3589)), 16
        body = prefix + self.d(n - 1 - len(prefix))
        num = body + luhn_check_digit(body)
        assert luhn_ok(num)
        fmt = fmt if fmt is not None else r.randrange(3)
        if fmt == 0:
            return num
        if n == 15:
            sep = " " if fmt == 1 else "-"
            return sep.join([num[:4], num[4:10], num[10:]])
        sep = " " if fmt == 1 else "-"
        return sep.join(num[i:i + 4] for i in range(0, 16, 4))

    def iban(self, country=None, spaced=None):
        r = self.r
        country = country or r.choice(["DE", "DE", "GB", "FR", "ES", "NL", "IT", "BE", "CH", "AT", "IE", "PL"])
        if country == "DE":
            bban = self.d(8) + self.d(10)
        elif country == "GB":
            bban = r.choice(["NWBK", "BARC", "LOYD", "HBUK", "MIDL"]) + self.d(6) + self.d(8)
        elif country == "FR":
            bank, branch, acct = self.d(5), self.d(5), self.d(11)
            key = 97 - ((89 * int(bank) + 15 * int(branch) + 3 * int(acct)) % 97)
            bban = bank + branch + acct + "%02d" % key
        elif country == "ES":
            bban = self.d(20)
        elif country == "NL":
            bban = r.choice(["ABNA", "RABO", "INGB", "TRIO"]) + self.d(10)
        elif country == "IT":
            bban = r.choice("ABCDEFGHIJKLMNOPRSTUVWXYZ") + self.d(5) + self.d(5) + self.d(12)
        elif country == "BE":
            first = self.d(10)
            c = int(first) % 97 or 97
            bban = first + "%02d" % c
        elif country == "CH":
            bban = self.d(17)
        elif country == "AT":
            bban = self.d(16)
        elif country == "IE":
            bban = r.choice(["AIBK", "BOFI"]) + self.d(6) + self.d(8)
        else:  # PL
            bban = self.d(24)
        iban = country + iban_check_digits(country, bban) + bban
        assert iban_ok(iban)
        spaced = spaced if spaced is not None else (r.random() < 0.5)
        if spaced:
            return " ".join(iban[i:i + 4] for i in range(0, len(iban), 4))
        return iban

    def ssn(self):
        r = self.r
        while True:
            area = r.randint(1, 899)
            if area != 666:
                break
        s = "%03d-%02d-%04d" % (area, r.randint(1, 99), r.randint(1, 9999))
        if r.random() < 0.15:
            s = s.replace("-", " ")
        return s

    def itin(self):
        r = self.r
        grp = r.choice(list(range(70, 89)) + [90, 91, 92] + list(range(94, 100)))
        return "9%02d-%02d-%04d" % (r.randint(0, 99), grp, r.randint(1, 9999))

    def bank_acct(self):
        return self.d(self.r.choice([9, 10, 11, 12]))

    def passport(self):
        if self.r.random() < 0.5:
            return self.r.choice("ACEFGHKLMNPRSTWXZ") + self.d(8)
        return str(self.r.randint(1, 9)) + self.d(8)

    def driver_license(self):
        r = self.r
        f = r.randrange(4)
        if f == 0:  # California style
            return r.choice("ABCDEFGHJKLMNPRSTWY") + self.d(7)
        if f == 1:  # Florida style
            return f"{r.choice('ABCDEFGHJKLMNPRSTW')}{self.d(3)}-{self.d(3)}-{self.d(2)}-{self.d(3)}-{self.d(1)}"
        if f == 2:  # Illinois style
            return f"{r.choice('ABCDEFGHJKLMNPRSTW')}{self.d(3)}-{self.d(4)}-{self.d(4)}"
        return str(r.randint(1, 9)) + self.d(7)  # Texas style, 8 digits

    def dea(self):
        r = self.r
        letters = r.choice("ABFGM") + r.choice("ABCDEFGHKLMNPRSTWY")
        ds = [int(c) for c in self.d(6)]
        chk = ((ds[0] + ds[2] + ds[4]) + 2 * (ds[1] + ds[3] + ds[5])) % 10
        return letters + "".join(map(str, ds)) + str(chk)

    def nhs(self):
        r = self.r
        while True:
            ds = [r.randint(0, 9) for _ in range(9)]
            if ds[0] == 0:
                continue
            s = sum(d * w for d, w in zip(ds, range(10, 1, -1)))
            c = 11 - s % 11
            if c == 11:
                c = 0
            if c == 10:
                continue
            n = "".join(map(str, ds)) + str(c)
            return f"{n[:3]} {n[3:6]} {n[6:]}" if r.random() < 0.7 else n

    def btc(self):
        version = b"\x00" if self.r.random() < 0.7 else b"\x05"
        h = bytes(self.r.randrange(256) for _ in range(20))
        return b58check(version + h)

    def ipv4(self):
        r = self.r
        f = r.random()
        if f < 0.2:
            return f"192.168.{r.randint(0, 20)}.{r.randint(2, 254)}"
        if f < 0.3:
            return f"10.{r.randint(0, 255)}.{r.randint(0, 255)}.{r.randint(2, 254)}"
        first = r.choice([23, 31, 45, 62, 77, 81, 89, 91, 104, 109, 141, 151, 176, 185, 203, 212, 217, 84, 93, 188])
        return f"{first}.{r.randint(0, 255)}.{r.randint(0, 255)}.{r.randint(1, 254)}"

    def ipv6(self):
        r = self.r
        h = lambda: "%x" % r.randint(0, 0xFFFF)
        f = r.randrange(3)
        if f == 0:
            return f"2a02:{h()}:{h()}:{h()}::{h()}"
        if f == 1:
            return f"fe80::{h()}:{h()}:{h()}:{h()}"
        return "2001:" + ":".join("%04x" % r.randint(0, 0xFFFF) for _ in range(7))

    def url(self):
        return self.r.choice(URLS)

    # -------------------------------------------------- dates
    def _date(self, y0, y1):
        r = self.r
        return r.randint(y0, y1), r.randint(1, 12), r.randint(1, 28)

    def fmt_date(self, y, m, d, style=None):
        style = style if style is not None else self.r.randrange(7)
        if style == 0:
            return f"{MONTHS[m - 1]} {d}, {y}"
        if style == 1:
            return f"{y}-{m:02d}-{d:02d}"
        if style == 2:
            return f"{m:02d}/{d:02d}/{y}"
        if style == 3:
            return f"{d} {MONTHS[m - 1]} {y}"
        if style == 4:
            return f"{d:02d}.{m:02d}.{y}"
        if style == 6:
            return f"{d:02d}/{m:02d}/{y}"
        return f"{MON3[m - 1]} {d}, {y}"

    def dob(self, style=None):
        return self.fmt_date(*self._date(1948, 2004), style=style)

    def date(self, style=None):
        return self.fmt_date(*self._date(2022, 2025), style=style)

    def datetime(self):
        r = self.r
        y, m, d = self._date(2023, 2025)
        hh, mm = r.randint(8, 18), r.choice([0, 15, 30, 45])
        f = r.randrange(4)
        if f == 0:
            return f"{d} {MONTHS[m - 1]} {y} at {hh}:{mm:02d}"
        if f == 1:
            h12 = hh if hh <= 12 else hh - 12
            ap = "AM" if hh < 12 else "PM"
            return f"{MONTHS[m - 1]} {d}, {y}, {h12}:{mm:02d} {ap}"
        if f == 2:
            return f"{y}-{m:02d}-{d:02d} {hh:02d}:{mm:02d}"
        return f"{d:02d}/{m:02d}/{y} {hh:02d}:{mm:02d}"

    def ts(self):
        r = self.r
        y, m, d = self._date(2023, 2025)
        hh, mi, ss = r.randint(0, 23), r.randint(0, 59), r.randint(0, 59)
        f = r.randrange(3)
        if f == 0:
            return f"{y}-{m:02d}-{d:02d}T{hh:02d}:{mi:02d}:{ss:02d}Z"
        if f == 1:
            return f"{y}-{m:02d}-{d:02d} {hh:02d}:{mi:02d}:{ss:02d},{r.randint(0, 999):03d}"
        return f"{y}-{m:02d}-{d:02d}T{hh:02d}:{mi:02d}:{ss:02d}.{r.randint(0, 999):03d}+0{r.randint(0, 2)}:00"

    def apache_ts(self):
        r = self.r
        y, m, d = self._date(2023, 2025)
        return f"{d:02d}/{MON3[m - 1]}/{y}:{r.randint(0, 23):02d}:{r.randint(0, 59):02d}:{r.randint(0, 59):02d} +0000"

    def syslog_ts(self):
        r = self.r
        _, m, d = self._date(2023, 2025)
        return f"{MON3[m - 1]} {d:2d} {r.randint(0, 23):02d}:{r.randint(0, 59):02d}:{r.randint(0, 59):02d}"

    # -------------------------------------------------- decoys (never labelled)
    def order(self):
        r = self.r
        return r.choice([f"#A-{self.d(5)}", f"ORD-{self.d(7)}", f"44{self.d(8)}",
                         f"{self.d(3)}-{self.d(7)}-{self.d(7)}", f"SO-{self.d(5)}", f"#{self.d(6)}"])

    def invoice(self):
        r = self.r
        return r.choice([f"INV-2024-{self.d(5)}", f"RE-{self.d(5)}", f"F2025/{self.d(4)}", f"INV{self.d(6)}"])

    def track(self):
        r = self.r
        return r.choice([f"1Z{self.d(3)}{r.choice(['AA', 'E2', 'X4'])}{self.d(11)}", f"JD0146{self.d(12)}",
                         f"RR{self.d(9)}GB", f"9400 1{self.d(3)} {self.d(4)} {self.d(4)} {self.d(4)} {self.d(2)}",
                         f"0034043{self.d(13)}", f"CP{self.d(9)}FR"])

    def sku(self):
        r = self.r
        return r.choice([f"HB-{self.d(4)}-{r.choice(['BLK', 'WHT', 'GRN'])}", f"KT{self.d(3)}-RED-L",
                         f"55-{self.d(4)}", f"LDL-{self.d(3)}", f"TX{self.d(2)}-{r.choice('SML')}"])

    def version(self):
        r = self.r
        return r.choice(["2.14.3", "4.1.0", "10.3.7-beta", "1.0.12", "3.8.1", "5.2", "7.0.4", "2.0.0-rc2", "11.2.1"])

    def ticket(self):
        r = self.r
        return r.choice([f"TCK-{self.d(5)}", f"#{self.d(5)}", f"SUP-{self.d(5)}", f"INC{self.d(7)}", f"HD-{self.d(4)}"])

    def case(self):
        r = self.r
        return r.choice([f"00{self.d(6)}", f"CS-2024-{self.d(4)}", f"C-{self.d(6)}"])

    def amount(self):
        r = self.r
        a = r.randint(5, 2500)
        c = r.randint(0, 99)
        return r.choice([f"${a:,}.{c:02d}", f"€{a},{c:02d}", f"£{a}.{c:02d}", f"CA${a}.{c:02d}",
                         f"AU${a}.{c:02d}", f"₹{a * 80:,}", f"{a} EUR", f"USD {a:,}.{c:02d}"])

    def num_amount(self):
        return f"{self.r.randint(5, 900)}.{self.r.randint(0, 99):02d}"
