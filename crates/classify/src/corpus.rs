//! A labelled corpus for measuring the classifier: documents in the shapes banks exchange
//! (customer CSV extracts, ISO 20022 payment initiations, NACHA batches, SWIFT MT103s, BAI2
//! statements, free text), each with the counts it truly holds. Valid numbers are generated
//! with real structure and checksums; near misses differ by one check digit; random digit runs
//! and reference numbers stand beside them. Deterministic for a seed; no I/O.

use crate::scan::{Class, Counts};

/// A document and what it holds.
pub struct Document {
    pub name: String,
    pub bytes: Vec<u8>,
    pub truth: Counts,
}

/// splitmix64: small, deterministic, good enough for test data.
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Self {
        Self(seed)
    }

    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    pub fn below(&mut self, n: u64) -> u64 {
        self.next_u64() % n.max(1)
    }

    /// `n` random decimal digits.
    pub fn digits(&mut self, n: usize) -> String {
        (0..n)
            .map(|_| char::from(b'0' + self.below(10) as u8))
            .collect()
    }

    fn pick<'a>(&mut self, items: &[&'a str]) -> &'a str {
        items[self.below(items.len() as u64) as usize]
    }
}

fn luhn_digit(body: &str) -> char {
    for c in b'0'..=b'9' {
        let mut s = body.to_owned();
        s.push(char::from(c));
        if crate::validate::luhn(s.as_bytes()) {
            return char::from(c);
        }
    }
    '0'
}

/// Changes the last digit of `s` (a near miss).
pub(crate) fn spoil_last(s: &str) -> String {
    let mut b = s.as_bytes().to_vec();
    let last = b.len() - 1;
    b[last] = b'0' + (b[last] - b'0' + 1 + (b[0] % 8)) % 10;
    String::from_utf8(b).unwrap_or_default()
}

pub fn card(rng: &mut Rng) -> String {
    let (prefix, len) = match rng.below(4) {
        0 => ("4", 16),
        1 => (["51", "52", "53", "54", "55"][rng.below(5) as usize], 16),
        2 => (["34", "37"][rng.below(2) as usize], 15),
        _ => ("6011", 16),
    };
    let body = format!("{prefix}{}", rng.digits(len - prefix.len() - 1));
    let check = luhn_digit(&body);
    format!("{body}{check}")
}

/// `s` (ASCII) in groups of four characters joined by `sep`, the last group shorter.
pub(crate) fn in_fours(s: &str, sep: &str) -> String {
    s.as_bytes()
        .chunks(4)
        .map(|c| std::str::from_utf8(c).unwrap_or_default())
        .collect::<Vec<_>>()
        .join(sep)
}

fn grouped(card: &str) -> String {
    if card.len() == 15 {
        format!("{} {} {}", &card[..4], &card[4..10], &card[10..])
    } else {
        in_fours(card, " ")
    }
}

pub fn iban(rng: &mut Rng) -> String {
    let (country, bban) = match rng.below(4) {
        0 => ("DE", rng.digits(18)),
        1 => ("FR", format!("{}M{}", rng.digits(20), rng.digits(2))),
        2 => ("NL", format!("ABNA{}", rng.digits(10))),
        _ => ("GB", format!("NWBK{}", rng.digits(14))),
    };
    let mut rem = 0u32;
    for c in bban.bytes().chain(country.bytes()).chain(*b"00") {
        rem = if c.is_ascii_digit() {
            (rem * 10 + u32::from(c - b'0')) % 97
        } else {
            (rem * 100 + u32::from(c - b'A' + 10)) % 97
        };
    }
    format!("{country}{:02}{bban}", 98 - rem)
}

fn printed(iban: &str) -> String {
    in_fours(iban, " ")
}

/// A near-miss IBAN: one check digit off.
fn spoil_iban(iban: &str) -> String {
    let mut b = iban.as_bytes().to_vec();
    b[3] = b'0' + (b[3] - b'0' + 3) % 10;
    String::from_utf8(b).unwrap_or_default()
}

pub fn aba(rng: &mut Rng) -> String {
    loop {
        let prefix = [
            "01", "02", "03", "04", "05", "06", "07", "08", "09", "11", "12", "21", "26", "31",
        ][rng.below(14) as usize];
        let body = format!("{prefix}{}", rng.digits(6));
        let d: Vec<u32> = body.bytes().map(|c| u32::from(c - b'0')).collect();
        let partial = 3 * (d[0] + d[3] + d[6]) + 7 * (d[1] + d[4] + d[7]) + (d[2] + d[5]);
        let check = (10 - partial % 10) % 10;
        let s = format!("{body}{check}");
        if crate::validate::aba_routing(s.as_bytes()) {
            return s;
        }
    }
}

pub fn ssn(rng: &mut Rng) -> String {
    let area = 1 + rng.below(665);
    let group = 1 + rng.below(99);
    let serial = 1 + rng.below(9999);
    format!("{area:03}-{group:02}-{serial:04}")
}

pub fn nino(rng: &mut Rng) -> String {
    const FIRST: &[u8] = b"ABCEGHJKLMNPRSTWXYZ";
    const SECOND: &[u8] = b"ABCEGHJKLMNPRSTWXYZ";
    loop {
        let a = FIRST[rng.below(FIRST.len() as u64) as usize];
        let b = SECOND[rng.below(SECOND.len() as u64) as usize];
        let s = format!(
            "{}{}{}{}",
            char::from(a),
            char::from(b),
            rng.digits(6),
            char::from(b'A' + rng.below(4) as u8)
        );
        if crate::validate::uk_nino(s.as_bytes()) {
            return s;
        }
    }
}

pub fn bic(rng: &mut Rng) -> String {
    let bank = rng.pick(&[
        "DEUT", "BNPA", "NWBK", "ABNA", "CHAS", "BARC", "COBA", "INGB",
    ]);
    let country = rng.pick(&["DE", "FR", "GB", "NL", "US", "BE", "CH"]);
    let loc = rng.pick(&["FF", "PP", "2L", "2A", "33", "MM"]);
    if rng.below(2) == 0 {
        format!("{bank}{country}{loc}")
    } else {
        format!("{bank}{country}{loc}XXX")
    }
}

const NAMES: &[&str] = &[
    "Anna Schmidt",
    "John Miller",
    "Marie Dubois",
    "Jan de Vries",
    "Oliver Smith",
    "Sofia Rossi",
    "Lucas Martin",
    "Emma Johnson",
    "Noah Brown",
    "Mia Fischer",
    "Liam Wilson",
    "Ella Taylor",
];

fn name(rng: &mut Rng) -> &'static str {
    NAMES[rng.below(NAMES.len() as u64) as usize]
}

fn email_of(rng: &mut Rng, name: &str) -> String {
    let domain = rng.pick(&[
        "example.com",
        "mail.example.org",
        "bank.example",
        "corp.example.co.uk",
    ]);
    format!(
        "{}.{}@{domain}",
        &name.split(' ').next().unwrap_or("a").to_lowercase(),
        rng.below(1000)
    )
}

/// The corpus: about `target` bytes of documents of every kind.
pub fn generate(seed: u64, target: usize) -> Vec<Document> {
    let mut rng = Rng::new(seed);
    documents(target, |n| match n % 13 {
        0 => customer_csv(&mut rng, n, false),
        1 => customer_csv(&mut rng, n, true),
        2 => pain001(&mut rng, n),
        3 => nacha(&mut rng, n),
        4 => mt103(&mut rng, n),
        5 => bai2(&mut rng, n),
        6 => letter(&mut rng, n),
        7 => references(&mut rng, n),
        8 => uk_payroll(&mut rng, n),
        9 => remittance(&mut rng, n),
        10 => vendors(&mut rng, n),
        11 => fedwire(&mut rng, n),
        _ => mt940(&mut rng, n),
    })
}

/// Documents made by `next(n)` for n = 0, 1, … until they hold `target` bytes.
pub(crate) fn documents(target: usize, mut next: impl FnMut(usize) -> Document) -> Vec<Document> {
    let mut docs: Vec<Document> = Vec::new();
    let mut size = 0;
    while size < target {
        let doc = next(docs.len());
        size += doc.bytes.len();
        docs.push(doc);
    }
    docs
}

/// A customer extract; with `near_misses`, every number has a wrong check digit.
fn customer_csv(rng: &mut Rng, n: usize, near_misses: bool) -> Document {
    let mut t = Counts::default();
    let mut s = String::from("customer_id,name,email,iban,card_number,ssn,phone,balance\n");
    for _ in 0..200 {
        let nm = name(rng);
        let (mut iban, mut card, mut ssn) = (iban(rng), card(rng), ssn(rng));
        if near_misses {
            iban = spoil_iban(&iban);
            card = spoil_last(&card);
            ssn = format!("{}{}", rng.pick(&["666", "900", "000"]), &ssn[3..]);
        } else {
            t.add(Class::Iban, 1);
            t.add(Class::CardNumber, 1);
            t.add(Class::UsSsn, 1);
        }
        t.add(Class::Email, 1);
        s.push_str(&format!(
            "{},{nm},{},{iban},{card},{ssn},+1 {} {},{}.{:02}\n",
            rng.digits(10),
            email_of(rng, nm),
            rng.digits(3),
            rng.digits(7),
            rng.below(100_000),
            rng.below(100)
        ));
    }
    doc(n, "customers.csv", s, t)
}

fn pain001(rng: &mut Rng, n: usize) -> Document {
    let mut t = Counts::default();
    let mut s = String::from(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<Document xmlns=\"urn:iso:std:iso:20022:tech:xsd:pain.001.001.09\">\n<CstmrCdtTrfInitn>\n<GrpHdr><MsgId>MSG",
    );
    s.push_str(&rng.digits(12));
    s.push_str("</MsgId><NbOfTxs>100</NbOfTxs></GrpHdr>\n<PmtInf><DbtrAcct><Id><IBAN>");
    s.push_str(&iban(rng));
    t.add(Class::Iban, 1);
    s.push_str("</IBAN></Id></DbtrAcct><DbtrAgt><FinInstnId><BICFI>");
    s.push_str(&bic(rng));
    t.add(Class::SwiftBic, 1);
    s.push_str("</BICFI></FinInstnId></DbtrAgt>\n");
    for _ in 0..100 {
        s.push_str(&format!(
            "<CdtTrfTxInf><PmtId><EndToEndId>E2E{}</EndToEndId></PmtId><Amt><InstdAmt Ccy=\"EUR\">{}.{:02}</InstdAmt></Amt>\
             <CdtrAgt><FinInstnId><BICFI>{}</BICFI></FinInstnId></CdtrAgt><Cdtr><Nm>{}</Nm></Cdtr>\
             <CdtrAcct><Id><IBAN>{}</IBAN></Id></CdtrAcct><RmtInf><Ustrd>INVOICE {}</Ustrd></RmtInf></CdtTrfTxInf>\n",
            rng.digits(16),
            rng.below(1_000_000),
            rng.below(100),
            bic(rng),
            name(rng),
            iban(rng),
            rng.digits(9),
        ));
        t.add(Class::SwiftBic, 1);
        t.add(Class::Iban, 1);
    }
    s.push_str("</PmtInf>\n</CstmrCdtTrfInitn>\n</Document>\n");
    doc(n, "pain001.xml", s, t)
}

fn nacha(rng: &mut Rng, n: usize) -> Document {
    let mut t = Counts::default();
    let pad = |mut l: String| {
        l.truncate(94);
        while l.len() < 94 {
            l.push(' ');
        }
        l.push('\n');
        l
    };
    let mut s = pad(format!(
        "101 {}{}2612030200A094101{:<23}{:<23}",
        aba(rng),
        rng.digits(10),
        "FED RESERVE BANK",
        "ACME CORP"
    ));
    s.push_str(&pad(format!(
        "5220ACME CORP                           {}PPDPAYROLL         261203   1{}0000001",
        rng.digits(10),
        &aba(rng)[..8]
    )));
    for i in 0..200 {
        let rdfi = aba(rng);
        t.add(Class::AbaRouting, 1);
        t.add(Class::UsBankAccount, 1);
        s.push_str(&pad(format!(
            "622{rdfi}{:<17}{:010}{:<15}{:<22}  0{}{:07}",
            rng.digits(12),
            rng.below(10_000_000),
            rng.digits(9),
            name(rng),
            &aba(rng)[..8],
            i
        )));
    }
    s.push_str(&pad(format!("8220000200{}", rng.digits(40))));
    s.push_str(&pad(format!("9000001000001000002000{}", rng.digits(30))));
    doc(n, "payroll.ach", s, t)
}

/// SWIFT MT103 customer transfers: in euros between IBANs, and every fourth in dollars between
/// US accounts whose banks are named by the Fedwire code and their ABA routing numbers
/// (`:57D://FW021000021`).
fn mt103(rng: &mut Rng, n: usize) -> Document {
    let mut t = Counts::default();
    let mut s = String::new();
    for i in 0..40 {
        if i % 4 == 3 {
            let (a, b) = (bic(rng), bic(rng));
            s.push_str(&format!(
                "{{1:F01{}0000000000}}{{2:I103{}N}}{{4:\n:20:REF{}\n:23B:CRED\n:32A:261203USD{},{:02}\n\
                 :50K:/{}\n{}\n:52D://FW{}\nJPMORGAN CHASE BANK\n:57D://FW{}\nBANK OF AMERICA NA\n\
                 :59:/{}\n{}\n:70:INVOICE {}\n:71A:SHA\n-}}\n",
                &format!("{a}XXXXXXXXXXXX")[..12],
                &format!("{b}XXXXXXXXXXXX")[..12],
                rng.digits(10),
                rng.below(100_000),
                rng.below(100),
                account_number(rng),
                name(rng),
                aba(rng),
                aba(rng),
                account_number(rng),
                name(rng),
                rng.digits(8),
            ));
            t.add(Class::AbaRouting, 2);
            t.add(Class::UsBankAccount, 2);
            continue;
        }
        let (a, b) = (bic(rng), bic(rng));
        s.push_str(&format!(
            "{{1:F01{}0000000000}}{{2:I103{}N}}{{4:\n:20:REF{}\n:23B:CRED\n:32A:261203EUR{},{:02}\n\
             :50K:/{}\n{}\n:57A:{}\n:59:/{}\n{}\n:70:INVOICE {}\n:71A:SHA\n-}}\n",
            &format!("{a}XXXXXXXXXXXX")[..12],
            &format!("{b}XXXXXXXXXXXX")[..12],
            rng.digits(10),
            rng.below(100_000),
            rng.below(100),
            iban(rng),
            name(rng),
            bic(rng),
            iban(rng),
            name(rng),
            rng.digits(8),
        ));
        t.add(Class::Iban, 2);
        t.add(Class::SwiftBic, 1);
    }
    doc(n, "mt103.fin", s, t)
}

/// A BAI2 statement: the reporting bank's routing number as the file's sender and the group's
/// originator, and its customers' accounts; in every third file the originator is a near miss
/// (a wrong check digit), and its accounts do not count.
fn bai2(rng: &mut Rng, n: usize) -> Document {
    let mut t = Counts::default();
    let bank = aba(rng);
    let near_miss = n.is_multiple_of(3);
    let originator = if near_miss {
        spoil_last(&bank)
    } else {
        t.add(Class::AbaRouting, 1);
        bank.clone()
    };
    t.add(Class::AbaRouting, 1);
    let mut s = format!(
        "01,{bank},{},261203,0200,1,,,2/\n02,{},{originator},1,261202,,USD,2/\n",
        rng.digits(6),
        rng.digits(6),
    );
    for _ in 0..50 {
        s.push_str(&format!(
            "03,{},USD,010,{},,,015,{},,/\n16,165,{},Z,{},{}/\n49,{},2/\n",
            rng.digits(10),
            rng.below(10_000_000),
            rng.below(10_000_000),
            rng.below(100_000),
            rng.digits(10),
            rng.digits(8),
            rng.below(10_000_000)
        ));
        if !near_miss {
            t.add(Class::UsBankAccount, 1);
        }
    }
    s.push_str("98,0,1,2/\n99,0,1,3/\n");
    doc(n, "statement.bai", s, t)
}

/// Free text: card numbers printed in groups, IBANs printed in groups, an e-mail signature,
/// and numbers that are none of these (amounts, dates, phone numbers, order numbers).
fn letter(rng: &mut Rng, n: usize) -> Document {
    let mut t = Counts::default();
    let mut s = String::new();
    for _ in 0..30 {
        let nm = name(rng);
        let c = card(rng);
        let i = iban(rng);
        let e = email_of(rng, nm);
        s.push_str(&format!(
            "Dear {nm},\nwe charged {}.{:02} EUR to your card {} on 2026-11-{:02} (order {}).\n\
             Please transfer the balance to {} quoting reference {}.\n\
             Questions: call +44 20 {} {} or write to {e}.\n\n",
            rng.below(5000),
            rng.below(100),
            grouped(&c),
            1 + rng.below(28),
            rng.digits(16),
            printed(&i),
            rng.digits(12),
            rng.digits(4),
            rng.digits(4),
        ));
        t.add(Class::CardNumber, 1);
        t.add(Class::Iban, 1);
        t.add(Class::Email, 1);
    }
    doc(n, "letters.txt", s, t)
}

/// Random digit runs and near misses in a file with no sensitive column: nothing to count.
fn references(rng: &mut Rng, n: usize) -> Document {
    let mut s = String::from("reference,order,amount,batch,tracking\n");
    for _ in 0..300 {
        let len = 5 + rng.below(20) as usize;
        let near = spoil_last(&card(rng));
        s.push_str(&format!(
            "{},{},{}.{:02},{},{}\n",
            rng.digits(len),
            near,
            rng.below(100_000),
            rng.below(100),
            rng.digits(9),
            rng.digits(16),
        ));
    }
    doc(n, "references.csv", s, Counts::default())
}

fn uk_payroll(rng: &mut Rng, n: usize) -> Document {
    let mut t = Counts::default();
    let mut s = String::from("employee;name;ni_number;sort_code;account;bic;routing_number\n");
    for i in 0..200 {
        let ni = nino(rng);
        let ni = if i % 2 == 0 {
            ni
        } else {
            format!(
                "{} {} {} {} {}",
                &ni[..2],
                &ni[2..4],
                &ni[4..6],
                &ni[6..8],
                &ni[8..]
            )
        };
        s.push_str(&format!(
            "{};{};{ni};{}-{}-{};{};{};{}\n",
            rng.digits(6),
            name(rng),
            rng.digits(2),
            rng.digits(2),
            rng.digits(2),
            rng.digits(8),
            bic(rng),
            aba(rng),
        ));
        t.add(Class::UkNino, 1);
        t.add(Class::SwiftBic, 1);
        t.add(Class::AbaRouting, 1);
    }
    doc(n, "payroll.csv", s, t)
}

/// A US account number (4 to 17 digits, not all zeros).
fn account_number(rng: &mut Rng) -> String {
    let len = 4 + rng.below(14) as usize;
    let mut a = rng.digits(len);
    if a.bytes().all(|c| c == b'0') {
        a.replace_range(..1, "1");
    }
    a
}

/// Remittance instructions: account numbers after and before their routing numbers, on their
/// line or in wire instructions' labelled lines, and lines where the number beside a routing
/// number is not an account, or the routing number is a near miss.
fn remittance(rng: &mut Rng, n: usize) -> Document {
    let mut t = Counts::default();
    let mut s = String::from("Remittance instructions on file\n\n");
    for i in 0..120 {
        let (nm, routing, acct) = (name(rng), aba(rng), account_number(rng));
        let line = match i % 9 {
            // Wire instructions: labelled lines, the account's below its routing number's with
            // other lines between, or above it; a blank line or a second block between them.
            6 => {
                t.add(Class::AbaRouting, 1);
                t.add(Class::UsBankAccount, 1);
                format!(
                    "Wire instructions for {nm}:\nBank: First Example Bank, N.A.\nABA Routing Number: {routing}\nAccount Name: {nm}\nAccount Number: {acct}\nReference: invoice {}",
                    rng.digits(6)
                )
            }
            7 => {
                t.add(Class::AbaRouting, 1);
                t.add(Class::UsBankAccount, 1);
                format!("Account #: {acct}\r\nRouting #: {routing}\r")
            }
            8 => {
                t.add(Class::AbaRouting, 1);
                if rng.below(2) == 0 {
                    format!("Routing number: {routing}\n\nAccount number: {acct}")
                } else {
                    format!(
                        "Account number: {acct}\nRouting number: {}\nRouting number: {routing}",
                        spoil_last(&aba(rng))
                    )
                }
            }
            0 => {
                t.add(Class::AbaRouting, 1);
                t.add(Class::UsBankAccount, 1);
                format!("Vendor {nm}: pay by ACH to routing number {routing} account {acct}.")
            }
            1 => {
                t.add(Class::AbaRouting, 1);
                t.add(Class::UsBankAccount, 1);
                format!("Beneficiary account no. {acct}, ABA {routing}, {nm}.")
            }
            2 => {
                t.add(Class::AbaRouting, 1);
                format!(
                    "Routing {routing} amount {}.{:02} invoice {}",
                    rng.below(100_000),
                    rng.below(100),
                    rng.digits(8)
                )
            }
            3 => format!(
                "ABA {} account {acct} (check digit wrong)",
                spoil_last(&routing)
            ),
            4 => format!("Account {acct} on file for {nm}, no routing given."),
            _ => {
                t.add(Class::AbaRouting, 1);
                format!("routing: {routing}, reference {}", rng.digits(10))
            }
        };
        s.push_str(&line);
        s.push('\n');
    }
    doc(n, "remittance.txt", s, t)
}

/// A vendor master file: routing and account number columns named by the header, in one of
/// three layouts: side by side with a numeric column after the account that is not one; every
/// field quoted, the bank's name (with a comma in it) and the account's type between them, CRLF;
/// the account first, the vendor's name between, and a BIC column after the routing number
/// with an account number of a foreign bank beside it that is not one.
fn vendors(rng: &mut Rng, n: usize) -> Document {
    let mut t = Counts::default();
    let layout = rng.below(3);
    let mut s = String::from(match layout {
        0 => "vendor_id,name,routing_number,account_number,terms_days\n",
        1 => {
            "\"Vendor ID\",\"Vendor Name\",\"ABA Routing\",\"Bank Name\",\"Account Type\",\"Bank Account Number\"\r\n"
        }
        _ => "vendor_id;account_number;name;routing_number;swift_bic;intermediary_account\n",
    });
    for _ in 0..200 {
        let (id, nm, routing, acct) = (rng.digits(6), name(rng), aba(rng), account_number(rng));
        let row = match layout {
            0 => format!("{id},{nm},{routing},{acct},{}\n", rng.below(90)),
            1 => format!(
                "\"{id}\",\"{nm}\",\"{routing}\",\"First Example Bank, N.A.\",\"{}\",\"{acct}\"\r\n",
                ["checking", "savings"][rng.below(2) as usize]
            ),
            _ => {
                t.add(Class::SwiftBic, 1);
                format!(
                    "{id};{acct};{nm};{routing};{};{}\n",
                    bic(rng),
                    rng.digits(10)
                )
            }
        };
        s.push_str(&row);
        t.add(Class::AbaRouting, 1);
        t.add(Class::UsBankAccount, 1);
    }
    doc(n, "vendors.csv", s, t)
}

/// A Fedwire customer transfer batch in ISO 20022 (pacs.008), laid out with indentation: each
/// agent named by its ABA routing number under the `USABA` clearing system, each account by its
/// number; every fifth creditor is at a Canadian bank (`CACPA`: its member id is not an ABA
/// routing number, its account not a US account).
fn fedwire(rng: &mut Rng, n: usize) -> Document {
    let mut t = Counts::default();
    let mut s = String::from(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n\
         <Document xmlns=\"urn:iso:std:iso:20022:tech:xsd:pacs.008.001.08\">\n\
         \x20 <FIToFICstmrCdtTrf>\n    <GrpHdr>\n      <MsgId>",
    );
    s.push_str(&rng.digits(14));
    s.push_str("</MsgId>\n      <NbOfTxs>40</NbOfTxs>\n    </GrpHdr>\n");
    let agent = |role: &str, system: &str, id: &str| {
        format!(
            "      <{role}Agt>\n        <FinInstnId>\n          <ClrSysMmbId>\n            \
             <ClrSysId>\n              <Cd>{system}</Cd>\n            </ClrSysId>\n            \
             <MmbId>{id}</MmbId>\n          </ClrSysMmbId>\n        </FinInstnId>\n      \
             </{role}Agt>\n"
        )
    };
    let account = |role: &str, id: &str| {
        format!(
            "      <{role}Acct>\n        <Id>\n          <Othr>\n            <Id>{id}</Id>\n          \
             </Othr>\n        </Id>\n      </{role}Acct>\n"
        )
    };
    for i in 0..40 {
        let canadian = i % 5 == 4;
        s.push_str(&format!(
            "    <CdtTrfTxInf>\n      <PmtId>\n        <EndToEndId>E2E{}</EndToEndId>\n      \
             </PmtId>\n      <IntrBkSttlmAmt Ccy=\"USD\">{}.{:02}</IntrBkSttlmAmt>\n      \
             <IntrBkSttlmDt>2026-12-03</IntrBkSttlmDt>\n      <Dbtr>\n        <Nm>{}</Nm>\n        \
             <PstlAdr>\n          <BldgNb>{}</BldgNb>\n        </PstlAdr>\n      </Dbtr>\n",
            rng.digits(12),
            rng.below(1_000_000),
            rng.below(100),
            name(rng),
            1 + rng.below(999),
        ));
        s.push_str(&account("Dbtr", &account_number(rng)));
        s.push_str(&agent("Dbtr", "USABA", &aba(rng)));
        t.add(Class::AbaRouting, 1);
        t.add(Class::UsBankAccount, 1);
        if canadian {
            s.push_str(&agent("Cdtr", "CACPA", &format!("0{}", rng.digits(8))));
        } else {
            s.push_str(&agent("Cdtr", "USABA", &aba(rng)));
            t.add(Class::AbaRouting, 1);
            t.add(Class::UsBankAccount, 1);
        }
        s.push_str(&format!(
            "      <Cdtr>\n        <Nm>{}</Nm>\n      </Cdtr>\n",
            name(rng)
        ));
        s.push_str(&account("Cdtr", &account_number(rng)));
        s.push_str("    </CdtTrfTxInf>\n");
    }
    s.push_str("  </FIToFICstmrCdtTrf>\n</Document>\n");
    doc(n, "fedwire.xml", s, t)
}

/// SWIFT MT940 statements of US accounts, each identified as routing number, `/`, account
/// number (`:25:021000021/0012345678`); every third by its account number alone (no routing
/// number beside it: nothing counts), with entries whose references hold long numbers.
fn mt940(rng: &mut Rng, n: usize) -> Document {
    let mut t = Counts::default();
    let mut s = String::new();
    for i in 0..30 {
        let account = if i % 3 == 2 {
            account_number(rng)
        } else {
            t.add(Class::AbaRouting, 1);
            t.add(Class::UsBankAccount, 1);
            format!("{}/{}", aba(rng), account_number(rng))
        };
        s.push_str(&format!(
            "{{1:F01{}0000000000}}{{2:O940{}N}}{{4:\n:20:STMT{}\n:25:{account}\n\
             :28C:{}/1\n:60F:C261202USD{},{:02}\n",
            &format!("{}XXXXXXXXXXXX", bic(rng))[..12],
            &format!("{}XXXXXXXXXXXX", bic(rng))[..12],
            rng.digits(8),
            1 + rng.below(300),
            rng.below(1_000_000),
            rng.below(100),
        ));
        for _ in 0..4 {
            s.push_str(&format!(
                ":61:2612031203D{},{:02}NTRF{}//{}\n:86:PAYMENT TO {}\n",
                rng.below(100_000),
                rng.below(100),
                rng.digits(12),
                rng.digits(16),
                name(rng),
            ));
        }
        s.push_str(&format!(
            ":62F:C261203USD{},{:02}\n-}}\n",
            rng.below(1_000_000),
            rng.below(100)
        ));
    }
    doc(n, "statement.fin", s, t)
}

/// `text` in UTF-16 with its byte order mark, little- or big-endian (as spreadsheets and
/// Windows tools export "Unicode text").
pub fn utf16(text: &str, big_endian: bool) -> Vec<u8> {
    let bom: [u8; 2] = if big_endian {
        [0xFE, 0xFF]
    } else {
        [0xFF, 0xFE]
    };
    let units = text.encode_utf16().flat_map(move |u| {
        if big_endian {
            u.to_be_bytes()
        } else {
            u.to_le_bytes()
        }
    });
    bom.into_iter().chain(units).collect()
}

pub(crate) fn doc(n: usize, name: &str, s: String, truth: Counts) -> Document {
    Document {
        name: format!("{n:05}-{name}"),
        bytes: s.into_bytes(),
        truth,
    }
}
