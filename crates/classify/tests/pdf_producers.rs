//! PDF documents written by real producers that the test suite does not install (their files
//! are kept beside this test, see `producers/README.md`): each counts exactly what the
//! customer extract it was made from holds.

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
    for name in ["libreoffice-calc.pdf", "wkhtmltopdf.pdf"] {
        let found = classify_in_chunks(&std::fs::read(dir.join(name)).unwrap());
        assert_eq!(found.counts, truth, "{name}");
        assert_eq!(found.formats, vec![classify::Format::Pdf], "{name}");
    }
}
