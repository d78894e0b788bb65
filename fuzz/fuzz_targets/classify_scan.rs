//! The classifier on any bytes, fed in chunks whose sizes the input chooses: never a panic, a
//! stored form that reads back, and the same verdict when the scan was deferred and resumed. (Chunked and whole scans agree on text with line ends, which
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
    let chunked = s.finish();
    // Deferred as a server's requests defer it, then resumed after a few chunks: the same
    // verdict as fed without deferring, in the same chunks.
    let mut d = classify::Scanner::new();
    d.defer();
    for (i, chunk) in body.chunks(usize::from(cut).max(1)).enumerate() {
        if i == 3 {
            d.resume();
        }
        d.feed(chunk);
    }
    assert_eq!(d.finish(), chunked);
    assert_eq!(
        classify::Classification::decode(&whole.encode()),
        Some(whole.clone())
    );
    let _ = classify::Classification::decode(&String::from_utf8_lossy(body));
});
