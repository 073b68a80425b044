//! Secret values in memory, and their kinds.

use std::fmt;
use std::io::Read;

use zeroize::Zeroizing;

/// How a secret is delivered to steps: as text (in expressions and
/// environment variables) or as a file (its path handed to the step).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum SecretKind {
    Text,
    File,
}

impl SecretKind {
    /// The stored (and listed) name: `text` or `file`.
    pub const fn as_str(self) -> &'static str {
        match self {
            SecretKind::Text => "text",
            SecretKind::File => "file",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "text" => Some(SecretKind::Text),
            "file" => Some(SecretKind::File),
            _ => None,
        }
    }
}

impl fmt::Display for SecretKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A secret value. Its bytes are wiped when it is dropped, and `Debug` and
/// `Display` print `[redacted]`, so a value cannot reach a log or an error
/// message by accident; reading it takes an explicit `expose` call.
#[derive(Clone)]
pub struct SecretValue(Zeroizing<Vec<u8>>);

/// The value is not UTF-8 (a binary file secret, say), so it has no text form.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("the secret value is not UTF-8 text")]
pub struct NotUtf8;

/// Why a value could not be read.
#[derive(Debug, thiserror::Error)]
pub enum ReadError {
    #[error("the value is larger than {limit} bytes")]
    TooLarge { limit: usize },
    #[error("cannot read the value: {0}")]
    Io(#[from] std::io::Error),
}

impl SecretValue {
    pub fn expose(&self) -> &[u8] {
        &self.0
    }

    /// The value as text, for substitution into commands and variables.
    pub fn expose_str(&self) -> Result<&str, NotUtf8> {
        std::str::from_utf8(&self.0).map_err(|_| NotUtf8)
    }

    pub fn len(&self) -> usize {
        self.0.len()
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// Reads a whole value from `reader`, up to `limit` bytes. The buffer
    /// grows by copying into a larger wiped buffer, so no copy of the value
    /// is left behind in freed memory.
    pub fn read_from(mut reader: impl Read, limit: usize) -> Result<Self, ReadError> {
        let mut buf = Zeroizing::new(vec![0u8; 4096.min(limit.saturating_add(1))]);
        let mut len = 0;
        loop {
            if len == buf.len() {
                if len > limit {
                    return Err(ReadError::TooLarge { limit });
                }
                let mut bigger = Zeroizing::new(vec![0u8; (len * 2).min(limit + 1).max(len + 1)]);
                bigger[..len].copy_from_slice(&buf[..len]);
                buf = bigger;
            }
            match reader.read(&mut buf[len..]) {
                Ok(0) => break,
                Ok(n) => len += n,
                Err(error) if error.kind() == std::io::ErrorKind::Interrupted => {}
                Err(error) => return Err(error.into()),
            }
        }
        if len > limit {
            return Err(ReadError::TooLarge { limit });
        }
        // Truncating keeps the allocation; the bytes past `len` are zeros.
        buf.truncate(len);
        Ok(SecretValue(buf))
    }

    /// Removes one trailing `\n` (or `\r\n`), as typing a value and pressing
    /// Enter, or `echo`, adds one.
    pub fn strip_one_newline(&mut self) {
        if self.0.last() == Some(&b'\n') {
            self.0.pop();
            if self.0.last() == Some(&b'\r') {
                self.0.pop();
            }
        }
    }
}

impl From<Vec<u8>> for SecretValue {
    fn from(bytes: Vec<u8>) -> Self {
        SecretValue(Zeroizing::new(bytes))
    }
}

impl From<String> for SecretValue {
    fn from(text: String) -> Self {
        SecretValue(Zeroizing::new(text.into_bytes()))
    }
}

impl From<Zeroizing<Vec<u8>>> for SecretValue {
    fn from(bytes: Zeroizing<Vec<u8>>) -> Self {
        SecretValue(bytes)
    }
}

impl fmt::Debug for SecretValue {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("[redacted]")
    }
}

impl fmt::Display for SecretValue {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("[redacted]")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_and_display_never_show_the_value() {
        let value = SecretValue::from("hunter2".to_string());
        assert_eq!(format!("{value}"), "[redacted]");
        assert_eq!(format!("{value:?}"), "[redacted]");
        assert_eq!(format!("{:?}", Some(&value)), "Some([redacted])");
        assert_eq!(value.expose_str(), Ok("hunter2"));
        assert_eq!(SecretValue::from(vec![0xff]).expose_str(), Err(NotUtf8));
    }

    #[test]
    fn reads_across_buffer_growth_and_enforces_the_limit() {
        let data: Vec<u8> = (0..10_000u32).map(|i| (i % 251) as u8).collect();
        let value = SecretValue::read_from(&data[..], 10_000).unwrap();
        assert_eq!(value.expose(), &data[..]);
        let too_big = SecretValue::read_from(&data[..], 9_999).unwrap_err();
        assert!(matches!(too_big, ReadError::TooLarge { limit: 9_999 }));
        assert!(SecretValue::read_from(&b""[..], 10).unwrap().is_empty());
    }

    #[test]
    fn strips_exactly_one_trailing_newline() {
        for (input, expected) in [
            (&b"abc\n"[..], &b"abc"[..]),
            (b"abc\r\n", b"abc"),
            (b"abc\n\n", b"abc\n"),
            (b"abc", b"abc"),
            (b"\n", b""),
        ] {
            let mut value = SecretValue::from(input.to_vec());
            value.strip_one_newline();
            assert_eq!(value.expose(), expected);
        }
    }

    #[test]
    fn kinds_round_trip() {
        for kind in [SecretKind::Text, SecretKind::File] {
            assert_eq!(SecretKind::parse(kind.as_str()), Some(kind));
        }
        assert_eq!(SecretKind::parse("Text"), None);
    }
}
