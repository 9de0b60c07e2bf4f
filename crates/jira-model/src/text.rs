//! Plain-text hygiene shared by the writers: line-break normalisation and
//! the characters that must never reach Jira unseen (controls, bidi
//! overrides, zero-width and other invisible format characters).

use std::borrow::Cow;

/// Rewrites every line break Unicode knows into `\n`: `\r\n`, `\r`, vertical
/// tab, form feed, NEL (U+0085) and LINE SEPARATOR (U+2028) become one `\n`;
/// PARAGRAPH SEPARATOR (U+2029) becomes a blank line (`\n\n`).
///
/// ```
/// assert_eq!(jira_model::text::normalize_newlines("a\r\nb\rc\u{2029}d"), "a\nb\nc\n\nd");
/// ```
pub fn normalize_newlines(s: &str) -> Cow<'_, str> {
    if !has_line_break_to_rewrite(s.as_bytes()) {
        return Cow::Borrowed(s);
    }
    let mut out = String::with_capacity(s.len());
    let mut chars = s.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\r' => {
                if chars.peek() == Some(&'\n') {
                    chars.next();
                }
                out.push('\n');
            }
            '\u{0B}' | '\u{0C}' | '\u{85}' | '\u{2028}' => out.push('\n'),
            '\u{2029}' => out.push_str("\n\n"),
            other => out.push(other),
        }
    }
    Cow::Owned(out)
}

/// Whether the UTF-8 `bytes` hold a line break other than `\n`, by byte:
/// `\r`, VT and FF are one byte; U+0085 is `C2 85`; U+2028 and U+2029 are
/// `E2 80 A8` and `E2 80 A9`.
fn has_line_break_to_rewrite(bytes: &[u8]) -> bool {
    // Blocks of 32 bytes without an early exit inside (so the compiler can
    // compare them side by side) rule out most text at once.
    let candidate = |b: u8| matches!(b, b'\r' | 0x0B | 0x0C | 0xC2 | 0xE2);
    if !bytes
        .chunks(32)
        .any(|block| block.iter().fold(false, |seen, &b| seen | candidate(b)))
    {
        return false;
    }
    bytes.iter().enumerate().any(|(i, &b)| match b {
        b'\r' | 0x0B | 0x0C => true,
        0xC2 => bytes.get(i + 1) == Some(&0x85),
        0xE2 => bytes.get(i + 1) == Some(&0x80) && matches!(bytes.get(i + 2), Some(0xA8 | 0xA9)),
        _ => false,
    })
}

/// Whether `c` is invisible or changes how the text around it is displayed:
/// control characters other than `\n` and `\t`, bidirectional controls
/// (U+061C, U+200E/F, U+202A–U+202E, U+2066–U+2069), zero-width characters
/// (U+200B–U+200D, U+2060, U+FEFF), other default-ignorable format
/// characters (soft hyphen, Hangul fillers, invisible operators...),
/// Unicode tag characters (U+E0000–U+E007F, used to smuggle hidden text
/// into prompts) and variation selectors.
///
/// [`strip_invisible`] and [`neutralize_invisible`] keep one U+FE0E or
/// U+FE0F right after a visible character: that is how emoji choose their
/// presentation.
pub fn is_invisible(c: char) -> bool {
    if c.is_ascii() {
        return (c < ' ' && c != '\n' && c != '\t') || c == '\u{7F}';
    }
    if c.is_control() {
        return c != '\n' && c != '\t';
    }
    matches!(
        c,
        '\u{00AD}'
            | '\u{034F}'
            | '\u{061C}'
            | '\u{115F}'
            | '\u{1160}'
            | '\u{17B4}'
            | '\u{17B5}'
            | '\u{180B}'..='\u{180F}'
            | '\u{200B}'..='\u{200F}'
            | '\u{202A}'..='\u{202E}'
            | '\u{2060}'..='\u{2064}'
            | '\u{2066}'..='\u{206F}'
            | '\u{3164}'
            | '\u{FE00}'..='\u{FE0F}'
            | '\u{FEFF}'
            | '\u{FFA0}'
            | '\u{FFF9}'..='\u{FFFB}'
            | '\u{1BCA0}'..='\u{1BCA3}'
            | '\u{1D173}'..='\u{1D17A}'
            | '\u{E0000}'..='\u{E007F}'
            | '\u{E0100}'..='\u{E01EF}'
    )
}

/// Whether `s` is ASCII without control characters other than `\n` and
/// `\t`: nothing in it is invisible (a byte scan, no decoding).
fn plainly_visible(s: &str) -> bool {
    s.as_bytes().chunks(32).all(|block| {
        block.iter().fold(true, |ok, &b| {
            ok & ((0x20..0x7F).contains(&b) | (b == b'\n') | (b == b'\t'))
        })
    })
}

/// Calls `f(c, hidden)` for each character, `hidden` telling whether it is
/// invisible in context (see [`is_invisible`] for the emoji exception).
fn classify(s: &str, mut f: impl FnMut(char, bool)) {
    let mut prev_visible = false;
    for c in s.chars() {
        let emoji_presentation = matches!(c, '\u{FE0E}' | '\u{FE0F}') && prev_visible;
        let hidden = is_invisible(c) && !emoji_presentation;
        f(c, hidden);
        prev_visible = !hidden && !is_invisible(c) && !c.is_whitespace();
    }
}

/// Whether `s` holds a character that is invisible in its context: what
/// [`strip_invisible`] removes (a variation selector after a visible
/// character selects its presentation and stays).
pub fn has_invisible(s: &str) -> bool {
    if plainly_visible(s) {
        return false;
    }
    let mut found = false;
    classify(s, |_, hidden| found |= hidden);
    found
}

/// Removes every invisible character (for one-line values such as the
/// summary and labels).
///
/// ```
/// assert_eq!(jira_model::text::strip_invisible("pa\u{200B}y\u{202E}load"), "payload");
/// ```
pub fn strip_invisible(s: &str) -> String {
    if plainly_visible(s) {
        return s.to_owned();
    }
    let mut out = String::with_capacity(s.len());
    classify(s, |c, hidden| {
        if !hidden {
            out.push(c);
        }
    });
    out
}

/// Replaces every invisible character with a visible marker such as
/// `[U+202E]`, so a reader sees that it was there (for descriptions).
/// Idempotent: the markers are plain ASCII.
///
/// ```
/// assert_eq!(jira_model::text::neutralize_invisible("a\u{202E}b"), "a[U+202E]b");
/// ```
pub fn neutralize_invisible(s: &str) -> String {
    if plainly_visible(s) {
        return s.to_owned();
    }
    let mut out = String::with_capacity(s.len());
    classify(s, |c, hidden| {
        if hidden {
            out.push_str(&format!("[U+{:04X}]", u32::from(c)));
        } else {
            out.push(c);
        }
    });
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn newlines() {
        assert!(matches!(normalize_newlines("a\nb"), Cow::Borrowed(_)));
        assert_eq!(
            normalize_newlines("a\r\n\r\nb\u{0B}c\u{0C}d\u{85}e\u{2028}f"),
            "a\n\nb\nc\nd\ne\nf"
        );
        assert_eq!(normalize_newlines("\r"), "\n");
    }

    #[test]
    fn ascii_fast_paths_agree_with_the_general_rule() {
        for b in 0_u8..0x80 {
            let c = char::from(b);
            assert_eq!(
                is_invisible(c),
                c.is_control() && c != '\n' && c != '\t',
                "{b:02X}"
            );
            let s = format!("a{c}b");
            let hidden = is_invisible(c);
            assert_eq!(plainly_visible(&s), !hidden, "{b:02X}");
            assert_eq!(
                strip_invisible(&s),
                if hidden { "ab".into() } else { s.clone() }
            );
        }
        assert!(matches!(
            normalize_newlines("plain é ascii"),
            Cow::Borrowed(_)
        ));
        // Neighbours of the multi-byte breaks are left alone.
        assert!(matches!(
            normalize_newlines("\u{84}\u{86}\u{2027}\u{202A}’—"),
            Cow::Borrowed(_)
        ));
        for c in ['\r', '\u{0B}', '\u{0C}', '\u{85}', '\u{2028}', '\u{2029}'] {
            assert!(
                matches!(normalize_newlines(&format!("é{c}")), Cow::Owned(_)),
                "{c:?}"
            );
        }
        assert_eq!(normalize_newlines("é\u{2028}x"), "é\nx");
    }

    #[test]
    fn classification() {
        for c in [
            '\0',
            '\u{7}',
            '\u{1B}',
            '\u{7F}',
            '\u{9B}',
            '\u{202E}',
            '\u{2066}',
            '\u{200B}',
            '\u{FEFF}',
            '\u{E0041}',
            '\u{E0100}',
        ] {
            assert!(is_invisible(c), "{:04X}", u32::from(c));
        }
        for c in ['\n', '\t', ' ', 'a', 'é', '€', '😀', '\u{A0}'] {
            assert!(!is_invisible(c), "{:04X}", u32::from(c));
        }
    }

    #[test]
    fn emoji_presentation_selector_is_kept_once() {
        assert_eq!(strip_invisible("\u{2764}\u{FE0F}"), "\u{2764}\u{FE0F}");
        assert_eq!(
            strip_invisible("\u{2764}\u{FE0F}\u{FE0F}"),
            "\u{2764}\u{FE0F}"
        );
        assert_eq!(strip_invisible("\u{FE0F}x"), "x");
        assert_eq!(strip_invisible(" \u{FE0F}"), " ");
        assert_eq!(neutralize_invisible("a\u{FE01}"), "a[U+FE01]");
        // Tag characters smuggling "hi" after a visible character.
        assert_eq!(strip_invisible("ok\u{E0068}\u{E0069}"), "ok");
    }

    #[test]
    fn neutralize_is_idempotent() {
        let once = neutralize_invisible("x\u{200D}\u{0}y\u{E007F}");
        assert_eq!(once, "x[U+200D][U+0000]y[U+E007F]");
        assert_eq!(neutralize_invisible(&once), once);
    }
}
