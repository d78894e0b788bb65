//! The classifier on any bytes, fed in chunks whose sizes the input chooses: never a panic, and
//! a stored form that reads back. (Chunked and whole scans agree on text with line ends, which
//! the property tests check; on a delimiter-free run longer than 4 KiB the carry's forced cut
//! may split a candidate, so they are not compared here.)
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Some((&cut, body)) = data.split_first() else {
        return;
    };
    let whole = classify::classify(body);
    let mut s = classify::Scanner::new();
    for chunk in body.chunks(usize::from(cut).max(1)) {
        s.feed(chunk);
    }
    let _ = s.finish();
    assert_eq!(
        classify::Classification::decode(&whole.encode()),
        Some(whole.clone())
    );
    let _ = classify::Classification::decode(&String::from_utf8_lossy(body));
});
