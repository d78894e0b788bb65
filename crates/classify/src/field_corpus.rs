//! A second labelled corpus, in shapes the classifier's rules were not written for: a payments
//! API's JSON log, a card processor's fixed-width settlement file, support tickets typed by
//! people (numbers with dashes, masked card numbers, IBANs in lower case, a "social" spelled out),
//! an export with quoted fields and carriage returns, a payroll system's payee export in XML,
//! a card terminal's debug log with magnetic stripe data, a spreadsheet's "Unicode text"
//! export (UTF-16 with names in other scripts), and an XLSX workbook laid out as Excel writes
//! one (its text in the shared strings after the sheets), a core system's extract delimited by
//! pipes, tabs or semicolons with commas in its fields, or in fixed-width columns, a database
//! table written out without a header. Its truth is what a person reading the
//! document would count, not what the scanner's rules reach, so it measures the misses and false
//! alarms the first corpus cannot show. Deterministic for a seed; no I/O.

use crate::corpus::{
    Document, Rng, aba, bic, card, doc, documents, iban, in_fours, spoil_last, ssn, utf16,
};
use crate::scan::{Class, Counts};

/// About `target` bytes of field-shaped documents.
pub fn generate(seed: u64, target: usize) -> Vec<Document> {
    let mut rng = Rng::new(seed ^ 0x5eed_f1e1d);
    documents(target, |n| match n % 12 {
        0 => api_log(&mut rng, n),
        1 => settlement(&mut rng, n),
        2 => tickets(&mut rng, n),
        3 => quoted_export(&mut rng, n),
        4 => short_list(&mut rng, n),
        5 => payees_xml(&mut rng, n),
        6 => terminal_log(&mut rng, n),
        7 => unicode_export(&mut rng, n),
        8 => workbook(&mut rng, n),
        9 => camt053(&mut rng, n),
        10 => headerless_export(&mut rng, n),
        _ => delimited_extract(&mut rng, n),
    })
}

/// A payroll system's payees exported as XML, laid out with indentation: each payee's bank
/// account as elements named for what they hold (in every other one `<Routing>` and `<Number>`
/// inside `<BankAccount>`), the routing number first or the account number first; some payees
/// paid by check, with a phone number and a postal code.
fn payees_xml(rng: &mut Rng, n: usize) -> Document {
    let mut t = Counts::default();
    let mut s = String::from("<?xml version=\"1.0\"?>\n<Payees>\n");
    // In every other one the bank account's elements have generic names (`<Routing>`,
    // `<Number>`): the account is named by the element around them.
    let generic = (n / 12) % 2 == 1;
    for i in 0..120 {
        s.push_str(&format!(
            "  <Payee id=\"{}\">\n    <Name>Employee {i}</Name>\n",
            rng.digits(6)
        ));
        let len = 6 + rng.below(10) as usize;
        let account = rng.digits(len);
        match i % 3 {
            0 | 1 => {
                let routing = aba(rng);
                s.push_str(&if i % 3 == 0 && generic {
                    format!(
                        "    <BankAccount>\n      <Routing>{routing}</Routing>\n      <Number>{account}</Number>\n      <Type>checking</Type>\n    </BankAccount>\n"
                    )
                } else if i % 3 == 0 {
                    format!(
                        "    <BankAccount>\n      <RoutingNumber>{routing}</RoutingNumber>\n      <AccountNumber>{account}</AccountNumber>\n      <Type>checking</Type>\n    </BankAccount>\n"
                    )
                } else {
                    format!(
                        "    <DirectDeposit accountNumber=\"{account}\" routingNumber=\"{routing}\"/>\n"
                    )
                });
                t.add(Class::AbaRouting, 1);
                t.add(Class::UsBankAccount, 1);
            }
            _ => s.push_str(&format!(
                "    <PayBy>check</PayBy>\n    <Phone>555{}</Phone>\n    <PostalCode>{}</PostalCode>\n",
                rng.digits(7),
                rng.digits(5)
            )),
        }
        s.push_str("  </Payee>\n");
    }
    s.push_str("</Payees>\n");
    doc(n, "payees.xml", s, t)
}

/// A card terminal's debug log, as a breached point-of-sale system leaves them: swipes with
/// the magnetic stripe's tracks (track 1 `%B…^NAME^…?`, track 2 `;…=…?`), chip reads that
/// print only a masked card number, and the terminal's own counters.
fn terminal_log(rng: &mut Rng, n: usize) -> Document {
    let mut t = Counts::default();
    let mut s = String::new();
    for i in 0..200 {
        let time = format!(
            "2026-11-{:02}T{:02}:{:02}:{:02}Z TERM{:04} stan={}",
            1 + rng.below(28),
            rng.below(24),
            rng.below(60),
            rng.below(60),
            rng.below(10_000),
            rng.digits(6)
        );
        let c = card(rng);
        let expiry = format!("{:02}{:02}", 27 + rng.below(4), 1 + rng.below(12));
        let line = match i % 4 {
            0 => {
                t.add(Class::CardNumber, 2);
                format!(
                    "{time} SWIPE t1=%B{c}^DOE/JANE^{expiry}1010000000000000000? t2=;{c}={expiry}101000000000? amount={}.{:02}",
                    rng.below(500),
                    rng.below(100)
                )
            }
            1 => {
                t.add(Class::CardNumber, 1);
                format!("{time} SWIPE t2=;{c}={expiry}1010000{}?", rng.digits(5))
            }
            2 => format!(
                "{time} CHIP pan={}{}{} aid=A0000000031010 arqc={}",
                &c[..6],
                "*".repeat(c.len() - 10),
                &c[c.len() - 4..],
                rng.digits(16)
            ),
            _ => format!(
                "{time} HEARTBEAT batch={} txns={} uptime={}",
                rng.digits(6),
                rng.below(500),
                rng.digits(9)
            ),
        };
        s.push_str(&line);
        s.push('\n');
    }
    doc(n, "terminal.log", s, t)
}

/// A spreadsheet's "Unicode text" export: tab-separated, CRLF, in UTF-16 little-endian with
/// its byte order mark (every other one without, as SQL Server's `bcp -w` writes it),
/// customers' names in Latin, Greek and Japanese script beside their card
/// numbers, IBANs and e-mail addresses.
fn unicode_export(rng: &mut Rng, n: usize) -> Document {
    let mut t = Counts::default();
    let mut s = String::from("Name\tCard number\tIBAN\tE-mail\tBalance\r\n");
    let names = ["José Müller", "Ελένη Παππά", "山田 太郎", "Zoë O'Brien"];
    for i in 0..150 {
        s.push_str(&format!(
            "{}\t{}\t{}\tclient{i}@bank-customer.example.com\t{}.{:02} €\r\n",
            names[rng.below(4) as usize],
            card(rng),
            iban(rng),
            rng.below(100_000),
            rng.below(100)
        ));
        t.add(Class::CardNumber, 1);
        t.add(Class::Iban, 1);
        t.add(Class::Email, 1);
    }
    // Every other one without a byte order mark, as SQL Server's `bcp -w` writes it.
    let marked = n % 20 == 7;
    let bytes = utf16(&s, false);
    let name = if marked {
        "unicode-export.txt"
    } else {
        "bcp-export.txt"
    };
    let mut d = doc(n, name, s, t);
    d.bytes = if marked { bytes } else { bytes[2..].to_vec() };
    d
}
/// A customer workbook as Excel writes one: a title block, a heading row, then customers with
/// their SSN (a number: a leading zero is lost), routing and account numbers and card number
/// (text, in the shared strings: a card used by two customers is one string), e-mail address
/// and balance; a tenth of the rows near misses (an SSN of area 666, a routing number and a
/// card number whose check digit fails). A second sheet is a wire form of labels and values
/// (a routing number and its account on the next row).
fn workbook(rng: &mut Rng, n: usize) -> Document {
    let mut t = Counts::default();
    let mut shared: Vec<String> = Vec::new();
    // A string's index in the shared strings (each string once, in the order first met).
    let mut index = |s: String| match shared.iter().position(|x| *x == s) {
        Some(i) => i,
        None => {
            shared.push(s);
            shared.len() - 1
        }
    };
    let mut rows: Vec<Vec<String>> = Vec::new();
    let text = |i: usize| format!(r#" t="s"><v>{i}</v>"#);
    let number = |v: &str| format!("><v>{v}</v>");
    rows.push(vec![text(index("Customer extract".into()))]);
    rows.push(vec![
        text(index("Branch".into())),
        text(index("0042".into())),
    ]);
    let headings = [
        "Customer",
        "SSN",
        "Routing Number",
        "Account Number",
        "Card Number",
        "E-mail",
        "Balance",
    ];
    rows.push(headings.iter().map(|h| text(index((*h).into()))).collect());
    let mut cards: Vec<String> = Vec::new();
    for i in 0..150 {
        let near = i % 10 == 9;
        let ssn = ssn(rng).replace('-', "");
        let ssn = if near {
            format!("666{}", &ssn[3..])
        } else {
            ssn
        };
        let routing = if near {
            spoil_last(&aba(rng))
        } else {
            aba(rng)
        };
        let digits = 8 + rng.below(5) as usize;
        let account = rng.digits(digits);
        // Some customers share a card (a family's); a near miss's is spoiled.
        let card = match cards.last() {
            Some(c) if i % 7 == 3 => c.clone(),
            _ => card(rng),
        };
        cards.push(card.clone());
        let card = if near { spoil_last(&card) } else { card };
        if !near {
            t.add(Class::UsSsn, 1);
            t.add(Class::AbaRouting, 1);
            t.add(Class::UsBankAccount, 1);
            t.add(Class::CardNumber, 1);
        }
        t.add(Class::Email, 1);
        rows.push(vec![
            text(index(format!("Customer {i}"))),
            number(ssn.trim_start_matches('0')),
            text(index(routing)),
            text(index(account)),
            text(index(card)),
            text(index(format!("customer{i}@mail.example.com"))),
            number(&format!("{}.{:02}", rng.below(100_000), rng.below(100))),
        ]);
    }
    let form = [
        ("Beneficiary", "ACME Corp".to_owned()),
        ("ABA Routing", aba(rng)),
        ("Account No.", rng.digits(10)),
        ("Reference", rng.digits(9)),
    ];
    t.add(Class::AbaRouting, 1);
    t.add(Class::UsBankAccount, 1);
    let form: Vec<Vec<String>> = form
        .into_iter()
        .map(|(label, value)| vec![text(index(label.into())), text(index(value))])
        .collect();
    let sheet = |rows: &[Vec<String>]| {
        let mut x = String::from(
            r#"<?xml version="1.0" encoding="UTF-8" standalone="yes"?><worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"><sheetData>"#,
        );
        for (r, cells) in rows.iter().enumerate() {
            x.push_str(&format!(r#"<row r="{}">"#, r + 1));
            for (c, cell) in cells.iter().enumerate() {
                x.push_str(&format!(
                    r#"<c r="{}{}"{cell}</c>"#,
                    (b'A' + c as u8) as char,
                    r + 1
                ));
            }
            x.push_str("</row>");
        }
        x.push_str("</sheetData></worksheet>");
        x
    };
    let sheets = [sheet(&rows), sheet(&form)];
    let strings: String = shared
        .iter()
        .map(|s| format!("<si><t>{s}</t></si>"))
        .collect();
    let strings = format!(
        r#"<?xml version="1.0" encoding="UTF-8" standalone="yes"?><sst xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" count="{0}" uniqueCount="{0}">{strings}</sst>"#,
        shared.len()
    );
    let bytes = zip(&[
        ("[Content_Types].xml", CONTENT_TYPES.as_bytes()),
        ("_rels/.rels", RELS.as_bytes()),
        ("xl/workbook.xml", WORKBOOK.as_bytes()),
        ("xl/_rels/workbook.xml.rels", WORKBOOK_RELS.as_bytes()),
        ("xl/worksheets/sheet1.xml", sheets[0].as_bytes()),
        ("xl/worksheets/sheet2.xml", sheets[1].as_bytes()),
        ("xl/sharedStrings.xml", strings.as_bytes()),
    ]);
    let mut d = doc(n, "customers.xlsx", String::new(), t);
    d.bytes = bytes;
    d
}

/// The parts of a workbook of two sheets and shared strings that name its other parts.
const CONTENT_TYPES: &str = r#"<?xml version="1.0" encoding="UTF-8" standalone="yes"?><Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types"><Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/><Default Extension="xml" ContentType="application/xml"/><Override PartName="/xl/workbook.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"/><Override PartName="/xl/worksheets/sheet1.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"/><Override PartName="/xl/worksheets/sheet2.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"/><Override PartName="/xl/sharedStrings.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sharedStrings+xml"/></Types>"#;
const RELS: &str = r#"<?xml version="1.0" encoding="UTF-8" standalone="yes"?><Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships"><Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/officeDocument" Target="xl/workbook.xml"/></Relationships>"#;
const WORKBOOK: &str = r#"<?xml version="1.0" encoding="UTF-8" standalone="yes"?><workbook xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships"><sheets><sheet name="Customers" sheetId="1" r:id="rId1"/><sheet name="Wire" sheetId="2" r:id="rId2"/></sheets></workbook>"#;
const WORKBOOK_RELS: &str = r#"<?xml version="1.0" encoding="UTF-8" standalone="yes"?><Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships"><Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/worksheet" Target="worksheets/sheet1.xml"/><Relationship Id="rId2" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/worksheet" Target="worksheets/sheet2.xml"/><Relationship Id="rId3" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/sharedStrings" Target="sharedStrings.xml"/></Relationships>"#;

/// A ZIP archive of `entries`, deflated, with their CRCs and the central directory after them
/// (what other tools read: the classifier reads the local headers).
fn zip(entries: &[(&str, &[u8])]) -> Vec<u8> {
    use std::io::Write;
    let mut out = Vec::new();
    let mut central = Vec::new();
    for (name, data) in entries {
        let mut e = flate2::write::DeflateEncoder::new(Vec::new(), flate2::Compression::default());
        e.write_all(data).unwrap_or_default();
        let body = e.finish().unwrap_or_default();
        let mut crc = flate2::Crc::new();
        crc.update(data);
        let offset = out.len() as u32;
        // Version, flags, deflate, time and date; CRC, sizes, the name's length, no extra.
        let fields = |v: &mut Vec<u8>| {
            v.extend(20u16.to_le_bytes());
            v.extend(0u16.to_le_bytes());
            v.extend(8u16.to_le_bytes());
            v.extend([0, 0, 0x21, 0]);
            v.extend(crc.sum().to_le_bytes());
            v.extend((body.len() as u32).to_le_bytes());
            v.extend((data.len() as u32).to_le_bytes());
            v.extend((name.len() as u16).to_le_bytes());
            v.extend(0u16.to_le_bytes());
        };
        out.extend(b"PK\x03\x04");
        fields(&mut out);
        out.extend(name.as_bytes());
        out.extend(&body);
        central.extend(b"PK\x01\x02");
        central.extend(20u16.to_le_bytes());
        fields(&mut central);
        // No comment, disk 0, no internal or external attributes, the local header's offset.
        central.extend([0u8; 6]);
        central.extend(0u32.to_le_bytes());
        central.extend(offset.to_le_bytes());
        central.extend(name.as_bytes());
    }
    let at = out.len() as u32;
    out.extend(&central);
    out.extend(b"PK\x05\x06");
    out.extend([0u8; 4]);
    out.extend((entries.len() as u16).to_le_bytes());
    out.extend((entries.len() as u16).to_le_bytes());
    out.extend((central.len() as u32).to_le_bytes());
    out.extend(at.to_le_bytes());
    out.extend(0u16.to_le_bytes());
    out
}

/// A US bank's end-of-day statements in ISO 20022 (camt.053), as banks lay them out: each
/// statement's account by its number and its servicer by its ABA routing number (the clearing
/// system's code on a line above the member id); entries with amounts, dates and references.
fn camt053(rng: &mut Rng, n: usize) -> Document {
    let mut t = Counts::default();
    let mut s = String::from(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n\
         <Document xmlns=\"urn:iso:std:iso:20022:tech:xsd:camt.053.001.08\">\n\
         \x20 <BkToCstmrStmt>\n",
    );
    for _ in 0..12 {
        s.push_str(&format!(
            "    <Stmt>\n      <Id>STMT{}</Id>\n      <CreDtTm>2026-12-03T18:00:00</CreDtTm>\n      \
             <Acct>\n        <Id>\n          <Othr>\n            <Id>{}</Id>\n          </Othr>\n        \
             </Id>\n        <Ccy>USD</Ccy>\n        <Svcr>\n          <FinInstnId>\n            \
             <ClrSysMmbId>\n              <ClrSysId>\n                <Cd>USABA</Cd>\n              \
             </ClrSysId>\n              <MmbId>{}</MmbId>\n            </ClrSysMmbId>\n          \
             </FinInstnId>\n        </Svcr>\n      </Acct>\n",
            rng.digits(8),
            rng.digits(10),
            aba(rng),
        ));
        t.add(Class::UsBankAccount, 1);
        t.add(Class::AbaRouting, 1);
        for _ in 0..6 {
            s.push_str(&format!(
                "      <Ntry>\n        <Amt Ccy=\"USD\">{}.{:02}</Amt>\n        \
                 <BookgDt><Dt>2026-12-03</Dt></BookgDt>\n        <AcctSvcrRef>{}</AcctSvcrRef>\n      \
                 </Ntry>\n",
                rng.below(100_000),
                rng.below(100),
                rng.digits(16),
            ));
        }
        s.push_str("    </Stmt>\n");
    }
    s.push_str("  </BkToCstmrStmt>\n</Document>\n");
    doc(n, "camt053.xml", s, t)
}

fn hex(rng: &mut Rng, n: usize) -> String {
    (0..n)
        .map(|_| char::from(b"0123456789abcdef"[rng.below(16) as usize]))
        .collect()
}

/// One JSON object per line: card payments carry the card number under `pan`, SEPA ones an
/// IBAN; every line has a millisecond timestamp, a request id, an amount and a 16-digit order
/// number (none of them sensitive).
fn api_log(rng: &mut Rng, n: usize) -> Document {
    let mut t = Counts::default();
    let mut s = String::new();
    for i in 0..150 {
        let ts = 1_764_700_000_000u64 + rng.below(100_000_000);
        let method = if i % 5 == 4 {
            t.add(Class::AbaRouting, 1);
            t.add(Class::UsBankAccount, 1);
            format!(
                r#"{{"type":"us_bank_account","routing_number":"{}","account_number":"{}","account_holder_type":"company"}}"#,
                aba(rng),
                rng.digits(12)
            )
        } else if i % 2 == 0 {
            t.add(Class::CardNumber, 1);
            format!(
                r#"{{"type":"card","brand":"visa","pan":"{}","exp":"{:02}/{}","cvc_check":"pass"}}"#,
                card(rng),
                1 + rng.below(12),
                27 + rng.below(5)
            )
        } else {
            t.add(Class::Iban, 1);
            t.add(Class::SwiftBic, 1);
            format!(
                r#"{{"type":"sepa_debit","iban":"{}","bic":"{}","mandate":"MD{}"}}"#,
                iban(rng),
                bic(rng),
                rng.digits(10)
            )
        };
        t.add(Class::Email, 1);
        s.push_str(&format!(
            r#"{{"ts":{ts},"id":"req_{}","event":"payment.created","customer":{{"id":"cus_{}","email":"client{}@bank-customer.example.com"}},"method":{method},"amount":{},"currency":"EUR","order":"{}"}}"#,
            hex(rng, 16),
            hex(rng, 12),
            rng.below(100_000),
            rng.below(10_000_000),
            rng.digits(16),
        ));
        s.push('\n');
    }
    doc(n, "api-log.jsonl", s, t)
}

/// A card processor's settlement file: fixed-width records, no delimiters and no header naming
/// the columns; the card number sits right after the record type.
fn settlement(rng: &mut Rng, n: usize) -> Document {
    let mut t = Counts::default();
    let mut s = format!("H{}ACME MERCHANT SERVICES        {:06}\n", "20261203", 1);
    for _ in 0..200 {
        let c = card(rng);
        t.add(Class::CardNumber, 1);
        s.push_str(&format!(
            "D{c:<19}{:04}{:012}EUR{}{:<8}{}\n",
            2700 + rng.below(500),
            rng.below(1_000_000),
            "20261202",
            format!("AUTH{}", rng.digits(4)),
            rng.digits(10),
        ));
    }
    s.push_str(&format!("T{:06}{:015}\n", 200, rng.below(1 << 40)));
    doc(n, "settlement.dat", s, t)
}

/// Support tickets written by people.
fn tickets(rng: &mut Rng, n: usize) -> Document {
    let mut t = Counts::default();
    let mut s = String::new();
    for i in 0..60 {
        s.push_str(&format!(
            "Ticket #{} (opened 2026-11-{:02})\n",
            rng.digits(7),
            1 + rng.below(28)
        ));
        match i % 6 {
            0 => {
                let c = card(rng);
                s.push_str(&format!(
                    "Customer says card {} was charged twice, please refund.\n",
                    in_fours(&c, "-")
                ));
                t.add(Class::CardNumber, 1);
            }
            1 => {
                let c = card(rng);
                s.push_str(&format!(
                    "Card on file {} ** **** {} declined at 09:{:02}, retry later.\n",
                    &c[..6],
                    &c[c.len() - 4..],
                    rng.below(60)
                ));
            }
            2 => {
                s.push_str(&format!(
                    "Please pay the refund to my account {} thanks\n",
                    in_fours(&iban(rng).to_lowercase(), " ")
                ));
                t.add(Class::Iban, 1);
            }
            3 => {
                let v = ssn(rng);
                s.push_str(&format!(
                    "Caller verified with social security number {} and date of birth.\n",
                    v.replace('-', "")
                ));
                t.add(Class::UsSsn, 1);
            }
            4 if i / 6 % 3 == 2 => {
                // Typed as labelled lines.
                s.push_str(&format!(
                    "New payroll deposit details from the customer:\n  Bank name - First Example Bank\n  Routing number - {}\n  Account number - {}\n",
                    aba(rng),
                    rng.digits(11),
                ));
                t.add(Class::AbaRouting, 1);
                t.add(Class::UsBankAccount, 1);
            }
            4 => {
                if i % 12 == 4 {
                    s.push_str(&format!(
                        "Wire came from routing number {} account {} — amount {}.{:02} USD.\n",
                        aba(rng),
                        rng.digits(10),
                        rng.below(100_000),
                        rng.below(100)
                    ));
                } else {
                    s.push_str(&format!(
                        "Update payee: checking acct# {}, bank routing no. {} (was {}).\n",
                        rng.digits(9),
                        aba(rng),
                        rng.digits(9),
                    ));
                }
                t.add(Class::AbaRouting, 1);
                t.add(Class::UsBankAccount, 1);
            }
            5 if i % 12 == 5 => {
                let ni = crate::corpus::nino(rng).to_lowercase();
                s.push_str(&format!("Employee gave NI number {ni} over the phone.\n"));
                t.add(Class::UkNino, 1);
            }
            _ => {
                s.push_str(&format!(
                    "Call back on +1 (555) {}-{} or reply to agent{}@support.example.net.\n",
                    rng.digits(3),
                    rng.digits(4),
                    rng.below(100)
                ));
                t.add(Class::Email, 1);
            }
        }
        s.push('\n');
    }
    doc(n, "tickets.txt", s, t)
}

/// A spreadsheet export: every field quoted, CRLF line ends, camelCase headers; in every other
/// one the routing numbers of the first nine districts lost their leading zero.
fn quoted_export(rng: &mut Rng, n: usize) -> Document {
    let mut t = Counts::default();
    let mut s = String::from(
        "\"AccountId\",\"HolderName\",\"CardNumber\",\"Iban\",\"RoutingNumber\",\"Opened\"\r\n",
    );
    // Every other one passed through a spreadsheet, which read the routing numbers as
    // numbers: those of the first nine districts lost their leading zero.
    let zeros_dropped = (n / 12) % 2 == 1;
    for _ in 0..200 {
        let routing = aba(rng);
        let routing = match routing.strip_prefix('0') {
            Some(rest) if zeros_dropped => rest.to_owned(),
            _ => routing,
        };
        s.push_str(&format!(
            "\"{}\",\"{}\",\"{}\",\"{}\",\"{}\",\"2026-{:02}-{:02}\"\r\n",
            rng.digits(12),
            ["Anna Schmidt", "John Miller", "Sofia Rossi"][rng.below(3) as usize],
            card(rng),
            iban(rng),
            routing,
            1 + rng.below(12),
            1 + rng.below(28),
        ));
        t.add(Class::CardNumber, 1);
        t.add(Class::Iban, 1);
        t.add(Class::AbaRouting, 1);
    }
    doc(n, "export.csv", s, t)
}

/// A core system's payee extract delimited by pipes, tabs or semicolons, or in fixed-width
/// columns under a rule, under a title and its date, as mainframe and ERP jobs write them: names (`DOE, JOHN`) and addresses with commas in
/// them unquoted, amounts with a decimal comma in the semicolon-separated ones, the payee's
/// routing number and account number in the columns the header names (`ACCOUNT NUMBER`, or
/// `A/C NO` in every other one), a check number of nine digits that nothing names.
fn delimited_extract(rng: &mut Rng, n: usize) -> Document {
    let mut t = Counts::default();
    // A delimiter, or none: fixed-width columns under a rule, as a print file has them.
    let d = ["|", "\t", ";", ""][rng.below(4) as usize];
    const WIDTHS: [usize; 6] = [16, 28, 16, 18, 10, 9];
    let line = |fields: &[String]| -> String {
        if d.is_empty() {
            fields
                .iter()
                .zip(WIDTHS)
                .map(|(f, w)| format!("{f:<w$}"))
                .collect()
        } else {
            fields.join(d)
        }
    };
    let mut s = format!(
        "PAYEE MASTER EXTRACT\nRUN DATE 2026-12-0{}\n\n",
        1 + rng.below(5)
    );
    // Every other one heads its accounts with banks' abbreviation.
    let account_heading = if (n / 12) % 2 == 1 {
        "A/C NO"
    } else {
        "ACCOUNT NUMBER"
    };
    let header = [
        "PAYEE NAME",
        "ADDRESS",
        "ROUTING NUMBER",
        account_heading,
        "AMOUNT",
        "CHECK NO",
    ];
    s.push_str(&line(&header.map(str::to_owned)));
    s.push('\n');
    if d.is_empty() {
        let rule: Vec<String> = WIDTHS.iter().map(|w| "-".repeat(w - 2) + "  ").collect();
        s.push_str(&rule.concat());
        s.push('\n');
    }
    for _ in 0..150 {
        let name =
            ["DOE, JOHN", "ROSSI, SOFIA", "MILLER, ANN", "ACME, INC."][rng.below(4) as usize];
        let street = format!("{} MAIN ST, SPRINGFIELD", 1 + rng.below(900));
        let len = 6 + rng.below(10) as usize;
        let amount = if d == ";" {
            format!("{},{:02}", rng.below(50_000), rng.below(100))
        } else {
            format!("{}.{:02}", rng.below(50_000), rng.below(100))
        };
        let row = [
            name.to_owned(),
            street,
            aba(rng),
            rng.digits(len),
            amount,
            rng.digits(9),
        ];
        s.push_str(&line(&row));
        s.push('\n');
        t.add(Class::AbaRouting, 1);
        t.add(Class::UsBankAccount, 1);
    }
    doc(n, "extract.txt", s, t)
}

/// A database's table written out without a header, as `COPY payees TO` (tab-separated),
/// `bcp` (commas), a CRM export with every field quoted and CRLF line ends, or a core system's
/// extract in fixed-width columns write one: an id, the payee's name, the routing number and
/// the account number after it, the account's type, an amount; one routing number in 40 a near
/// miss (a typing error), which counts nothing, nor does its account; every other delimited one
/// under a report's title, and in some the account number before the routing number.
fn headerless_export(rng: &mut Rng, n: usize) -> Document {
    let mut t = Counts::default();
    let form = rng.below(4);
    // Every other delimited one under a report's title and a blank line.
    let mut s = String::new();
    // In some delimited ones the account stands before the routing number.
    let account_first = form < 3 && (n / 24) % 2 == 1;
    if form < 3 && (n / 12) % 2 == 1 {
        let end = if form == 2 { "\r\n" } else { "\n" };
        s = format!("Payee payments, run {}{end}{end}", 1000 + n);
    }
    for i in 0..(40 + rng.below(80)) {
        let near = rng.below(40) == 0;
        let routing = if near {
            spoil_last(&aba(rng))
        } else {
            aba(rng)
        };
        let len = 6 + rng.below(10) as usize;
        let mut fields = [
            format!("{}", 1000 + i),
            ["Doe, John", "Rossi, Sofia", "Acme Inc."][rng.below(3) as usize].to_owned(),
            routing,
            rng.digits(len),
            ["checking", "savings"][rng.below(2) as usize].to_owned(),
            format!("{}.{:02}", rng.below(50_000), rng.below(100)),
        ];
        if account_first {
            fields.swap(2, 3);
        }
        s.push_str(&match form {
            0 => fields.join("\t") + "\n",
            1 => fields.map(|f| f.replace(", ", " ")).join(",") + "\n",
            2 => fields.map(|f| format!("\"{f}\"")).join(",") + "\r\n",
            _ => {
                let [id, name, routing, account, kind, amount] = &fields;
                format!("{id:<8}{name:<16}{routing:<10}{account:<18}{kind:<9}{amount:>10}\n")
            }
        });
        if !near {
            t.add(Class::AbaRouting, 1);
            t.add(Class::UsBankAccount, 1);
        }
    }
    doc(n, "export.tsv", s, t)
}

/// A short list a person pasted: a few card numbers under a header that does not name them.
fn short_list(rng: &mut Rng, n: usize) -> Document {
    let mut t = Counts::default();
    let mut s = String::from("id,value\n");
    for k in 0..(3 + rng.below(8)) {
        s.push_str(&format!("{},{}\n", k + 1, card(rng)));
        t.add(Class::CardNumber, 1);
    }
    doc(n, "list.csv", s, t)
}
