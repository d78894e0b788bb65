//! Documents written by real producers that the test suite does not install (their files are
//! kept beside this test, see `producers/README.md`). PDF documents: each counts exactly what
//! the customer extract it was made from holds; documents encrypted by qpdf in each revision of
//! the standard security handler are told apart by whether a password opens them. Word
//! 97-2003 documents by LibreOffice Writer 7.4: the same extract as a table under a heading
//! counts exactly what it holds; a letter of wire instructions counts what its text counts, its
//! account under its routing number's line too. LibreOffice 7.4's web pages, OpenDocument texts
//! and flat OpenDocument files of the labelled corpus's documents count what those hold.

fn classify_in_chunks(bytes: &[u8]) -> classify::Classification {
    let mut s = classify::Scanner::new();
    for chunk in bytes.chunks(64 << 10) {
        s.feed(chunk);
    }
    s.finish()
}

/// What the customer extract the documents were made from holds.
fn extract_truth() -> classify::Counts {
    corpus_truth(200_000, "customers.csv")
}

/// What the first document named `name` of the labelled corpus (seed 13, `size` bytes) holds.
fn corpus_truth(size: usize, name: &str) -> classify::Counts {
    classify::corpus::generate(13, size)
        .into_iter()
        .find(|d| d.name.ends_with(name))
        .unwrap()
        .truth
}

#[test]
fn producers_pdfs_count_what_their_rows_hold() {
    let truth = extract_truth();
    assert!(truth.get(classify::Class::CardNumber) > 0);
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/producers");
    use classify::Format::{AccountTable, Pdf};
    // iText's tables read as lines of tab-separated cells under the document's title: a
    // table whose header names its columns.
    for (name, formats) in [
        ("libreoffice-calc.pdf", vec![Pdf]),
        ("wkhtmltopdf.pdf", vec![Pdf]),
        ("itext-2.1.7.pdf", vec![AccountTable, Pdf]),
        ("itext-5.5-identity-h.pdf", vec![AccountTable, Pdf]),
    ] {
        let found = classify_in_chunks(&std::fs::read(dir.join(name)).unwrap());
        assert_eq!(found.counts, truth, "{name}");
        assert_eq!(found.formats, formats, "{name}");
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

#[test]
fn word_97_documents_count_what_their_text_holds() {
    let truth = extract_truth();
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/producers/word");
    let found = classify_in_chunks(&std::fs::read(dir.join("customers.doc")).unwrap());
    assert_eq!(found.counts, truth);
    // The table under its heading: its header names its columns.
    assert_eq!(
        found.formats,
        vec![classify::Format::AccountTable, classify::Format::Doc]
    );
    let letter = "Wire instructions\nABA routing number: 021000021\nAccount number: 12345678\nBeneficiary SSN: 219-09-9998\n";
    let want = classify::classify(letter.as_bytes());
    assert_eq!(want.counts.get(classify::Class::UsBankAccount), 1);
    let found = classify_in_chunks(&std::fs::read(dir.join("wire.doc")).unwrap());
    assert_eq!(found.counts, want.counts);
    assert_eq!(found.formats, vec![classify::Format::Doc]);
}

/// LibreOffice 7.4's saves of the labelled corpus's documents (`producers/README.md`): Calc's
/// web pages of the customer extract (each number also in a `sdval` attribute: counted once),
/// of a vendor master file and a payroll file (routing and account numbers, BICs and NINOs in
/// columns their header names, under the page's title), Calc's flat OpenDocument spreadsheet of
/// the vendor file (xz-compressed here); Writer's remittance letters (accounts in labelled lines
/// above or below their routing numbers') as an OpenDocument text, a flat one (xz-compressed),
/// a web page, an RTF document and a PDF (its lines wrapped at the page's width); Writer's RTF of the customer extract as a Word table under
/// a heading (xz-compressed); Calc's web page of a vendor sheet whose vendor's name and bank
/// are cells merged over its two accounts' rows (`rowspan`). Each counts exactly what the
/// document holds.
#[test]
fn libreoffice_pages_and_opendocument_files_count_what_their_documents_hold() {
    use classify::Format::{AccountTable, Html, Ods, Odt, Pdf, Rtf, Xz, Zip};
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/producers/libreoffice");
    let vendors = corpus_truth(400_000, "vendors.csv");
    let remittance = corpus_truth(400_000, "remittance.txt");
    // Ten vendors of two accounts each, the vendor's name and bank in cells over both rows.
    let mut merged = classify::Counts::default();
    for class in [
        classify::Class::AbaRouting,
        classify::Class::UsBankAccount,
        classify::Class::Email,
    ] {
        merged.add(class, 20);
    }
    for (name, truth, formats) in [
        (
            "calc-customers.html",
            extract_truth(),
            vec![AccountTable, Html],
        ),
        ("calc-vendors.html", vendors, vec![AccountTable, Html]),
        (
            "calc-payroll.html",
            corpus_truth(400_000, "payroll.csv"),
            vec![AccountTable, Html],
        ),
        ("calc-vendors.fods.xz", vendors, vec![Ods, Xz]),
        ("calc-vendors-merged.html", merged, vec![AccountTable, Html]),
        ("writer-remittance.odt", remittance, vec![Odt, Zip]),
        ("writer-remittance.fodt.xz", remittance, vec![Odt, Xz]),
        ("writer-remittance.html", remittance, vec![Html]),
        ("writer-remittance.rtf", remittance, vec![Rtf]),
        ("writer-remittance.pdf", remittance, vec![Pdf]),
        (
            "writer-customers.rtf.xz",
            extract_truth(),
            vec![AccountTable, Rtf, Xz],
        ),
    ] {
        assert!(!truth.is_empty(), "{name}");
        let found = classify_in_chunks(&std::fs::read(dir.join(name)).unwrap());
        assert_eq!(found.counts, truth, "{name}");
        assert_eq!(found.formats, formats, "{name}");
    }
}
