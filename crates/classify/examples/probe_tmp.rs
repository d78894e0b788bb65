fn main() {
    for p in std::env::args().skip(1) {
        let b = std::fs::read(&p).unwrap();
        let mut s = classify::Scanner::new();
        for c in b.chunks(64 << 10) {
            s.feed(c);
        }
        let c = s.finish();
        println!(
            "{p}: {:?} {:?}",
            c.formats.iter().map(|f| f.name()).collect::<Vec<_>>(),
            c.counts.present().collect::<Vec<_>>()
        );
    }
}
