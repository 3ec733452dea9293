//! The "relaxed" canonicalisation of RFC 6376 §3.4.2 and §3.4.4: what is
//! hashed, so that a signature survives the whitespace changes relays make.

/// One header field as it appears in the message: its name and the whole
/// field (name, colon, value and folds), without the final CRLF.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct Field<'a> {
    pub name: &'a str,
    pub raw: &'a [u8],
}

/// The header fields of `header` (the bytes before the blank line), in order.
pub(super) fn fields(header: &[u8]) -> Vec<Field<'_>> {
    let mut fields: Vec<(usize, usize)> = Vec::new();
    let mut start = 0;
    while start < header.len() {
        let end = find_crlf(header, start).unwrap_or(header.len());
        let line = &header[start..end];
        match (line.first(), fields.last_mut()) {
            (Some(b' ' | b'\t'), Some(field)) => field.1 = end,
            _ if !line.is_empty() => fields.push((start, end)),
            _ => {}
        }
        start = end + 2;
    }
    fields
        .into_iter()
        .filter_map(|(start, end)| {
            let raw = &header[start..end];
            let colon = raw.iter().position(|b| *b == b':')?;
            let name = std::str::from_utf8(&raw[..colon]).ok()?.trim_end_matches([' ', '\t']);
            Some(Field { name, raw })
        })
        .collect()
}

/// `name:value` with the name lower-cased, folds removed, whitespace runs
/// made one space and trimmed around the value; no trailing CRLF.
pub(super) fn header(raw: &[u8]) -> Vec<u8> {
    let colon = raw.iter().position(|b| *b == b':').unwrap_or(raw.len());
    let name = raw[..colon].iter().filter(|b| !is_wsp(**b)).map(u8::to_ascii_lowercase);
    let mut out: Vec<u8> = name.collect();
    out.push(b':');
    let value: Vec<u8> =
        raw.get(colon + 1..).unwrap_or_default().iter().copied().filter(|b| !matches!(b, b'\r' | b'\n')).collect();
    out.extend(squeeze(trim_wsp(&value)));
    out
}

/// Each line with whitespace runs made one space and trailing whitespace
/// removed; empty lines at the end removed; a non-empty body ends in CRLF.
pub(super) fn body(body: &[u8]) -> Vec<u8> {
    let mut lines: Vec<Vec<u8>> = Vec::new();
    let mut start = 0;
    while start < body.len() {
        let end = find_crlf(body, start).unwrap_or(body.len());
        let line = &body[start..end];
        let trimmed = &line[..line.iter().rposition(|b| !is_wsp(*b)).map_or(0, |i| i + 1)];
        lines.push(squeeze(trimmed));
        start = end + 2;
    }
    while lines.last().is_some_and(Vec::is_empty) {
        lines.pop();
    }
    let mut out = Vec::with_capacity(body.len());
    for line in lines {
        out.extend_from_slice(&line);
        out.extend_from_slice(b"\r\n");
    }
    out
}

fn find_crlf(bytes: &[u8], from: usize) -> Option<usize> {
    bytes[from..].windows(2).position(|w| w == b"\r\n").map(|i| from + i)
}

fn is_wsp(byte: u8) -> bool {
    byte == b' ' || byte == b'\t'
}

fn trim_wsp(bytes: &[u8]) -> &[u8] {
    let start = bytes.iter().position(|b| !is_wsp(*b)).unwrap_or(bytes.len());
    let end = bytes.iter().rposition(|b| !is_wsp(*b)).map_or(start, |i| i + 1);
    &bytes[start..end]
}

/// Every run of spaces and tabs as one space.
fn squeeze(bytes: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(bytes.len());
    let mut in_run = false;
    for &byte in bytes {
        if is_wsp(byte) {
            if !in_run {
                out.push(b' ');
            }
            in_run = true;
        } else {
            out.push(byte);
            in_run = false;
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    // The examples of RFC 6376 §3.4.5.
    const HEADER: &[u8] = b"A: X\r\nB : Y\t\r\n\tZ  ";
    const BODY: &[u8] = b" C \r\nD \t E\r\n\r\n\r\n";

    #[test]
    fn headers_follow_the_rfc_example() {
        let fields = fields(HEADER);
        assert_eq!(fields.iter().map(|f| f.name).collect::<Vec<_>>(), ["A", "B"]);
        assert_eq!(header(fields[0].raw), b"a:X");
        assert_eq!(header(fields[1].raw), b"b:Y Z");
    }

    #[test]
    fn bodies_follow_the_rfc_example() {
        assert_eq!(body(BODY), b" C\r\nD E\r\n");
    }

    #[test]
    fn an_empty_body_stays_empty_and_a_last_line_gets_its_crlf() {
        assert_eq!(body(b""), b"");
        assert_eq!(body(b"\r\n\r\n"), b"");
        assert_eq!(body(b"end"), b"end\r\n");
    }
}
