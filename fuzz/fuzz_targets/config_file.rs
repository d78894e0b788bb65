//! The config file parser on any text: a config or one clear error, never a panic; a config
//! that parses never has a zero limit.
#![no_main]

use std::path::Path;

use libfuzzer_sys::fuzz_target;
use server::config::MasterKeySource;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let key = MasterKeySource::Inline(String::new());
    if let Ok(c) = strongroom::config_file::parse(text, Path::new("/nonexistent"), None, key) {
        assert!(c.limits.max_handles_per_session > 0);
        assert!(c.limits.max_connections > 0);
        assert!(c.limits.buffer_bytes >= 64 << 20);
    }
});
