//! Word 97-2003 documents written by LibreOffice Writer 7.4, which the test suite does not
//! install (kept beside this test, see `producers/README.md`): the labelled corpus's customer
//! extract as a table under a heading counts exactly what the extract holds; a letter of wire
//! instructions counts what its text counts, its account under its routing number's line too.

fn classify_in_chunks(bytes: &[u8]) -> classify::Classification {
    let mut s = classify::Scanner::new();
    for chunk in bytes.chunks(64 << 10) {
        s.feed(chunk);
    }
    s.finish()
}

#[test]
fn word_97_documents_count_what_their_text_holds() {
    let truth = classify::corpus::generate(13, 200_000)
        .into_iter()
        .find(|d| d.name.ends_with("customers.csv"))
        .unwrap()
        .truth;
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/producers/word");
    let found = classify_in_chunks(&std::fs::read(dir.join("customers.doc")).unwrap());
    assert_eq!(found.counts, truth);
    assert_eq!(found.formats, vec![classify::Format::Doc]);
    let letter = "Wire instructions\nABA routing number: 021000021\nAccount number: 12345678\nBeneficiary SSN: 219-09-9998\n";
    let want = classify::classify(letter.as_bytes());
    assert_eq!(want.counts.get(classify::Class::UsBankAccount), 1);
    let found = classify_in_chunks(&std::fs::read(dir.join("wire.doc")).unwrap());
    assert_eq!(found.counts, want.counts);
    assert_eq!(found.formats, vec![classify::Format::Doc]);
}
