//! Word documents' text (`.docx`: WordprocessingML in `word/document.xml`, its headers,
//! footers and notes), read as the document shows it: a paragraph's end is a line's, a table's
//! cell ends with a tab and its row with a line end, `<w:tab/>` and `<w:br/>` are themselves.
//! A document's XML is one long line in which a letter's labelled lines (`Account number:`
//! under `ABA routing number:`) and a table's rows are not told apart; read as text, they are,
//! as in the same document saved as text.
//!
//! Pure: XML in, text out, a chunk at a time (a tag or an entity cut between chunks is
//! carried). A tag's name is kept to [`MAX_TAG`] bytes, an entity to [`MAX_ENTITY`]. Never
//! here: styles, numbering, fields' codes, what the text holds (the entry's scanner reads it).

/// Most bytes of a tag kept (its name is all that is read).
const MAX_TAG: usize = 64;
/// Most bytes of an entity's name (`&#x1F600;`).
const MAX_ENTITY: usize = 10;

/// Whether an archive's entry is a Word document's text: its body, headers, footers, notes.
pub(crate) fn is_text_part(name: &[u8]) -> bool {
    let Some(file) = name.strip_prefix(b"word/") else {
        return false;
    };
    file == b"document.xml"
        || file == b"footnotes.xml"
        || file == b"endnotes.xml"
        || ((file.starts_with(b"header") || file.starts_with(b"footer"))
            && file.ends_with(b".xml")
            && !file.contains(&b'/'))
}

/// A Word document's XML being read as text.
#[derive(Default)]
pub(crate) struct WordText {
    in_tag: bool,
    tag: Vec<u8>,
    /// Inside a text run's `<w:t>`, and an entity being gathered.
    in_text: bool,
    entity: Option<Vec<u8>>,
    /// Table cells open (a paragraph's end inside one is a space, not a line's).
    cells: u32,
}

impl WordText {
    /// The text `xml` (the next bytes of the part) shows, appended to `out`.
    pub(crate) fn convert(&mut self, xml: &[u8], out: &mut Vec<u8>) {
        for &b in xml {
            if self.in_tag {
                if b == b'>' {
                    self.in_tag = false;
                    let tag = std::mem::take(&mut self.tag);
                    self.tag_ended(&tag, out);
                    self.tag = tag;
                } else if self.tag.len() < MAX_TAG {
                    self.tag.push(b);
                }
                continue;
            }
            if b == b'<' {
                self.in_tag = true;
                self.tag.clear();
                continue;
            }
            if !self.in_text {
                continue;
            }
            match self.entity.as_mut() {
                Some(entity) if b == b';' => {
                    let entity = std::mem::take(entity);
                    self.entity = None;
                    out.push(decode_entity(&entity));
                }
                Some(entity) if entity.len() < MAX_ENTITY => entity.push(b),
                // Not an entity after all: what came is passed over.
                Some(_) => self.entity = None,
                None if b == b'&' => self.entity = Some(Vec::new()),
                None => out.push(b),
            }
        }
    }

    /// A tag ended (its text between `<` and `>`).
    fn tag_ended(&mut self, tag: &[u8], out: &mut Vec<u8>) {
        let closing = tag.first() == Some(&b'/');
        let name_start = usize::from(closing);
        let name_len = tag[name_start..]
            .iter()
            .position(|&b| b.is_ascii_whitespace() || b == b'/')
            .unwrap_or(tag.len() - name_start);
        let name = &tag[name_start..name_start + name_len];
        let empty = tag.last() == Some(&b'/');
        let line_end = if self.cells > 0 { b' ' } else { b'\n' };
        match (name, closing) {
            (b"w:t", false) => self.in_text = !empty,
            (b"w:t", true) => self.in_text = false,
            (b"w:p", true) => out.push(line_end),
            (b"w:tc", false) if !empty => self.cells += 1,
            (b"w:tc", true) => {
                self.cells = self.cells.saturating_sub(1);
                out.push(b'\t');
            }
            (b"w:tr", true) => out.push(b'\n'),
            (b"w:tab", false) => out.push(b'\t'),
            (b"w:br" | b"w:cr", false) => out.push(line_end),
            _ => {}
        }
    }
}

/// The character an XML entity names (its name between `&` and `;`): the five of XML and
/// numeric references to ASCII; any other a space.
fn decode_entity(name: &[u8]) -> u8 {
    match name {
        b"amp" => b'&',
        b"lt" => b'<',
        b"gt" => b'>',
        b"quot" => b'"',
        b"apos" => b'\'',
        _ => {
            let value = match name
                .strip_prefix(b"#x")
                .or_else(|| name.strip_prefix(b"#X"))
            {
                Some(hex) => std::str::from_utf8(hex)
                    .ok()
                    .and_then(|h| u32::from_str_radix(h, 16).ok()),
                None => name
                    .strip_prefix(b"#")
                    .and_then(|d| std::str::from_utf8(d).ok())
                    .and_then(|d| d.parse().ok()),
            };
            value
                .and_then(|v| u8::try_from(v).ok())
                .filter(u8::is_ascii)
                .unwrap_or(b' ')
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn text(xml: &str, chunk: usize) -> String {
        let mut w = WordText::default();
        let mut out = Vec::new();
        for c in xml.as_bytes().chunks(chunk) {
            w.convert(c, &mut out);
        }
        String::from_utf8(out).unwrap()
    }

    #[test]
    fn paragraphs_cells_and_entities_read_as_the_document_shows_them() {
        let xml = concat!(
            r#"<?xml version="1.0"?><w:document xmlns:w="x"><w:body>"#,
            r#"<w:p><w:r><w:t>ABA routing number: 021000021</w:t></w:r></w:p>"#,
            r#"<w:p><w:r><w:t xml:space="preserve">Account </w:t></w:r><w:r><w:t>number:</w:t><w:tab/><w:t>12345678</w:t></w:r></w:p>"#,
            r#"<w:tbl><w:tr><w:tc><w:p><w:r><w:t>Name</w:t></w:r></w:p></w:tc><w:tc><w:p><w:r><w:t>SSN</w:t></w:r></w:p></w:tc></w:tr>"#,
            r#"<w:tr><w:tc><w:p><w:r><w:t>Smith &amp; Co</w:t></w:r></w:p><w:p><w:r><w:t>Ltd</w:t></w:r></w:p></w:tc><w:tc><w:p><w:r><w:t>219&#45;09-9998</w:t></w:r></w:p></w:tc></w:tr></w:tbl>"#,
            r#"<w:p><w:r><w:t/><w:br/><w:t>end &nbsp; &#x41;</w:t></w:r></w:p></w:body></w:document>"#,
        );
        let want = "ABA routing number: 021000021\nAccount number:\t12345678\nName \tSSN \t\nSmith & Co Ltd \t219-09-9998 \t\n\nend   A\n";
        for chunk in [1, 2, 7, 64, 4096] {
            assert_eq!(text(xml, chunk), want, "chunks of {chunk}");
        }
        assert!(is_text_part(b"word/document.xml"));
        assert!(is_text_part(b"word/header1.xml"));
        assert!(!is_text_part(b"word/styles.xml"));
        assert!(!is_text_part(b"word/header/x.xml"));
    }
}
