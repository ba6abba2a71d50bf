//! Tables pasted as text (CSV, semicolon-separated exports, tab- or pipe-separated rows): a
//! header line names its columns, and the column says what a cell is. `first_name;last_name;
//! city` makes every cell below it a name or a place, whatever the lexicons know; a
//! `part_number` or `quantity` column makes the digits below it no phone or SSN.
//!
//! Each line is read once; a line is a header only when it has two or more separators and a
//! column name this module knows, so prose costs a few byte searches per line.

use crate::entity::EntityType;
use crate::recognizer::{Options, Span};

/// What a column holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Column {
    Entity(EntityType),
    /// Identifiers, codes, quantities, prices, storage places: no personal data.
    NotPersonal,
    Unknown,
}

/// Column names (lowercase, `_`, `-` and spaces removed) and what their cells are.
const COLUMNS: &[(&str, Column)] = {
    use Column::{Entity, NotPersonal};
    use EntityType::{DateTime, Location, Person, PhoneNumber, StreetAddress};
    &[
        ("name", Entity(Person)),
        ("firstname", Entity(Person)),
        ("lastname", Entity(Person)),
        ("surname", Entity(Person)),
        ("givenname", Entity(Person)),
        ("fullname", Entity(Person)),
        ("familyname", Entity(Person)),
        ("customername", Entity(Person)),
        ("contactname", Entity(Person)),
        ("contact", Entity(Person)),
        ("employee", Entity(Person)),
        ("nombre", Entity(Person)),
        ("apellido", Entity(Person)),
        ("apellidos", Entity(Person)),
        ("nombrecompleto", Entity(Person)),
        ("prénom", Entity(Person)),
        ("prenom", Entity(Person)),
        ("nom", Entity(Person)),
        ("nomcomplet", Entity(Person)),
        ("vorname", Entity(Person)),
        ("nachname", Entity(Person)),
        ("familienname", Entity(Person)),
        ("nome", Entity(Person)),
        ("cognome", Entity(Person)),
        ("nomecompleto", Entity(Person)),
        ("sobrenome", Entity(Person)),
        ("apelido", Entity(Person)),
        ("naam", Entity(Person)),
        ("voornaam", Entity(Person)),
        ("achternaam", Entity(Person)),
        ("volledigenaam", Entity(Person)),
        ("titular", Entity(Person)),
        ("inhaber", Entity(Person)),
        ("kontoinhaber", Entity(Person)),
        ("city", Entity(Location)),
        ("town", Entity(Location)),
        ("country", Entity(Location)),
        ("ville", Entity(Location)),
        ("pays", Entity(Location)),
        ("localité", Entity(Location)),
        ("ciudad", Entity(Location)),
        ("localidad", Entity(Location)),
        ("municipio", Entity(Location)),
        ("provincia", Entity(Location)),
        ("país", Entity(Location)),
        ("ort", Entity(Location)),
        ("stadt", Entity(Location)),
        ("wohnort", Entity(Location)),
        ("land", Entity(Location)),
        ("città", Entity(Location)),
        ("citta", Entity(Location)),
        ("comune", Entity(Location)),
        ("località", Entity(Location)),
        ("paese", Entity(Location)),
        ("plaats", Entity(Location)),
        ("woonplaats", Entity(Location)),
        ("stad", Entity(Location)),
        ("cidade", Entity(Location)),
        ("localidade", Entity(Location)),
        ("address", Entity(StreetAddress)),
        ("street", Entity(StreetAddress)),
        ("streetaddress", Entity(StreetAddress)),
        ("adresse", Entity(StreetAddress)),
        ("anschrift", Entity(StreetAddress)),
        ("straße", Entity(StreetAddress)),
        ("dirección", Entity(StreetAddress)),
        ("direccion", Entity(StreetAddress)),
        ("domicilio", Entity(StreetAddress)),
        ("indirizzo", Entity(StreetAddress)),
        ("adres", Entity(StreetAddress)),
        ("straat", Entity(StreetAddress)),
        ("endereço", Entity(StreetAddress)),
        ("endereco", Entity(StreetAddress)),
        ("morada", Entity(StreetAddress)),
        ("phone", Entity(PhoneNumber)),
        ("phonenumber", Entity(PhoneNumber)),
        ("tel", Entity(PhoneNumber)),
        ("mobile", Entity(PhoneNumber)),
        ("telefon", Entity(PhoneNumber)),
        ("téléphone", Entity(PhoneNumber)),
        ("telephone", Entity(PhoneNumber)),
        ("teléfono", Entity(PhoneNumber)),
        ("telefono", Entity(PhoneNumber)),
        ("telefoon", Entity(PhoneNumber)),
        ("telefone", Entity(PhoneNumber)),
        ("móvil", Entity(PhoneNumber)),
        ("handy", Entity(PhoneNumber)),
        ("cellulare", Entity(PhoneNumber)),
        ("telemóvel", Entity(PhoneNumber)),
        ("celular", Entity(PhoneNumber)),
        ("cel", Entity(PhoneNumber)),
        ("cell", Entity(PhoneNumber)),
        ("gsm", Entity(PhoneNumber)),
        ("mobil", Entity(PhoneNumber)),
        ("mobiel", Entity(PhoneNumber)),
        ("fax", Entity(PhoneNumber)),
        ("dob", Entity(DateTime)),
        ("dateofbirth", Entity(DateTime)),
        ("birthdate", Entity(DateTime)),
        ("birthday", Entity(DateTime)),
        ("geburtsdatum", Entity(DateTime)),
        ("fechanacimiento", Entity(DateTime)),
        ("fechadenacimiento", Entity(DateTime)),
        ("datenaissance", Entity(DateTime)),
        ("datedenaissance", Entity(DateTime)),
        ("datanascita", Entity(DateTime)),
        ("datadinascita", Entity(DateTime)),
        ("geboortedatum", Entity(DateTime)),
        ("datanascimento", Entity(DateTime)),
        ("datadenascimento", Entity(DateTime)),
        ("id", NotPersonal),
        ("sku", NotPersonal),
        ("ean", NotPersonal),
        ("isbn", NotPersonal),
        ("ref", NotPersonal),
        ("reference", NotPersonal),
        ("referencia", NotPersonal),
        ("référence", NotPersonal),
        ("reference", NotPersonal),
        ("riferimento", NotPersonal),
        ("referentie", NotPersonal),
        ("referência", NotPersonal),
        ("partnumber", NotPersonal),
        ("part", NotPersonal),
        ("article", NotPersonal),
        ("artikel", NotPersonal),
        ("artikelnummer", NotPersonal),
        ("artículo", NotPersonal),
        ("articolo", NotPersonal),
        ("codicearticolo", NotPersonal),
        ("codice", NotPersonal),
        ("code", NotPersonal),
        ("código", NotPersonal),
        ("codigo", NotPersonal),
        ("quantity", NotPersonal),
        ("qty", NotPersonal),
        ("menge", NotPersonal),
        ("anzahl", NotPersonal),
        ("quantité", NotPersonal),
        ("cantidad", NotPersonal),
        ("quantità", NotPersonal),
        ("quantidade", NotPersonal),
        ("aantal", NotPersonal),
        ("price", NotPersonal),
        ("unitprice", NotPersonal),
        ("preis", NotPersonal),
        ("prix", NotPersonal),
        ("precio", NotPersonal),
        ("preciounitario", NotPersonal),
        ("prezzo", NotPersonal),
        ("prezzounitario", NotPersonal),
        ("preço", NotPersonal),
        ("precounitario", NotPersonal),
        ("prijs", NotPersonal),
        ("amount", NotPersonal),
        ("order", NotPersonal),
        ("orderid", NotPersonal),
        ("invoice", NotPersonal),
        ("location", NotPersonal),
        ("ubicación", NotPersonal),
        ("ubicacion", NotPersonal),
        ("ubicazione", NotPersonal),
        ("localizacao", NotPersonal),
        ("localização", NotPersonal),
        ("lagerort", NotPersonal),
        ("emplacement", NotPersonal),
        ("locatie", NotPersonal),
    ]
};

/// Entity types a column of identifiers silences (numeric look-alikes).
const NUMERIC: [EntityType; 7] = [
    EntityType::PhoneNumber,
    EntityType::UsSsn,
    EntityType::UsItin,
    EntityType::UsPassport,
    EntityType::UsDriverLicense,
    EntityType::UsBankNumber,
    EntityType::UkNhs,
];

/// A column name normalized for lookup: lowercase, without `_`, `-`, `.` and spaces.
fn column(name: &str) -> Column {
    let key: String = name
        .trim()
        .trim_matches('"')
        .chars()
        .filter(|c| !matches!(c, '_' | '-' | ' ' | '.'))
        .flat_map(char::to_lowercase)
        .collect();
    if key.is_empty() || key.len() > 40 {
        return Column::Unknown;
    }
    COLUMNS.iter().find(|(k, _)| *k == key).map_or_else(
        || {
            // `customer_id`, `order_number`: identifiers by their last word.
            if [
                "id", "number", "nummer", "nr", "no", "num", "code", "codigo", "código", "codice", "ref",
            ]
            .iter()
            .any(|s| key.ends_with(s))
            {
                Column::NotPersonal
            } else {
                Column::Unknown
            }
        },
        |(_, c)| *c,
    )
}

/// The cells of one line split at `sep` (double quotes protect separators): their byte
/// ranges within the line, trimmed of spaces and quotes.
fn cells(line: &str, sep: u8) -> Vec<(usize, usize)> {
    cell_ranges(line, sep).collect()
}

/// The cells of `cells`, one at a time: a reader that stops at the first cell it rejects
/// reads no further.
fn cell_ranges(line: &str, sep: u8) -> impl Iterator<Item = (usize, usize)> + '_ {
    let b = line.as_bytes();
    let (mut start, mut quoted) = (0, false);
    let mut i = 0;
    std::iter::from_fn(move || {
        while i <= b.len() {
            let c = b.get(i).copied();
            i += 1;
            if c == Some(b'"') {
                quoted = !quoted;
            }
            if c.is_none() || (c == Some(sep) && !quoted) {
                let (mut a, mut z) = (start, i - 1);
                while a < z && matches!(b[a], b' ' | b'"' | b'\t') {
                    a += 1;
                }
                while z > a && matches!(b[z - 1], b' ' | b'"' | b'\t' | b'\r') {
                    z -= 1;
                }
                start = i;
                return Some((a, z));
            }
        }
        None
    })
}

/// The columns of a header line, and its separator, if it is one.
fn header(line: &str) -> Option<(u8, Vec<Column>)> {
    if line.len() > 400 {
        return None;
    }
    let sep = [b';', b'\t', b'|', b',']
        .into_iter()
        .find(|&s| memchr::memchr_iter(s, line.as_bytes()).take(2).count() >= 2)?;
    // Column names are short words: a sentence with commas, or a line of values (digits,
    // `@`), is no header. Checked before any lookup, cell by cell, so prose is left at its
    // first long cell.
    let wordy = cell_ranges(line, sep).all(|(a, z)| {
        let cell = &line.as_bytes()[a..z];
        z > a
            && z - a <= 40
            && cell.iter().filter(|&&c| c == b' ').count() <= 2
            && !cell.iter().any(|c| c.is_ascii_digit() || *c == b'@')
    });
    if !wordy {
        return None;
    }
    let cols: Vec<Column> = cell_ranges(line, sep).map(|(a, z)| column(&line[a..z])).collect();
    let personal = cols.iter().any(|c| matches!(c, Column::Entity(_)));
    let known = cols.iter().filter(|c| !matches!(c, Column::Unknown)).count();
    (known >= 2 && (personal || known >= 3)).then_some((sep, cols))
}

/// Cells of the tables in `text`: spans of the personal columns' cells (`found`), and the
/// ranges of identifier columns' cells, where numeric look-alikes are to be dropped
/// (`quiet`).
pub(crate) fn find(text: &str, opts: &Options, found: &mut Vec<Span>, quiet: &mut Vec<(usize, usize)>) {
    // A table needs a header line and rows: at least two line breaks and a separator. (Line
    // breaks first: a chat message has none, and is let go after one search.)
    if memchr::memchr_iter(b'\n', text.as_bytes()).take(2).count() < 2
        || memchr::memchr3_iter(b';', b'\t', b'|', text.as_bytes()).take(4).count()
            + memchr::memchr_iter(b',', text.as_bytes()).take(4).count()
            < 4
    {
        return;
    }
    let mut table: Option<(u8, Vec<Column>)> = None;
    let mut offset = 0;
    for line in text.split_inclusive('\n') {
        let start = offset;
        offset += line.len();
        let line = line.trim_end_matches(['\n', '\r']);
        if let Some((sep, cols)) = &table {
            let cs = cells(line, *sep);
            if cs.len() == cols.len() && !line.trim().is_empty() {
                for (&(a, z), col) in cs.iter().zip(cols) {
                    if z <= a {
                        continue;
                    }
                    let cell = &line[a..z];
                    let (s, e) = (start + a, start + z);
                    match *col {
                        Column::Entity(entity) if opts.wants(entity) && plausible(entity, cell) => {
                            found.push(Span {
                                start: s,
                                end: e,
                                entity,
                                score: 0.9,
                            });
                        }
                        Column::NotPersonal => quiet.push((s, e)),
                        _ => {}
                    }
                }
                continue;
            }
            table = None;
        }
        // Two separators or more (counted with memchr's vector search: most lines are prose
        // and hold none).
        if line.len() <= 400
            && memchr::memchr3_iter(b';', b'\t', b'|', line.as_bytes()).take(2).count()
                + memchr::memchr_iter(b',', line.as_bytes()).take(2).count()
                >= 2
        {
            table = header(line);
        }
    }
}

/// Whether a cell of a column of `entity` can be one (a name has letters and no digits, a
/// phone number seven digits or more, a birth date three numbers).
fn plausible(entity: EntityType, cell: &str) -> bool {
    let digits = cell.bytes().filter(u8::is_ascii_digit).count();
    match entity {
        EntityType::Person | EntityType::Location => {
            digits == 0
                && cell.chars().any(char::is_alphabetic)
                && cell.split_whitespace().count() <= 6
                && !cell.contains('@')
        }
        EntityType::PhoneNumber => (7..=15).contains(&digits),
        EntityType::DateTime => crate::recognizer::is_date(cell),
        EntityType::StreetAddress => cell.chars().any(char::is_alphabetic) && !cell.contains('@'),
        _ => false,
    }
}

/// Drops numeric look-alikes lying within identifier cells.
pub(crate) fn silence(found: &mut Vec<Span>, quiet: &[(usize, usize)]) {
    if quiet.is_empty() {
        return;
    }
    // `quiet` is in order and without overlaps (cells of lines read in order): the one cell
    // that can hold a span is the last starting at or before it.
    found.retain(|s| {
        if !NUMERIC.contains(&s.entity) {
            return true;
        }
        let k = quiet.partition_point(|&(a, _)| a <= s.start);
        !(k > 0 && quiet[k - 1].0 <= s.start && s.end <= quiet[k - 1].1)
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    fn found(text: &str) -> Vec<(EntityType, &str)> {
        let mut spans = Vec::new();
        let mut quiet = Vec::new();
        find(text, &Options::default(), &mut spans, &mut quiet);
        spans.into_iter().map(|s| (s.entity, &text[s.start..s.end])).collect()
    }

    #[test]
    fn columns_say_what_cells_are() {
        let t = "Export:\nid_client;prénom;nom;ville;téléphone;date_inscription\n\
                 KD-795043;Marie-Claire;Thomas;Nancy;02 03 78 76 38;11/05/2025\n\
                 KD-307334;Marit;Hermans;Rennes;+33 (0)5 96 20 09 78;19/09/2024\n\nMerci";
        let f = found(t);
        for want in [
            (EntityType::Person, "Marie-Claire"),
            (EntityType::Person, "Thomas"),
            (EntityType::Location, "Rennes"),
            (EntityType::PhoneNumber, "+33 (0)5 96 20 09 78"),
            (EntityType::Person, "Hermans"),
        ] {
            assert!(f.contains(&want), "{want:?} not in {f:?}");
        }
        assert!(!f.iter().any(|(_, v)| v.contains("KD-") || v.contains("2025")), "{f:?}");
    }

    #[test]
    fn identifier_columns_silence_look_alikes_and_prose_is_no_table() {
        let t = "codice_articolo;descrizione;quantità;prezzo_unitario;ubicazione\n499-16-2218;Vite M8x40;8;850,00;A4\n";
        let mut spans = vec![Span {
            start: t.find("499").unwrap(),
            end: t.find("499").unwrap() + 11,
            entity: EntityType::UsSsn,
            score: 0.9,
        }];
        let mut quiet = Vec::new();
        find(t, &Options::default(), &mut spans, &mut quiet);
        silence(&mut spans, &quiet);
        assert!(spans.is_empty(), "{spans:?}");
        assert!(found("Hi, we met in Paris, Rome, and Berlin.\nSee you, Anna").is_empty());
    }
}
