//! PDF documents written by real producers that the test suite does not install (their files
//! are kept beside this test, see `producers/README.md`): each counts exactly what the
//! customer extract it was made from holds; documents encrypted by qpdf in each revision of the
//! standard security handler are told apart by whether a password opens them.

fn classify_in_chunks(bytes: &[u8]) -> classify::Classification {
    let mut s = classify::Scanner::new();
    for chunk in bytes.chunks(64 << 10) {
        s.feed(chunk);
    }
    s.finish()
}

#[test]
fn producers_pdfs_count_what_their_rows_hold() {
    let truth = classify::corpus::generate(13, 200_000)
        .into_iter()
        .find(|d| d.name.ends_with("customers.csv"))
        .unwrap()
        .truth;
    assert!(truth.get(classify::Class::CardNumber) > 0);
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/producers");
    for name in [
        "libreoffice-calc.pdf",
        "wkhtmltopdf.pdf",
        "itext-2.1.7.pdf",
        "itext-5.5-identity-h.pdf",
    ] {
        let found = classify_in_chunks(&std::fs::read(dir.join(name)).unwrap());
        assert_eq!(found.counts, truth, "{name}");
        assert_eq!(found.formats, vec![classify::Format::Pdf], "{name}");
    }
}

/// qpdf 11's encryption of one small document in each revision (2: RC4 40-bit; 3: RC4
/// 128-bit; 4: AES-128; 5 and 6: AES-256), with an owner password only (`-open`: anyone can
/// open it, printing and copying aside: read decrypted, it counts what the document holds)
/// and with a user password too (`-user`: protected, its classes unknown).
#[test]
fn a_pdf_that_opens_without_a_password_is_read_and_one_that_needs_one_is_protected() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/producers/encrypted");
    for revision in 2..=6 {
        for (kind, protected) in [("open", false), ("user", true)] {
            let name = format!("r{revision}-{kind}.pdf");
            let found = classify_in_chunks(&std::fs::read(dir.join(&name)).unwrap());
            let formats: Vec<String> = found.formats.iter().map(|f| f.name()).collect();
            if protected {
                assert_eq!(formats, ["binary", "encrypted:pdf", "pdf"], "{name}");
                assert!(found.counts.is_empty(), "{name}");
            } else {
                // The document's three rows, each with an IBAN.
                assert_eq!(formats, ["pdf"], "{name}");
                assert_eq!(found.counts.get(classify::Class::Iban), 3, "{name}");
            }
        }
    }
}
