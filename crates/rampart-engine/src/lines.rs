//! Splits a stream's output chunks into lines for `Log` events.
//!
//! Chunks arrive as the executor reads them, so a line may span chunks and a
//! multi-byte character may be cut in two; bytes are kept until their line
//! ends. Lines are decoded as UTF-8 (invalid bytes become U+FFFD) without
//! their `\n` or `\r\n`. A line longer than [`MAX_LINE`] bytes is emitted in
//! pieces so a process printing without newlines cannot grow memory without
//! bound. Whatever is left when the step ends is flushed as a last line.

/// Longest line kept in memory before it is emitted in pieces.
pub const MAX_LINE: usize = 64 * 1024;

#[derive(Debug, Default)]
pub struct LineSplitter {
    pending: Vec<u8>,
}

impl LineSplitter {
    /// Adds a chunk and calls `emit` for each line it completes.
    pub fn push(&mut self, bytes: &[u8], mut emit: impl FnMut(String)) {
        let mut rest = bytes;
        while let Some(pos) = memchr::memchr(b'\n', rest) {
            let (line, after) = rest.split_at(pos);
            if self.pending.is_empty() {
                emit(decode(line));
            } else {
                self.pending.extend_from_slice(line);
                emit(decode(&self.pending));
                self.pending.clear();
            }
            rest = &after[1..];
        }
        self.pending.extend_from_slice(rest);
        while self.pending.len() >= MAX_LINE {
            let cut = char_boundary(&self.pending, MAX_LINE);
            let piece: Vec<u8> = self.pending.drain(..cut).collect();
            emit(String::from_utf8_lossy(&piece).into_owned());
        }
    }

    /// Emits the unterminated last line, if any.
    pub fn finish(&mut self, mut emit: impl FnMut(String)) {
        if !self.pending.is_empty() {
            emit(decode(&self.pending));
            self.pending.clear();
        }
    }
}

fn decode(line: &[u8]) -> String {
    let line = line.strip_suffix(b"\r").unwrap_or(line);
    // Valid UTF-8 is the common case, and checking it is faster than the
    // lossy walk.
    match std::str::from_utf8(line) {
        Ok(text) => text.to_owned(),
        Err(_) => String::from_utf8_lossy(line).into_owned(),
    }
}

/// The largest cut at or below `max` that does not split a UTF-8 character
/// (looking back at most 3 bytes; `max` itself for bytes that are not UTF-8).
fn char_boundary(bytes: &[u8], max: usize) -> usize {
    (max.saturating_sub(3)..=max)
        .rev()
        .find(|&i| i > 0 && bytes.get(i).is_none_or(|&b| (b & 0xC0) != 0x80))
        .unwrap_or(max)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn split(chunks: &[&[u8]]) -> Vec<String> {
        let mut splitter = LineSplitter::default();
        let mut lines = Vec::new();
        for chunk in chunks {
            splitter.push(chunk, |l| lines.push(l));
        }
        splitter.finish(|l| lines.push(l));
        lines
    }

    #[test]
    fn lines_across_chunks_and_crlf() {
        assert_eq!(
            split(&[b"one\ntw", b"o\r\nthr", b"ee"]),
            ["one", "two", "three"]
        );
    }

    #[test]
    fn empty_lines_are_kept_and_no_phantom_last_line() {
        assert_eq!(split(&[b"a\n\nb\n"]), ["a", "", "b"]);
        assert!(split(&[b""]).is_empty());
    }

    #[test]
    fn split_multibyte_characters_are_rejoined_and_bad_bytes_replaced() {
        let euro = "€".as_bytes();
        assert_eq!(split(&[&euro[..1], &euro[1..], b"\n"]), ["€"]);
        assert_eq!(split(&[b"a\xffb\n"]), ["a\u{fffd}b"]);
    }

    #[test]
    fn very_long_lines_are_emitted_in_pieces_on_char_boundaries() {
        let mut long = vec![b'x'; MAX_LINE - 1];
        long.extend_from_slice("é".as_bytes());
        long.extend_from_slice(b"tail");
        let lines = split(&[&long]);
        assert_eq!(lines.len(), 2);
        assert_eq!(lines[0].len(), MAX_LINE - 1);
        assert_eq!(lines[1], "étail");
    }
}
