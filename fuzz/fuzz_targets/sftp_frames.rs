//! Any byte stream, pushed in any split, frames without panicking and without buffering beyond
//! one packet's limit.
#![no_main]

use libfuzzer_sys::fuzz_target;
use sftp_proto::FrameDecoder;
use sftp_proto::limits::MAX_PACKET_LEN;

fuzz_target!(|data: &[u8]| {
    let mut framer = FrameDecoder::new();
    let split = data.first().map_or(1, |b| (*b as usize).max(1));
    for chunk in data.chunks(split) {
        framer.push(chunk);
        loop {
            match framer.next_packet() {
                Ok(Some(p)) => assert!(p.len() <= MAX_PACKET_LEN as usize),
                Ok(None) => break,
                Err(_) => return,
            }
        }
    }
});
