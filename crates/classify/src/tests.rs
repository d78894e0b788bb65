//! The classifier against its labelled corpus, and streaming against whole-buffer scanning.

use proptest::prelude::*;

use crate::corpus::{self, Rng};
use crate::scan::{Class, Counts, Scanner, classify};

fn scan_in_chunks(data: &[u8], sizes: &[usize]) -> Counts {
    let mut s = Scanner::new();
    let mut at = 0;
    let mut k = 0;
    while at < data.len() {
        let n = sizes[k % sizes.len()].max(1).min(data.len() - at);
        s.feed(&data[at..at + n]);
        at += n;
        k += 1;
    }
    s.finish().counts
}

/// The counts of `text` scanned whole, after checking that every cut into chunks of 1 to 97
/// bytes and of sizes around a kept tail's and a piece's gives the same (`what` names the text
/// in a failure).
fn whole_in_any_chunks(text: &[u8], what: &str) -> Counts {
    let whole = classify(text).counts;
    for size in (1..=97).chain([255, 256, 257, 4095, 4097, 16 << 10]) {
        assert_eq!(
            scan_in_chunks(text, &[size]),
            whole,
            "{what} in chunks of {size}"
        );
    }
    whole
}

/// Precision and recall per class over `docs`: the table, and the classes below `floor`.
fn measure(docs: &[corpus::Document], floor: f64) -> (String, Vec<&'static str>) {
    let mut tp = [0u64; Class::ALL.len()];
    let mut fp = [0u64; Class::ALL.len()];
    let mut fn_ = [0u64; Class::ALL.len()];
    let mut worst: Vec<(String, Class, u64, u64)> = Vec::new();
    for d in docs {
        let found = classify(&d.bytes).counts;
        for c in Class::ALL {
            let (f, t) = (found.get(c), d.truth.get(c));
            tp[c as usize] += f.min(t);
            fp[c as usize] += f.saturating_sub(t);
            fn_[c as usize] += t.saturating_sub(f);
            if f != t && worst.len() < 10 {
                worst.push((d.name.clone(), c, f, t));
            }
        }
    }
    let mut report = String::new();
    for c in Class::ALL {
        let i = c as usize;
        let precision = tp[i] as f64 / (tp[i] + fp[i]).max(1) as f64;
        let recall = tp[i] as f64 / (tp[i] + fn_[i]).max(1) as f64;
        report.push_str(&format!(
            "{:<16} true {:>6} false+ {:>4} missed {:>4} precision {:.4} recall {:.4}\n",
            c.as_str(),
            tp[i],
            fp[i],
            fn_[i],
            precision,
            recall
        ));
    }
    let below = Class::ALL
        .into_iter()
        .filter(|c| {
            let i = *c as usize;
            let precision = tp[i] as f64 / (tp[i] + fp[i]).max(1) as f64;
            let recall = tp[i] as f64 / (tp[i] + fn_[i]).max(1) as f64;
            let present = tp[i] + fp[i] + fn_[i] > 0;
            present && (precision < floor || recall < floor)
        })
        .map(Class::as_str)
        .collect();
    report.push_str(&format!(
        "first differences (document, class, found, true): {worst:?}\n"
    ));
    (report, below)
}

/// Precision and recall per class over the corpus: every checksummed class at least 99%.
#[test]
fn precision_and_recall_on_the_labelled_corpus() {
    let docs = corpus::generate(7, 8 << 20);
    for c in Class::ALL {
        let n: u64 = docs.iter().map(|d| d.truth.get(c)).sum();
        assert!(n > 0, "no {} in the corpus", c.as_str());
    }
    let (report, below) = measure(&docs, 0.99);
    println!("{report}");
    assert!(below.is_empty(), "below 99%: {below:?}\n{report}");
}

/// The same over the field-shaped corpus, whose truth is what a person would count: printed
/// (`cargo test -p classify field -- --nocapture`), and every class at least 99%.
#[test]
fn precision_and_recall_on_the_field_corpus() {
    let docs = crate::field_corpus::generate(7, 4 << 20);
    let (report, below) = measure(&docs, 0.99);
    println!("{report}");
    assert!(below.is_empty(), "below 99%: {below:?}\n{report}");
}

#[test]
fn formats_of_the_corpus_are_recognised() {
    for d in corpus::generate(11, 400_000) {
        let formats: Vec<String> = classify(&d.bytes)
            .formats
            .iter()
            .map(|f| f.name())
            .collect();
        let want = match d.name.split('-').nth(1).unwrap() {
            "pain001.xml" => vec!["iso20022:pain.001.001.09"],
            "payroll.ach" => vec!["nacha"],
            "mt103.fin" => vec!["swift_mt103"],
            "statement.bai" => vec!["bai2"],
            "customers.csv" | "payroll.csv" | "vendors.csv" => vec!["account_table"],
            "fedwire.xml" => vec!["iso20022:pacs.008.001.08"],
            "statement.fin" => vec!["swift_mt940"],
            _ => vec![],
        };
        assert_eq!(formats, want, "{}", d.name);
    }
}

/// How many items of `class` the text holds.
fn count(text: &str, class: Class) -> u64 {
    classify(text.as_bytes()).counts.get(class)
}

#[test]
fn examples_in_context() {
    // Grouped card numbers count alone; a bare run only where the context names a card.
    assert_eq!(
        count("paid with 4111 1111 1111 1111 today", Class::CardNumber),
        1
    );
    assert_eq!(
        count("paid with 4111-1111-1111-1111.", Class::CardNumber),
        1
    );
    assert_eq!(count("order 4111111111111111", Class::CardNumber), 0);
    assert_eq!(count("card: 4111111111111111", Class::CardNumber), 1);
    assert_eq!(
        count("name,pan\nA,4111111111111111\n", Class::CardNumber),
        1
    );
    assert_eq!(
        count("name,ref\nA,4111111111111111\n", Class::CardNumber),
        0
    );
    assert_eq!(count("amex 3782 822463 10005", Class::CardNumber), 1);
    assert_eq!(count("x4111 1111 1111 1111", Class::CardNumber), 0);
    // IBANs, electronic and printed; a wrong check digit is not one.
    assert_eq!(count("to DE89370400440532013000.", Class::Iban), 1);
    assert_eq!(
        count("to DE89 3704 0044 0532 0130 00 please", Class::Iban),
        1
    );
    assert_eq!(
        count("to DE88 3704 0044 0532 0130 00 please", Class::Iban),
        0
    );
    assert_eq!(count("GB82WEST12345698765432", Class::Iban), 1);
    // SSNs dashed alone; bare only next to an SSN keyword.
    assert_eq!(count("SSN 123-45-6789", Class::UsSsn), 1);
    assert_eq!(count("id 666-45-6789", Class::UsSsn), 0);
    assert_eq!(count("ssn: 123456789", Class::UsSsn), 1);
    assert_eq!(count("zip 123456789", Class::UsSsn), 0);
    // ABA routing numbers next to their name.
    assert_eq!(
        count("routing 021000021 account 12345", Class::AbaRouting),
        1
    );
    assert_eq!(count("invoice 021000021", Class::AbaRouting), 0);
    // NINOs, compact and printed.
    assert_eq!(count("NI AB123456C", Class::UkNino), 1);
    assert_eq!(count("NI AB 12 34 56 C.", Class::UkNino), 1);
    assert_eq!(count("NI GB123456C", Class::UkNino), 0);
    // In small letters too, compact; with the same allocation rules.
    assert_eq!(count("NI number ab123456c given", Class::UkNino), 1);
    assert_eq!(count("NI number gb123456c given", Class::UkNino), 0);
    assert_eq!(count("NI number ab123456e given", Class::UkNino), 0);
    assert_eq!(count("NI number Ab123456c given", Class::UkNino), 0);
    // BICs only where named.
    assert_eq!(count("<BICFI>DEUTDEFF</BICFI>", Class::SwiftBic), 1);
    assert_eq!(count("BIC: NWBKGB2LXXX", Class::SwiftBic), 1);
    assert_eq!(count("CUSTOMER DATABASE", Class::SwiftBic), 0);
    // E-mail addresses.
    assert_eq!(
        count("write to anna.schmidt+ops@bank.example.", Class::Email),
        1
    );
    assert_eq!(count("not@an-address and a@b.c1", Class::Email), 0);
}

/// A domain judged once is judged the same again only where the same bytes follow: a file of
/// addresses that share the start of their domains counts what each address counts alone.
#[test]
fn repeated_domains_count_as_each_address_alone() {
    let addresses = [
        "a@bank.example ",
        "b@bank.example1 ",
        "c@bank.example ",
        "d@bank.example.. ",
        "e@bank.example..x ",
        "f@bank.example-",
        "g@bank.exampl ",
        "h@bank.example,",
        "i@bank.e ",
        "j@bank.example.co.uk ",
        "k@bank.example.co.u2 ",
        "l@bank.example ",
    ];
    let alone: u64 = addresses.iter().map(|a| count(a, Class::Email)).sum();
    assert_eq!(alone, 7, "the rules as pinned by the test below");
    for round in 0..3 {
        let sequence: Vec<&str> = (0..addresses.len() * 3)
            .map(|k| addresses[(k * (round + 1) + round) % addresses.len()])
            .collect();
        let each: u64 = sequence.iter().map(|a| count(a, Class::Email)).sum();
        let text = sequence.concat();
        assert_eq!(count(&text, Class::Email), each, "{text}");
    }
}

/// E-mail addresses by RFC 5321's common form, at the edges of each rule.
#[test]
fn email_addresses_follow_the_dot_atom_and_label_rules() {
    let label = |n: usize| "b".repeat(n);
    let cases: &[(String, u64)] = &[
        ("to a.b_c%d+e-f@bank.example now".into(), 1),
        ("to a..b@bank.example".into(), 0),
        ("to .ab@bank.example".into(), 0),
        ("to ab.@bank.example".into(), 0),
        ("to @bank.example".into(), 0),
        (format!("to a@{}.example", label(63)), 1),
        (format!("to a@{}.example", label(64)), 0),
        ("to a@-bank.example".into(), 0),
        ("to a@bank-.example".into(), 0),
        ("to a@ba-nk.example".into(), 1),
        ("to a@bank..example".into(), 0),
        ("to a@bank.e".into(), 0),
        ("to a@bank.ex4mple".into(), 0),
        ("to a@bank.example.".into(), 1),
        ("to a@bank.example.. now".into(), 1),
        ("to a@bank..example..".into(), 0),
        ("to a@bank.-example".into(), 0),
        ("to a@bank.example-".into(), 0),
        ("to a@bank".into(), 0),
        ("to a@bank.Example".into(), 1),
        // The local part is read back at most 64 characters from the `@`.
        (format!("to {}@bank.example", "a".repeat(64)), 1),
        (
            format!("to {}.{}@bank.example", "a".repeat(10), "a".repeat(60)),
            1,
        ),
        (
            format!("to {}..{}@bank.example", "a".repeat(10), "a".repeat(64)),
            1,
        ),
        (
            format!("to {}..{}@bank.example", "a".repeat(10), "a".repeat(61)),
            0,
        ),
        // Two addresses side by side, and one spanning block boundaries.
        ("a@bank.example;b@bank.example".into(), 2),
        (format!("{} c.d@{}.example", "x".repeat(60), label(40)), 1),
    ];
    for (text, want) in cases {
        assert_eq!(count(text, Class::Email), *want, "{text}");
    }
}

/// Valid routing numbers of five Federal Reserve districts, for the tables the tests write.
pub(crate) const ROUTINGS: [&str; 5] = [
    "021000021",
    "011000015",
    "026009593",
    "121000248",
    "322271627",
];

/// Pieces of the texts where account numbers stand beside routing numbers.
const ACCOUNT_PIECES: [&str; 32] = [
    "ABA: ",
    "Routing number: ",
    "Account: ",
    "Acct # ",
    "021000021",
    "011000015",
    "12345678",
    "0012345678",
    "\n",
    "\n",
    "\r\n",
    ",",
    ";",
    "\"",
    " ",
    "  ",
    "\t",
    "Bank: x",
    "BIC ",
    "DEUTDEFF",
    "account ",
    "routing ",
    "iban ",
    "name",
    "021000022",
    "\n\n",
    "<RoutingNumber>",
    "</RoutingNumber>",
    "<AccountNumber>",
    "</AccountNumber>",
    "&account=",
    "\"routing_number\":",
];

proptest! {
    /// Chunk boundaries change nothing: the counts of any split equal the whole buffer's.
    #[test]
    fn streaming_equals_whole_buffer(seed in any::<u64>(), sizes in proptest::collection::vec(1usize..9000, 1..6)) {
        let docs = corpus::generate(seed, 30_000);
        for d in docs.iter().take(3) {
            prop_assert_eq!(scan_in_chunks(&d.bytes, &sizes), classify(&d.bytes).counts, "{}", d.name);
        }
    }

    /// Text put together from the pieces of routing and account numbers' ties (labels,
    /// headers, numbers, separators, quotes, line ends, a first line that may be a table's
    /// header): the counts of any split equal the whole buffer's.
    #[test]
    fn account_ties_stream_as_whole(
        header in 0usize..5,
        pieces in proptest::collection::vec(0usize..ACCOUNT_PIECES.len(), 1..300),
        sizes in proptest::collection::vec(1usize..300, 1..4),
    ) {
        let mut text = String::from(
            ["", "id,routing_number,name,account_number\n", "\"acct\";\"aba\";\"bic\"\n",
             "ROUTING NUMBER  NAME      ACCOUNT NUMBER\n", "<Payees>\n"][header],
        );
        for p in pieces {
            text.push_str(ACCOUNT_PIECES[p]);
        }
        prop_assert_eq!(scan_in_chunks(text.as_bytes(), &sizes), classify(text.as_bytes()).counts, "{:?}", text);
    }

    /// Arbitrary bytes: no panic, and the carry stays bounded.
    #[test]
    fn arbitrary_bytes_are_scanned_without_panic(data in proptest::collection::vec(any::<u8>(), 0..5000), cut in 1usize..700) {
        let _ = scan_in_chunks(&data, &[cut]);
    }
}

/// Long delimiter-free text (a paragraph without a newline) is scanned in full, in chunks.
#[test]
fn long_lines_are_not_dropped() {
    let mut rng = Rng::new(1);
    let mut text = String::new();
    for _ in 0..2000 {
        text.push_str("the card ");
        let c = corpus::card(&mut rng);
        for (i, ch) in c.chars().enumerate() {
            if i > 0 && i % 4 == 0 && c.len() == 16 {
                text.push(' ');
            }
            text.push(ch);
        }
        text.push_str(" was used ");
    }
    let whole = count(&text, Class::CardNumber);
    assert_eq!(whole, 2000);
    assert_eq!(
        scan_in_chunks(text.as_bytes(), &[4096]).get(Class::CardNumber),
        2000
    );
    assert_eq!(
        scan_in_chunks(text.as_bytes(), &[333, 65536]).get(Class::CardNumber),
        2000
    );
}

#[test]
fn the_stored_form_reads_back() {
    for d in corpus::generate(5, 200_000) {
        let c = classify(&d.bytes);
        assert_eq!(crate::Classification::decode(&c.encode()), Some(c));
    }
    // A stored form from before the rules had versions reads as version 1; one of these
    // rules says so.
    assert_eq!(
        crate::Classification::decode(""),
        Some(crate::Classification {
            rules: 1,
            ..Default::default()
        })
    );
    assert_eq!(crate::Classification::decode("iban=3").unwrap().rules, 1);
    let now = classify(b"nothing here");
    assert_eq!(now.rules, crate::RULES);
    assert!(now.encode().ends_with(&format!("rules={}", crate::RULES)));
    assert_eq!(crate::Classification::decode("rules=x"), None);
    assert_eq!(crate::Classification::decode("gold=3"), None);
    assert_eq!(crate::Classification::decode("iban=x"), None);
    assert_eq!(crate::Classification::decode("format=lha"), None);
}

#[test]
fn values_repeated_across_lines_count_once_as_distinct() {
    // 300 customers, each in four rows (four daily extracts in one file): 1,200 occurrences
    // of each class, 300 values.
    let mut rng = Rng::new(11);
    let customers: Vec<[String; 4]> = (0..300)
        .map(|i| {
            [
                corpus::card(&mut rng),
                corpus::iban(&mut rng),
                corpus::ssn(&mut rng),
                format!("customer.{i}@example.com"),
            ]
        })
        .collect();
    let mut text = String::from("card_number,iban,ssn,email\n");
    for day in 0..4 {
        for [card, iban, ssn, email] in &customers {
            // The same address written in capitals one day is the same address.
            let email = if day == 2 {
                email.to_uppercase()
            } else {
                email.clone()
            };
            text.push_str(&format!("{card},{iban},{ssn},{email}\n"));
        }
    }
    let c = classify(text.as_bytes());
    for class in [Class::CardNumber, Class::Iban, Class::UsSsn, Class::Email] {
        assert_eq!(c.counts.get(class), 1_200, "{class:?}");
        assert_eq!(c.distinct.sketched(class), 1_200, "{class:?}");
        let distinct = c.distinct.estimate(class);
        assert!(distinct.abs_diff(300) <= 21, "{class:?}: {distinct}");
    }
}

#[test]
fn every_value_counted_is_sketched_in_any_chunks() {
    let mut docs = corpus::generate(3, 1 << 20);
    docs.extend(crate::field_corpus::generate(4, 1 << 20));
    for d in &docs {
        let whole = classify(&d.bytes);
        for (class, n) in whole.counts.present() {
            assert_eq!(whole.distinct.sketched(class), n, "{} {class:?}", d.name);
        }
        let chunked = crate::scan::in_chunks(&d.bytes, 4093);
        assert_eq!(chunked.distinct, whole.distinct, "{}", d.name);
    }
}

proptest! {
    /// A stored form with sketches of any shape reads back as it was written, or is refused:
    /// never a panic, never a sketch that reads back different.
    #[test]
    fn stored_forms_with_any_sketch_read_back_or_are_refused(
        count in prop_oneof![Just(0u64), 1u64..1_000_000],
        sketched in "[0-9]{0,21}",
        tag in "[sdx]?",
        body in "[A-Za-z0-9_-]{0,1100}",
        values in 0u64..3000,
        real in any::<bool>(),
        class in "(card_number|iban|email|gold)",
    ) {
        // A sketch as written (of `values` values), or bytes of any shape.
        let sketch = if real {
            let mut d = crate::Distinct::default();
            for v in 0..values {
                d.insert(Class::Iban, &v.to_le_bytes());
            }
            d.sketch(Class::Iban).map_or_else(String::new, |s| s.encode())
        } else {
            format!("{tag}{body}")
        };
        let stored = format!("{class}={count};distinct.{class}={sketched}.{sketch};rules=14");
        if let Some(c) = crate::Classification::decode(&stored) {
            prop_assert_eq!(crate::Classification::decode(&c.encode()), Some(c));
        }
    }
}

#[test]
fn binary_files_are_not_scanned() {
    let mut rng = Rng::new(9);
    let mut data: Vec<u8> = (0..200_000).map(|_| rng.below(256) as u8).collect();
    // Even with card numbers inside, random bytes are not text.
    data.extend_from_slice(b"\ncard 4111 1111 1111 1111\n");
    let c = classify(&data);
    assert_eq!(c.formats, vec![crate::Format::Binary]);
    assert!(c.counts.is_empty());
}

#[test]
fn tenant_patterns_count_and_are_checked() {
    use std::sync::Arc;
    let p = Arc::new(
        crate::Patterns::new([("custref", r"CUST-[0-9]{8}"), ("loan", r"LN[0-9]{6}")]).unwrap(),
    );
    let text = "a,CUST-00000001\nb,CUST-12345678 and CUST-1234\nLN123456\n".repeat(100);
    let mut s = Scanner::with_patterns(Some(p.clone()));
    for chunk in text.as_bytes().chunks(7) {
        s.feed(chunk);
    }
    let c = s.finish();
    assert_eq!(c.custom.get("custref"), Some(&200));
    assert_eq!(c.custom.get("loan"), Some(&100));
    assert_eq!(crate::Classification::decode(&c.encode()), Some(c));
    use crate::PatternError;
    assert!(matches!(
        crate::Patterns::new([("Bad Name", "x")]),
        Err(PatternError::Name(_))
    ));
    assert!(matches!(
        crate::Patterns::new([("x", "(")]),
        Err(PatternError::Invalid { .. })
    ));
    assert!(matches!(
        crate::Patterns::new([("x", "a*")]),
        Err(PatternError::MatchesEmpty { .. })
    ));
    assert!(matches!(
        crate::Patterns::new([("x", "[a-z]{1000}{1000}")]),
        Err(PatternError::Invalid { .. })
    ));
}

thread_local! {
    /// Words looked up as keywords by this thread's scanners (counted in tests only).
    pub(crate) static WORD_LOOKUPS: std::cell::Cell<u64> = const { std::cell::Cell::new(0) };
}

/// A line of codes that nothing names (BIC-shaped words, no keyword, no number between them)
/// costs one keyword lookup per word, not one per code and every word before it: the words
/// looked back over for one code are not looked up again for the next.
#[test]
fn codes_nothing_names_cost_one_lookup_per_word() {
    let words = 2_000;
    // After a first line (which is read as a header, word by word).
    let line = format!("notes\n{}", "DEUTDEFF ".repeat(words));
    WORD_LOOKUPS.with(|n| n.set(0));
    assert_eq!(count(&line, Class::SwiftBic), 0);
    let lookups = WORD_LOOKUPS.with(|n| n.get());
    assert!(
        lookups <= 2 * words as u64,
        "{lookups} lookups for {words} words"
    );
    // Named once at the start, only the first code is counted (a keyword reaches one
    // candidate).
    let named = format!("notes\nBIC {}", "DEUTDEFF ".repeat(words));
    assert_eq!(count(&named, Class::SwiftBic), 1);
}

/// An account number beside its routing number counts once, however the text is cut into
/// chunks: the search after a routing number goes on in the next text, and the line's bytes
/// before a text are kept for an account number written before its routing number.
#[test]
fn account_numbers_beside_routing_numbers_whatever_the_chunks() {
    let mut text = String::from("routing_number,account_number,amount\n");
    text.push_str(&"021000021,123456789,100\n".repeat(200));
    let lines = [
        "Pay to routing number 021000021 account 0012345678.\n",
        "Beneficiary account no. 12345678, ABA 011000015, Boston.\n",
        "account 12345678 routing 021000021 account 87654321\n",
        "routing 021000021 amount 123456789\n",
        "ABA 021000022 account 12345678\n",
    ];
    for _ in 0..40 {
        for l in lines {
            text.push_str(l);
        }
    }
    let whole = whole_in_any_chunks(text.as_bytes(), "routing and account numbers");
    assert_eq!(whole.get(Class::AbaRouting), 200 + 40 * 4);
    assert_eq!(whole.get(Class::UsBankAccount), 200 + 40 * 3);
}

/// Wire instructions in labelled lines (`Routing number: …` on one line, `Account number: …`
/// on another, either first, other labelled lines between): each routing number's account
/// counts once, the nearest above first, however the text is cut into chunks.
#[test]
fn account_numbers_in_labelled_lines_whatever_the_chunks() {
    let blocks = [
        // Below, with lines between; CRLF.
        (
            "Wire instructions\r\nBank: JPMorgan Chase Bank, N.A.\r\nABA Routing Number: 021000021\r\nAccount Name: ACME Corp\r\nAccount Number: 4121234567\r\nSWIFT: CHASUS33\r\n\r\n",
            1,
            1,
        ),
        // Above.
        (
            "Account number: 123456789\nRouting number: 011000015\n\n",
            1,
            1,
        ),
        // Pairs, account first, one after the other: each takes the one above it.
        (
            "Account: 11112222\nABA: 026009593\nAccount: 33334444\nABA: 121000248\n\n",
            2,
            2,
        ),
        // Pairs, routing number first: the account above was taken, so the one below.
        (
            "Routing #: 026009593\nAcct #: 55556666\nRouting #: 121000248\nAcct #: 77778888\n\n",
            2,
            2,
        ),
        // A blank line between, too many lines between, another routing number between.
        (
            "ABA routing: 021000021\n\nAccount number: 12345678\n\n",
            1,
            0,
        ),
        (
            "ABA routing: 021000021\na\nb\nc\nd\nAccount number: 12345678\n\n",
            1,
            0,
        ),
        (
            "Account number: 12345678\nRouting: 021000022\nRouting: 011000015\n\n",
            1,
            0,
        ),
        // An invalid routing number; a routing number that is not a labelled line's value.
        (
            "Routing number: 021000022\nAccount number: 12345678\n\n",
            0,
            0,
        ),
        (
            "Wire by ABA 021000021 today\nAccount number: 12345678\n\n",
            1,
            0,
        ),
        ("Ref 1: ABA 021000021\nAccount number: 12345678\n\n", 1, 0),
        // The account's value is not an account number.
        (
            "ABA: 021000021\nAccount: ACME-1\nAccount number: 1234 5678\n\n",
            1,
            0,
        ),
    ];
    let mut text = String::new();
    let (mut routings, mut accounts) = (0, 0);
    for _ in 0..20 {
        for (block, r, a) in blocks {
            text.push_str(block);
            routings += r;
            accounts += a;
        }
    }
    for (block, r, a) in blocks {
        let found = classify(block.as_bytes()).counts;
        assert_eq!(found.get(Class::AbaRouting), r, "{block:?}");
        assert_eq!(found.get(Class::UsBankAccount), a, "{block:?}");
    }
    let whole = whole_in_any_chunks(text.as_bytes(), "labelled lines");
    assert_eq!(whole.get(Class::AbaRouting), routings);
    assert_eq!(whole.get(Class::UsBankAccount), accounts);
    // The file ends with the block.
    let end = classify(b"Account: 12345678\nABA: 021000021").counts;
    assert_eq!(end.get(Class::UsBankAccount), 1);
    let end = classify(b"ABA: 021000021\r\nAccount: 12345678").counts;
    assert_eq!(end.get(Class::UsBankAccount), 1);
}

/// Configuration files' keys label their values as a form's labels do, whatever digits the
/// key holds (`vendor.1.routing=`, `payee[2].account:`); `DDA` (a demand deposit account)
/// names an account. The same in any chunks.
#[test]
fn configuration_keys_and_dda_name_their_values() {
    let blocks = [
        "vendor.1.name=ACME\nvendor.1.routing=021000021\nvendor.1.account=12345678\n",
        "payee[2].account: 87654321\npayee[2].routing: 011000015\n",
        "payee_3_routing = 026009593\npayee_3_account = 55512345\n",
        "RTN 021000021 DDA 12345678\n",
        "Vendor,RTN,DDA\nACME,021000021,12345678\n",
    ];
    for block in blocks {
        let found = classify(block.as_bytes()).counts;
        assert_eq!(found.get(Class::AbaRouting), 1, "{block}");
        assert_eq!(found.get(Class::UsBankAccount), 1, "{block}");
    }
    let all = blocks[..4].join("\n");
    let found = whole_in_any_chunks(all.as_bytes(), "keys");
    assert_eq!(found.get(Class::UsBankAccount), 4);
    // A sentence's number before the label is no key's: the line is no labelled line.
    let text = "ABA: 021000021\nRef 12 account: 12345678\n";
    assert_eq!(
        classify(text.as_bytes()).counts.get(Class::UsBankAccount),
        0
    );
}

/// Legacy systems' names for an SSN column (`SOC_SEC_NO`, `SocSecNum`, `SOCSECNO`, `SSNO`, the
/// military's `SSAN`) name its undashed numbers as `SSN` does; a column of the same numbers
/// under a name of something else counts none.
#[test]
fn legacy_names_of_ssn_columns_name_their_numbers() {
    let rows = "1,DOE JOHN,078051121\n2,ROE ANN,234567890\n3,POE ED,345678901\n";
    for name in [
        "SOC_SEC_NO",
        "SocSecNum",
        "SOCSECNO",
        "SSNO",
        "ssan",
        "Soc Sec",
    ] {
        let text = format!("id,name,{name}\n{rows}");
        assert_eq!(count(&text, Class::UsSsn), 3, "{name}");
    }
    assert_eq!(count(&format!("id,name,ORDER_NO\n{rows}"), Class::UsSsn), 0);
}

/// A delimited table whose header names account columns: each routing number pairs with the
/// account number in its row, whatever columns stand between (quoted fields with separators in
/// them too), unless another bank's column stands between; the same in any chunks.
#[test]
fn account_numbers_in_table_rows_whatever_the_chunks() {
    let routings = &ROUTINGS[..4];
    // A table's header, its row from the row's index, routing and account numbers, and the
    // accounts each row holds.
    type Row = fn(usize, &str, u64) -> String;
    let tables: [(&str, Row, u64); 5] = [
        (
            "vendor_id,name,routing_number,bank_name,account_type,account_number\n",
            |i, r, a| format!("V{i},ACME {i},{r},First Bank,checking,{a}\n"),
            1,
        ),
        (
            "\"Vendor\",\"ABA Routing\",\"Bank Name\",\"Bank Account Number\"\r\n",
            |i, r, a| format!("\"Roe, \"\"Jr\"\" {i}\",\"{r}\",\"First Bank, N.A.\",\"{a}\"\r\n"),
            1,
        ),
        (
            "id;account_number;name;routing_number\n",
            |i, r, a| format!("{i};{a};Name {i};{r}\n"),
            1,
        ),
        // The account is at the BIC's bank, or identified by the IBAN's.
        (
            "employee;account;bic;routing_number\n",
            |i, r, a| format!("{i};{a};DEUTDEFF;{r}\n"),
            0,
        ),
        (
            "id,account_id,iban,routing_number\n",
            |i, r, a| format!("{i},{a},DE89370400440532013000,{r}\n"),
            0,
        ),
    ];
    for (header, row, accounts) in tables {
        let mut text = String::from(header);
        for i in 0..50 {
            text.push_str(&row(i, routings[i % 4], 10_000_000 + 7919 * i as u64));
        }
        let whole = whole_in_any_chunks(text.as_bytes(), header);
        assert_eq!(whole.get(Class::AbaRouting), 50, "{header}");
        assert_eq!(whole.get(Class::UsBankAccount), 50 * accounts, "{header}");
    }
}

/// A delimited table without a header (a database's `COPY … TO`, `bcp`, a CRM export with
/// every field quoted): nothing names its nine-digit numbers, so each column is weighed by its
/// checksums. A column of routing numbers counts (a typing error in a row or two too), and the
/// account numbers in the field after them; the same in any chunks. A column of random
/// numbers, one with fewer than four rows, a table whose header names nothing (`reference`),
/// and an id in the field before count nothing.
#[test]
fn a_headerless_tables_routing_column_counts_by_its_checksums() {
    let routings = ROUTINGS;
    let account = |i: usize| 10_000_000 + 7919 * i as u64;
    let rows = |n: usize, row: &dyn Fn(usize, &str, u64) -> String| -> String {
        (0..n)
            .map(|i| row(i, routings[i % 5], account(i)))
            .collect()
    };
    type Row = fn(usize, &str, u64) -> String;
    let tables: [(&str, Row); 3] = [
        ("copy", |i, r, a| {
            format!("{}\tRoe, Ann {i}\t{r}\t{a}\tchecking\t125.00\n", 1000 + i)
        }),
        ("bcp", |i, r, a| format!("{}|{r}|{a}|ACME {i}\n", 1000 + i)),
        ("quoted", |i, r, a| {
            format!(
                "\"{}\",\"Doe, John\",\"{r}\",\"{a}\",\"savings\"\r\n",
                1000 + i
            )
        }),
    ];
    for (name, row) in tables {
        let text = rows(40, &row);
        let whole = whole_in_any_chunks(text.as_bytes(), name);
        assert_eq!(whole.get(Class::AbaRouting), 40, "{name}");
        assert_eq!(whole.get(Class::UsBankAccount), 40, "{name}");
        // Four rows are enough; three are not.
        let four = classify(rows(4, &row).as_bytes()).counts;
        assert_eq!(four.get(Class::AbaRouting), 4, "{name}");
        assert_eq!(four.get(Class::UsBankAccount), 4, "{name}");
        assert!(
            classify(rows(3, &row).as_bytes()).counts.is_empty(),
            "{name}"
        );
    }
    // Two typing errors in twenty rows: the eighteen valid count, with their accounts.
    let mut text = rows(20, &tables[0].1);
    text = text.replacen("021000021", "021000022", 2);
    let found = classify(text.as_bytes()).counts;
    assert_eq!(found.get(Class::AbaRouting), 18);
    assert_eq!(found.get(Class::UsBankAccount), 18);
    // The last row's account at the file's end, no line end after it.
    let text = rows(8, &|i, r, a| format!("{}|{r}|{a}\n", 1000 + i));
    let found = whole_in_any_chunks(text.trim_end().as_bytes(), "no last line end");
    assert_eq!(found.get(Class::UsBankAccount), 8);
    // The id before the routing number is no account; an amount after it neither.
    let text = rows(20, &|i, r, _| {
        format!("{},{r},ACME {i},1250.00\n", 100_000 + i)
    });
    let found = classify(text.as_bytes()).counts;
    assert_eq!(found.get(Class::AbaRouting), 20);
    assert_eq!(found.get(Class::UsBankAccount), 0);
    // Random nine-digit numbers: about one in 27 passes.
    let mut rng = crate::corpus::Rng::new(5);
    let text: String = (0..200)
        .map(|i| format!("{i},{},{}\n", rng.digits(9), rng.digits(10)))
        .collect();
    assert!(classify(text.as_bytes()).counts.is_empty());
    // A header that names nothing: its numbers are references, not weighed.
    let text =
        String::from("id,reference,amount\n") + &rows(40, &|i, r, a| format!("{i},{r},{a}\n"));
    assert!(classify(text.as_bytes()).counts.is_empty());
}

/// A headerless table under a report's title (`Vendor payments 2026-12-05`, a blank line): its
/// first row holds a record's nine-digit number, so it is weighed as the table without its
/// title is, in any chunks; random numbers under the title, and three rows, still count
/// nothing; nine lines of title are too many.
#[test]
fn a_headerless_table_under_a_title_is_weighed_as_without_it() {
    let routings = &ROUTINGS[..4];
    let rows = |n: usize| -> String {
        (0..n)
            .map(|i| {
                format!(
                    "{},{},ACME {i},125.00\n",
                    routings[i % 4],
                    10_000_000 + 7919 * i
                )
            })
            .collect()
    };
    for title in [
        "Vendor payments export 2026-12-05\n",
        "Vendor payments, December 2026\n\n",
        "\"Vendor payments\"\r\nGenerated 2026-12-05 06:00\r\n",
    ] {
        let text = title.to_owned() + &rows(20);
        let found = whole_in_any_chunks(text.as_bytes(), title);
        assert_eq!(found.get(Class::AbaRouting), 20, "{title:?}");
        assert_eq!(found.get(Class::UsBankAccount), 20, "{title:?}");
        let three = title.to_owned() + &rows(3);
        assert_eq!(count(&three, Class::UsBankAccount), 0, "{title:?}");
    }
    let mut rng = crate::corpus::Rng::new(7);
    let random: String = (0..200)
        .map(|i| format!("{},{},{i}\n", rng.digits(9), rng.digits(10)))
        .collect();
    let text = "Batch report 2026-12-05\n".to_owned() + &random;
    assert!(classify(text.as_bytes()).counts.is_empty());
    let long = "Title\n".repeat(9) + &rows(20);
    assert_eq!(count(&long, Class::UsBankAccount), 0);
}

/// A table saved by a spreadsheet, which read its routing numbers as numbers: those of the
/// first nine Federal Reserve districts lost their leading zero (`21000021`), as SSNs of areas
/// 001 to 099 do. In a column its heading names routing numbers (or SSNs), an eight-digit number
/// that is valid with the zero back counts, a routing number with its account, in any chunks; one that is not valid, one in another column and one glued
/// to a decimal point do not, nor does a file whose head shows no such number.
#[test]
fn routing_numbers_that_lost_their_leading_zero_count_in_their_column() {
    let routings = ["21000021", "11000015", "121000248", "26009593", "322271627"];
    let rows: String = (0..40)
        .map(|i| {
            format!(
                "Payee {i},{},{}\r\n",
                routings[i % 5],
                10_000_000 + 7919 * i
            )
        })
        .collect();
    let text = "Name,Routing Number,Account Number\r\n".to_owned() + &rows;
    let found = whole_in_any_chunks(text.as_bytes(), "zeros dropped");
    assert_eq!(found.get(Class::AbaRouting), 40);
    assert_eq!(found.get(Class::UsBankAccount), 40);
    // Quoted, semicolons, the account before the routing number.
    let text = "\"Account\";\"ABA\";\"Name\"\n\"12345678\";\"21000021\";\"Ann\"\n\"87654321\";\"11000015\";\"Bob\"\n";
    let found = whole_in_any_chunks(text.as_bytes(), "quoted");
    assert_eq!(found.get(Class::AbaRouting), 2);
    assert_eq!(found.get(Class::UsBankAccount), 2);
    // Not valid with the zero back (a typing error); in the account column; a decimal.
    let text = "Name,Routing Number,Account Number,Amount\n\
                Ann,21000021,11000015,1.00\n\
                Bob,21000022,55512345,2.00\n\
                Cy,2100002.1,55512345,26009593.00\n";
    let found = classify(text.as_bytes()).counts;
    assert_eq!(found.get(Class::AbaRouting), 1);
    assert_eq!(found.get(Class::UsBankAccount), 1);
    // SSNs of areas 001 to 099 lose their zero too (`012345678` written `12345678`); an
    // eight-digit number of area 000 once padded, or group 00, is none.
    let text = "Employee,SSN,Salary\n\
                Ann,12345678,50000\n\
                Bob,234567890,60000\n\
                Cy,\"98765432\",70000\n\
                Di,00012345,1\n\
                Ed,10005678,2\n";
    let found = whole_in_any_chunks(text.as_bytes(), "ssn zeros");
    assert_eq!(found.get(Class::UsSsn), 3);
    // No such number in the head: eight-digit numbers further on are not looked at.
    let full: String = (0..200)
        .map(|i| format!("Payee {i},121000248,{}\n", 10_000_000 + i))
        .collect();
    let text =
        "Name,Routing Number,Account Number\n".to_owned() + &full + "Late,21000021,12345678\n";
    assert_eq!(count(&text, Class::AbaRouting), 200);
}

/// `A/C`, banks' abbreviation of an account, names one: a table's `A/C No` column beside its
/// routing numbers (its header split at the slash into words of one letter), and in prose the
/// number it labels after a routing number. `A/CX` or `AC/C` name nothing.
#[test]
fn a_c_names_an_account() {
    let routings = &ROUTINGS[..4];
    for header in [
        "Routing,A/C No,Name\n",
        "ABA;a/c number;Name\n",
        "routing|A/C#|name\n",
    ] {
        let sep = if header.contains(';') {
            ";"
        } else if header.contains('|') {
            "|"
        } else {
            ","
        };
        let text: String = header.to_owned()
            + &(0..20)
                .map(|i| {
                    format!(
                        "{}{sep}{}{sep}Ann {i}\n",
                        routings[i % 4],
                        10_000_000 + 7919 * i
                    )
                })
                .collect::<String>();
        let found = whole_in_any_chunks(text.as_bytes(), header);
        assert_eq!(found.get(Class::AbaRouting), 20, "{header}");
        assert_eq!(found.get(Class::UsBankAccount), 20, "{header}");
    }
    for (line, accounts) in [
        ("Pay to ABA routing 021000021 A/C 987654321\n", 1),
        ("ABA 021000021, a/c no. 987654321\n", 1),
        ("ABA 021000021 A/CX 987654321\n", 0),
        ("ABA 021000021 AC/C 987654321\n", 0),
        ("ABA 021000021 A/\n", 0),
    ] {
        one_routing_number_and(line, accounts);
    }
}

/// A headerless table whose account stands before its routing number (`name,account,routing`):
/// the field right before counts when nearly every row has an account there, in any chunks,
/// quoted too; not the row's first field (a record's id), not a column whose values repeat or
/// count up (a branch code, a second id), and not where the field after holds the accounts.
#[test]
fn a_headerless_tables_account_before_its_routing_number() {
    let routings = ROUTINGS;
    let account = |i: usize| 10_000_000 + 7919 * i as u64;
    type Row = fn(usize, &str, u64) -> String;
    let counted: [(&str, Row); 3] = [
        ("name first", |i, r, a| {
            format!("Ann {i},{a},{r},checking\n")
        }),
        ("id and name first", |i, r, a| {
            format!("{},Ann {i},{a},{r}\n", 1000 + i)
        }),
        ("quoted", |i, r, a| {
            format!("\"{}\",\"Roe, Ann\",\"{a}\",\"{r}\"\r\n", 1000 + i)
        }),
    ];
    for (name, row) in counted {
        let text: String = (0..30)
            .map(|i| row(i, routings[i % 5], account(i)))
            .collect();
        let found = whole_in_any_chunks(text.as_bytes(), name);
        assert_eq!(found.get(Class::AbaRouting), 30, "{name}");
        assert_eq!(found.get(Class::UsBankAccount), 30, "{name}");
    }
    let not: [(&str, Row); 4] = [
        ("an id first", |i, r, _| {
            format!("{},{r},ACME\n", 100_000 + i)
        }),
        ("a second id", |i, r, _| {
            format!("Ann,{},{r},ACME\n", 5000 + i)
        }),
        ("a branch code", |_, r, _| format!("Ann,20451,{r},ACME\n")),
        ("both sides", |i, r, a| {
            format!("Ann,{a},{r},{}\n", a + i as u64)
        }),
    ];
    for (name, row) in not {
        let text: String = (0..30)
            .map(|i| row(i, routings[i % 5], account(i)))
            .collect();
        let found = classify(text.as_bytes()).counts;
        assert_eq!(found.get(Class::AbaRouting), 30, "{name}");
        let accounts = if name == "both sides" { 30 } else { 0 };
        assert_eq!(found.get(Class::UsBankAccount), accounts, "{name}");
    }
}

/// In markup and JSON, a record named for an account (`bankAccount`, `<Account …>`,
/// `<BankAccount>`) names the number after its routing number's however generic its own name
/// (`number`, `nr`); a record named for nothing else (`bank`), a name that is no filler
/// between (`reference`, `balance`), and an account word in the record before do not.
#[test]
fn a_record_named_for_an_account_names_its_number() {
    for (text, accounts) in [
        (
            r#"[{"bankAccount":{"routing":"021000021","number":"12345678"}}]"#,
            1,
        ),
        ("<Account routing=\"021000021\" number=\"12345678\"/>", 1),
        (
            "<BankAccount>\n  <Routing>021000021</Routing>\n  <Nr>12345678</Nr>\n</BankAccount>",
            1,
        ),
        (
            r#"[{"bank":{"routing":"021000021","number":"12345678"}}]"#,
            0,
        ),
        (
            r#"[{"bankAccount":{"routing":"021000021","reference":"12345678"}}]"#,
            0,
        ),
        ("<Account routing=\"021000021\" balance=\"12345678\"/>", 0),
        (
            "<P><Name>Account holder</Name><Routing>021000021</Routing><Number>12345678</Number></P>",
            0,
        ),
    ] {
        one_routing_number_and(text, accounts);
    }
}

/// `text` holds one routing number and `accounts` account numbers beside it, in any chunks.
fn one_routing_number_and(text: &str, accounts: u64) {
    let found = whole_in_any_chunks(text.as_bytes(), text);
    assert_eq!(found.get(Class::AbaRouting), 1, "{text}");
    assert_eq!(found.get(Class::UsBankAccount), accounts, "{text}");
}

/// A core system's extract in fixed-width columns without a header (names with commas in
/// them, fields a blank apart): each place in the line is a column weighed by its checksums,
/// the account the number across blanks after the routing number; the same in any chunks. A
/// log whose lines hold random nine-digit numbers at one place counts nothing. The same
/// extract in EBCDIC, as a mainframe sends it, counts the same.
#[test]
fn a_headerless_fixed_width_extracts_routing_column_counts_by_its_checksums() {
    let routings = ROUTINGS;
    let names = ["DOE, JOHN", "ACME INC.", "ROSSI, SOFIA"];
    let mut text = String::new();
    for i in 0..30 {
        let account = 10_000 + 7919 * i as u64 * i as u64;
        text.push_str(&format!(
            "{:<8}{:<16}{:<10}{account:<18}{:>10}\n",
            1000 + i,
            names[i % 3],
            routings[i % 5],
            format!("{}.{:02}", 100 + i, i)
        ));
    }
    let found = classify(text.as_bytes());
    assert!(found.formats.is_empty(), "{:?}", found.formats);
    assert_eq!(found.counts.get(Class::AbaRouting), 30);
    assert_eq!(found.counts.get(Class::UsBankAccount), 30);
    whole_in_any_chunks(text.as_bytes(), "fixed-width extract");
    // The same records as a mainframe sends them: EBCDIC, each record ending in NL.
    let ebcdic = classify(&crate::encoding::ebcdic(text.as_bytes()));
    assert_eq!(ebcdic.formats, vec![crate::Format::Ebcdic]);
    assert_eq!(ebcdic.counts.get(Class::AbaRouting), 30);
    assert_eq!(ebcdic.counts.get(Class::UsBankAccount), 30);
    // Random nine-digit numbers at one place in a log's lines.
    let mut rng = crate::corpus::Rng::new(9);
    let log: String = (0..300)
        .map(|i| {
            format!(
                "2026-12-05 10:{:02}:00 trace {} ok\n",
                i % 60,
                rng.digits(9)
            )
        })
        .collect();
    assert!(classify(log.as_bytes()).counts.is_empty());
}

/// A number of a candidate's length a blank or a dash before other digits is read on its own
/// (no printed form begins so): a routing number its words name (`021000021 12345678`), a card
/// number and its code.
#[test]
fn a_candidate_before_other_digits_is_read_on_its_own() {
    assert_eq!(
        count(
            "wire to ABA routing 021000021 12345678\n",
            Class::AbaRouting
        ),
        1
    );
    assert_eq!(count("ABA 021000021-0012\n", Class::AbaRouting), 1);
    assert_eq!(
        count("card 4111111111111111 123 exp 12/27\n", Class::CardNumber),
        1
    );
    // Printed forms are read as before: a card in groups, an SSN.
    assert_eq!(count("card 4111 1111 1111 1111\n", Class::CardNumber), 1);
    assert_eq!(count("SSN 234-56-7890 on file\n", Class::UsSsn), 1);
    // Nothing names it: nothing counts.
    assert_eq!(count("order 021000021 12345678\n", Class::AbaRouting), 0);
}

/// Markup, JSON and query strings: an account number named by its element, key or parameter
/// next to its routing number, across tags and (in markup and JSON) the layout's line ends;
/// the same in any chunks.
#[test]
fn account_numbers_in_markup_json_and_query_strings_whatever_the_chunks() {
    let routings = &ROUTINGS[..4];
    let mut xml = String::from("<?xml version=\"1.0\"?>\n<Payees>\n");
    let mut json = String::from("[\n");
    let mut log = String::new();
    for i in 0..40 {
        let (r, a) = (routings[i % 4], 10_000_000 + 7919 * i);
        xml.push_str(&match i % 3 {
            0 => format!("  <Payee>\n    <RoutingNumber>{r}</RoutingNumber>\n    <AccountNumber>{a}</AccountNumber>\n  </Payee>\n"),
            1 => format!("  <Payee>\n    <AccountNumber>{a}</AccountNumber>\n    <RoutingNumber>{r}</RoutingNumber>\n  </Payee>\n"),
            // Something else between them: not counted.
            _ => format!("  <Payee>\n    <RoutingNumber>{r}</RoutingNumber>\n    <Name>A</Name>\n    <AccountNumber>{a}</AccountNumber>\n  </Payee>\n"),
        });
        json.push_str(&format!(
            "  {{\n    \"routing_number\": \"{r}\",\n    \"account_number\": \"{a}\"\n  }},\n"
        ));
        log.push_str(&format!(
            "GET /v1/payouts?routing={r}&account={a}&amount=100 HTTP/1.1\n"
        ));
    }
    xml.push_str("</Payees>\n");
    json.push_str("  {}\n]\n");
    for (text, accounts) in [(xml, 27), (json, 40), (log, 40)] {
        let whole = whole_in_any_chunks(text.as_bytes(), &text);
        assert_eq!(whole.get(Class::AbaRouting), 40, "{text}");
        assert_eq!(whole.get(Class::UsBankAccount), accounts, "{text}");
    }
}

/// A card's magnetic stripe: track 1 (`%B…^`) and track 2 (`;…=`) count their card number
/// without other context; the same card number without the track's form, or failing its
/// checks, does not; the same in any chunks (the start sentinel may end the text before).
#[test]
fn card_numbers_in_magnetic_stripe_tracks_whatever_the_chunks() {
    let lines = [
        ("%B4111111111111111^DOE/JOHN^27121010000000000000?\n", 1),
        (";5555555555554444=27121010000000000?\n", 1),
        (
            "t1=%B378282246310005^ROE/A^2801101? t2=;378282246310005=2801101?\n",
            2,
        ),
        // Not a track's form, or not a card number.
        ("B4111111111111111 ^x\n", 0),
        ("id 4111111111111111=5\n", 0),
        (";4111111111111112=2712?\n", 0),
        ("%B1234567890123456^X^?\n", 0),
    ];
    // The tracks many times; the near misses once each (a column of many valid card numbers
    // counts by its column evidence, docs/CLASSIFICATION.md).
    let mut text = String::new();
    let mut cards = 0;
    for i in 0..30 {
        for (line, n) in &lines[..3] {
            text.push_str(line);
            cards += n;
        }
        if let Some((line, _)) = lines.get(3 + i) {
            text.push_str(line);
        }
    }
    for (line, n) in lines {
        assert_eq!(count(line, Class::CardNumber), n, "{line:?}");
    }
    let whole = whole_in_any_chunks(text.as_bytes(), "tracks");
    assert_eq!(whole.get(Class::CardNumber), cards);
}

/// UTF-16 text (a spreadsheet's "Unicode text" export, little- or big-endian, with its byte
/// order mark; or without one, as SQL Server's `bcp -w` writes it): what it holds counts as in
/// the same text in UTF-8, in any chunks (a code unit or the byte order mark cut in two too).
#[test]
fn utf16_text_counts_as_its_utf8_whatever_the_chunks() {
    for d in corpus::generate(9, 300_000).iter().take(13) {
        let Ok(text) = std::str::from_utf8(&d.bytes) else {
            continue;
        };
        let (le, be) = (corpus::utf16(text, false), corpus::utf16(text, true));
        let want = classify(&d.bytes);
        for bytes in [&le, &be, &le[2..].to_vec(), &be[2..].to_vec()] {
            let found = classify(bytes);
            assert_eq!(found.counts, d.truth, "{}", d.name);
            assert_eq!(found.formats, want.formats, "{}", d.name);
            for size in [1, 2, 3, 7, 4095, 4096, 8193] {
                assert_eq!(
                    scan_in_chunks(bytes, &[size]),
                    d.truth,
                    "{} in {size}",
                    d.name
                );
            }
        }
    }
    let bare: Vec<u8> = "card 4111111111111111\n"
        .encode_utf16()
        .flat_map(u16::to_le_bytes)
        .collect();
    assert_eq!(classify(&bare).counts.get(Class::CardNumber), 1);
    // Fewer than eight code units without a mark: too few to tell, and binary.
    assert_eq!(classify(&bare[..14]).formats, vec![crate::Format::Binary]);
    // A file of one byte, or of the mark alone.
    assert!(classify(b"7").counts.is_empty());
    assert!(classify(&[0xFF, 0xFE]).counts.is_empty());
    // Not text in UTF-16 either: settled on its first 4 KiB of code units and its mark.
    let mut s = Scanner::new();
    s.feed(&[0xFF, 0xFE]);
    s.feed(&[1u8, 0].repeat(crate::scan::SNIFF_LEN));
    assert!(s.settled());
    assert_eq!(s.verdict_len(), 2 + 2 * crate::scan::SNIFF_LEN as u64);
    let mut s = Scanner::new();
    s.feed(&[0u8; crate::scan::SNIFF_LEN]);
    assert!(s.settled());
    assert_eq!(s.verdict_len(), crate::scan::SNIFF_LEN as u64);
}

/// A gzip-compressed file counts what its contents hold, with its contents' formats and `gzip`,
/// in any chunks; one that breaks off counts what came before and says `scanned_in_part`; one whose
/// contents are not text is `binary` and is not inflated further.
#[test]
fn gzip_files_count_their_contents_whatever_the_chunks() {
    use std::io::Write;
    let gzip = |bytes: &[u8]| {
        let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        e.write_all(bytes).unwrap();
        e.finish().unwrap()
    };
    for d in corpus::generate(11, 300_000).iter().take(13) {
        let gz = gzip(&d.bytes);
        let mut want = classify(&d.bytes);
        want.formats.push(crate::Format::Gzip);
        assert_eq!(classify(&gz), want, "{}", d.name);
        for size in [1, 2, 3, 4095, 4097, 65536] {
            assert_eq!(
                scan_in_chunks(&gz, &[size]),
                d.truth,
                "{} in {size}",
                d.name
            );
        }
    }
    // UTF-16 inside gzip.
    let text = "card 4111111111111111\r\n".repeat(10);
    let utf16 = corpus::utf16(&text, false);
    assert_eq!(classify(&gzip(&utf16)).counts.get(Class::CardNumber), 10);
    // Broken off: what came before, and `scanned_in_part`.
    let lines = "card 4111111111111111\n".repeat(20_000);
    let gz = gzip(lines.as_bytes());
    let cut = classify(&gz[..gz.len() / 2]);
    assert!(
        cut.formats.contains(&crate::Format::ScannedInPart),
        "{cut:?}"
    );
    let n = cut.counts.get(Class::CardNumber);
    assert!(n > 0 && n < 20_000, "{n}");
    for size in [1, 4096, 10_000] {
        assert_eq!(scan_in_chunks(&gz[..gz.len() / 2], &[size]), cut.counts);
    }
    // Not text inside: binary, settled on the compressed bytes read by then.
    let mut rng = Rng::new(3);
    let noise: Vec<u8> = (0..200_000).map(|_| rng.below(256) as u8).collect();
    let gz = gzip(&noise);
    let mut s = Scanner::new();
    for chunk in gz.chunks(8192) {
        s.feed(chunk);
    }
    assert!(s.settled());
    assert!(s.verdict_len() <= 8192 * 2, "{}", s.verdict_len());
    let found = s.finish();
    assert_eq!(
        found.formats,
        vec![crate::Format::Binary, crate::Format::Gzip]
    );
    // The stored form names the formats.
    let partial = crate::Classification::decode(&cut.encode()).unwrap();
    assert_eq!(partial, cut);
}

/// A mainframe's EBCDIC text counts what the same text in ASCII does, in any chunks, with
/// `ebcdic` beside its formats; sent without line ends (fixed-length records), the same.
#[test]
fn ebcdic_files_count_what_their_text_holds() {
    let docs = corpus::generate(14, 200_000);
    let ascii: Vec<_> = docs.iter().filter(|d| d.bytes.is_ascii()).take(9).collect();
    assert!(ascii.len() >= 5, "{} ASCII documents", ascii.len());
    for d in ascii {
        let coded = crate::encoding::ebcdic(&d.bytes);
        let mut want = classify(&d.bytes);
        want.formats.push(crate::Format::Ebcdic);
        assert_eq!(classify(&coded), want, "{}", d.name);
        for size in [1, 1000, 65536] {
            assert_eq!(
                scan_in_chunks(&coded, &[size]),
                d.truth,
                "{} in {size}",
                d.name
            );
        }
    }
    // A customer extract as fixed-length records of 80 bytes, no line ends.
    let mut records = Vec::new();
    let mut rng = Rng::new(9);
    records.extend(format!("{:<80}", "CUSTOMER NAME        SSN        CARD NUMBER").bytes());
    for i in 0..50 {
        let line = format!(
            "CUSTOMER {i:<11} {:<10} {}",
            "123-45-6789",
            corpus::card(&mut rng)
        );
        records.extend(format!("{line:<80}").bytes());
    }
    let found = classify(&crate::encoding::ebcdic(&records));
    assert_eq!(found.counts.get(Class::UsSsn), 50, "{found:?}");
    assert_eq!(found.counts.get(Class::CardNumber), 50, "{found:?}");
    assert!(found.formats.contains(&crate::Format::Ebcdic));
}

/// An Excel 97-2003 workbook compressed (`.xls.gz`) counts what it does as it is, `gzip` beside
/// `xls`, in any chunks.
#[test]
fn a_compressed_workbook_counts_as_it_is() {
    use std::io::Write;
    let stream = crate::xls::tests::workbook_stream(30);
    let xls = crate::compound::tests::compound(&[("Workbook", &stream)]);
    let plain = classify(&xls);
    assert_eq!(plain.counts.get(Class::UsSsn), 30, "{plain:?}");
    let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    e.write_all(&xls).unwrap();
    let gz = e.finish().unwrap();
    let mut want = plain.clone();
    want.formats.push(crate::Format::Gzip);
    assert_eq!(classify(&gz), want);
    for size in [1, 4096, 10_000] {
        assert_eq!(
            scan_in_chunks(&gz, &[size]),
            plain.counts,
            "chunks of {size}"
        );
    }
}

/// `bytes` compressed by XZ Utils' `xz` with `args` (the `xz` every Debian system has).
/// A fixture's bytes: `tests/{dir}/{name}` in the crate.
pub(crate) fn fixture_in(dir: &str, name: &str) -> Vec<u8> {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests")
        .join(dir);
    std::fs::read(dir.join(name)).unwrap()
}

/// Reads `bytes` at places, as a stored file is read back ([`crate::classify_stored`]).
pub(crate) fn read_at(bytes: &[u8]) -> impl Fn(u64, &mut [u8]) -> Option<usize> + '_ {
    move |at, buf| {
        let at = usize::try_from(at).ok()?;
        let n = buf.len().min(bytes.len().checked_sub(at)?);
        buf[..n].copy_from_slice(&bytes[at..at + n]);
        Some(n)
    }
}

/// `bytes` with `changes` made (each at its place modulo the length) and, where `cut` is
/// given, that many bytes (modulo the length) cut from its end: a fixture damaged for a
/// property test.
pub(crate) fn damaged(mut bytes: Vec<u8>, changes: &[(usize, u8)], cut: Option<usize>) -> Vec<u8> {
    for &(at, b) in changes {
        let n = bytes.len();
        bytes[at % n] = b;
    }
    if let Some(cut) = cut {
        bytes.truncate(bytes.len() - cut % bytes.len());
    }
    bytes
}

pub(crate) fn xz(bytes: &[u8], args: &[&str]) -> Vec<u8> {
    use std::process::{Command, Stdio};
    let mut child = Command::new("xz")
        .args(["-c", "-q"])
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .expect("xz (XZ Utils) is needed");
    let mut stdin = child.stdin.take().unwrap();
    let input = bytes.to_vec();
    let writer = std::thread::spawn(move || std::io::Write::write_all(&mut stdin, &input));
    let out = child.wait_with_output().unwrap();
    writer.join().unwrap().unwrap();
    assert!(out.status.success(), "xz {args:?}");
    out.stdout
}

/// An xz-compressed file counts what its contents hold, with their formats and `xz`, in any
/// chunks; a stream broken off leaves the file read in part.
#[test]
fn xz_files_count_their_contents_whatever_the_chunks() {
    for d in corpus::generate(13, 200_000).iter().take(7) {
        let x = xz(&d.bytes, &["-6"]);
        let mut want = classify(&d.bytes);
        want.formats.push(crate::Format::Xz);
        assert_eq!(classify(&x), want, "{}", d.name);
        for size in [1, 6, 10, 4096, 65536] {
            assert_eq!(scan_in_chunks(&x, &[size]), d.truth, "{} in {size}", d.name);
        }
        let cut = classify(&x[..x.len() - 20]);
        assert!(
            cut.formats.contains(&crate::Format::ScannedInPart),
            "{cut:?}"
        );
    }
}

/// A zstd-compressed file counts what its contents hold, with their formats and `zstd`, in any
/// chunks, frames one after another and skippable frames too; a frame that breaks off, or asks
/// for a window past the limit, leaves the file read in part.
#[test]
fn zstd_files_count_their_contents_whatever_the_chunks() {
    let zstd = |bytes: &[u8]| {
        ruzstd::encoding::compress_to_vec(bytes, ruzstd::encoding::CompressionLevel::Fastest)
    };
    for d in corpus::generate(12, 200_000).iter().take(7) {
        let z = zstd(&d.bytes);
        let mut want = classify(&d.bytes);
        want.formats.push(crate::Format::Zstd);
        assert_eq!(classify(&z), want, "{}", d.name);
        for size in [1, 3, 4, 5, 4096, 65536] {
            assert_eq!(scan_in_chunks(&z, &[size]), d.truth, "{} in {size}", d.name);
        }
    }
    let text = b"card 4111 1111 1111 1111\n".repeat(50);
    // Two frames, a skippable frame before and between them.
    let skippable = [&[0x5Au8, 0x2A, 0x4D, 0x18, 3, 0, 0, 0][..], b"abc"].concat();
    let joined = [&skippable[..], &zstd(&text), &skippable, &zstd(&text)].concat();
    let found = classify(&joined);
    assert_eq!(found.counts.get(Class::CardNumber), 100);
    assert_eq!(found.formats, vec![crate::Format::Zstd]);
    // Broken off inside a frame.
    let z = zstd(&text);
    let cut = classify(&z[..z.len() - 2]);
    assert!(
        cut.formats.contains(&crate::Format::ScannedInPart),
        "{cut:?}"
    );
    // A frame asking for a 128 MiB window: not read.
    let mut wide = vec![0x28, 0xB5, 0x2F, 0xFD, 0x00, (27 - 10) << 3];
    wide.extend_from_slice(&[0x10, 0x00, 0x00, b'a', b'b']); // a raw block of two bytes
    wide.extend_from_slice(&[0x01, 0x00, 0x00]); // a last, empty raw block
    let found = classify(&wide);
    assert!(
        found.formats.contains(&crate::Format::ScannedInPart),
        "{found:?}"
    );
}

/// A zstd frame of an 8 MiB window holding `blocks` blocks that each repeat `7` 128 KiB from
/// four bytes (the last one marked last): a bomb of 128 KiB of contents per four bytes.
fn zstd_runs(blocks: u32) -> Vec<u8> {
    let mut frame = vec![0x28, 0xB5, 0x2F, 0xFD, 0x00, (23 - 10) << 3];
    for i in 0..blocks {
        let header = (128u32 << 10) << 3 | 1 << 1 | u32::from(i + 1 == blocks);
        let [a, b, c, _] = header.to_le_bytes();
        frame.extend_from_slice(&[a, b, c, b'7']);
    }
    frame
}

/// A zstd bomb: blocks of one byte run 128 KiB each (four bytes each compressed), read to the
/// file's budget a block at a time, the memory held a window's and a block's.
#[test]
fn a_zstd_bomb_is_read_to_the_budget_a_block_at_a_time() {
    let bomb = zstd_runs(4097);
    let mut s = Scanner::new();
    s.inside_archive(crate::encoding::Budget::with(64 << 20, 16), 0);
    for chunk in bomb.chunks(4096) {
        s.feed(chunk);
        assert!(s.held_bytes() < 12 << 20, "{}", s.held_bytes());
    }
    let found = s.finish();
    assert!(
        found.formats.contains(&crate::Format::ScannedInPart),
        "{found:?}"
    );
}

/// A scanner asked to defer ([`Scanner::defer`], as a server scanning an upload inside its
/// requests asks) reads plain text as it comes, and keeps the bytes of a compressed file, an
/// archive or a container unread until [`Scanner::resume`] (on a thread of their own): a
/// bomb's first write costs the request nothing; then it counts what it would have counted.
#[test]
fn a_deferring_scanner_keeps_layers_for_a_thread_and_then_counts_the_same() {
    let bomb = zstd_runs(64);
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    let docs = corpus::generate(14, 100_000);
    std::io::Write::write_all(&mut gz, &docs[0].bytes).unwrap();
    let gz = gz.finish().unwrap();
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests");
    let pdf = std::fs::read(dir.join("producers/libreoffice-calc.pdf")).unwrap();
    for (name, file, layered) in [
        ("text", docs[0].bytes.clone(), false),
        ("zstd bomb", bomb, true),
        ("gzip", gz, true),
        ("pdf", pdf, true),
    ] {
        for size in [1, 100, 4096, 65536] {
            let mut s = Scanner::new();
            s.defer();
            let mut chunks = file.chunks(size);
            // The first writes, as a request would feed them.
            let mut fed = 0;
            for chunk in chunks.by_ref().take((8192 / size).max(1)) {
                s.feed(chunk);
                fed += chunk.len();
            }
            assert_eq!(s.wants_thread(), layered, "{name} in {size}");
            if layered {
                // Kept, not read: all but the first bytes that told the layer (a compressed
                // file's ten, a document's first 4 KiB).
                let kept = s.deferred.as_ref().map_or(0, Vec::len);
                assert!(
                    kept + crate::scan::SNIFF_LEN >= fed,
                    "{name} in {size}: {kept} of {fed}"
                );
            }
            s.resume();
            assert!(!s.wants_thread());
            for chunk in chunks {
                s.feed(chunk);
            }
            assert_eq!(s.finish(), classify(&file), "{name} in {size}");
        }
    }
}

/// A bzip2-compressed file counts what its contents hold, with their formats and `bzip2`, in
/// any chunks; a text that begins with `BZh` is text.
#[test]
fn bzip2_files_count_their_contents_whatever_the_chunks() {
    use std::io::Write;
    for d in corpus::generate(12, 200_000).iter().take(7) {
        let mut e = bzip2::write::BzEncoder::new(Vec::new(), bzip2::Compression::fast());
        e.write_all(&d.bytes).unwrap();
        let bz = e.finish().unwrap();
        let mut want = classify(&d.bytes);
        want.formats.push(crate::Format::Bzip2);
        assert_eq!(classify(&bz), want, "{}", d.name);
        for size in [1, 9, 10, 11, 65536] {
            assert_eq!(
                scan_in_chunks(&bz, &[size]),
                d.truth,
                "{} in {size}",
                d.name
            );
        }
    }
    let text = classify(b"BZh9 card 4111 1111 1111 1111\n");
    assert_eq!(text.counts.get(Class::CardNumber), 1);
    assert!(text.formats.is_empty());
}

/// In markup an element is a column: a spreadsheet's shared strings (`<si><t>…</t></si>`, as
/// an XLSX workbook keeps cells of more than 15 digits) whose card numbers nothing names count
/// by the evidence of their element, as a table's column's do; an element of other numbers of
/// that length does not. The same in any chunks.
#[test]
fn card_numbers_in_markup_elements_count_as_a_column() {
    let mut rng = Rng::new(5);
    let cards: String = (0..30)
        .map(|_| format!("<si><t>{}</t></si>", corpus::card(&mut rng)))
        .collect();
    let ids: String = (0..30)
        .map(|_| format!("<si><t>{}</t></si>", rng.digits(16)))
        .collect();
    let sst = |cells: &str| {
        format!(
            "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<sst count=\"30\"><si><t>Name</t></si>{cells}</sst>"
        )
    };
    let found = whole_in_any_chunks(sst(&cards).as_bytes(), "cards");
    assert_eq!(found.get(Class::CardNumber), 30);
    let found = whole_in_any_chunks(sst(&ids).as_bytes(), "ids");
    assert_eq!(found.get(Class::CardNumber), 0);
    // Not markup: the same cells in a text file have no element to weigh them by.
    let text = format!("notes {cards}");
    assert_eq!(classify(text.as_bytes()).counts.get(Class::CardNumber), 0);
}

/// BAI2: the reporting bank's routing number (the file's sender, a group's originator) and,
/// when the originator is one, the accounts its groups report; a receiver's identification is
/// not a routing number, and a group after a trailer starts over.
#[test]
fn bai2_routing_and_account_numbers() {
    let statement = "01,021000021,123456789,261203,0200,1,,,2/\r\n\
        02,011000015,021000021,1,261202,,USD,2/\r\n\
        03,0012345678,USD,010,500,,/\r\n\
        16,165,100,Z,987654321,12345678/\r\n\
        49,600,2/\r\n\
        03,98765/\r\n\
        98,600,1,3/\r\n\
        02,021000021,021000022,1,261202,,USD,2/\r\n\
        03,5555555555,USD,010,500,,/\r\n\
        98,500,1,2/\r\n\
        99,1100,2,9/\r\n";
    let found = classify(statement.as_bytes());
    assert_eq!(found.formats, vec![crate::Format::Bai2]);
    // The sender, the first group's originator (not its receiver, nor the second group's
    // originator, a near miss).
    assert_eq!(found.counts.get(Class::AbaRouting), 2);
    // The first group's two accounts; the second group's originator is not a routing number.
    assert_eq!(found.counts.get(Class::UsBankAccount), 2);
    for size in [1, 7, 50] {
        assert_eq!(scan_in_chunks(statement.as_bytes(), &[size]), found.counts);
    }
}

/// One document of every kind the corpus has, cut into chunks of many sizes (a tag, an account
/// element or a line cut anywhere): the counts equal the whole buffer's.
#[test]
fn every_kind_of_document_streams_as_whole() {
    let docs = corpus::generate(5, 600_000);
    let mut kinds = std::collections::BTreeSet::new();
    for d in &docs {
        let kind = d.name.split('-').nth(1).unwrap().to_owned();
        if !kinds.insert(kind) {
            continue;
        }
        let whole = classify(&d.bytes).counts;
        assert_eq!(whole, d.truth, "{}", d.name);
        for size in [
            1, 2, 3, 5, 7, 13, 64, 100, 127, 161, 255, 1000, 4097, 8191, 16384,
        ] {
            assert_eq!(
                scan_in_chunks(&d.bytes, &[size]),
                whole,
                "{} in chunks of {size}",
                d.name
            );
        }
    }
    // Thirteen kinds, twelve names (the near-miss customer extracts share one).
    assert_eq!(kinds.len(), 12, "{kinds:?}");
}

/// ABA routing numbers in ISO 20022 under the `USABA` clearing system, compact or laid out
/// with the code lines above the member id, and the accounts of such a message: as many as
/// its routing numbers at most; another clearing system's member id is not one.
#[test]
fn iso20022_routing_and_account_numbers() {
    let head = "<?xml version=\"1.0\"?>\n<Document xmlns=\"urn:iso:std:iso:20022:tech:xsd:pacs.008.001.08\">\n";
    let compact = "<CdtrAgt><FinInstnId><ClrSysMmbId><ClrSysId><Cd>USABA</Cd></ClrSysId><MmbId>021000021</MmbId></ClrSysMmbId></FinInstnId></CdtrAgt><CdtrAcct><Id><Othr><Id>12345678</Id></Othr></Id></CdtrAcct>\n";
    let laid_out = "<DbtrAgt>\n  <FinInstnId>\n    <ClrSysMmbId>\n      <ClrSysId>\n        <Cd>USABA</Cd>\n      </ClrSysId>\n      <MmbId>011000015</MmbId>\n    </ClrSysMmbId>\n  </FinInstnId>\n</DbtrAgt>\n<DbtrAcct>\n  <Id>\n    <Othr>\n      <Id>000123456789</Id>\n    </Othr>\n  </Id>\n</DbtrAcct>\n";
    let canadian = "<CdtrAgt><FinInstnId><ClrSysMmbId><ClrSysId><Cd>CACPA</Cd></ClrSysId><MmbId>021000021</MmbId></ClrSysMmbId></FinInstnId></CdtrAgt><CdtrAcct><Id><Othr><Id>7654321</Id></Othr></Id></CdtrAcct>\n";
    let iban = "<CdtrAcct><Id><IBAN>DE89370400440532013000</IBAN></Id></CdtrAcct>\n";
    let doc = |parts: &[&str]| {
        let mut d = String::from(head);
        for p in parts {
            d.push_str(p);
        }
        d.push_str(&" ".repeat(4096));
        d.push_str("</Document>\n");
        classify(d.as_bytes()).counts
    };
    let both = doc(&[compact, laid_out]);
    assert_eq!(both.get(Class::AbaRouting), 2);
    assert_eq!(both.get(Class::UsBankAccount), 2);
    let mixed = doc(&[compact, canadian, iban]);
    assert_eq!(mixed.get(Class::AbaRouting), 1);
    assert_eq!(
        mixed.get(Class::UsBankAccount),
        1,
        "one routing number, one account"
    );
    assert_eq!(mixed.get(Class::Iban), 1);
    let none = doc(&[canadian]);
    assert_eq!(none.get(Class::AbaRouting), 0);
    assert_eq!(none.get(Class::UsBankAccount), 0);
}

/// SWIFT MT: the Fedwire code's ABA routing numbers (`//FW021000021`) and the customer fields'
/// account lines of a message that names its banks so; an IBAN's account line is an IBAN, and
/// outside SWIFT MT `FW` and nine digits are nothing.
#[test]
fn swift_mt_routing_and_account_numbers() {
    let message = "{1:F01BANKBEBBAXXX0000000000}{2:I103BANKDEFFXXXXN}{4:\r\n:20:REF1\r\n\
        :32A:261203USD100,00\r\n:50K:/0012345678\r\nACME CORP\r\n:52D://FW021000021\r\n\
        JPMORGAN CHASE BANK\r\n:57D://FW011000015\r\nBANK OF AMERICA NA\r\n:59:/987654321\r\n\
        JOHN DOE\r\n:70:INVOICE 12345678\r\n-}\r\n\
        {1:F01BANKBEBBAXXX0000000000}{2:I103BANKDEFFXXXXN}{4:\r\n:20:REF2\r\n\
        :50K:/DE89370400440532013000\r\nACME GMBH\r\n:59:/GB82WEST12345698765432\r\nJANE ROE\r\n-}\r\n";
    let mut text = message.to_owned();
    text.push_str(&" ".repeat(4096));
    let found = classify(text.as_bytes());
    assert_eq!(found.formats, vec![crate::Format::SwiftMt(103)]);
    assert_eq!(found.counts.get(Class::AbaRouting), 2);
    assert_eq!(found.counts.get(Class::UsBankAccount), 2);
    assert_eq!(found.counts.get(Class::Iban), 2);
    for size in [1, 2, 3, 5, 7, 13, 64, 127] {
        assert_eq!(
            scan_in_chunks(text.as_bytes(), &[size]),
            found.counts,
            "{size}"
        );
    }
    assert_eq!(count("wire FW021000021 today", Class::AbaRouting), 0);
}

/// SWIFT MT940: a statement's account identified as routing number, `/`, account number counts
/// both, however the text is cut; an account alone, a `:25:` not at a line's start, or the same
/// outside SWIFT MT counts nothing.
#[test]
fn swift_mt940_account_identification() {
    let statement = |account: &str| {
        let mut s = format!(
            "{{1:F01BANKUS33AXXX0000000000}}{{2:O940BANKUS33XXXXN}}{{4:\r\n:20:STMT1\r\n\
             :25:{account}\r\n:28C:1/1\r\n:60F:C261202USD100,00\r\n-}}\r\n"
        );
        s.push_str(&" ".repeat(4096));
        s
    };
    let both = statement("021000021/0012345678");
    let found = classify(both.as_bytes());
    assert_eq!(found.formats, vec![crate::Format::SwiftMt(940)]);
    assert_eq!(found.counts.get(Class::AbaRouting), 1);
    assert_eq!(found.counts.get(Class::UsBankAccount), 1);
    for size in [1, 2, 3, 4, 5, 7, 13, 64] {
        assert_eq!(
            scan_in_chunks(both.as_bytes(), &[size]),
            found.counts,
            "{size}"
        );
    }
    for account in ["0012345678", "021000022/0012345678", "021000021/ABC123"] {
        let c = classify(statement(account).as_bytes()).counts;
        assert_eq!(c.get(Class::UsBankAccount), 0, "{account}");
    }
    let elsewhere = statement("021000021/0012345678").replace("\r\n:25:", " :25:");
    assert_eq!(
        classify(elsewhere.as_bytes()).counts.get(Class::AbaRouting),
        0
    );
    assert_eq!(count(":25:021000021/0012345678\n", Class::AbaRouting), 0);
}

/// The routing numbers and accounts `text` holds, the same in any chunks.
fn routing_and_accounts(text: &str) -> (u64, u64) {
    let c = classify(text.as_bytes()).counts;
    for size in [1, 2, 5, 17, 64] {
        let chunked = crate::scan::in_chunks(text.as_bytes(), size).counts;
        assert_eq!(chunked, c, "chunks of {size}: {text}");
    }
    (c.get(Class::AbaRouting), c.get(Class::UsBankAccount))
}

/// A sentence wrapped over lines (an e-mail or a letter written at 72 columns, a PDF's lines
/// at its page's width) is read as one: the account after a routing number on the next line,
/// and what the line's last two words name reaching the next line's first number. A line that
/// ends a sentence, or a next line that begins with a capital, ends it; so does a table's row.
#[test]
fn a_sentence_wrapped_over_lines_is_read_as_one() {
    let both = routing_and_accounts;
    let remit = "Please send the payment by wire to our bank. Routing number 021000021, account";
    assert_eq!(
        both(&format!("{remit}\nnumber 12345678. Thank you.\n")),
        (1, 1)
    );
    assert_eq!(
        both(&format!("{remit} number\n  12345678. Thank you.\n")),
        (1, 1)
    );
    assert_eq!(
        both(&format!("{remit} number:\r\n12345678. Thank you.\n")),
        (1, 1)
    );
    // A sentence's end, a blank line or a capital after the line end: no account.
    assert_eq!(
        both(&format!("{remit} number.\n12345678 Thank you.\n")),
        (1, 0)
    );
    assert_eq!(
        both(&format!("{remit} number\n\n12345678 Thank you.\n")),
        (1, 0)
    );
    assert_eq!(
        both(&format!("{remit} number\nNo 12345678 Thank you.\n")),
        (1, 0)
    );
    // A reply's quoted lines (`> `) wrap as the lines they quote.
    let quoted = format!("> {remit}\n> number 12345678. Thank you.\n");
    assert_eq!(both(&quoted), (1, 1));
    assert_eq!(
        both(">> Please wire to ABA routing number\n>> 021000021 today.\n"),
        (1, 0)
    );
    // A keyword at the line's end names the number that begins the next.
    assert_eq!(
        both("Please wire the funds to ABA routing number\n021000021 today.\n"),
        (1, 0)
    );
    assert_eq!(
        both("Please wire the funds to ABA routing\nnumber 021000021 today.\n"),
        (1, 0)
    );
    // Not one further back than the line's last two words, nor over a capital.
    assert_eq!(
        both("Routing details are in the letter below\nref 021000021 sent\n"),
        (0, 0)
    );
    assert_eq!(
        both("Please wire the funds to ABA routing number\nRef 021000021 today.\n"),
        (0, 0)
    );
    // A sentence's glue between the two numbers.
    let glue = "Please wire the funds to ABA routing number 021000021 for credit to our\naccount number 12345678.\n";
    assert_eq!(both(glue), (1, 1));
    assert_eq!(
        both("The payment goes to account 12345678 at routing 021000021.\n"),
        (1, 1)
    );
    assert_eq!(both("ABA 021000021 for invoice 12345678 account\n"), (1, 0));
    // One label naming both, the numbers after it in its order.
    assert_eq!(both("Routing and account: 021000021 / 12345678\n"), (1, 1));
    assert_eq!(both("ABA routing 021000021 / 12345678\n"), (1, 0));
    assert_eq!(
        both("Routing and account: 021000021 / ref 12345678\n"),
        (1, 0)
    );
    // A letter's salutation ends its first line with a comma: no table's header, though the
    // next line has one comma too.
    let letter = "Dear Mr. Smith,\r\nPlease wire the funds to ABA routing number 021000021, account\r\nnumber 12345678 at First Example Bank.\r\n";
    assert_eq!(both(letter), (1, 1));
    // A document's table of one column (its cells end with tabs) is a table under its heading.
    let page =
        "<html><body><table><tr><th>SSN</th></tr><tr><td>123456789</td></tr></table></body></html>";
    assert_eq!(classify(page.as_bytes()).counts.get(Class::UsSsn), 1);
    // A table's rows are not a sentence.
    assert_eq!(
        both("name,routing\nacme,021000021\nwidget,12345678\n"),
        (1, 0)
    );
}

/// A form's fields printed with each label alone above its value (a PDF form's text, an
/// e-mail): the routing number's label names it, and the account's value pairs with it above
/// or below as a labelled line's does; a value under another label does not.
#[test]
fn a_forms_labels_above_their_values_pair_as_labelled_lines() {
    let both = routing_and_accounts;
    let below = "Wire instructions\nBank: First Example Bank\nRouting number\n021000021\n";
    assert_eq!(both(&format!("{below}Account number\n12345678\n")), (1, 1));
    assert_eq!(
        both(&format!(
            "{below}Account name: ACME Corp\nAccount number:\n12345678\n"
        )),
        (1, 1)
    );
    assert_eq!(both(&format!("{below}Invoice number\n12345678\n")), (1, 0));
    assert_eq!(
        both("Account number:\n  12345678\nABA routing number:\n021000021\nBeneficiary: ACME\n"),
        (1, 1)
    );
    // Another routing number's label ends the block.
    assert_eq!(
        both(&format!(
            "{below}Routing number\n011000015\nAccount number\n12345678\n"
        )),
        (2, 1)
    );
}

/// The first line names columns only in a table: in a letter whose first line mentions cards or
/// routing (with a comma or not), a bare number on a later line is not named by it.
#[test]
fn a_first_line_names_columns_only_in_a_table() {
    for text in [
        "Your card statement for December\nOrder 4111111111111111 shipped today\n",
        "Your card statement, December\nOrder 4111111111111111 shipped today\n",
    ] {
        assert_eq!(count(text, Class::CardNumber), 0, "{text}");
    }
    assert_eq!(
        count(
            "Routing information below\nreference 021000021 sent\n",
            Class::AbaRouting
        ),
        0
    );
    // A table's header still names its columns, quoted too.
    assert_eq!(
        count("name,pan\nA,4111111111111111\n", Class::CardNumber),
        1
    );
    assert_eq!(
        count(
            "\"Name\",\"Routing\"\r\n\"John Doe\",\"021000021\"\r\n",
            Class::AbaRouting
        ),
        1
    );
    // A quoted field's separators are not fields' ends: the routing number is still in the
    // routing column, and a number in the column after it is not named by it.
    let mut quoted = String::from("\"Name\",\"Routing\",\"Ref\"\r\n");
    for _ in 0..100 {
        quoted.push_str(
            "\"Doe, John\",\"021000021\",\"011000015\"\r\n\
             \"Roe, \"\"Jr\"\", Jane\",\"011000015\",\"021000021\"\r\n",
        );
    }
    let whole = classify(quoted.as_bytes()).counts;
    assert_eq!(whole.get(Class::AbaRouting), 200);
    for size in [1, 2, 3, 5, 8, 13, 4097] {
        assert_eq!(scan_in_chunks(quoted.as_bytes(), &[size]), whole, "{size}");
    }
    // On its own line, a keyword still names what follows it there.
    assert_eq!(count("Your card 4111111111111111\n", Class::CardNumber), 1);
}

/// A fixed-width table's header names its columns by their place in the line: a routing
/// number's column, the account number's after it, a card number's (two rows: fewer than the
/// column evidence needs). Numbers in a column the header names otherwise do not count.
#[test]
fn a_fixed_width_header_names_its_columns() {
    let mut table =
        String::from("ROUTING NUMBER  ACCOUNT NUMBER    CARD NUMBER         REFERENCE\n");
    for (routing, account, card, reference) in [
        ("021000021", "0012345678", "4111111111111111", "021000021"),
        (
            "011000015",
            "98765432",
            "5555555555554444",
            "4012888888881881",
        ),
    ] {
        table.push_str(&format!(
            "{routing:<16}{account:<18}{card:<20}{reference:<16}\n"
        ));
    }
    let found = classify(table.as_bytes());
    assert_eq!(found.formats, vec![crate::Format::AccountTable]);
    assert_eq!(found.counts.get(Class::AbaRouting), 2);
    assert_eq!(found.counts.get(Class::UsBankAccount), 2);
    assert_eq!(found.counts.get(Class::CardNumber), 2);
    for size in [1, 7, 50] {
        assert_eq!(scan_in_chunks(table.as_bytes(), &[size]), found.counts);
    }
    // The same rows without the header: nothing names them.
    let rows: String = table.lines().skip(1).map(|l| format!("{l}\n")).collect();
    let bare = classify(rows.as_bytes()).counts;
    assert_eq!(bare.get(Class::AbaRouting), 0);
    assert_eq!(bare.get(Class::UsBankAccount), 0);
}

/// A fixed-width table pairs a routing number with the account column of its line, other
/// columns between, after it or before it, unless a bank's column stands between; the same in
/// any chunks.
#[test]
fn account_numbers_in_fixed_width_lines_whatever_the_chunks() {
    let routings = &ROUTINGS[..4];
    for (header, widths, routing_first, accounts) in [
        (
            "ROUTING NUMBER  BANK NAME             ACCOUNT NUMBER    AMOUNT\r\n",
            [16, 22, 18, 10],
            true,
            1,
        ),
        (
            "ACCOUNT NUMBER    PAYEE NAME            ROUTING NUMBER  AMOUNT\n",
            [18, 22, 16, 10],
            false,
            1,
        ),
        (
            "ACCOUNT NUMBER    SWIFT BIC     ROUTING NUMBER  AMOUNT\n",
            [18, 14, 16, 10],
            false,
            0,
        ),
    ] {
        let mut text = String::from(header);
        let crlf = header.ends_with("\r\n");
        for i in 0..60 {
            let (r, a) = (routings[i % 4], format!("{}", 10_000_000 + 7919 * i));
            let middle = if header.contains("BIC") {
                "DEUTDEFF".to_owned()
            } else {
                format!("First Bank {i}")
            };
            let (first, third) = if routing_first {
                (r, a.as_str())
            } else {
                (a.as_str(), r)
            };
            text.push_str(&format!(
                "{first:<w0$}{middle:<w1$}{third:<w2$}{:<w3$}{}",
                format!("{}.00", 100 + i),
                if crlf { "\r\n" } else { "\n" },
                w0 = widths[0],
                w1 = widths[1],
                w2 = widths[2],
                w3 = widths[3],
            ));
        }
        let formats = classify(text.as_bytes()).formats;
        assert_eq!(formats, vec![crate::Format::AccountTable], "{header}");
        let whole = whole_in_any_chunks(text.as_bytes(), header);
        assert_eq!(whole.get(Class::AbaRouting), 60, "{header}");
        assert_eq!(whole.get(Class::UsBankAccount), 60 * accounts, "{header}");
    }
}

/// A report's table under its title's lines (its name, its date, a blank line): the header
/// under them names the columns, as a first line's does. A letter's lines with commas in them
/// are no table, whatever its first line.
#[test]
fn a_header_under_a_title_names_its_columns() {
    let rows = "vendor_id,name,routing_number,account_number\n\
                1,Ann,021000021,12345678\n\
                2,Bob,011000015,87654321\n\
                3,Cy,026009593,55501234\n";
    for title in ["", "Vendor master report\nGenerated 2026-12-01\n\n"] {
        let found = classify((title.to_owned() + rows).as_bytes());
        assert_eq!(found.counts.get(Class::AbaRouting), 3, "{title:?}");
        assert_eq!(found.counts.get(Class::UsBankAccount), 3, "{title:?}");
        assert_eq!(
            found.formats,
            vec![crate::Format::AccountTable],
            "{title:?}"
        );
    }
    // Nine lines of title are too many: the header is not looked for so far down.
    let long = "Title\n".repeat(9) + rows;
    assert_eq!(count(&long, Class::AbaRouting), 0);
    // A letter: its second line names routing numbers, with commas, but the lines after it
    // are not its rows.
    let letter = "Account update\nRouting, as before, stays the same\nWe wrote, as promised, today\n021000021 is on file\n";
    assert_eq!(count(letter, Class::AbaRouting), 0);
    assert!(classify(letter.as_bytes()).formats.is_empty());
}

/// In a document's text (a web page's here) a table ends at the first paragraph after it: a
/// letter's labelled lines below it pair the account under its routing number's line, and the
/// table's header names no column of theirs.
#[test]
fn a_documents_table_ends_at_the_paragraph_after_it() {
    let page = "<!DOCTYPE html><html><body><h1>Vendors</h1><table>\
                <tr><th>name</th><th>routing_number</th><th>account_number</th></tr>\
                <tr><td>Ann, Ltd</td><td>021000021</td><td>12345678</td></tr>\
                <tr><td>Bob</td><td>011000015</td><td>87654321</td></tr></table>\
                <p>Wire instructions</p><p>ABA routing number: 026009593</p>\
                <p>Account number: 55501234</p><p>Reference 4111111111111111</p></body></html>";
    let found = classify(page.as_bytes());
    assert_eq!(found.counts.get(Class::AbaRouting), 3, "{found:?}");
    assert_eq!(found.counts.get(Class::UsBankAccount), 3, "{found:?}");
    // The reference is no card: nothing names one (the table's header no longer reaches).
    assert_eq!(found.counts.get(Class::CardNumber), 0, "{found:?}");
    assert_eq!(
        found.formats,
        vec![crate::Format::AccountTable, crate::Format::Html]
    );
    for size in [1, 7, 64] {
        assert_eq!(
            crate::scan::in_chunks(page.as_bytes(), size),
            found,
            "chunks of {size}"
        );
    }
}

/// A tab-, pipe- or semicolon-separated table's fields end at its own delimiter only: a comma
/// in a name, an address or a decimal amount (`1234,56`) separates nothing, and the columns
/// after it stay those its header names (such a table was no table before).
#[test]
fn a_tables_own_delimiter_ends_its_fields() {
    for d in ["\t", "|", ";"] {
        let rows = [
            [
                "name",
                "address",
                "amount",
                "routing_number",
                "account_number",
                "ssn",
            ],
            [
                "Doe, John",
                "1 Main St, Springfield",
                "1234,56",
                "021000021",
                "12345678",
                "234567890",
            ],
            [
                "Bob",
                "2 Elm St",
                "99,10",
                "011000015",
                "87654321",
                "345678901",
            ],
            [
                "Roe, Cy",
                "3 Oak Ave, Dover",
                "5,00",
                "026009593",
                "55501234",
                "456789012",
            ],
        ];
        let text: String = rows.iter().map(|r| r.join(d) + "\n").collect();
        let found = classify(text.as_bytes());
        assert_eq!(found.counts.get(Class::AbaRouting), 3, "{d:?}");
        assert_eq!(found.counts.get(Class::UsBankAccount), 3, "{d:?}");
        assert_eq!(found.counts.get(Class::UsSsn), 3, "{d:?}");
        assert_eq!(found.formats, vec![crate::Format::AccountTable], "{d:?}");
        for size in [1, 5, 64] {
            assert_eq!(
                crate::scan::in_chunks(text.as_bytes(), size),
                found,
                "{d:?} in {size}"
            );
        }
    }
    // A comma-separated table is as before: a semicolon in an unquoted field ends it.
    assert_eq!(
        crate::format::delimiter_of(b"a,b;c,d"),
        crate::account::Delimiter::only(b',')
    );
    assert_eq!(
        crate::format::delimiter_of(b"a\tb,c\td"),
        crate::account::Delimiter::only(b'\t')
    );
}

/// A fixed-width report as a core system prints one: its title and run date above the header,
/// a rule of dashes under the headings; the header names the columns as a first line's does.
#[test]
fn a_fixed_width_reports_header_under_its_title_names_its_columns() {
    let report = "FIRST EXAMPLE BANK                          PAGE    1\n\
                  ACH RETURNS REPORT             RUN 2026-12-05\n\
                  \n\
                  ROUTING NUMBER  ACCOUNT NUMBER    AMOUNT\n\
                  --------------  ----------------  ------\n\
                  021000021       0012345678        100.00\n\
                  011000015       98765432          250.00\n\
                  026009593       55501234          999.99\n";
    let found = classify(report.as_bytes());
    assert_eq!(found.counts.get(Class::AbaRouting), 3, "{found:?}");
    assert_eq!(found.counts.get(Class::UsBankAccount), 3, "{found:?}");
    assert_eq!(found.formats, vec![crate::Format::AccountTable]);
    for size in [1, 7, 64] {
        assert_eq!(
            crate::scan::in_chunks(report.as_bytes(), size),
            found,
            "chunks of {size}"
        );
    }
    // Without its header the numbers are bare: nothing names them.
    let bare: String = report
        .lines()
        .skip(5)
        .map(|l| l.to_owned() + "\n")
        .collect();
    assert_eq!(count(&bare, Class::AbaRouting), 0);
}

/// A quoted field typed on two lines (an address, a note: as Excel and CRM exports write
/// them) is one field of its record: the table is a table, and the columns after it stay in
/// step with the header, in any chunks.
#[test]
fn a_quoted_field_on_two_lines_is_one_field() {
    let text = "name,address,routing_number,account_number\n\
                Ann,\"1 Main St\nSpringfield, IL\",021000021,12345678\n\
                Bob,\"2 Elm St\r\nDover\",011000015,87654321\n\
                Cy,3 Oak Ave,026009593,55501234\n\
                Di,\"note: ann@bank.example\n\",021000021,23456789\n";
    let found = classify(text.as_bytes());
    assert_eq!(found.counts.get(Class::AbaRouting), 4, "{found:?}");
    assert_eq!(found.counts.get(Class::UsBankAccount), 4, "{found:?}");
    assert_eq!(found.counts.get(Class::Email), 1, "{found:?}");
    assert_eq!(found.formats, vec![crate::Format::AccountTable]);
    for size in [1, 3, 17, 64] {
        assert_eq!(
            crate::scan::in_chunks(text.as_bytes(), size),
            found,
            "chunks of {size}"
        );
    }
}

/// A title with a comma in it (`Vendors, December 2026`), or Excel's `sep=;` line, above a
/// table's header: the header under it names its columns.
#[test]
fn a_title_with_a_comma_above_a_header() {
    for (title, d) in [("Vendors, December 5, 2026\n", ","), ("sep=;\n", ";")] {
        let rows = ["vendor_id", "name", "routing_number", "account_number"].join(d)
            + "\n"
            + &["1", "Ann", "021000021", "12345678"].join(d)
            + "\n"
            + &["2", "Bob", "011000015", "87654321"].join(d)
            + "\n"
            + &["3", "Cy", "026009593", "55501234"].join(d)
            + "\n";
        let found = classify((title.to_owned() + &rows).as_bytes());
        assert_eq!(found.counts.get(Class::AbaRouting), 3, "{title:?}");
        assert_eq!(found.counts.get(Class::UsBankAccount), 3, "{title:?}");
    }
}

/// A web page's or a Word table's heading cell over two columns (`colspan`, `w:gridSpan`)
/// stands for both: the headings after it stay over their columns.
#[test]
fn a_heading_over_two_columns_keeps_the_next_over_theirs() {
    let mut page = String::from(
        "<!DOCTYPE html><html><body><table>\
         <tr><th>Vendor</th><th colspan=\"2\">Bank</th><th>Routing number</th><th>Account number</th></tr>",
    );
    for (routing, account) in [
        ("021000021", "12345678"),
        ("011000015", "87654321"),
        ("026009593", "55501234"),
    ] {
        page += &format!(
            "<tr><td>Ann</td><td>First Example Bank</td><td>Main St</td><td>{routing}</td><td>{account}</td></tr>"
        );
    }
    page += "</table></body></html>";
    let found = classify(page.as_bytes());
    assert_eq!(found.counts.get(Class::AbaRouting), 3, "{found:?}");
    assert_eq!(found.counts.get(Class::UsBankAccount), 3, "{found:?}");
}
