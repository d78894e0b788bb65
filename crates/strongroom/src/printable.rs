//! Values that clients chose, made printable for people. File and directory names, paths, user
//! names tried at login, client versions and certificate key ids can hold control characters:
//! a newline that forges a row of a table, escape sequences that recolour, retitle or rewrite a
//! terminal, bidirectional overrides that show `fdp.exe` as `exe.pdf` (on a terminal and on a
//! page alike). Every such value that a table, a summary or the HTML incident report shows goes
//! through [`printable`] (the page's template then escapes it for HTML as it does every value).
//! JSON output never does (it keeps values exact, escaped by JSON's rules), nor CSV (quoted by
//! its writer, and never a formula: `events::csv::spreadsheet_safe`).

use std::borrow::Cow;

/// `text` with each control character (C0, DEL, C1), bidirectional control and backslash
/// written as its escape (`\n`, `\t`, `\\`, `\u{1b}`, `\u{202e}`): what is shown is what the
/// value holds, on one line, with nothing in it the terminal acts on.
pub fn printable(text: &str) -> Cow<'_, str> {
    if !text.chars().any(needs_escape) {
        return Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len() + 8);
    for c in text.chars() {
        if needs_escape(c) {
            out.extend(c.escape_default());
        } else {
            out.push(c);
        }
    }
    Cow::Owned(out)
}

fn needs_escape(c: char) -> bool {
    c.is_control()
        || c == '\\'
        || matches!(
            c,
            // Bidirectional marks, embeddings, overrides and isolates.
            '\u{61c}' | '\u{200e}' | '\u{200f}' | '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}'
            // Line and paragraph separators, which some viewers break lines at.
            | '\u{2028}' | '\u{2029}'
        )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn control_characters_are_shown_not_obeyed() {
        assert!(matches!(printable("report-2026.csv"), Cow::Borrowed(_)));
        assert_eq!(printable("Übersicht März.csv"), "Übersicht März.csv");
        assert_eq!(
            printable("evil\u{1b}[31mRED\u{1b}[0m\nfake\tline.csv"),
            r"evil\u{1b}[31mRED\u{1b}[0m\nfake\tline.csv"
        );
        assert_eq!(
            printable("invoice\u{202e}fdp.exe"),
            r"invoice\u{202e}fdp.exe"
        );
        assert_eq!(printable("a\\nb"), r"a\\nb");
        assert_eq!(printable("\u{9b}31m\u{7f}\r"), r"\u{9b}31m\u{7f}\r");
        assert_eq!(
            printable("a\u{2028}b\u{2029}c\u{61c}d\u{2067}e"),
            r"a\u{2028}b\u{2029}c\u{61c}d\u{2067}e"
        );
    }
}
