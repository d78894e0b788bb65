//! Tenant-defined patterns: a name and a regular expression (for example a bank's customer
//! reference format), counted like the built-in classes. Matching is linear in the text (the
//! `regex` crate has no backtracking); a pattern's compiled size is bounded; a tenant has at
//! most [`MAX_PATTERNS`]. A match does not span a line end or a field separator (the scanner
//! hands patterns the text between hard delimiters' chunks).

use regex::bytes::{Regex, RegexBuilder};

/// Patterns per tenant.
pub const MAX_PATTERNS: usize = 32;
/// Longest pattern source.
pub const MAX_SOURCE: usize = 512;
/// Largest compiled pattern.
const MAX_COMPILED: usize = 1 << 20;

/// Why a pattern was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PatternError {
    #[error("pattern name '{0}' must be 1 to 32 characters: a-z, 0-9, _ and -")]
    Name(String),
    #[error("pattern '{name}' is longer than {MAX_SOURCE} characters")]
    TooLong { name: String },
    #[error("pattern '{name}' is not a valid regular expression: {why}")]
    Invalid { name: String, why: String },
    #[error("pattern '{name}' matches the empty string (it would count everywhere)")]
    MatchesEmpty { name: String },
    #[error("at most {MAX_PATTERNS} patterns per tenant")]
    TooMany,
}

/// A tenant's compiled patterns.
#[derive(Debug, Clone, Default)]
pub struct Patterns {
    list: Vec<(String, Regex)>,
}

/// Checks a name: 1-32 of `a-z 0-9 _ -`.
pub fn valid_name(name: &str) -> bool {
    (1..=32).contains(&name.len())
        && name
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_' || b == b'-')
}

/// Compiles one pattern, as [`Patterns::new`] would.
pub fn compile(name: &str, source: &str) -> Result<Regex, PatternError> {
    if !valid_name(name) {
        return Err(PatternError::Name(name.to_owned()));
    }
    if source.len() > MAX_SOURCE {
        return Err(PatternError::TooLong {
            name: name.to_owned(),
        });
    }
    let re = RegexBuilder::new(source)
        .size_limit(MAX_COMPILED)
        .dfa_size_limit(MAX_COMPILED)
        .build()
        .map_err(|e| PatternError::Invalid {
            name: name.to_owned(),
            why: e
                .to_string()
                .lines()
                .last()
                .unwrap_or_default()
                .trim()
                .to_owned(),
        })?;
    if re.is_match(b"") {
        return Err(PatternError::MatchesEmpty {
            name: name.to_owned(),
        });
    }
    Ok(re)
}

impl Patterns {
    /// Compiles `(name, source)` pairs.
    pub fn new<'a>(
        sources: impl IntoIterator<Item = (&'a str, &'a str)>,
    ) -> Result<Self, PatternError> {
        let mut list = Vec::new();
        for (name, source) in sources {
            if list.len() == MAX_PATTERNS {
                return Err(PatternError::TooMany);
            }
            list.push((name.to_owned(), compile(name, source)?));
        }
        Ok(Self { list })
    }

    pub fn is_empty(&self) -> bool {
        self.list.is_empty()
    }

    /// Adds the matches in `text` to `counts` (index by pattern).
    pub(crate) fn count(&self, text: &[u8], counts: &mut [u64]) {
        for ((_, re), n) in self.list.iter().zip(counts.iter_mut()) {
            *n += re.find_iter(text).count() as u64;
        }
    }

    pub(crate) fn len(&self) -> usize {
        self.list.len()
    }

    pub(crate) fn name(&self, i: usize) -> &str {
        &self.list[i].0
    }
}
