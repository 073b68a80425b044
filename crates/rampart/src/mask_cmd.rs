//! `rampart mask`: filter stdin to stdout through the streaming masker, so a
//! user can scrub an existing log with the same engine `rampart run` uses.

use std::io::{self, Read, Write};
use std::process::ExitCode;
use std::sync::Arc;

use anyhow::Context;
use rampart_mask::{MaskConfig, SecretSet};

use crate::args::MaskArgs;

pub fn mask(args: &MaskArgs) -> anyhow::Result<ExitCode> {
    let file = args.secrets_file.display().to_string();
    let text = std::fs::read_to_string(&args.secrets_file)
        .with_context(|| format!("cannot read secrets file {file}"))?;
    let secrets =
        parse_secrets(&text).with_context(|| format!("cannot read secrets from {file}"))?;
    let set = Arc::new(SecretSet::new(MaskConfig {
        mask: args.mask.clone(),
        min_len: args.min_length,
        ..MaskConfig::default()
    }));
    for (index, secret) in secrets.iter().enumerate() {
        if set.add(secret).too_short {
            eprintln!(
                "rampart: warning: secret #{} in {file} is shorter than {} bytes and is not masked; masking it would hide ordinary text",
                index + 1,
                args.min_length
            );
        }
    }

    let mut stream = set.stream();
    let mut input = io::stdin().lock();
    let mut output = io::stdout().lock();
    let mut chunk = vec![0u8; 64 * 1024];
    let mut masked = Vec::with_capacity(chunk.len());
    loop {
        let read = match input.read(&mut chunk) {
            Ok(0) => break,
            Ok(read) => read,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e).context("cannot read standard input"),
        };
        masked.clear();
        stream.write(&chunk[..read], &mut masked);
        // Written as soon as it is released, so `tail -f log | rampart mask` stays live.
        output
            .write_all(&masked)
            .and_then(|()| output.flush())
            .context("cannot write standard output")?;
    }
    masked.clear();
    stream.finish(&mut masked);
    output
        .write_all(&masked)
        .and_then(|()| output.flush())
        .context("cannot write standard output")?;
    Ok(ExitCode::SUCCESS)
}

/// One secret per line, or a JSON array of strings (for values with newlines).
fn parse_secrets(text: &str) -> anyhow::Result<Vec<String>> {
    if text.trim_start().starts_with('[') {
        return serde_json::from_str(text).context("expected a JSON array of strings");
    }
    Ok(text
        .lines()
        .map(|line| line.strip_suffix('\r').unwrap_or(line))
        .filter(|line| !line.is_empty())
        .map(String::from)
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secrets_files_are_lines_or_a_json_array() {
        assert_eq!(
            parse_secrets("one\r\ntwo\n\nthree").unwrap(),
            ["one", "two", "three"]
        );
        assert_eq!(
            parse_secrets(" [\"multi\\nline\", \"x\"]").unwrap(),
            ["multi\nline", "x"]
        );
        assert!(parse_secrets("[1, 2]").is_err());
    }
}
