//! A generated, realistic CI log for the masking benchmarks: mostly ASCII
//! build output (cargo, npm, pip, docker, git, test runners, timestamps,
//! paths, hashes, URLs), with a few hundred occurrences of the secrets (raw,
//! in basic-auth base64, hex, URL credentials, JSON) and a few tokens (GitHub,
//! JWT, AWS key pairs). Deterministic: the same seed gives the same log.

use std::fmt::Write as _;

/// xorshift64: small, deterministic, good enough for test data.
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Rng {
        Rng(seed | 1)
    }

    pub fn next_u64(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }

    pub fn below(&mut self, n: usize) -> usize {
        (self.next_u64() % n as u64) as usize
    }

    fn pick<'a>(&mut self, items: &[&'a str]) -> &'a str {
        items[self.below(items.len())]
    }

    fn chars(&mut self, alphabet: &[u8], len: usize) -> String {
        (0..len)
            .map(|_| alphabet[self.below(alphabet.len())] as char)
            .collect()
    }
}

const ALNUM: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
const HEX: &[u8] = b"0123456789abcdef";
const B64: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
const PASSWORD: &[u8] =
    b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789!@#$%^&-_=+.:/";

/// `n` secrets of the kinds CI pipelines hold, 16 to 64 characters: API
/// tokens, passwords with punctuation, hex keys and base64 keys.
pub fn secrets(n: usize, seed: u64) -> Vec<String> {
    let mut rng = Rng::new(seed);
    (0..n)
        .map(|_| match rng.below(10) {
            0..=3 => {
                let len = 32 + rng.below(9);
                rng.chars(ALNUM, len)
            }
            4 | 5 => {
                let len = 16 + rng.below(9);
                rng.chars(PASSWORD, len)
            }
            6 | 7 => {
                let len = 32 * (1 + rng.below(2));
                rng.chars(HEX, len)
            }
            _ => {
                let len = 4 * (6 + rng.below(6));
                let mut s = rng.chars(B64, len - 1);
                s.push('=');
                s
            }
        })
        .collect()
}

pub fn base64(data: &[u8]) -> String {
    let mut out = String::new();
    for group in data.chunks(3) {
        let b = [
            group[0],
            *group.get(1).unwrap_or(&0),
            *group.get(2).unwrap_or(&0),
        ];
        let n = u32::from(b[0]) << 16 | u32::from(b[1]) << 8 | u32::from(b[2]);
        for i in 0..4 {
            if i <= group.len() {
                out.push(B64[(n >> (18 - 6 * i) & 63) as usize] as char);
            } else {
                out.push('=');
            }
        }
    }
    out
}

fn hex(data: &[u8]) -> String {
    data.iter().fold(String::new(), |mut s, b| {
        let _ = write!(s, "{b:02x}");
        s
    })
}

fn url_encode(s: &str) -> String {
    s.bytes().fold(String::new(), |mut out, b| {
        if b.is_ascii_alphanumeric() || b"-._~".contains(&b) {
            out.push(b as char);
        } else {
            let _ = write!(out, "%{b:02X}");
        }
        out
    })
}

/// Writes log lines; one in `secret_every` lines shows a secret, one in
/// `token_every` a token.
pub struct LogGen {
    rng: Rng,
    secrets: Vec<String>,
    line: u64,
    secret_every: usize,
    token_every: usize,
}

const CRATES: &[&str] = &[
    "serde",
    "serde_derive",
    "proc-macro2",
    "tokio",
    "tokio-macros",
    "aho-corasick",
    "memchr",
    "regex-syntax",
    "clap_builder",
    "hyper",
    "rustls",
    "ring",
    "libc",
    "syn",
    "quote",
    "bytes",
    "tracing-subscriber",
    "futures-util",
    "rampart-engine",
    "sqlx-core",
    "axum",
    "tower-http",
];
const WORDS: &[&str] = &[
    "the",
    "build",
    "cache",
    "restored",
    "from",
    "key",
    "layer",
    "already",
    "exists",
    "pulling",
    "fs",
    "waiting",
    "for",
    "lock",
    "on",
    "package",
    "resolved",
    "dependencies",
    "in",
    "checking",
    "integrity",
    "warning",
    "unused",
    "variable",
    "deprecated",
    "function",
    "will",
    "be",
    "removed",
    "network",
    "timeout",
    "retrying",
    "artifact",
    "uploaded",
    "successfully",
    "step",
    "completed",
];

impl LogGen {
    /// A log with a secret on one line in 2,500 (about 300 in 64 MiB) and a
    /// token on one line in 16,000.
    pub fn new(secrets: Vec<String>, seed: u64) -> LogGen {
        LogGen {
            rng: Rng::new(seed),
            secrets,
            line: 0,
            secret_every: 2500,
            token_every: 16000,
        }
    }

    /// Appends whole lines until `out` holds at least `size` bytes.
    pub fn fill(&mut self, out: &mut Vec<u8>, size: usize) {
        let mut line = String::with_capacity(256);
        while out.len() < size {
            line.clear();
            self.write_line(&mut line);
            out.extend_from_slice(line.as_bytes());
        }
    }

    fn write_line(&mut self, l: &mut String) {
        self.line += 1;
        let r = &mut self.rng;
        let _ = write!(
            l,
            "2026-11-25T{:02}:{:02}:{:02}.{:03}Z ",
            8 + r.below(3),
            r.below(60),
            r.below(60),
            r.below(1000)
        );
        if !self.secrets.is_empty() && r.below(self.secret_every) == 0 {
            let s = self.secrets[r.below(self.secrets.len())].clone();
            let _ = match r.below(5) {
                0 => writeln!(l, "+ export DEPLOY_TOKEN={s}"),
                1 => writeln!(
                    l,
                    "> Authorization: Basic {}",
                    base64(format!("ci-bot:{s}").as_bytes())
                ),
                2 => writeln!(l, "key material: {}", hex(s.as_bytes())),
                3 => writeln!(
                    l,
                    "Cloning into 'repo'... https://ci-bot:{}@git.example.com/org/repo.git",
                    url_encode(&s)
                ),
                _ => writeln!(
                    l,
                    "{{\"auths\":{{\"registry.example.com\":{{\"auth\":{}}}}}}}",
                    serde_json::to_string(&s).unwrap_or_default()
                ),
            };
            return;
        }
        if r.below(self.token_every) == 0 {
            let _ = match r.below(3) {
                0 => writeln!(
                    l,
                    "remote: https://x-access-token:ghp_{}@github.com/org/repo",
                    r.chars(ALNUM, 36)
                ),
                1 => writeln!(
                    l,
                    "Bearer eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.{}.{}",
                    base64(
                        format!(
                            "{{\"sub\":\"{}\",\"iat\":{}}}",
                            r.below(100000),
                            r.next_u64() % 2_000_000_000
                        )
                        .as_bytes()
                    )
                    .trim_end_matches('='),
                    r.chars(ALNUM, 43)
                ),
                _ => writeln!(
                    l,
                    "AWS_ACCESS_KEY_ID=AKIA{} AWS_SECRET_ACCESS_KEY={}",
                    r.chars(b"ABCDEFGHIJKLMNOPQRSTUVWXYZ234567", 16),
                    r.chars(B64, 40)
                ),
            };
            return;
        }
        let c = r.pick(CRATES);
        let _ = match r.below(12) {
            0 | 1 => writeln!(
                l,
                "   Compiling {c} v{}.{}.{} (/home/runner/work/rampart/rampart/crates/{c})",
                r.below(3),
                r.below(40),
                r.below(200)
            ),
            2 => writeln!(
                l,
                "  Downloaded {c} v{}.{}.{}",
                r.below(3),
                r.below(40),
                r.below(200)
            ),
            3 => writeln!(
                l,
                "test {c}::tests::{}_{} ... ok",
                r.pick(WORDS),
                r.pick(WORDS)
            ),
            4 => writeln!(
                l,
                "npm WARN deprecated {c}@{}.{}.{}: this version is no longer supported, please update to a newer version",
                r.below(9),
                r.below(20),
                r.below(9)
            ),
            5 => writeln!(
                l,
                "Collecting {c}=={}.{}.{}\n  Downloading https://files.pythonhosted.org/packages/{:02x}/{:02x}/{c}-{}.{}-py3-none-any.whl ({}.{} MB)",
                r.below(9),
                r.below(30),
                r.below(9),
                r.below(256),
                r.below(256),
                r.below(9),
                r.below(30),
                r.below(20),
                r.below(10)
            ),
            6 => writeln!(
                l,
                "#{} [{}/{}] RUN apt-get update && apt-get install -y --no-install-recommends {c} ca-certificates",
                r.below(30),
                r.below(9),
                9
            ),
            7 => writeln!(
                l,
                "HEAD is now at {:016x}{:08x} {} {} {}",
                r.next_u64(),
                r.next_u64() as u32,
                r.pick(WORDS),
                r.pick(WORDS),
                r.pick(WORDS)
            ),
            8 => writeln!(
                l,
                "warning: unused variable: `{}`\n  --> crates/{c}/src/lib.rs:{}:{}\n   |\n{} |     let {} = {}::new();\n   |         ^^^^ help: if this is intentional, prefix it with an underscore",
                r.pick(WORDS),
                r.below(900),
                r.below(80),
                r.below(900),
                r.pick(WORDS),
                r.pick(WORDS)
            ),
            9 => writeln!(
                l,
                "{} {} {} {} {} {} ({} ms)",
                r.pick(WORDS),
                r.pick(WORDS),
                r.pick(WORDS),
                r.pick(WORDS),
                r.pick(WORDS),
                r.pick(WORDS),
                r.below(5000)
            ),
            10 => writeln!(
                l,
                "sha256:{:016x}{:016x}{:016x}{:016x}: {} {}/{} MB",
                r.next_u64(),
                r.next_u64(),
                r.next_u64(),
                r.next_u64(),
                r.pick(WORDS),
                r.below(100),
                100
            ),
            _ => writeln!(
                l,
                "    Finished `release` profile [optimized] target(s) in {}.{:02}s",
                r.below(300),
                r.below(100)
            ),
        };
    }
}
