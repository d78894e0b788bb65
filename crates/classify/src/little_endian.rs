//! The little-endian fields the binary formats read here are made of (Word's and Excel's
//! records, RAR's headers): a field at an offset of a record, `None` where the record is too
//! short to hold it. Never here: what a field means (each format's reader decides).

pub(crate) fn u16_at(b: &[u8], at: usize) -> Option<u16> {
    Some(u16::from_le_bytes(
        b.get(at..at.checked_add(2)?)?.try_into().ok()?,
    ))
}

pub(crate) fn u32_at(b: &[u8], at: usize) -> Option<u32> {
    Some(u32::from_le_bytes(
        b.get(at..at.checked_add(4)?)?.try_into().ok()?,
    ))
}

pub(crate) fn f64_at(b: &[u8], at: usize) -> Option<f64> {
    Some(f64::from_le_bytes(
        b.get(at..at.checked_add(8)?)?.try_into().ok()?,
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fields_past_the_record_are_none() {
        let b = [1, 0, 0, 0, 0, 0, 0xF0, 0x3F, 9];
        assert_eq!(u16_at(&b, 0), Some(1));
        assert_eq!(u32_at(&b, 0), Some(1));
        assert_eq!(f64_at(&b, 0), Some(f64::from_bits(0x3FF0_0000_0000_0001)));
        assert_eq!(u32_at(&b, 6), None);
        assert_eq!(u16_at(&b, usize::MAX), None);
    }
}
