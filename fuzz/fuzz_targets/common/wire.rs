//! A minimal reader of the IMAP values a summary keeps in wire form (ENVELOPE, BODY,
//! BODYSTRUCTURE): one parenthesized list of atoms, quoted strings, literals and lists,
//! nothing after it. A client reads these bytes as they are; a stray quote, CR, LF or
//! unbalanced parenthesis would desynchronize it.

/// Panics, saying where, unless `bytes` is exactly one well-formed list.
pub fn assert_list(what: &str, bytes: &[u8]) {
    let mut at = 0;
    if let Err(why) = list(bytes, &mut at, 0).and_then(|()| {
        if at == bytes.len() {
            Ok(())
        } else {
            Err("bytes after the list")
        }
    }) {
        panic!(
            "{what} is not one IMAP list ({why}) at {at}: {:?}",
            String::from_utf8_lossy(bytes)
        );
    }
}

fn list(b: &[u8], at: &mut usize, depth: usize) -> Result<(), &'static str> {
    if depth > 1000 {
        return Err("nested too deep");
    }
    expect(b, at, b'(')?;
    let mut first = true;
    loop {
        match b.get(*at) {
            None => return Err("unterminated list"),
            Some(b')') => {
                *at += 1;
                return Ok(());
            }
            Some(b' ') if !first => *at += 1,
            // Lists follow one another without a space in a multipart BODYSTRUCTURE.
            Some(b'(') if !first => {}
            Some(_) if !first => return Err("items not separated"),
            Some(_) => {}
        }
        first = false;
        item(b, at, depth)?;
    }
}

fn item(b: &[u8], at: &mut usize, depth: usize) -> Result<(), &'static str> {
    match b.get(*at) {
        Some(b'(') => list(b, at, depth + 1),
        Some(b'"') => quoted(b, at),
        Some(b'{') => literal(b, at),
        Some(_) => atom(b, at),
        None => Err("missing item"),
    }
}

fn quoted(b: &[u8], at: &mut usize) -> Result<(), &'static str> {
    *at += 1;
    loop {
        match b.get(*at) {
            None => return Err("unterminated quoted string"),
            Some(b'"') => {
                *at += 1;
                return Ok(());
            }
            Some(b'\\') => match b.get(*at + 1) {
                Some(b'"' | b'\\') => *at += 2,
                _ => return Err("bad escape in quoted string"),
            },
            Some(b'\r' | b'\n' | 0) => return Err("CR, LF or NUL in quoted string"),
            // 8-bit text is written as a literal (the summary never assumes UTF8=ACCEPT).
            Some(c) if !c.is_ascii() => return Err("8-bit octet in quoted string"),
            Some(_) => *at += 1,
        }
    }
}

fn literal(b: &[u8], at: &mut usize) -> Result<(), &'static str> {
    *at += 1;
    let digits = b[*at..].iter().take_while(|c| c.is_ascii_digit()).count();
    let len: usize = std::str::from_utf8(&b[*at..*at + digits])
        .ok()
        .and_then(|d| d.parse().ok())
        .ok_or("bad literal length")?;
    *at += digits;
    for &c in b"}\r\n" {
        expect(b, at, c)?;
    }
    if b.len() - *at < len {
        return Err("literal runs past the end");
    }
    *at += len;
    Ok(())
}

fn atom(b: &[u8], at: &mut usize) -> Result<(), &'static str> {
    let n = b[*at..]
        .iter()
        .take_while(|&&c| c > b' ' && c < 0x7f && !b"()\"{%*\\]".contains(&c))
        .count();
    if n == 0 {
        return Err("empty atom");
    }
    *at += n;
    Ok(())
}

fn expect(b: &[u8], at: &mut usize, c: u8) -> Result<(), &'static str> {
    if b.get(*at) == Some(&c) {
        *at += 1;
        Ok(())
    } else {
        Err("unexpected octet")
    }
}
