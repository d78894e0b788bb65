//! Decoding any bytes as an SFTP packet never panics, and whatever decodes re-encodes to bytes
//! that decode to the same packet. (Not always the same bytes: unknown attribute flag bits and an
//! empty extended-attribute list are normalised away.)
#![no_main]

use bytes::Bytes;
use libfuzzer_sys::fuzz_target;
use sftp_proto::Packet;

fuzz_target!(|data: &[u8]| {
    if let Ok(packet) = Packet::decode(Bytes::copy_from_slice(data)) {
        let wire = packet.encode();
        assert_eq!(Packet::decode(wire.slice(4..)).ok(), Some(packet));
    }
});
