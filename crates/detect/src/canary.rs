//! Canary contents: a plausible customer extract (names, IBANs and card numbers that pass their
//! checksums, balances) made from a seed, so that a decoy looks worth taking. Pure: the seed is
//! the caller's randomness. The numbers are made up: IBANs under a German bank code in the
//! 999xxxxx range, which no bank uses, and card numbers under the 4999 99 prefix.

const FIRST: &[&str] = &[
    "Anna", "Lukas", "Marie", "Jonas", "Sophie", "Felix", "Laura", "Paul", "Emma", "Leon", "Clara",
    "David", "Julia", "Elias", "Hannah", "Noah", "Lena", "Ben", "Mia", "Finn",
];
const LAST: &[&str] = &[
    "Schmidt",
    "Fischer",
    "Weber",
    "Meyer",
    "Wagner",
    "Becker",
    "Hoffmann",
    "Koch",
    "Richter",
    "Klein",
    "Wolf",
    "Neumann",
    "Schwarz",
    "Braun",
    "Zimmermann",
    "Hartmann",
    "Lange",
    "Krause",
];

/// A small deterministic generator (xorshift64*): enough for plausible decoys and simulated
/// traffic, never for keys.
pub(crate) struct Draw(u64);

impl Draw {
    pub(crate) fn new(seed: u64) -> Self {
        let state = seed.wrapping_add(0x9E37_79B9_7F4A_7C15);
        Draw(if state == 0 { 1 } else { state })
    }

    fn next(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        self.0 = x;
        x.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    pub(crate) fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }

    fn digits(&mut self, n: usize) -> String {
        (0..n)
            .map(|_| char::from(b'0' + self.below(10) as u8))
            .collect()
    }
}

/// ISO 13616 check digits of a German IBAN with BBAN `bban` (18 digits).
fn iban_de(bban: &str) -> String {
    // Move "DE00" to the end, letters as numbers (D=13, E=14), then mod 97 piecewise.
    let rearranged = format!("{bban}131400");
    let rem = rearranged
        .bytes()
        .fold(0u32, |r, b| (r * 10 + u32::from(b - b'0')) % 97);
    format!("DE{:02}{bban}", 98 - rem)
}

/// The Luhn check digit of `body`.
fn luhn_digit(body: &str) -> char {
    let sum: u32 = body
        .bytes()
        .rev()
        .enumerate()
        .map(|(i, b)| {
            let d = u32::from(b - b'0');
            if i % 2 == 0 {
                let d2 = d * 2;
                if d2 > 9 { d2 - 9 } else { d2 }
            } else {
                d
            }
        })
        .sum();
    char::from(b'0' + ((10 - sum % 10) % 10) as u8)
}

/// Whether `number` passes the Luhn check.
pub fn luhn_ok(number: &str) -> bool {
    number.len() >= 2
        && number.bytes().all(|b| b.is_ascii_digit())
        && luhn_digit(&number[..number.len() - 1]) == number.chars().last().unwrap_or('x')
}

/// Whether `iban` passes ISO 13616's mod-97 check.
pub fn iban_ok(iban: &str) -> bool {
    if iban.len() < 5 || !iban.is_ascii() {
        return false;
    }
    let (head, rest) = iban.split_at(4);
    let mut r: u32 = 0;
    for c in rest.chars().chain(head.chars()) {
        let v = match c {
            '0'..='9' => c as u32 - '0' as u32,
            'A'..='Z' => c as u32 - 'A' as u32 + 10,
            _ => return false,
        };
        r = if v >= 10 {
            (r * 100 + v) % 97
        } else {
            (r * 10 + v) % 97
        };
    }
    r == 1
}

/// A CSV customer extract of `rows` rows.
pub fn extract(seed: u64, rows: usize) -> String {
    let mut d = Draw::new(seed);
    let mut out = String::from("customer_id,name,iban,card_number,expiry,balance_eur\n");
    for i in 0..rows {
        let first = FIRST[d.below(FIRST.len() as u64) as usize];
        let last = LAST[d.below(LAST.len() as u64) as usize];
        let bban = format!("999{}{}", d.digits(5), d.digits(10));
        let body = format!("499999{}", d.digits(9));
        let card = format!("{body}{}", luhn_digit(&body));
        let expiry = format!("{:02}/{}", 1 + d.below(12), 27 + d.below(5));
        let balance = d.below(25_000_000);
        out.push_str(&format!(
            "C{:07},{first} {last},{},{card},{expiry},{}.{:02}\n",
            100_000 + i as u64 * 7 + d.below(7),
            iban_de(&bban),
            balance / 100,
            balance % 100
        ));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_number_passes_its_check_and_seeds_differ() {
        let a = extract(42, 50);
        assert_eq!(a.lines().count(), 51);
        for line in a.lines().skip(1) {
            let cols: Vec<&str> = line.split(',').collect();
            assert!(iban_ok(cols[2]), "{line}");
            assert!(luhn_ok(cols[3]), "{line}");
        }
        assert_ne!(a, extract(43, 50));
        assert!(iban_ok("GB82WEST12345698765432"));
        assert!(!iban_ok("GB82WEST12345698765433"));
        assert!(luhn_ok("4111111111111111") && !luhn_ok("4111111111111112"));
    }
}
