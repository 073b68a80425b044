//! Tokens, and the one rule that decides where a `<+...>` ends: inside any
//! `<+`, the first `>` outside a string literal closes the innermost open
//! `<+`. Only outside every `<+` (in a condition) is `>` a comparison.
//!
//! A string literal holding `<+...>` is interpolated, as Harness's textual
//! substitution would: the lexer emits `("" + "text" + <+expr> + ...)` in
//! its place, so the parser sees ordinary tokens with true source offsets.

use super::ExprError;
use super::parser::MAX_NESTING;

#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Tok {
    /// An identifier; word operators become their operator tokens instead,
    /// except right after `.` where every word is a name.
    Name(String),
    Number(f64),
    Str(String),
    True,
    False,
    Null,
    /// `<+`
    Open,
    /// The `>` that closes a `<+`.
    Close,
    EqEq,
    NotEq,
    Lt,
    Le,
    Gt,
    Ge,
    AndAnd,
    OrOr,
    Bang,
    Plus,
    Minus,
    Star,
    Slash,
    Percent,
    Question,
    Colon,
    LParen,
    RParen,
    LBracket,
    RBracket,
    Comma,
    Dot,
    Eof,
}

#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Token {
    pub tok: Tok,
    /// Byte offsets into the whole source.
    pub start: usize,
    pub end: usize,
}

/// Where lexing stops.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Mode {
    /// At the `>` that closes the `<+` the input starts with (a template's expression).
    Bracket,
    /// At the end of the input (a condition).
    Condition,
}

/// Lexes `src` from byte `start`. Returns the tokens, always ending with
/// [`Tok::Eof`], and the byte offset just past the last one consumed.
pub(crate) fn lex(src: &str, start: usize, mode: Mode) -> Result<(Vec<Token>, usize), ExprError> {
    let mut lx = Lexer {
        src,
        bytes: src.as_bytes(),
        pos: start,
        opens: Vec::new(),
        tokens: Vec::new(),
        strings: 0,
    };
    lx.run(match mode {
        Mode::Bracket => Some(0),
        Mode::Condition => None,
    })?;
    lx.push(Tok::Eof, lx.pos);
    Ok((lx.tokens, lx.pos))
}

struct Lexer<'a> {
    src: &'a str,
    bytes: &'a [u8],
    pos: usize,
    /// Offsets of the `<+` not closed yet.
    opens: Vec<usize>,
    tokens: Vec<Token>,
    /// How many interpolated string literals enclose the current position.
    strings: usize,
}

impl Lexer<'_> {
    /// Lexes until the end of the input, or with `Some(depth)` until a `>`
    /// brings the number of open `<+` back down to `depth`.
    fn run(&mut self, until: Option<usize>) -> Result<(), ExprError> {
        loop {
            while self
                .bytes
                .get(self.pos)
                .is_some_and(|b| matches!(b, b' ' | b'\t' | b'\n' | b'\r'))
            {
                self.pos += 1;
            }
            let start = self.pos;
            let Some(&b) = self.bytes.get(start) else {
                if let Some(&open) = self.opens.last() {
                    return Err(ExprError {
                        message: "`<+` is never closed: expected `>` to end the expression"
                            .to_owned(),
                        offset: open,
                    });
                }
                return Ok(());
            };
            let next = self.bytes.get(start + 1).copied();
            let (tok, len) = match b {
                b'<' if next == Some(b'+') => {
                    self.opens.push(start);
                    (Tok::Open, 2)
                }
                b'<' if next == Some(b'=') => (Tok::Le, 2),
                b'<' => (Tok::Lt, 1),
                b'>' if self.opens.pop().is_some() => {
                    self.pos += 1;
                    self.push(Tok::Close, start);
                    if until == Some(self.opens.len()) {
                        return Ok(());
                    }
                    continue;
                }
                b'>' if next == Some(b'=') => (Tok::Ge, 2),
                b'>' => (Tok::Gt, 1),
                b'=' if next == Some(b'=') => (Tok::EqEq, 2),
                b'=' | b'!' if matches!(next, Some(b'~' | b'^' | b'$')) => {
                    let op = self.src.get(start..start + 2).unwrap_or("");
                    return Err(self.error(
                        format!(
                            "JEXL's `{op}` operator (regular-expression, prefix or suffix \
                             match) is not supported: use the `contains`, `startsWith` or \
                             `endsWith` methods instead"
                        ),
                        start,
                    ));
                }
                b'!' if next == Some(b'=') => (Tok::NotEq, 2),
                b'!' => (Tok::Bang, 1),
                b'&' if next == Some(b'&') => (Tok::AndAnd, 2),
                b'|' if next == Some(b'|') => (Tok::OrOr, 2),
                b'=' | b'&' | b'|' => {
                    let c = char::from(b);
                    return Err(
                        self.error(format!("unexpected `{c}`: did you mean `{c}{c}`?"), start)
                    );
                }
                b'+' => (Tok::Plus, 1),
                b'-' => (Tok::Minus, 1),
                b'*' => (Tok::Star, 1),
                b'/' => (Tok::Slash, 1),
                b'%' => (Tok::Percent, 1),
                b'?' => (Tok::Question, 1),
                b':' => (Tok::Colon, 1),
                b'(' => (Tok::LParen, 1),
                b')' => (Tok::RParen, 1),
                b'[' => (Tok::LBracket, 1),
                b']' => (Tok::RBracket, 1),
                b',' => (Tok::Comma, 1),
                b'.' => (Tok::Dot, 1),
                b'"' | b'\'' => {
                    self.string(b)?;
                    continue;
                }
                b'0'..=b'9' => {
                    let tok = self.number()?;
                    self.push(tok, start);
                    continue;
                }
                b if is_word_start(b) => {
                    let tok = self.word();
                    self.push(tok, start);
                    continue;
                }
                _ => {
                    let c = self.src[start..].chars().next().unwrap_or('\u{fffd}');
                    return Err(self.error(
                        format!(
                            "unexpected character {c:?}: expected a name, a literal, \
                             an operator or `>`"
                        ),
                        start,
                    ));
                }
            };
            self.pos += len;
            self.push(tok, start);
        }
    }

    fn push(&mut self, tok: Tok, start: usize) {
        self.push_span(tok, start, self.pos);
    }

    fn push_span(&mut self, tok: Tok, start: usize, end: usize) {
        self.tokens.push(Token { tok, start, end });
    }

    fn error(&self, message: String, offset: usize) -> ExprError {
        ExprError { message, offset }
    }

    fn word(&mut self) -> Tok {
        let start = self.pos;
        while self.bytes.get(self.pos).is_some_and(|&b| is_word_char(b)) {
            self.pos += 1;
        }
        let word = &self.src[start..self.pos];
        if matches!(self.tokens.last(), Some(Token { tok: Tok::Dot, .. })) {
            return Tok::Name(word.to_owned());
        }
        match word {
            "true" => Tok::True,
            "false" => Tok::False,
            "null" => Tok::Null,
            "and" => Tok::AndAnd,
            "or" => Tok::OrOr,
            "not" => Tok::Bang,
            "eq" => Tok::EqEq,
            "ne" => Tok::NotEq,
            "lt" => Tok::Lt,
            "le" => Tok::Le,
            "gt" => Tok::Gt,
            "ge" => Tok::Ge,
            _ => Tok::Name(word.to_owned()),
        }
    }

    /// Digits with an optional `.digits` fraction; `1.foo` is `1` then `.foo`.
    fn number(&mut self) -> Result<Tok, ExprError> {
        let start = self.pos;
        while self.bytes.get(self.pos).is_some_and(u8::is_ascii_digit) {
            self.pos += 1;
        }
        if self.bytes.get(self.pos) == Some(&b'.')
            && self.bytes.get(self.pos + 1).is_some_and(u8::is_ascii_digit)
        {
            self.pos += 1;
            while self.bytes.get(self.pos).is_some_and(u8::is_ascii_digit) {
                self.pos += 1;
            }
        }
        let text = &self.src[start..self.pos];
        text.parse().map(Tok::Number).map_err(|_| {
            self.error(
                format!("`{text}` is not a number this language can hold"),
                start,
            )
        })
    }

    /// A single- or double-quoted string. Escapes: `\n \t \r \b \f \0 \\ \' \" \/`,
    /// `\<` (a literal `<`, so `"\<+"` is not interpolated) and `\uXXXX`; any
    /// other backslash stays as written, so `"\d+"` keeps its backslash as
    /// JEXL does. A `<+...>` inside is interpolated (see the module docs).
    fn string(&mut self, quote: u8) -> Result<(), ExprError> {
        let start = self.pos;
        let quote = char::from(quote);
        self.pos += 1;
        let mut text = String::new();
        let mut interpolated = false;
        loop {
            let Some(c) = self
                .src
                .get(self.pos..)
                .and_then(|rest| rest.chars().next())
            else {
                let mut message = format!(
                    "unterminated string: expected a closing `{quote}` before the end of the \
                     input"
                );
                if let Some(open) = self.opens.last() {
                    message.push_str(&format!(
                        " (the string is inside the `<+` at byte {open}, which no `>` has \
                         closed before it)"
                    ));
                }
                return Err(self.error(message, start));
            };
            if c == quote {
                self.pos += 1;
                break;
            }
            if c == '<' && self.bytes.get(self.pos + 1) == Some(&b'+') {
                if !interpolated {
                    interpolated = true;
                    self.strings += 1;
                    if self.strings > MAX_NESTING {
                        return Err(self.error(
                            format!(
                                "strings and `<+...>` nested more than {MAX_NESTING} levels \
                                 deep: simplify the expression"
                            ),
                            start,
                        ));
                    }
                    self.push_span(Tok::LParen, start, start + 1);
                    self.push_span(Tok::Str(String::new()), start, start + 1);
                }
                self.text_piece(&mut text, start);
                self.push_span(Tok::Plus, self.pos, self.pos);
                let depth = self.opens.len();
                self.run(Some(depth))?;
                continue;
            }
            self.pos += c.len_utf8();
            if c != '\\' {
                text.push(c);
                continue;
            }
            let escape_at = self.pos - 1;
            let Some(e) = self
                .src
                .get(self.pos..)
                .and_then(|rest| rest.chars().next())
            else {
                continue;
            };
            self.pos += e.len_utf8();
            match e {
                'n' => text.push('\n'),
                't' => text.push('\t'),
                'r' => text.push('\r'),
                'b' => text.push('\u{8}'),
                'f' => text.push('\u{c}'),
                '0' => text.push('\0'),
                '\\' | '\'' | '"' | '/' | '<' => text.push(e),
                'u' => {
                    let hex = self.src.get(self.pos..self.pos + 4).unwrap_or("");
                    let decoded = (hex.len() == 4 && hex.bytes().all(|h| h.is_ascii_hexdigit()))
                        .then(|| u32::from_str_radix(hex, 16).ok())
                        .flatten()
                        .and_then(char::from_u32);
                    let Some(ch) = decoded else {
                        return Err(self.error(
                            "invalid unicode escape: expected `\\u` and four hex digits \
                             naming a character"
                                .to_owned(),
                            escape_at,
                        ));
                    };
                    text.push(ch);
                    self.pos += 4;
                }
                other => {
                    text.push('\\');
                    text.push(other);
                }
            }
        }
        if interpolated {
            self.text_piece(&mut text, start);
            self.push_span(Tok::RParen, self.pos - 1, self.pos);
            self.strings -= 1;
        } else {
            self.push_span(Tok::Str(text), start, self.pos);
        }
        Ok(())
    }

    /// Emits `+ "text"` for the literal text of an interpolated string so far.
    fn text_piece(&mut self, text: &mut String, start: usize) {
        if !text.is_empty() {
            self.push_span(Tok::Plus, start, start + 1);
            self.push_span(Tok::Str(std::mem::take(text)), start, start + 1);
        }
    }
}

fn is_word_start(b: u8) -> bool {
    b.is_ascii_alphabetic() || b == b'_' || b == b'$'
}

fn is_word_char(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b == b'_' || b == b'$'
}
