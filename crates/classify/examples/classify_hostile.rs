//! The classifier's speed on inputs built to slow it down, one core: what a hostile upload can
//! cost the server. Every shape is a stop every byte or two, or a candidate that is read to its
//! limit and refused, repeated to 8 MiB; none may be far slower than the rest (no input may make
//! the scan superlinear).
//!
//!     cargo run --release -p classify --example classify_hostile

use std::time::Instant;

use classify::Scanner;

const SIZE: usize = 8 << 20;

fn repeated(unit: &str) -> Vec<u8> {
    unit.bytes().cycle().take(SIZE).collect()
}

/// `head` (a format's or a table's beginning), then `unit` repeated, to [`SIZE`] bytes.
fn headed(head: &[u8], unit: &str) -> Vec<u8> {
    let mut v = head.to_vec();
    v.extend(repeated(unit));
    v.truncate(SIZE);
    v
}

/// `unit` repeated to twice the contents a file's are read to, compressed by `encoder`: a
/// compression bomb's body.
fn bomb_body<W: std::io::Write>(mut encoder: W, unit: &str) -> W {
    let unit = repeated(unit);
    let mut written = 0u64;
    while written < 2 * classify::encoding::MAX_INFLATED {
        encoder.write_all(&unit).unwrap();
        written += unit.len() as u64;
    }
    encoder
}

fn main() {
    let mut shapes: Vec<(&str, Vec<u8>)> = vec![
        ("@ only", repeated("@")),
        ("a@ (an address start each 2 bytes)", repeated("a@")),
        ("a@b. (a domain cut each 4 bytes)", repeated("a@b.")),
        (
            "a 64-byte local part each time",
            repeated("abcdefghij.abcdefghij.abcdefghij.abcdefghij.abcdefghij.abc@"),
        ),
        ("1 (a number group each 2 bytes)", repeated("1 ")),
        ("1.1. (glued numbers)", repeated("1.1.1.1.")),
        ("nine digits", repeated("123456789 ")),
        (
            "card-length numbers, one line",
            repeated("4111111111111111,"),
        ),
        ("printed IBANs", repeated("GB82 WEST 1234 5698 7654 32 ")),
        ("IBAN-like words", repeated("AB12 ")),
        ("keywords", repeated("card number account ")),
        (
            "routing and account numbers, one line",
            repeated("routing 021000021 account 12345678 bank account number: "),
        ),
        (
            "routing numbers, one line",
            repeated("aba 021000021 routing "),
        ),
        ("line ends only", repeated("\n")),
        (
            "labelled routing lines, lines between",
            repeated("ABA: 021000021\nBank: x\nNote: y\nName: z\n"),
        ),
        (
            "labelled routing and account lines",
            repeated("Account: 12345678\nABA: 021000021\n"),
        ),
        ("labelled routing lines only", repeated("ABA: 021000021\n")),
    ];
    // ISO 20022 (its layout's line ends do not end a keyword's reach; accounts are looked
    // for at each `Othr>`).
    let iso20022 = |unit: &str| {
        headed(
            b"<Document xmlns=\"urn:iso:std:iso:20022:tech:xsd:pacs.008.001.08\">\n",
            unit,
        )
    };
    shapes.push((
        "ISO 20022 account identifications",
        iso20022("<CdtrAcct><Id><Othr><Id>12345678</Id>"),
    ));
    shapes.push(("ISO 20022 Othr> alone", iso20022("Othr>")));
    shapes.push((
        "ISO 20022 USABA member ids, laid out",
        iso20022("<Cd>USABA</Cd>\n<MmbId>021000021</MmbId>\n"),
    ));
    shapes.push(("ISO 20022 words on lines", iso20022("card number\n")));
    // SWIFT MT (accounts looked for at each `:/`, Fedwire codes, statements' `:25:`).
    let swift = |unit: &str| {
        headed(
            b"{1:F01BANKBEBBAXXX0000000000}{2:I103BANKDEFFXXXXN}{4:\n",
            unit,
        )
    };
    shapes.push(("SWIFT MT account lines", swift(":59:/12345678\n")));
    shapes.push(("SWIFT MT :/ alone", swift(":/")));
    shapes.push(("SWIFT MT Fedwire codes", swift("//FW021000021\n")));
    shapes.push((
        "SWIFT MT statement account fields",
        swift(":25:021000021/0012345678\n"),
    ));
    // A quoted table (separators inside quotes cleared by the quotes' parity).
    let quoted = |unit: &str| headed(b"\"name\",\"card\"\n\"a\",\"b\"\n", unit);
    shapes.push(("quoted table, quotes only", quoted("\"")));
    shapes.push(("quoted table, quoted separators", quoted("\",\"")));
    // A fixed-width table's header, then numbers under it.
    let fixed = |unit: &str| {
        headed(
            b"CARD NUMBER       ROUTING NUMBER\n\
              4111111111111111  021000021     \n\
              4111111111111111  021000021     \n",
            unit,
        )
    };
    shapes.push((
        "fixed-width table rows",
        fixed("4111111111111111  021000021     \n"),
    ));
    // A table without a header: nine-digit numbers in every field of 100 (each weighed in its
    // column: past the 64 weighed, a search that finds none), and routing numbers each followed
    // by a field that runs on to the account search's limit.
    let row = "021000021,".repeat(100) + "\n";
    shapes.push((
        "headerless table, nine digits in 100 columns",
        repeated(&row),
    ));
    let row = "021000021,".to_owned() + &"x".repeat(300) + "\n";
    shapes.push((
        "headerless table, long fields after routing numbers",
        repeated(&row),
    ));
    // An X9 image cash letter's records (a file header, then records of two bytes each, or
    // check detail records back to back, each counted).
    let x9 = |unit: &[u8]| {
        let mut v = vec![0, 0, 0, 80];
        v.extend_from_slice(format!("{:<80}", "0103T061000146026073150").as_bytes());
        v.extend(unit.iter().cycle().take(SIZE - v.len()));
        v
    };
    shapes.push(("X9 records of two bytes", x9(b"\0\0\0\x0225")));
    let check = format!(
        "{:<80}",
        "25                021000021    1211-1234-56789/0000012500"
    );
    let mut framed = 80u32.to_be_bytes().to_vec();
    framed.extend_from_slice(check.as_bytes());
    shapes.push(("X9 check detail records", x9(&framed)));
    // Fedwire messages: braces alone, tags cut short, read fields back to back.
    let fedwire = |unit: &str| headed(b"{1510}1000{1520}20261205X\n", unit);
    shapes.push(("Fedwire braces", fedwire("{")));
    shapes.push(("Fedwire tags cut short", fedwire("{42")));
    shapes.push(("Fedwire party fields", fedwire("{4200}D12345678*")));
    // PDF: objects naming fonts one after another, words `stream` that begin none, a page's
    // strings and moves (its stream's length past the end).
    shapes.push((
        "PDF objects of font names",
        headed(
            b"%PDF-1.7\n",
            "1 0 obj\n<< /Font << /F1 2 0 R >> >>\nendobj\n",
        ),
    ));
    shapes.push(("PDF words stream", headed(b"%PDF-1.7\n", "stream ")));
    shapes.push((
        "PDF page strings and moves",
        headed(
            b"%PDF-1.7\n1 0 obj\n<< /Length 999999999 >>\nstream\n",
            "(4111 1111 1111 1111) Tj 1 0 0 1 72 700 Tm ",
        ),
    ));
    // Maps to characters (ToUnicode CMaps) of one range over every two-byte code, each code
    // to a long string (a fuzzer's 3 KB file of such maps took a quarter of a second when a
    // range was written out a code at a time): a range is one entry.
    let long = "0041".repeat(500);
    let map = format!(
        "stream\nbegincmap 1 beginbfrange <0000> <FFFF> <{long}> endbfrange\nendstream\nendobj\n"
    );
    // Maps of entries one by one (each a hash map's insert: what a map's bytes cost most).
    let chars: String = (0..60_000u32)
        .map(|c| format!("<{:04X}> <0041>\n", c & 0xFFFF))
        .collect();
    let single = format!("stream\nbegincmap 1 beginbfchar {chars} endbfchar\nendstream\nendobj\n");
    shapes.push((
        "PDF maps of single entries",
        headed(
            b"%PDF-1.7\n",
            &format!("1 0 obj\n<< /Length {} >>\n{single}", single.len()),
        ),
    ));
    shapes.push((
        "PDF maps of long ranges",
        headed(
            b"%PDF-1.7\n",
            &format!("1 0 obj\n<< /Length {} >>\n{map}", map.len()),
        ),
    ));
    // A header naming 20,000 columns, then numbers in them.
    let mut wide: Vec<u8> = (0..20_000)
        .flat_map(|i| format!("card{i},").into_bytes())
        .collect();
    wide.push(b'\n');
    wide.extend(repeated("4111111111111111,"));
    shapes.push(("a header of 20,000 columns", wide));
    // Rows of a routing number with an account column before it, a quoted field between (each
    // row read back to its start).
    shapes.push((
        "table rows of account and routing",
        headed(
            b"account_number,name,routing_number\n",
            "12345678,\"a,b\",021000021\n",
        ),
    ));
    // Markup whose line ends are layout: each routing number's account searched across the
    // tags and lines either side (up to 96 bytes each way).
    shapes.push((
        "markup routing elements",
        headed(b"<Payees>\n", "<RoutingNumber>021000021</RoutingNumber>\n"),
    ));
    shapes.push((
        "markup account and routing elements",
        headed(
            b"<Payees>\n",
            "<AccountNumber>12345678</AccountNumber><RoutingNumber>021000021</RoutingNumber>\n",
        ),
    ));
    // Documents read as the text they show: an HTML table whose every cell stands for 64
    // columns (each an empty cell more) or whose every row is under a cell over 64 rows and
    // columns, a quoted field on two lines in every row, RTF groups
    // opened past the depth kept and closed again.
    shapes.push((
        "HTML cells over 64 columns",
        headed(b"<!DOCTYPE html><table><tr>", "<td colspan=64>1</td>"),
    ));
    // Rows each under the last one's cell over 64 rows and columns (each row an empty cell
    // for each column followed before its own).
    shapes.push((
        "HTML rows under cells over 64 rows",
        headed(b"<!DOCTYPE html><table>", "<tr><td rowspan=64 colspan=64>1"),
    ));
    // An X12 interchange's segments, each read beside the scan: payments' bank segments, and
    // empty segments (a terminator every byte).
    let isa = b"ISA*00*          *00*          *ZZ*A              *ZZ*B              *261205*1200*U*00401*000000101*0*P*>~";
    shapes.push((
        "X12 payment segments",
        headed(isa, "BPR*C*1*C*ACH*CCP*01*021000021*DA*123456789~"),
    ));
    shapes.push(("X12 empty segments", headed(isa, "~")));
    shapes.push((
        "quoted fields on two lines",
        headed(b"name,note,routing\n", "a,\"x\ny\",021000021\n"),
    ));
    let mut rtf = b"{\\rtf1 ".to_vec();
    rtf.extend(repeated(
        &("{".repeat(300) + "\\par 4111 " + &"}".repeat(300)),
    ));
    rtf.truncate(SIZE);
    shapes.push(("RTF groups past the depth kept", rtf));
    // SQL dumps: tuples of nothing, parentheses that never close, a table switched at every
    // statement (a scanner per switch while the budget's entries last), a table's definition
    // that never ends (its head kept to 64 KiB, then text), doubled quotes, `GO` lines.
    shapes.push((
        "SQL tuples of empty strings",
        headed(
            b"CREATE TABLE t (a text, b text);\n",
            "INSERT INTO t VALUES ('',''),('','');\n",
        ),
    ));
    shapes.push((
        "SQL parentheses",
        headed(
            b"CREATE TABLE t (a int);\nINSERT INTO t VALUES (",
            "(((((((((",
        ),
    ));
    shapes.push((
        "SQL tables switched",
        headed(
            b"CREATE TABLE a (ssn char(9));\n",
            "INSERT INTO a VALUES ('123456789');INSERT INTO b VALUES (1);\n",
        ),
    ));
    shapes.push((
        "SQL definition without end",
        headed(b"-- dump\nCREATE TABLE t (", "a int, "),
    ));
    shapes.push((
        "SQL doubled quotes",
        headed(b"CREATE TABLE t (a int);\nINSERT INTO t VALUES ('", "''"),
    ));
    shapes.push((
        "SQL GO lines",
        headed(b"CREATE TABLE t (a int)\nGO\n", "GO\n"),
    ));
    // Avro: blocks of one record, an array of 2^40 nulls (no bytes each: decoding is bounded
    // by the block's bytes).
    let mut avro = avro_header(r#"{"type":"array","items":"null"}"#, "null");
    while avro.len() < SIZE {
        avro.extend([2, 14, 0x80, 0x80, 0x80, 0x80, 0x80, 0x40, 0]);
        avro.extend([0u8; 16]);
    }
    avro.truncate(SIZE);
    shapes.push(("Avro arrays of nulls", avro));

    let mut slowest = f64::MAX;
    for (name, data) in &shapes {
        // Best of three: the machine's interruptions are not the input's doing.
        let mut best = f64::MAX;
        for _ in 0..3 {
            let t = Instant::now();
            let mut s = Scanner::new();
            for chunk in data.chunks(64 << 10) {
                s.feed(chunk);
            }
            std::hint::black_box(s.finish());
            best = best.min(t.elapsed().as_secs_f64());
        }
        let rate = data.len() as f64 / best / 1e6;
        slowest = slowest.min(rate);
        println!("{name:>36}: {rate:6.0} MB/s");
    }
    println!("slowest: {slowest:.0} MB/s");

    // A compression bomb: a small gzip file of card-length numbers, inflated up to the most a
    // file's contents are scanned (`classify::encoding::MAX_INFLATED`). Its cost is that bound's,
    // whatever the file claims to hold.
    let unit = "4111111111111111,\n";
    let bomb = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
    let bomb = bomb_body(bomb, unit).finish().unwrap();
    bomb_cost("gzip", &bomb);
    // The same as a ZIP archive's entry: deflated, its sizes in the descriptor after it.
    bomb_cost("zip", &zip_bomb("a.csv", unit));
    // Bombs inside an archive, each opened in turn: the file's one budget holds for them all.
    let mut nested = Vec::new();
    for i in 0..4 {
        let name = format!("{i}.csv.gz");
        nested.extend(b"PK\x03\x04\x14\x00\x00\x00\x00\x00");
        nested.extend([0u8; 8]); // time, date, CRC
        nested.extend((bomb.len() as u32).to_le_bytes());
        nested.extend((bomb.len() as u32).to_le_bytes());
        nested.extend((name.len() as u16).to_le_bytes());
        nested.extend(0u16.to_le_bytes());
        nested.extend(name.as_bytes());
        nested.extend(&bomb);
    }
    nested.extend(b"PK\x05\x06");
    nested.extend([0u8; 18]);
    bomb_cost_of("zip of four gzip", &nested, 4);
    // A workbook's worksheet, read by its columns too: cells as dense as XML writes them, and
    // cells of routing numbers under a heading naming them.
    bomb_cost("worksheet (empty cells)", &zip_bomb(SHEET, "<c/>"));
    bomb_cost(
        "worksheet (routing numbers)",
        &zip_bomb(
            SHEET,
            "<row><c t=\"inlineStr\"><is><t>ABA</t></is></c><c><v>021000021</v></c><c><v>12345678</v></c></row>",
        ),
    );
    // Shared strings before any sheet (as Apache POI orders a package), each classified as it
    // is read and what it holds kept for the sheets' cells.
    bomb_cost(
        "shared strings before the sheets",
        &zip_bomb(
            "xl/sharedStrings.xml",
            "<si><t>ann@bank.example 123456</t></si>",
        ),
    );
    // An Excel binary workbook's worksheet, its records written out as SpreadsheetML as they
    // are inflated: cells of a shared string in their shortest form (10 bytes each, some 30
    // written), and text cells of a routing number.
    let xlsb = "xl/worksheets/sheet1.bin";
    bomb_cost(
        "xlsb worksheet (shared-string cells)",
        &zip_bomb(xlsb, "\x12\x08\0\0\0\0\0\0\0\0"),
    );
    let routing: String = "021000021".chars().flat_map(|c| [c, '\0']).collect();
    bomb_cost(
        "xlsb worksheet (routing numbers)",
        &zip_bomb(xlsb, &format!("\x11\x1a\0\0\0\0\x09\0\0\0{routing}")),
    );
    // A bzip2 bomb: streams of 64 MiB of card-length numbers one after another (as `cat` or
    // `pbzip2` join them), to twice the contents read.
    let unit = "4111111111111111,\n";
    let stream = {
        let mut e = bzip2::write::BzEncoder::new(Vec::new(), bzip2::Compression::best());
        let unit = repeated(unit);
        for _ in 0..8 {
            std::io::Write::write_all(&mut e, &unit).unwrap();
        }
        e.finish().unwrap()
    };
    let streams = (2 * classify::encoding::MAX_INFLATED).div_ceil(64 << 20) as usize;
    bomb_cost("bzip2", &stream.repeat(streams));
    // A zstd bomb: blocks that each repeat one byte 128 KiB from four bytes, to twice the
    // contents read (a window of 8 MiB, the most a frame may ask for).
    let mut zstd = vec![0x28, 0xB5, 0x2F, 0xFD, 0x00, (23 - 10) << 3];
    let blocks = (2 * classify::encoding::MAX_INFLATED) >> 17;
    for i in 0..blocks {
        let header = (128u32 << 10) << 3 | 1 << 1 | u32::from(i + 1 == blocks);
        zstd.extend_from_slice(&[
            header as u8,
            (header >> 8) as u8,
            (header >> 16) as u8,
            b'7',
        ]);
    }
    bomb_cost("zstd", &zstd);
    // An xz bomb: streams of 64 MiB of card-length numbers by `xz -9` (XZ Utils; a dictionary
    // of 64 MiB, the most a stream may declare) one after another, to twice the contents read.
    let xz = {
        use std::io::Write;
        let mut child = std::process::Command::new("xz")
            .args(["-9", "-c"])
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .spawn()
            .expect("xz (XZ Utils) is needed");
        let mut stdin = child.stdin.take().unwrap();
        let unit = repeated(unit);
        let writer = std::thread::spawn(move || {
            for _ in 0..8 {
                stdin.write_all(&unit).unwrap();
            }
        });
        let out = child.wait_with_output().unwrap();
        writer.join().unwrap();
        out.stdout
    };
    bomb_cost("xz", &xz.repeat(streams));
    // A 7-Zip bomb: 2 GiB of card-length numbers in one solid LZMA2 folder by 7-Zip (`7zz
    // -mx1`, reading them from its input), kept whole (it is small) and read at its end.
    let seven = {
        let dir = std::env::temp_dir().join(format!("classify-hostile-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("bomb.7z");
        let mut child = std::process::Command::new("7zz")
            .args(["a", "-bso0", "-bsp0", "-mx1", "-sicards.csv"])
            .arg(&path)
            .stdin(std::process::Stdio::piped())
            .spawn()
            .expect("7zz (Debian package 7zip) is needed");
        let mut stdin = child.stdin.take().unwrap();
        let unit = repeated(unit);
        for _ in 0..(2 * classify::encoding::MAX_INFLATED).div_ceil(SIZE as u64) {
            std::io::Write::write_all(&mut stdin, &unit).unwrap();
        }
        drop(stdin);
        assert!(child.wait().unwrap().success());
        let bytes = std::fs::read(&path).unwrap();
        std::fs::remove_dir_all(&dir).unwrap();
        bytes
    };
    bomb_cost("7-Zip", &seven);
    // A PDF whose pages' contents inflate to twice the contents read: 256 pages of 8 MiB of
    // strings shown, each holding a card number (the strings are kept to 16 MiB, then the
    // pages are inflated but not read).
    let page = {
        let mut e = flate2::write::ZlibEncoder::new(Vec::new(), flate2::Compression::best());
        std::io::Write::write_all(&mut e, &repeated("(card 4111 1111 1111 1111) Tj T*\n")).unwrap();
        e.finish().unwrap()
    };
    let pages = (2 * classify::encoding::MAX_INFLATED).div_ceil(SIZE as u64) as usize;
    let mut pdf = b"%PDF-1.7\n1 0 obj\n<< /Font << /F1 2 0 R >> >>\nendobj\n2 0 obj\n<< /Type /Font /BaseFont /Helvetica >>\nendobj\n".to_vec();
    for n in 0..pages {
        pdf.extend_from_slice(
            format!(
                "{} 0 obj\n<< /Filter /FlateDecode /Length {} >>\nstream\n",
                n + 3,
                page.len()
            )
            .as_bytes(),
        );
        pdf.extend_from_slice(&page);
        pdf.extend_from_slice(b"\nendstream\nendobj\n");
    }
    bomb_cost("PDF", &pdf);
    // Parquet files whose one dictionary value is repeated by one run of 2^31 - 1 indices
    // (seven bytes): a value of 64 KiB of card numbers (the rows' text reaches the file's
    // budget), and an empty one (rows of nothing, each charged at least 16 bytes).
    for (kind, value) in [
        (
            "64 KiB value",
            &repeated("card 4111 1111 1111 1111 ")[..64 << 10],
        ),
        ("empty value", &b""[..]),
    ] {
        let bomb = parquet_bomb(value);
        let (found, seconds) = timed_scan(&bomb);
        println!(
            "Parquet bomb ({kind}): {} bytes holding 2^31 - 1 rows: read to its budget in {seconds:.2} s ({:?})",
            bomb.len(),
            found.formats.iter().map(|f| f.name()).collect::<Vec<_>>(),
        );
    }
    // A PostgreSQL custom-format archive (`pg_dump -Fc`) whose one table's block inflates to
    // twice the contents read.
    bomb_cost("pg_dump -Fc", &pg_archive_bomb(unit));
    // An Avro file of deflated blocks, each inflating to 128 MiB of string records (each
    // block's first 64 MiB read), to twice the contents read.
    let records = {
        let mut e = flate2::write::DeflateEncoder::new(Vec::new(), flate2::Compression::best());
        let unit = repeated("$4111111111111111,\n");
        for _ in 0..(128 << 20) / SIZE {
            std::io::Write::write_all(&mut e, &unit).unwrap();
        }
        e.finish().unwrap()
    };
    let mut avro = avro_header(r#""string""#, "deflate");
    for _ in 0..(2 * classify::encoding::MAX_INFLATED) >> 27 {
        let count = ((128u64 << 20) / 19) << 1;
        for v in [count, (records.len() as u64) << 1] {
            let mut v = v;
            while v >= 0x80 {
                avro.push(v as u8 | 0x80);
                v >>= 7;
            }
            avro.push(v as u8);
        }
        avro.extend(&records);
        avro.extend([0u8; 16]);
    }
    bomb_cost("Avro", &avro);
    // A tar archive of as many files as are read, each a line holding a card number (each
    // file a scanner of its own), gzip-compressed as it travels.
    let tar = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
    let tar = tar_of_many(tar, ".csv", "card 4111 1111 1111 1111\n")
        .finish()
        .unwrap();
    let (found, seconds) = timed_scan(&tar);
    println!(
        "tar.gz of 65,536 one-line files: {:.1} MiB holding 32 MiB: {} card numbers in {seconds:.2} s ({:?})",
        tar.len() as f64 / (1 << 20) as f64,
        found.counts.get(classify::Class::CardNumber),
        found.formats.iter().map(|f| f.name()).collect::<Vec<_>>(),
    );
    // The same, each file a PDF of maps to characters of ranges over every code (each range
    // was written out a code at a time, 131,072 codes a document, some 25 ms: half an hour of
    // a core for the archive; a range is one entry now).
    let long = "0041".repeat(500);
    let map = format!(
        "stream\nbegincmap 1 beginbfrange <0000> <FFFF> <{long}> endbfrange\nendstream\nendobj\n"
    );
    let pdf = format!(
        "%PDF-1.7\n{}",
        format!("1 0 obj\n<< /Length {} >>\n{map}", map.len()).repeat(2)
    );
    let tar = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
    let tar = tar_of_many(tar, ".pdf", &pdf).finish().unwrap();
    let (found, seconds) = timed_scan(&tar);
    println!(
        "tar.gz of 65,536 PDFs of long maps: {:.1} MiB: {seconds:.2} s ({:?})",
        tar.len() as f64 / (1 << 20) as f64,
        found.formats.iter().map(|f| f.name()).collect::<Vec<_>>(),
    );
    stream_starts();
}

/// Files of a million streams of a line each (a decoder built for each): each start draws on
/// the file's budget, so each file costs its budget's worth of starts (about a second), not a
/// million starts' (minutes before).
fn stream_starts() {
    use std::io::Write as _;
    let line = b"card 4111 1111 1111 1111\n";
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
    gz.write_all(line).unwrap();
    let mut bz = bzip2::write::BzEncoder::new(Vec::new(), bzip2::Compression::best());
    bz.write_all(line).unwrap();
    let mut deflated = flate2::write::DeflateEncoder::new(Vec::new(), flate2::Compression::best());
    deflated
        .write_all(&[&[(line.len() * 2) as u8][..], line].concat())
        .unwrap();
    let deflated = deflated.finish().unwrap();
    let mut avro = avro_header(r#""string""#, "deflate");
    let mut block = vec![2, (deflated.len() * 2) as u8];
    block.extend(&deflated);
    block.extend([0u8; 16]);
    avro.extend(block.repeat(1 << 20));
    let mut pdf_stream = flate2::write::ZlibEncoder::new(Vec::new(), flate2::Compression::best());
    pdf_stream
        .write_all(b"BT (4111 1111 1111 1111) Tj ET")
        .unwrap();
    let pdf_stream = pdf_stream.finish().unwrap();
    let mut object = format!(
        "1 0 obj\n<< /Filter /FlateDecode /Length {} >>\nstream\n",
        pdf_stream.len()
    )
    .into_bytes();
    object.extend(&pdf_stream);
    object.extend(b"\nendstream\nendobj\n");
    let pdf = [&b"%PDF-1.7\n"[..], &object.repeat(1 << 20)].concat();
    for (kind, file) in [
        ("gzip members", gz.finish().unwrap().repeat(1 << 20)),
        ("bzip2 streams", bz.finish().unwrap().repeat(1 << 20)),
        ("Avro deflated blocks", avro),
        ("PDF deflated streams", pdf),
    ] {
        let (found, seconds) = timed_scan(&file);
        println!(
            "a million {kind} of a line each: {:.1} MiB: {seconds:.2} s ({:?})",
            file.len() as f64 / (1 << 20) as f64,
            found.formats.iter().map(|f| f.name()).collect::<Vec<_>>(),
        );
    }
}

/// Thrift's compact protocol, as far as a Parquet file's footer and page headers need it: a
/// structure's fields in order (id, type, value), lists of structures.
enum Thrift {
    I32(i32),
    I64(i64),
    Bytes(Vec<u8>),
    Struct(Vec<(i16, Thrift)>),
    List(u8, Vec<Thrift>),
}

impl Thrift {
    fn kind(&self) -> u8 {
        match self {
            Thrift::I32(_) => 5,
            Thrift::I64(_) => 6,
            Thrift::Bytes(_) => 8,
            Thrift::List(..) => 9,
            Thrift::Struct(_) => 12,
        }
    }

    fn write(&self, out: &mut Vec<u8>) {
        let varint = |out: &mut Vec<u8>, mut v: u64| {
            while v >= 0x80 {
                out.push(v as u8 | 0x80);
                v >>= 7;
            }
            out.push(v as u8);
        };
        match self {
            Thrift::I32(v) => varint(out, ((*v << 1) ^ (*v >> 31)) as u32 as u64),
            Thrift::I64(v) => varint(out, ((*v << 1) ^ (*v >> 63)) as u64),
            Thrift::Bytes(b) => {
                varint(out, b.len() as u64);
                out.extend_from_slice(b);
            }
            Thrift::List(kind, items) => {
                out.push(((items.len() as u8) << 4) | kind);
                items.iter().for_each(|i| i.write(out));
            }
            Thrift::Struct(fields) => {
                let mut last = 0;
                for (id, v) in fields {
                    out.push((((id - last) as u8) << 4) | v.kind());
                    v.write(out);
                    last = *id;
                }
                out.push(0);
            }
        }
    }
}

/// A Parquet file of one required byte-array column `card`, its dictionary the one `value`,
/// and one data page: one run of 2^31 - 1 indices of it (a row group of as many rows).
fn parquet_bomb(value: &[u8]) -> Vec<u8> {
    use Thrift::*;
    let rows = i32::MAX;
    let page = |kind: i32, size: usize, header: (i16, Thrift)| {
        let mut out = Vec::new();
        let sizes = vec![
            (1, I32(kind)),
            (2, I32(size as i32)),
            (3, I32(size as i32)),
            header,
        ];
        Struct(sizes).write(&mut out);
        out
    };
    let mut dictionary = (value.len() as u32).to_le_bytes().to_vec();
    dictionary.extend_from_slice(value);
    // Bit width 1, then a repeated run (its count shifted left by one) of the index 0.
    let mut indices = vec![1u8];
    let mut run = (rows as u64) << 1;
    while run >= 0x80 {
        indices.push(run as u8 | 0x80);
        run >>= 7;
    }
    indices.extend([run as u8, 0]);
    let mut file = b"PAR1".to_vec();
    let dictionary_at = file.len() as i64;
    file.extend(page(
        2,
        dictionary.len(),
        (7, Struct(vec![(1, I32(1)), (2, I32(0))])),
    ));
    file.extend(&dictionary);
    let data_at = file.len() as i64;
    let header = (
        5,
        Struct(vec![(1, I32(rows)), (2, I32(8)), (3, I32(3)), (4, I32(3))]),
    );
    file.extend(page(0, indices.len(), header));
    file.extend(&indices);
    let chunk_size = file.len() as i64 - dictionary_at;
    let meta = Struct(vec![
        (1, I32(6)),
        (2, List(5, vec![I32(0), I32(8)])),
        (3, List(8, vec![Bytes(b"card".to_vec())])),
        (4, I32(0)),
        (5, I64(rows as i64)),
        (6, I64(chunk_size)),
        (7, I64(chunk_size)),
        (9, I64(data_at)),
        (11, I64(dictionary_at)),
    ]);
    let footer = Struct(vec![
        (1, I32(1)),
        (
            2,
            List(
                12,
                vec![
                    Struct(vec![(4, Bytes(b"schema".to_vec())), (5, I32(1))]),
                    Struct(vec![(1, I32(6)), (3, I32(0)), (4, Bytes(b"card".to_vec()))]),
                ],
            ),
        ),
        (3, I64(rows as i64)),
        (
            4,
            List(
                12,
                vec![Struct(vec![
                    (
                        1,
                        List(12, vec![Struct(vec![(2, I64(dictionary_at)), (3, meta)])]),
                    ),
                    (2, I64(chunk_size)),
                    (3, I64(rows as i64)),
                ])],
            ),
        ),
    ]);
    let mut footer_bytes = Vec::new();
    footer.write(&mut footer_bytes);
    file.extend(&footer_bytes);
    file.extend((footer_bytes.len() as u32).to_le_bytes());
    file.extend(b"PAR1");
    file
}

/// An Avro object container file's header: `schema` (JSON), `codec`, a sync marker of zeros.
fn avro_header(schema: &str, codec: &str) -> Vec<u8> {
    let mut h = b"Obj\x01\x04".to_vec();
    for (k, v) in [("avro.schema", schema), ("avro.codec", codec)] {
        h.push((k.len() * 2) as u8);
        h.extend(k.as_bytes());
        h.push((v.len() * 2) as u8);
        h.extend(v.as_bytes());
    }
    h.push(0);
    h.extend([0u8; 16]);
    h
}

/// A custom-format archive as `pg_dump -Fc` (archive version 1.14) writes one: its header, a
/// table of contents of one table's data, and that data's block of `unit` repeated to twice
/// the contents a file's are read to, zlib-compressed, in chunks of 4 KiB.
fn pg_archive_bomb(unit: &str) -> Vec<u8> {
    let int = |out: &mut Vec<u8>, v: i32| {
        out.push(u8::from(v < 0));
        out.extend(v.unsigned_abs().to_le_bytes());
    };
    let string = |out: &mut Vec<u8>, v: Option<&str>| match v {
        Some(v) => {
            int(out, v.len() as i32);
            out.extend(v.as_bytes());
        }
        None => int(out, -1),
    };
    let mut a = b"PGDMP\x01\x0e\x00\x04\x08\x01".to_vec();
    int(&mut a, -1); // zlib, its default level
    for field in [0, 0, 12, 5, 11, 126, 0] {
        int(&mut a, field);
    }
    for s in ["bank", "15.18", "15.18"] {
        string(&mut a, Some(s));
    }
    int(&mut a, 1);
    int(&mut a, 1); // the entry's dump id
    int(&mut a, 1);
    for s in ["0", "0", "cards", "TABLE DATA"] {
        string(&mut a, Some(s));
    }
    int(&mut a, 2);
    for s in [
        "",
        "",
        "COPY public.cards (card) FROM stdin;\n",
        "public",
        "",
        "",
        "postgres",
        "false",
    ] {
        string(&mut a, Some(s));
    }
    string(&mut a, None);
    a.push(2);
    a.extend([0u8; 8]);
    a.push(1); // a data block
    int(&mut a, 1);
    let zlib = flate2::write::ZlibEncoder::new(Vec::new(), flate2::Compression::best());
    let body = bomb_body(zlib, unit).finish().unwrap();
    for chunk in body.chunks(4096) {
        int(&mut a, chunk.len() as i32);
        a.extend(chunk);
    }
    int(&mut a, 0);
    a
}

/// A tar archive of 65,536 files (the most an archive's are read) holding `line` each, named
/// `f0`, `f1`... before `suffix`, written to `out` (GNU tar's headers: ustar, octal sizes, the
/// checksum set).
fn tar_of_many<W: std::io::Write>(mut out: W, suffix: &str, line: &str) -> W {
    for i in 0..65_536u32 {
        let mut h = [0u8; 512];
        let name = format!("f{i}{suffix}");
        h[..name.len()].copy_from_slice(name.as_bytes());
        h[100..107].copy_from_slice(b"0000644");
        h[124..135].copy_from_slice(format!("{:011o}", line.len()).as_bytes());
        h[156] = b'0';
        h[257..263].copy_from_slice(b"ustar\0");
        h[263..265].copy_from_slice(b"00");
        h[148..156].copy_from_slice(b"        ");
        let sum: u32 = h.iter().map(|&b| u32::from(b)).sum();
        h[148..155].copy_from_slice(format!("{sum:06o}\0").as_bytes());
        out.write_all(&h).unwrap();
        let mut body = line.as_bytes().to_vec();
        body.resize(line.len().div_ceil(512) * 512, 0);
        out.write_all(&body).unwrap();
    }
    out.write_all(&[0; 1024]).unwrap();
    out
}

/// A worksheet's name in a workbook's archive.
const SHEET: &str = "xl/worksheets/sheet1.xml";

/// A ZIP archive of one deflated entry, `name`, holding `unit` repeated (a compression bomb),
/// its sizes in the descriptor after it.
fn zip_bomb(name: &str, unit: &str) -> Vec<u8> {
    let body = flate2::write::DeflateEncoder::new(Vec::new(), flate2::Compression::best());
    let body = bomb_body(body, unit).finish().unwrap();
    let mut zip = b"PK\x03\x04\x14\x00\x08\x00\x08\x00".to_vec();
    zip.extend([0u8; 16]); // time, date, CRC, sizes (in the descriptor)
    zip.extend((name.len() as u16).to_le_bytes());
    zip.extend(0u16.to_le_bytes());
    zip.extend(name.as_bytes());
    zip.extend(body);
    zip.extend(b"PK\x07\x08");
    zip.extend([0u8; 12]);
    zip.extend(b"PK\x05\x06");
    zip.extend([0u8; 18]);
    zip
}

/// What scanning a compression bomb costs: its contents are read up to the most a file's are.
fn bomb_cost(kind: &str, bomb: &[u8]) {
    bomb_cost_of(kind, bomb, 1);
}

/// A file scanned in chunks of 64 KiB: what it holds, and the seconds it took.
fn timed_scan(file: &[u8]) -> (classify::Classification, f64) {
    let t = Instant::now();
    let mut s = Scanner::new();
    for chunk in file.chunks(64 << 10) {
        s.feed(chunk);
    }
    let found = s.finish();
    (found, t.elapsed().as_secs_f64())
}

/// The same for `bombs` bombs in one file.
fn bomb_cost_of(kind: &str, bomb: &[u8], bombs: u64) {
    let (found, seconds) = timed_scan(bomb);
    println!(
        "{kind} bomb: {:.1} MiB holding {} GiB: scanned {} GiB in {:.2} s ({:?})",
        bomb.len() as f64 / (1 << 20) as f64,
        (bombs * 2 * classify::encoding::MAX_INFLATED) >> 30,
        classify::encoding::MAX_INFLATED >> 30,
        seconds,
        found.formats.iter().map(|f| f.name()).collect::<Vec<_>>(),
    );
}
