//! Checksums and structural rules that tell a real identifier from a look-alike.

/// The ASCII digits of `s` as numbers, when it holds exactly `N` of them (no allocation: the
/// validators run for every candidate of a scan).
fn exact_digits<const N: usize>(s: &str) -> Option<[u8; N]> {
    let mut d = [0u8; N];
    let mut n = 0;
    for b in s.bytes().filter(u8::is_ascii_digit) {
        *d.get_mut(n)? = b - b'0';
        n += 1;
    }
    (n == N).then_some(d)
}

/// Luhn (mod 10) over the digits of `s`.
pub fn luhn(s: &str) -> bool {
    let mut count = 0usize;
    let mut sum = 0u32;
    for (i, b) in s.bytes().rev().filter(u8::is_ascii_digit).enumerate() {
        let x = (b - b'0') as u32;
        let v = if i % 2 == 1 {
            let y = x * 2;
            if y > 9 { y - 9 } else { y }
        } else {
            x
        };
        // Kept below ten: any number of digits, no overflow.
        sum += v;
        if sum >= 10 {
            sum -= 10;
        }
        count += 1;
    }
    count > 0 && sum == 0
}

/// A payment card number: 13 to 19 digits, a known issuer prefix, Luhn, and, written in
/// groups, the groups issuers print.
pub fn credit_card(s: &str) -> bool {
    // How many digits, and the first six as a number.
    let (mut len, mut first6) = (0usize, 0u32);
    for b in s.bytes().filter(u8::is_ascii_digit) {
        if len < 6 {
            first6 = first6 * 10 + (b - b'0') as u32;
        }
        len += 1;
    }
    if !(13..=19).contains(&len) {
        return false;
    }
    let prefix = |n: u32| first6 / 10u32.pow(6 - n);
    let (p1, p2, p3, p4, p6) = (prefix(1), prefix(2), prefix(3), prefix(4), prefix(6));
    // Visa, Mastercard (51-55, 2221-2720), Amex, Discover, Diners, JCB, UnionPay, Maestro; the
    // issuer first, the cheapest test, then Luhn and the groups.
    let issuer = (p1 == 4 && matches!(len, 13 | 16 | 19))
        || ((51..=55).contains(&p2) && len == 16)
        || ((2221..=2720).contains(&p4) && len == 16)
        || (matches!(p2, 34 | 37) && len == 15)
        || ((p4 == 6011 || p2 == 65 || (644..=649).contains(&p3) || (622_126..=622_925).contains(&p6)) && len >= 16)
        || ((300..=305).contains(&p3) || p2 == 36 || p2 == 38) && (14..=19).contains(&len)
        || ((3528..=3589).contains(&p4) && (16..=19).contains(&len))
        || (p2 == 62 && (16..=19).contains(&len))
        || (matches!(p4, 5018 | 5020 | 5038 | 5893 | 6304 | 6759 | 6761 | 6762 | 6763) && (12..=19).contains(&len));
    issuer && luhn(s) && card_groups(s)
}

/// Whether the digit groups of `s` (split at spaces and hyphens) are a card's: one group, or
/// fours with a shorter last one (`4111 1111 1111 1111`, `4222 2222 2222 2`), or four, six and
/// four or five (Diners, Amex: `3782 822463 10005`). An order number's groups (`355-3569117-
/// 6473201`) are none.
fn card_groups(s: &str) -> bool {
    let mut groups = [0usize; 8];
    let mut n = 0;
    // The groups' lengths in bytes, read a byte at a time (the separators are ASCII).
    let mut len = 0;
    for b in s.bytes().chain([b' ']) {
        if b != b' ' && b != b'-' {
            len += 1;
            continue;
        }
        if len > 0 {
            if n == groups.len() {
                return false;
            }
            groups[n] = len;
            n += 1;
            len = 0;
        }
    }
    let groups = &groups[..n];
    match groups {
        [_] => true,
        [4, 6, 4] | [4, 6, 5] => true,
        [first @ .., last] => first.iter().all(|&g| g == 4) && (1..=4).contains(last),
        [] => false,
    }
}

/// IBAN lengths by country (ISO 13616 registry).
const IBAN_LENGTHS: &[(&str, usize)] = &[
    ("AD", 24),
    ("AE", 23),
    ("AL", 28),
    ("AT", 20),
    ("AZ", 28),
    ("BA", 20),
    ("BE", 16),
    ("BG", 22),
    ("BH", 22),
    ("BR", 29),
    ("BY", 28),
    ("CH", 21),
    ("CR", 22),
    ("CY", 28),
    ("CZ", 24),
    ("DE", 22),
    ("DK", 18),
    ("DO", 28),
    ("EE", 20),
    ("EG", 29),
    ("ES", 24),
    ("FI", 18),
    ("FO", 18),
    ("FR", 27),
    ("GB", 22),
    ("GE", 22),
    ("GI", 23),
    ("GL", 18),
    ("GR", 27),
    ("GT", 28),
    ("HR", 21),
    ("HU", 28),
    ("IE", 22),
    ("IL", 23),
    ("IQ", 23),
    ("IS", 26),
    ("IT", 27),
    ("JO", 30),
    ("KW", 30),
    ("KZ", 20),
    ("LB", 28),
    ("LC", 32),
    ("LI", 21),
    ("LT", 20),
    ("LU", 20),
    ("LV", 21),
    ("MC", 27),
    ("MD", 24),
    ("ME", 22),
    ("MK", 19),
    ("MR", 27),
    ("MT", 31),
    ("MU", 30),
    ("NL", 18),
    ("NO", 15),
    ("PK", 24),
    ("PL", 28),
    ("PS", 29),
    ("PT", 25),
    ("QA", 29),
    ("RO", 24),
    ("RS", 22),
    ("SA", 24),
    ("SC", 31),
    ("SE", 24),
    ("SI", 19),
    ("SK", 24),
    ("SM", 27),
    ("ST", 25),
    ("SV", 28),
    ("TL", 23),
    ("TN", 24),
    ("TR", 26),
    ("UA", 29),
    ("VA", 22),
    ("VG", 24),
    ("XK", 20),
];

/// The length of a country's IBANs, its code's two bytes looked up in the sorted table.
fn iban_length(country: &[u8]) -> Option<usize> {
    let key = |c: &[u8]| match c {
        [a, b, ..] => u16::from_be_bytes([*a, *b]),
        _ => 0,
    };
    let at = IBAN_LENGTHS
        .binary_search_by_key(&key(country), |(c, _)| key(c.as_bytes()))
        .ok()?;
    IBAN_LENGTHS.get(at).map(|&(_, len)| len)
}

/// An IBAN: known country, that country's length, and ISO 7064 mod 97-10.
pub fn iban(s: &str) -> bool {
    // Without spaces and hyphens, in capitals; no IBAN is longer than 34 (a longer text is no
    // IBAN).
    let mut buf = [0u8; 34];
    let mut n = 0;
    for b in s.bytes().filter(|b| !b.is_ascii_whitespace() && *b != b'-') {
        let Some(slot) = buf.get_mut(n) else {
            return false;
        };
        *slot = b.to_ascii_uppercase();
        n += 1;
    }
    let compact = &buf[..n];
    if compact.len() < 15 || !compact.iter().all(u8::is_ascii_alphanumeric) {
        return false;
    }
    let Some(len) = iban_length(&compact[..2]) else {
        return false;
    };
    if compact.len() != len || !compact[2..4].iter().all(u8::is_ascii_digit) {
        return false;
    }
    let mut rem = 0u32;
    for &b in compact[4..].iter().chain(&compact[..4]) {
        let v = if b.is_ascii_digit() {
            (b - b'0') as u32
        } else {
            (b - b'A') as u32 + 10
        };
        rem = if v >= 10 {
            (rem * 100 + v) % 97
        } else {
            (rem * 10 + v) % 97
        };
    }
    rem == 1
}

/// A US Social Security number: not area 000, 666 or 900-999, not group 00, not serial 0000,
/// and not one of the numbers known from advertising.
pub fn us_ssn(s: &str) -> bool {
    let Some(d) = exact_digits::<9>(s) else {
        return false;
    };
    let area = d[0] as u32 * 100 + d[1] as u32 * 10 + d[2] as u32;
    let group = d[3] as u32 * 10 + d[4] as u32;
    let serial = d[5..].iter().fold(0u32, |a, &x| a * 10 + x as u32);
    let all_same = d.iter().all(|&x| x == d[0]);
    area != 0
        && area != 666
        && area < 900
        && group != 0
        && serial != 0
        && !all_same
        && !matches!(&d.map(|x| x + b'0'), b"078051120" | b"219099999" | b"123456789")
}

/// A US ITIN: 9 digits, starting with 9, fourth and fifth digits in the IRS ranges.
pub fn us_itin(s: &str) -> bool {
    let Some(d) = exact_digits::<9>(s) else {
        return false;
    };
    if d[0] != 9 {
        return false;
    }
    let middle = d[3] as u32 * 10 + d[4] as u32;
    (50..=65).contains(&middle)
        || (70..=88).contains(&middle)
        || (90..=92).contains(&middle)
        || (94..=99).contains(&middle)
}

/// A UK NHS number: 10 digits, mod 11 check digit.
pub fn uk_nhs(s: &str) -> bool {
    let Some(d) = exact_digits::<10>(s) else {
        return false;
    };
    let sum: u32 = d[..9]
        .iter()
        .enumerate()
        .map(|(i, &x)| x as u32 * (10 - i as u32))
        .sum();
    let check = 11 - sum % 11;
    let check = if check == 11 { 0 } else { check };
    check != 10 && check == d[9] as u32
}

/// A Bitcoin address: Base58Check (P2PKH/P2SH, version 0x00 or 0x05) or Bech32 (`bc1`) of
/// the right shape.
pub fn bitcoin(s: &str) -> bool {
    if let Some(rest) = s.strip_prefix("bc1").or_else(|| s.strip_prefix("BC1")) {
        let lower = rest.to_ascii_lowercase();
        const CHARSET: &str = "qpzry9x8gf2tvdw0s3jn54khce6mua7l";
        return (39..=59).contains(&s.len()) && lower.chars().all(|c| CHARSET.contains(c)) && bech32_ok(&lower);
    }
    match bs58::decode(s).with_check(None).into_vec() {
        Ok(v) => v.len() == 21 && matches!(v[0], 0x00 | 0x05),
        Err(_) => false,
    }
}

/// The Bech32/Bech32m checksum of a `bc` address whose data part (after `bc1`) is `data`.
fn bech32_ok(data: &str) -> bool {
    const CHARSET: &[u8] = b"qpzry9x8gf2tvdw0s3jn54khce6mua7l";
    const GEN: [u32; 5] = [0x3b6a57b2, 0x26508e6d, 0x1ea119fa, 0x3d4233dd, 0x2a1462b3];
    let mut values: Vec<u32> = vec![3, 3, 0, 2, 3]; // hrp "bc" expanded
    for b in data.bytes() {
        match CHARSET.iter().position(|&c| c == b) {
            Some(v) => values.push(v as u32),
            None => return false,
        }
    }
    let mut chk = 1u32;
    for v in values {
        let top = chk >> 25;
        chk = ((chk & 0x1ffffff) << 5) ^ v;
        for (i, g) in GEN.iter().enumerate() {
            if (top >> i) & 1 == 1 {
                chk ^= g;
            }
        }
    }
    // Bech32 (segwit v0) or Bech32m (v1+).
    chk == 1 || chk == 0x2bc830a3
}

/// An IP address (v4 or v6), as the standard library parses it; v4 dotted quads only.
pub fn ip(s: &str) -> bool {
    s.parse::<std::net::IpAddr>().is_ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The validators as first written (collecting digits into vectors): the oracle for the
    /// allocation-free ones.
    mod first_written {
        use super::super::IBAN_LENGTHS;

        /// Card groups split at spaces and hyphens as `str::split` splits.
        pub(super) fn card_groups(s: &str) -> bool {
            let groups: Vec<usize> = s.split([' ', '-']).filter(|g| !g.is_empty()).map(str::len).collect();
            match groups.as_slice() {
                [] => false,
                [_] => true,
                [4, 6, 4] | [4, 6, 5] => true,
                [first @ .., last] => groups.len() <= 8 && first.iter().all(|&g| g == 4) && (1..=4).contains(last),
            }
        }
        pub(super) fn digits(s: &str) -> Vec<u8> {
            s.bytes().filter(u8::is_ascii_digit).map(|b| b - b'0').collect()
        }

        pub(super) fn luhn(s: &str) -> bool {
            let d = digits(s);
            if d.is_empty() {
                return false;
            }
            let sum: u32 = d
                .iter()
                .rev()
                .enumerate()
                .map(|(i, &x)| {
                    let x = x as u32;
                    if i % 2 == 1 {
                        let y = x * 2;
                        if y > 9 { y - 9 } else { y }
                    } else {
                        x
                    }
                })
                .sum();
            sum.is_multiple_of(10)
        }

        pub(super) fn credit_card(s: &str) -> bool {
            let d = digits(s);
            if !(13..=19).contains(&d.len()) || !luhn(s) || !card_groups(s) {
                return false;
            }
            let prefix = |n: usize| d[..n].iter().fold(0u32, |acc, &x| acc * 10 + x as u32);
            let (p1, p2, p3, p4, p6) = (prefix(1), prefix(2), prefix(3), prefix(4), prefix(6));
            let len = d.len();
            // Visa, Mastercard (51-55, 2221-2720), Amex, Discover, Diners, JCB, UnionPay, Maestro.
            (p1 == 4 && matches!(len, 13 | 16 | 19))
                || ((51..=55).contains(&p2) && len == 16)
                || ((2221..=2720).contains(&p4) && len == 16)
                || (matches!(p2, 34 | 37) && len == 15)
                || ((p4 == 6011 || p2 == 65 || (644..=649).contains(&p3) || (622_126..=622_925).contains(&p6))
                    && len >= 16)
                || ((300..=305).contains(&p3) || p2 == 36 || p2 == 38) && (14..=19).contains(&len)
                || ((3528..=3589).contains(&p4) && (16..=19).contains(&len))
                || (p2 == 62 && (16..=19).contains(&len))
                || (matches!(p4, 5018 | 5020 | 5038 | 5893 | 6304 | 6759 | 6761 | 6762 | 6763)
                    && (12..=19).contains(&len))
        }

        pub(super) fn iban(s: &str) -> bool {
            let compact: Vec<u8> = s
                .bytes()
                .filter(|b| !b.is_ascii_whitespace() && *b != b'-')
                .map(|b| b.to_ascii_uppercase())
                .collect();
            if compact.len() < 15 || !compact.iter().all(u8::is_ascii_alphanumeric) {
                return false;
            }
            let country = std::str::from_utf8(&compact[..2]).unwrap_or("");
            let Some(&(_, len)) = IBAN_LENGTHS.iter().find(|(c, _)| *c == country) else {
                return false;
            };
            if compact.len() != len || !compact[2..4].iter().all(u8::is_ascii_digit) {
                return false;
            }
            let mut rem = 0u32;
            for &b in compact[4..].iter().chain(&compact[..4]) {
                let v = if b.is_ascii_digit() {
                    (b - b'0') as u32
                } else {
                    (b - b'A') as u32 + 10
                };
                rem = if v >= 10 {
                    (rem * 100 + v) % 97
                } else {
                    (rem * 10 + v) % 97
                };
            }
            rem == 1
        }

        pub(super) fn us_ssn(s: &str) -> bool {
            let d = digits(s);
            if d.len() != 9 {
                return false;
            }
            let area = d[0] as u32 * 100 + d[1] as u32 * 10 + d[2] as u32;
            let group = d[3] as u32 * 10 + d[4] as u32;
            let serial = d[5..].iter().fold(0u32, |a, &x| a * 10 + x as u32);
            let all_same = d.iter().all(|&x| x == d[0]);
            area != 0
                && area != 666
                && area < 900
                && group != 0
                && serial != 0
                && !all_same
                && !matches!(
                    s.bytes().filter(u8::is_ascii_digit).collect::<Vec<_>>().as_slice(),
                    b"078051120" | b"219099999" | b"123456789"
                )
        }

        pub(super) fn us_itin(s: &str) -> bool {
            let d = digits(s);
            if d.len() != 9 || d[0] != 9 {
                return false;
            }
            let middle = d[3] as u32 * 10 + d[4] as u32;
            (50..=65).contains(&middle)
                || (70..=88).contains(&middle)
                || (90..=92).contains(&middle)
                || (94..=99).contains(&middle)
        }

        pub(super) fn uk_nhs(s: &str) -> bool {
            let d = digits(s);
            if d.len() != 10 {
                return false;
            }
            let sum: u32 = d[..9]
                .iter()
                .enumerate()
                .map(|(i, &x)| x as u32 * (10 - i as u32))
                .sum();
            let check = 11 - sum % 11;
            let check = if check == 11 { 0 } else { check };
            check != 10 && check == d[9] as u32
        }
    }

    proptest::proptest! {
        /// The validators answer as first written, digits and separators mixed.
        #[test]
        fn validators_agree_with_their_first_writing(s in "[0-9 -]{0,28}") {
            proptest::prop_assert_eq!(luhn(&s), first_written::luhn(&s));
            proptest::prop_assert_eq!(credit_card(&s), first_written::credit_card(&s));
            proptest::prop_assert_eq!(card_groups(&s), first_written::card_groups(&s));
            proptest::prop_assert_eq!(us_ssn(&s), first_written::us_ssn(&s));
            proptest::prop_assert_eq!(us_itin(&s), first_written::us_itin(&s));
            proptest::prop_assert_eq!(uk_nhs(&s), first_written::uk_nhs(&s));
        }

        /// Cards of the issuers' prefixes, with a valid Luhn digit or not.
        #[test]
        fn cards_agree_with_their_first_writing(
            prefix in proptest::sample::select(vec!["4", "51", "2221", "34", "37", "6011", "65", "644", "622126", "300", "36", "3528", "62", "5018"]),
            rest in "[0-9]{8,16}",
            sep in proptest::sample::select(vec!["", " ", "-"]),
        ) {
            let digits = format!("{prefix}{rest}");
            let s = digits.as_bytes().chunks(4).map(|c| std::str::from_utf8(c).unwrap_or("")).collect::<Vec<_>>().join(sep);
            proptest::prop_assert_eq!(credit_card(&s), first_written::credit_card(&s));
            proptest::prop_assert_eq!(luhn(&s), first_written::luhn(&s));
        }

        /// IBANs of any country, length and grouping, lower case too.
        #[test]
        fn iban_agrees_with_its_first_writing(s in "[A-Za-z]{2}[0-9]{2}[0-9A-Za-z -]{0,40}") {
            proptest::prop_assert_eq!(iban(&s), first_written::iban(&s));
        }
    }

    #[test]
    fn every_iban_fits_the_buffer() {
        assert!(IBAN_LENGTHS.iter().all(|&(_, len)| len <= 34));
    }

    /// The table is searched by halves: in order, and every country found with its length.
    #[test]
    fn every_iban_country_is_found() {
        assert!(IBAN_LENGTHS.windows(2).all(|w| w[0].0 < w[1].0));
        for &(c, len) in IBAN_LENGTHS {
            assert_eq!(c.len(), 2, "{c}");
            assert_eq!(iban_length(c.as_bytes()), Some(len), "{c}");
        }
        assert_eq!(iban_length(b"ZZ"), None);
        assert_eq!(iban_length(b"A"), None);
    }

    #[test]
    fn cards() {
        assert!(credit_card("4111 1111 1111 1111"));
        assert!(credit_card("5500-0000-0000-0004"));
        assert!(credit_card("378282246310005"));
        assert!(credit_card("6011111111111117"));
        assert!(!credit_card("4111 1111 1111 1112"), "fails Luhn");
        assert!(!credit_card("1234 5678 9012 3456"), "unknown issuer");
        assert!(!credit_card("0000000000000000"));
        // Written in groups, a card's are those its issuers print: fours (the last shorter),
        // or four, six and four or five (Amex, Diners).
        assert!(credit_card("3782 822463 10005"));
        assert!(credit_card("4222-2222-2222-2"));
        assert!(!credit_card("355-3569117-6473201"), "an order number's groups");
        assert!(!credit_card("41 1111 1111 1111 11"), "no card's groups");
    }

    #[test]
    fn ibans() {
        assert!(iban("DE89 3704 0044 0532 0130 00"));
        assert!(iban("GB82WEST12345698765432"));
        assert!(iban("fr1420041010050500013m02606"));
        assert!(!iban("DE89 3704 0044 0532 0130 01"), "mod 97");
        assert!(!iban("DE89 3704 0044 0532 0130"), "length");
        assert!(!iban("ZZ89370400440532013000"), "country");
    }

    #[test]
    fn ssns() {
        assert!(us_ssn("536-22-1234"));
        for bad in [
            "000-12-3456",
            "666-12-3456",
            "912-12-3456",
            "536-00-1234",
            "536-22-0000",
            "078-05-1120",
            "111-11-1111",
        ] {
            assert!(!us_ssn(bad), "{bad}");
        }
        assert!(us_itin("912-70-1234"));
        assert!(!us_itin("912-40-1234"));
    }

    #[test]
    fn nhs_and_bitcoin() {
        assert!(uk_nhs("943 476 5919"));
        assert!(!uk_nhs("943 476 5918"));
        assert!(bitcoin("1BoatSLRHtKNngkdXEeobR76b53LETtpyT"));
        assert!(bitcoin("3J98t1WpEZ73CNmQviecrnyiWrnqRhWNLy"));
        assert!(bitcoin("bc1qar0srrr7xfkvy5l643lydnw9re59gtzzwf5mdq"));
        assert!(!bitcoin("1BoatSLRHtKNngkdXEeobR76b53LETtpyX"));
        assert!(!bitcoin("bc1qar0srrr7xfkvy5l643lydnw9re59gtzzwf5mdx"));
    }
}
