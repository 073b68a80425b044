//! Well-known token patterns, masked even when nobody registered them.
//!
//! Each pattern starts with a fixed *prefix* (found by the same multi-literal
//! search as the short secret forms) and continues with a body that a small
//! resumable state machine, the [`Scanner`], reads one byte at a time, so a
//! token split across writes is recognised exactly as in one piece. A scanner
//! *accepts* after a bounded number of bytes (the token is then masked from
//! its prefix on) and afterwards extends the mask over every further body
//! byte as it arrives, without holding anything back. Until it accepts, the
//! bytes from its prefix on are held back; [`MAX_TOKEN_HOLD`] bounds that.
//!
//! The patterns (all case-sensitive):
//!
//! | token | prefix | masked |
//! |---|---|---|
//! | JWT | `eyJ` | a base64url header of at most [`JWT_MAX_HEADER`] characters that decodes to a JSON object with an `"alg"` member, then `.`; from the prefix through the payload, the second `.` and the signature (base64url runs) |
//! | PEM private key | `-----BEGIN ` | `[A-Z0-9 ]*PRIVATE KEY-----` (at most 64 bytes) accepts; then every byte of a PEM body (base64, whitespace, `\`, `:`, `,`, `-`) up to and including the `-----` that closes the `-----END …` line |
//! | GitHub | `ghp_` `gho_` `ghu_` `ghs_` `ghr_` | followed by at least 36 `[A-Za-z0-9]`: the whole run |
//! | GitHub fine-grained | `github_pat_` | followed by at least 22 `[A-Za-z0-9_]`: the whole run |
//! | GitLab | `glpat-` | followed by at least 20 `[A-Za-z0-9_-]`: the whole run |
//! | Slack | `xoxa-` `xoxb-` `xoxp-` `xoxr-` `xoxs-` | followed by at least 10 `[A-Za-z0-9-]`: the whole run |
//! | AWS | `AKIA` `ASIA` | followed by at least 16 `[A-Z0-9]`: the key id; then, on the same line and starting at most [`AWS_SECRET_WINDOW`] bytes after it, the first run of at least 40 `[A-Za-z0-9/+]` (the secret access key) |
//! | Rampart | [`RAMPART_TOKEN_PREFIX`] | followed by at least [`RAMPART_TOKEN_MIN_BODY`] base64url characters: the whole run |

/// Prefix of the tokens Rampart mints.
pub const RAMPART_TOKEN_PREFIX: &str = "rmp_";
/// Base64url characters a Rampart token has at least after its prefix
/// (43 characters carry 256 bits).
pub const RAMPART_TOKEN_MIN_BODY: usize = 43;
/// Longest JWT header (in base64url characters, `eyJ` included) recognised.
pub const JWT_MAX_HEADER: usize = 1024;
/// How far after an AWS access key id its secret access key may start.
pub const AWS_SECRET_WINDOW: usize = 128;
/// Most bytes a token pattern holds back before it decides (a JWT header and
/// its `.`); every other pattern decides sooner.
pub const MAX_TOKEN_HOLD: usize = JWT_MAX_HEADER + 1;

const GITHUB_MIN_BODY: usize = 36;
const GITHUB_PAT_MIN_BODY: usize = 22;
const GITLAB_MIN_BODY: usize = 20;
const SLACK_MIN_BODY: usize = 10;
const AWS_ID_BODY: usize = 16;
const AWS_SECRET_LEN: usize = 40;
const PEM_MAX_LABEL: usize = 64;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Kind {
    Jwt,
    Pem,
    GitHub,
    GitHubPat,
    GitLab,
    Slack,
    Aws,
    Rampart,
}

/// Where a pattern starts: the literal the match begins with, and the part of
/// it the multi-literal search looks for (chosen so that common text such as
/// `---` separators or `git` does not wake the search up).
pub(crate) struct Anchor {
    pub prefix: &'static [u8],
    pub search: &'static [u8],
    /// Where `search` sits in `prefix`.
    pub offset: usize,
    pub kind: Kind,
}

const fn anchor(prefix: &'static [u8], kind: Kind) -> Anchor {
    Anchor {
        prefix,
        search: prefix,
        offset: 0,
        kind,
    }
}

pub(crate) const ANCHORS: &[Anchor] = &[
    anchor(b"eyJ", Kind::Jwt),
    Anchor {
        prefix: b"-----BEGIN ",
        search: b"BEGIN ",
        offset: 5,
        kind: Kind::Pem,
    },
    anchor(b"ghp_", Kind::GitHub),
    anchor(b"gho_", Kind::GitHub),
    anchor(b"ghu_", Kind::GitHub),
    anchor(b"ghs_", Kind::GitHub),
    anchor(b"ghr_", Kind::GitHub),
    Anchor {
        prefix: b"github_pat_",
        search: b"_pat_",
        offset: 6,
        kind: Kind::GitHubPat,
    },
    anchor(b"glpat-", Kind::GitLab),
    anchor(b"xoxa-", Kind::Slack),
    anchor(b"xoxb-", Kind::Slack),
    anchor(b"xoxp-", Kind::Slack),
    anchor(b"xoxr-", Kind::Slack),
    anchor(b"xoxs-", Kind::Slack),
    anchor(b"AKIA", Kind::Aws),
    anchor(b"ASIA", Kind::Aws),
    anchor(RAMPART_TOKEN_PREFIX.as_bytes(), Kind::Rampart),
];

/// Byte classes the patterns are made of.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Class {
    Alnum,
    AlnumUnderscore,
    Base64Url,
    SlackBody,
    AwsId,
    AwsSecret,
    PemBody,
}

impl Class {
    fn has(self, b: u8) -> bool {
        match self {
            Class::Alnum => b.is_ascii_alphanumeric(),
            Class::AlnumUnderscore => b.is_ascii_alphanumeric() || b == b'_',
            Class::Base64Url => b.is_ascii_alphanumeric() || b == b'_' || b == b'-',
            Class::SlackBody => b.is_ascii_alphanumeric() || b == b'-',
            Class::AwsId => b.is_ascii_uppercase() || b.is_ascii_digit(),
            Class::AwsSecret => b.is_ascii_alphanumeric() || b == b'/' || b == b'+',
            Class::PemBody => b.is_ascii_alphanumeric() || b" \t\r\n+/=\\:,-".contains(&b),
        }
    }

    /// How many leading bytes of `bytes` are in the class.
    fn run(self, bytes: &[u8]) -> usize {
        bytes.iter().take_while(|&&b| self.has(b)).count()
    }
}

#[derive(Debug)]
enum State {
    /// A run of `class` bytes, accepted once `len >= min`; an accepted AWS key
    /// id goes on to look for its secret.
    Run {
        class: Class,
        len: usize,
        min: usize,
        accepted: bool,
        aws: bool,
    },
    JwtHeader {
        header: Vec<u8>,
    },
    JwtRest {
        dots: u8,
    },
    PemLabel {
        label: Vec<u8>,
    },
    PemBody {
        dashes: u8,
        end: EndMarker,
    },
    AwsSeek {
        dist: usize,
        run_start: u64,
        run_len: usize,
    },
    AwsSecret,
    Done,
}

/// Progress through the `-----END` that ends a PEM body.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum EndMarker {
    /// Not after a run of five dashes.
    None,
    /// After five dashes, this many bytes of `END` seen.
    Matching(u8),
    /// `-----END` seen: the next five dashes close the block.
    Found,
}

/// One possible token, from its prefix on.
#[derive(Debug)]
pub(crate) struct Scanner {
    kind: Kind,
    /// Stream position of the prefix.
    start: u64,
    /// Stream position of the next byte to feed.
    next: u64,
    state: State,
}

impl Scanner {
    /// A scanner for the token whose prefix `anchor.prefix` starts at `start`;
    /// the bytes fed next start right after the prefix.
    pub(crate) fn new(anchor: &Anchor, start: u64) -> Scanner {
        let run = |class, min| State::Run {
            class,
            len: 0,
            min,
            accepted: false,
            aws: false,
        };
        let state = match anchor.kind {
            Kind::Jwt => State::JwtHeader {
                header: anchor.prefix.to_vec(),
            },
            Kind::Pem => State::PemLabel { label: Vec::new() },
            Kind::GitHub => run(Class::Alnum, GITHUB_MIN_BODY),
            Kind::GitHubPat => run(Class::AlnumUnderscore, GITHUB_PAT_MIN_BODY),
            Kind::GitLab => run(Class::Base64Url, GITLAB_MIN_BODY),
            Kind::Slack => run(Class::SlackBody, SLACK_MIN_BODY),
            Kind::Aws => State::Run {
                class: Class::AwsId,
                len: 0,
                min: AWS_ID_BODY,
                accepted: false,
                aws: true,
            },
            Kind::Rampart => run(Class::Base64Url, RAMPART_TOKEN_MIN_BODY),
        };
        Scanner {
            kind: anchor.kind,
            start,
            next: start + anchor.prefix.len() as u64,
            state,
        }
    }

    /// Whether this scanner has accepted and is masking a run of `kind`
    /// through `pos`. A scanner of the same kind starting there would mask a
    /// subset of what this one masks (it reads the same bytes to the same
    /// end), so it need not start: without this, a long run of repeated
    /// prefixes (`AKIAAKIA…`) would cost quadratic time. Not for JWTs, whose
    /// later header may reach one segment further.
    pub(crate) fn extends_over(&self, kind: Kind, pos: u64) -> bool {
        let extending = matches!(
            self.state,
            State::Run { accepted: true, .. } | State::PemBody { .. }
        );
        extending && self.kind == kind && kind != Kind::Jwt && self.start <= pos && pos < self.next
    }

    /// Stream position of the next byte this scanner expects.
    pub(crate) fn next(&self) -> u64 {
        self.next
    }

    pub(crate) fn is_done(&self) -> bool {
        matches!(self.state, State::Done)
    }

    /// The first stream position this scanner may still mask but has not
    /// decided on yet: bytes from there on must be held back.
    pub(crate) fn pending(&self) -> Option<u64> {
        match self.state {
            State::Run {
                accepted: false, ..
            }
            | State::JwtHeader { .. }
            | State::PemLabel { .. } => Some(self.start),
            State::AwsSeek {
                run_start, run_len, ..
            } if run_len > 0 => Some(run_start),
            _ => None,
        }
    }

    /// End of stream: whatever is undecided is not a token.
    pub(crate) fn finish(&mut self) {
        self.state = State::Done;
    }

    /// Feeds the bytes that follow those fed so far; pushes the stream ranges
    /// found to be masked onto `cover`.
    pub(crate) fn feed(&mut self, bytes: &[u8], cover: &mut Vec<(u64, u64)>) {
        let mut i = 0;
        while i < bytes.len() {
            let rest = &bytes[i..];
            let (used, next_state) = self.step(rest, cover);
            i += used;
            self.next += used as u64;
            if let Some(state) = next_state {
                self.state = state;
            }
            if self.is_done() {
                return;
            }
        }
    }

    /// Consumes a prefix of `rest` (possibly nothing, when only the state
    /// changes) and returns how much, and the state to move to.
    fn step(&mut self, rest: &[u8], cover: &mut Vec<(u64, u64)>) -> (usize, Option<State>) {
        let pos = self.next;
        let b = rest[0];
        match &mut self.state {
            State::Done => (rest.len(), None),
            State::Run {
                class,
                len,
                min,
                accepted,
                aws,
            } => {
                let run = class.run(rest);
                let end = pos + run as u64;
                if *accepted {
                    cover.push((pos, end));
                } else if *len + run >= *min {
                    cover.push((self.start, end));
                    *accepted = true;
                }
                *len += run;
                if run == rest.len() {
                    (run, None)
                } else if *accepted && *aws {
                    (
                        run,
                        Some(State::AwsSeek {
                            dist: 0,
                            run_start: 0,
                            run_len: 0,
                        }),
                    )
                } else {
                    (run, Some(State::Done))
                }
            }
            State::JwtHeader { header } => {
                // Look no further than the longest header allowed.
                let room = JWT_MAX_HEADER + 1 - header.len().min(JWT_MAX_HEADER);
                let run = Class::Base64Url.run(&rest[..rest.len().min(room)]);
                if run > 0 {
                    if header.len() + run > JWT_MAX_HEADER {
                        return (run, Some(State::Done));
                    }
                    header.extend_from_slice(&rest[..run]);
                    (run, None)
                } else if b == b'.' && jwt_header_ok(header) {
                    cover.push((self.start, pos + 1));
                    (1, Some(State::JwtRest { dots: 1 }))
                } else {
                    (1, Some(State::Done))
                }
            }
            State::JwtRest { dots } => {
                let run = Class::Base64Url.run(rest);
                if run > 0 {
                    cover.push((pos, pos + run as u64));
                    (run, None)
                } else if b == b'.' && *dots < 2 {
                    *dots += 1;
                    cover.push((pos, pos + 1));
                    (1, None)
                } else {
                    (0, Some(State::Done))
                }
            }
            State::PemLabel { label } => {
                // `[A-Z0-9 ]*PRIVATE KEY` then exactly the five closing dashes;
                // no dash before them, so an `-----END …` line is no label.
                let dashes = label.iter().rev().take_while(|&&c| c == b'-').count();
                let ok = if b == b'-' {
                    dashes > 0 || label.ends_with(b"PRIVATE KEY")
                } else {
                    dashes == 0 && (b.is_ascii_uppercase() || b.is_ascii_digit() || b == b' ')
                };
                if !ok || label.len() >= PEM_MAX_LABEL {
                    return (0, Some(State::Done));
                }
                label.push(b);
                if dashes + usize::from(b == b'-') == 5 {
                    cover.push((self.start, pos + 1));
                    // The label's closing dashes count, as they do for a
                    // scanner already in a body that reads this line.
                    return (
                        1,
                        Some(State::PemBody {
                            dashes: 5,
                            end: EndMarker::None,
                        }),
                    );
                }
                (1, None)
            }
            State::PemBody { dashes, end } => {
                if !Class::PemBody.has(b) {
                    return (0, Some(State::Done));
                }
                cover.push((pos, pos + 1));
                if b == b'-' {
                    *dashes = dashes.saturating_add(1);
                    if *end == EndMarker::Found && *dashes >= 5 {
                        return (1, Some(State::Done));
                    }
                    if *end != EndMarker::Found {
                        *end = EndMarker::None;
                    }
                    return (1, None);
                }
                if *dashes >= 5 && *end == EndMarker::None {
                    *end = EndMarker::Matching(0);
                }
                *dashes = 0;
                if let EndMarker::Matching(n) = *end {
                    *end = if b"END".get(usize::from(n)) == Some(&b) {
                        if n == 2 {
                            EndMarker::Found
                        } else {
                            EndMarker::Matching(n + 1)
                        }
                    } else {
                        EndMarker::None
                    };
                }
                (1, None)
            }
            State::AwsSeek {
                dist,
                run_start,
                run_len,
            } => {
                if Class::AwsSecret.has(b) {
                    if *run_len == 0 {
                        if *dist >= AWS_SECRET_WINDOW {
                            return (0, Some(State::Done));
                        }
                        *run_start = pos;
                    }
                    *run_len += 1;
                    *dist += 1;
                    if *run_len >= AWS_SECRET_LEN {
                        cover.push((*run_start, pos + 1));
                        return (1, Some(State::AwsSecret));
                    }
                    (1, None)
                } else {
                    *run_len = 0;
                    if b == b'\n' || *dist >= AWS_SECRET_WINDOW {
                        return (0, Some(State::Done));
                    }
                    *dist += 1;
                    (1, None)
                }
            }
            State::AwsSecret => {
                let run = Class::AwsSecret.run(rest);
                cover.push((pos, pos + run as u64));
                if run == rest.len() {
                    (run, None)
                } else {
                    (run, Some(State::Done))
                }
            }
        }
    }
}

/// Whether a JWT header (base64url, unpadded) decodes to a JSON object with
/// an `"alg"` member.
fn jwt_header_ok(header: &[u8]) -> bool {
    crate::forms::base64url_decode(header)
        .and_then(|json| {
            serde_json::from_slice::<serde_json::Map<String, serde_json::Value>>(&json).ok()
        })
        .is_some_and(|map| map.contains_key("alg"))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Runs one scanner over `text` (which starts with the anchor's prefix)
    /// fed in `chunk`-byte pieces, and returns the merged masked ranges.
    fn scan(kind_prefix: &[u8], text: &[u8], chunk: usize) -> Vec<(u64, u64)> {
        let anchor = ANCHORS.iter().find(|a| a.prefix == kind_prefix).unwrap();
        let mut s = Scanner::new(anchor, 0);
        let mut cover = Vec::new();
        for piece in text[anchor.prefix.len()..].chunks(chunk) {
            s.feed(piece, &mut cover);
        }
        s.finish();
        cover.sort_unstable();
        let mut merged: Vec<(u64, u64)> = Vec::new();
        for (a, b) in cover {
            match merged.last_mut() {
                Some(last) if a <= last.1 => last.1 = last.1.max(b),
                _ => merged.push((a, b)),
            }
        }
        merged
    }

    fn both(prefix: &str, text: &str) -> Vec<(u64, u64)> {
        let whole = scan(prefix.as_bytes(), text.as_bytes(), usize::MAX);
        for chunk in [1, 2, 3, 7] {
            assert_eq!(
                scan(prefix.as_bytes(), text.as_bytes(), chunk),
                whole,
                "chunk {chunk}"
            );
        }
        whole
    }

    #[test]
    fn github_token_needs_36_characters() {
        let body = "a1B2c3D4e5F6g7H8i9J0k1L2m3N4o5P6q7R8";
        assert_eq!(both("ghp_", &format!("ghp_{body} rest")), vec![(0, 40)]);
        assert_eq!(both("ghp_", &format!("ghp_{}", &body[..35])), vec![]);
        assert_eq!(both("ghp_", &format!("ghp_{body}XYZ.")), vec![(0, 43)]);
    }

    #[test]
    fn slack_token_needs_ten_body_characters() {
        assert_eq!(both("xoxb-", "xoxb-1234567890-abcdef ok"), vec![(0, 22)]);
        assert_eq!(both("xoxp-", "xoxp-123456789"), vec![]);
        assert!(!ANCHORS.iter().any(|a| a.prefix.starts_with(b"xoxz")));
    }

    #[test]
    fn jwt_header_must_decode_to_json_with_alg() {
        let header = "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9"; // {"alg":"HS256","typ":"JWT"}
        let jwt = format!(
            "{header}.eyJzdWIiOiIxMjM0NTY3ODkwIn0.dozjgNryP4J3jVmNHl0w5N_XgL0n3I9PlFUP0THsR8U"
        );
        let text = format!("{jwt}. tail");
        assert_eq!(both("eyJ", &text), vec![(0, jwt.len() as u64)]);
        // {"typ":"JWT"}: no alg.
        assert_eq!(
            both("eyJ", "eyJ0eXAiOiJKV1QifQ.eyJzdWIiOiIxIn0.sig"),
            vec![]
        );
        // Not JSON at all.
        assert_eq!(both("eyJ", "eyJxxxxxxxxxxxx.abc.def"), vec![]);
    }

    #[test]
    fn pem_private_key_is_masked_through_its_end_line() {
        let key = "-----BEGIN RSA PRIVATE KEY-----\nMIIEowIBAAKCAQEA+/x==\nProc-Type: 4,ENCRYPTED\n-----END RSA PRIVATE KEY-----";
        let text = format!("{key}\nnext line (not key)");
        assert_eq!(both("-----BEGIN ", &text), vec![(0, key.len() as u64)]);
        // JSON-escaped newlines.
        let key = r"-----BEGIN PRIVATE KEY-----\nMIIEvQIBADANBg\n-----END PRIVATE KEY-----";
        assert_eq!(
            both("-----BEGIN ", &format!("{key}\", next")),
            vec![(0, key.len() as u64)]
        );
        // An END line is no label: the key masked before it ends there.
        assert_eq!(
            both(
                "-----BEGIN ",
                "-----BEGIN -----END RSA PRIVATE KEY----- tail"
            ),
            vec![]
        );
        assert_eq!(
            both("-----BEGIN ", "-----BEGIN PRIVATE KEY------"),
            vec![(0, 28)]
        );
        // A certificate is not a private key.
        assert_eq!(
            both(
                "-----BEGIN ",
                "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----"
            ),
            vec![]
        );
    }

    #[test]
    fn aws_key_id_and_following_secret() {
        let text = "AKIAIOSFODNN7EXAMPLE secret=wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY done";
        let id_end = 20;
        let secret_start = text.find("wJal").unwrap() as u64;
        assert_eq!(
            both("AKIA", text),
            vec![(0, id_end), (secret_start, secret_start + 40)]
        );
        // Another line: only the key id.
        let text = "AKIAIOSFODNN7EXAMPLE\nwJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY";
        assert_eq!(both("AKIA", text), vec![(0, 20)]);
        // A run shorter than 40 is not a secret.
        assert_eq!(
            both("AKIA", "ASIAIOSFODNN7EXAMPLE x=shortvalue123 y"),
            vec![(0, 20)]
        );
    }

    #[test]
    fn rampart_token() {
        let body = "A".repeat(RAMPART_TOKEN_MIN_BODY);
        assert_eq!(
            both("rmp_", &format!("rmp_{body}-_x!")),
            vec![(0, 4 + 43 + 3)]
        );
        assert_eq!(both("rmp_", &format!("rmp_{}", &body[1..])), vec![]);
    }

    #[test]
    fn every_github_and_gitlab_prefix() {
        let body = "Zz9".repeat(12);
        for prefix in ["ghp_", "gho_", "ghu_", "ghs_", "ghr_"] {
            let text = format!("{prefix}{body}\n");
            assert_eq!(both(prefix, &text), vec![(0, 40)], "{prefix}");
        }
        let pat = format!("github_pat_11ABCDEFG0123456789_{}", "x".repeat(59));
        assert_eq!(
            both("github_pat_", &format!("{pat} ")),
            vec![(0, pat.len() as u64)]
        );
        assert_eq!(both("github_pat_", "github_pat_short"), vec![]);
        let gl = "glpat-Ab_cD-ef0123456789xyz";
        assert_eq!(
            both("glpat-", &format!("{gl}\"")),
            vec![(0, gl.len() as u64)]
        );
        assert_eq!(both("glpat-", "glpat-0123456789"), vec![]);
    }

    #[test]
    fn undecided_scanner_holds_from_its_prefix() {
        let anchor = ANCHORS.iter().find(|a| a.prefix == b"ghp_").unwrap();
        let mut s = Scanner::new(anchor, 100);
        let mut cover = Vec::new();
        s.feed(b"abc", &mut cover);
        assert_eq!(s.pending(), Some(100));
        s.feed(&[b'x'; 40], &mut cover);
        assert_eq!(s.pending(), None);
        assert!(!s.is_done());
        s.feed(b" ", &mut cover);
        assert!(s.is_done());
    }
}
