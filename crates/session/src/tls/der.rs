//! The two fields of an X.509 certificate the pin check needs, read from its DER without a
//! full parser: the SubjectPublicKeyInfo (what a pin hashes) and the validity period. Every
//! read is bounds-checked: the bytes come from the network.

/// One DER element: its tag, its contents, and the whole encoding.
struct Element<'a> {
    tag: u8,
    contents: &'a [u8],
    encoded: &'a [u8],
}

/// The element at the start of `input` and what follows it.
fn element(input: &[u8]) -> Option<(Element<'_>, &[u8])> {
    let (&tag, rest) = input.split_first()?;
    let (&first, rest) = rest.split_first()?;
    let (len, rest) = if first < 0x80 {
        (usize::from(first), rest)
    } else {
        let count = usize::from(first & 0x7f);
        if count == 0 || count > 4 || rest.len() < count {
            return None;
        }
        let len = rest[..count]
            .iter()
            .fold(0usize, |len, &b| (len << 8) | usize::from(b));
        (len, &rest[count..])
    };
    if rest.len() < len {
        return None;
    }
    let header = input.len() - rest.len();
    let element = Element {
        tag,
        contents: &rest[..len],
        encoded: &input[..header + len],
    };
    Some((element, &rest[len..]))
}

const SEQUENCE: u8 = 0x30;
const VERSION: u8 = 0xa0;
const UTC_TIME: u8 = 0x17;
const GENERALIZED_TIME: u8 = 0x18;

/// The TBSCertificate's elements from the serial number on (the optional version skipped).
fn tbs_fields(certificate: &[u8]) -> Option<Vec<Element<'_>>> {
    let (cert, _) = element(certificate)?;
    if cert.tag != SEQUENCE {
        return None;
    }
    let (tbs, _) = element(cert.contents)?;
    if tbs.tag != SEQUENCE {
        return None;
    }
    let mut fields = Vec::new();
    let mut rest = tbs.contents;
    while !rest.is_empty() && fields.len() < 7 {
        let (field, next) = element(rest)?;
        if !(fields.is_empty() && field.tag == VERSION) {
            fields.push(field);
        }
        rest = next;
    }
    // serial, signature, issuer, validity, subject, subjectPublicKeyInfo.
    (fields.len() >= 6).then_some(fields)
}

/// The encoded SubjectPublicKeyInfo.
pub fn subject_public_key_info(certificate: &[u8]) -> Option<&[u8]> {
    let fields = tbs_fields(certificate)?;
    let spki = &fields[5];
    (spki.tag == SEQUENCE).then_some(spki.encoded)
}

/// `(notBefore, notAfter)` in Unix seconds.
pub fn validity(certificate: &[u8]) -> Option<(i64, i64)> {
    let fields = tbs_fields(certificate)?;
    let validity = &fields[3];
    if validity.tag != SEQUENCE {
        return None;
    }
    let (not_before, rest) = element(validity.contents)?;
    let (not_after, _) = element(rest)?;
    Some((time(&not_before)?, time(&not_after)?))
}

fn time(element: &Element<'_>) -> Option<i64> {
    let text = std::str::from_utf8(element.contents).ok()?;
    let text = text.strip_suffix('Z')?;
    let (year, rest) = match element.tag {
        UTC_TIME if text.len() == 12 => {
            let yy: i64 = text.get(..2)?.parse().ok()?;
            (if yy >= 50 { 1900 + yy } else { 2000 + yy }, &text[2..])
        }
        GENERALIZED_TIME if text.len() == 14 => (text.get(..4)?.parse().ok()?, &text[4..]),
        _ => return None,
    };
    if !rest.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let field = |i: usize| -> i64 { rest[i..i + 2].parse().unwrap_or(0) };
    let (month, day, hour, minute, second) = (field(0), field(2), field(4), field(6), field(8));
    if !(1..=12).contains(&month)
        || !(1..=31).contains(&day)
        || hour > 23
        || minute > 59
        || second > 60
    {
        return None;
    }
    Some(days_from_civil(year, month, day) * 86_400 + hour * 3600 + minute * 60 + second)
}

/// Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's algorithm).
fn days_from_civil(year: i64, month: i64, day: i64) -> i64 {
    let year = if month <= 2 { year - 1 } else { year };
    let era = year.div_euclid(400);
    let year_of_era = year - era * 400;
    let day_of_year = (153 * ((month + 9) % 12) + 2) / 5 + day - 1;
    let day_of_era = year_of_era * 365 + year_of_era / 4 - year_of_era / 100 + day_of_year;
    era * 146_097 + day_of_era - 719_468
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn civil_days() {
        assert_eq!(days_from_civil(1970, 1, 1), 0);
        assert_eq!(days_from_civil(2000, 3, 1), 11_017);
        assert_eq!(days_from_civil(2038, 1, 19), 24_855);
    }

    #[test]
    fn hostile_bytes_are_refused() {
        for bad in [
            &[][..],
            &[0x30],
            &[0x30, 0x85, 1, 2, 3, 4, 5],
            &[0x30, 0x84, 0xff, 0xff, 0xff, 0xff],
            &[0x30, 0x02, 0x30, 0x00],
            &[0x04, 0x00],
        ] {
            assert!(subject_public_key_info(bad).is_none());
            assert!(validity(bad).is_none());
        }
    }
}
