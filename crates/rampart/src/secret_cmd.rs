//! `rampart secret`: set, list, rm and rotate-key on the local encrypted store
//! (`STATE/rampart.db`, keyed by the local master key; see `rampart-secrets`).
//!
//! Values come from stdin or `--file`, never from argv, and nothing this
//! command prints contains one.

use std::io::{BufRead, IsTerminal, Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode, Stdio};

use anyhow::{Context, bail};
use rampart_mask::{MaskConfig, SecretSet};
use rampart_secrets::{
    DB_FILE, Identifier, KeyMode, KeySettings, LocalSecrets, MASTER_KEY_ENV, MAX_VALUE_LEN,
    NEW_MASTER_KEY_ENV, Scope, SecretInfo, SecretKind, SecretRef, SecretValue,
};

use crate::args::{EXIT_SUCCESS, ScopeArgs, SecretCommand, SecretKind as KindArg, StateArgs};

pub fn secret(command: SecretCommand) -> anyhow::Result<ExitCode> {
    if let Some(code) = on_server(&command)? {
        return Ok(code);
    }
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .context("cannot start the async runtime")?;
    runtime.block_on(dispatch(command))?;
    Ok(ExitCode::from(EXIT_SUCCESS))
}

/// `--server`: the command goes to the server's store.
fn on_server(command: &SecretCommand) -> anyhow::Result<Option<ExitCode>> {
    Ok(match command {
        SecretCommand::Set {
            id,
            scope,
            file,
            value_in_argv,
            kind,
            server,
            ..
        } => match server.remote() {
            Some(remote) => {
                if value_in_argv.is_some() || file.is_some() {
                    bail!(
                        "with --server the value is read from stdin only (never the command line)"
                    );
                }
                Some(crate::remote_cmd::secret_set(
                    &remote,
                    id,
                    scope.org.as_deref(),
                    scope.project.as_deref(),
                    *kind == KindArg::File,
                )?)
            }
            None => None,
        },
        SecretCommand::List { scope, server, .. } => match server.remote() {
            Some(remote) => Some(crate::remote_cmd::secret_list(
                &remote,
                scope.org.as_deref(),
                scope.project.as_deref(),
            )?),
            None => None,
        },
        SecretCommand::Rm {
            id, scope, server, ..
        } => match server.remote() {
            Some(remote) => Some(crate::remote_cmd::secret_rm(
                &remote,
                id,
                scope.org.as_deref(),
                scope.project.as_deref(),
            )?),
            None => None,
        },
        SecretCommand::RotateKey { .. } => None,
    })
}

async fn dispatch(command: SecretCommand) -> anyhow::Result<()> {
    let settings = KeySettings::from_env();
    match command {
        SecretCommand::Set {
            id,
            scope,
            file,
            value_in_argv,
            kind,
            state,
            server: _,
        } => {
            if value_in_argv.is_some() {
                bail!(
                    "secret values are never taken from the command line, where other users see \
                     them in the process list and your shell history keeps them: pipe the value to \
                     `rampart secret set {id}` on stdin or use --file (and consider the value you \
                     typed exposed)"
                );
            }
            set(&settings, &id, &scope, file.as_deref(), kind, &state).await
        }
        SecretCommand::List { scope, state, .. } => list(&settings, &scope, &state).await,
        SecretCommand::Rm {
            id, scope, state, ..
        } => remove(&settings, &id, &scope, &state).await,
        SecretCommand::RotateKey { state } => rotate(&settings, &state).await,
    }
}

pub(crate) fn state_dir(state: &StateArgs) -> anyhow::Result<PathBuf> {
    let cwd = std::env::current_dir().context("cannot read the current directory")?;
    Ok(crate::state::resolve(state.state_dir.as_deref(), &cwd))
}

fn scope_of(scope: &ScopeArgs) -> anyhow::Result<Scope> {
    Ok(Scope::new(scope.org.as_deref(), scope.project.as_deref())?)
}

pub(crate) fn reference(id: &str, scope: &ScopeArgs) -> anyhow::Result<SecretRef> {
    let id = Identifier::new(id).context("invalid secret identifier")?;
    Ok(SecretRef::new(scope_of(scope)?, id))
}

pub(crate) async fn open(
    state: &Path,
    settings: &KeySettings,
    mode: KeyMode,
) -> anyhow::Result<LocalSecrets> {
    let secrets = LocalSecrets::open(state, settings, mode)
        .await
        .with_context(|| format!("cannot open the secret store in {}", state.display()))?;
    for notice in secrets.notices() {
        eprintln!("rampart: warning: {notice}");
    }
    Ok(secrets)
}

/// The store if it exists: listing or removing must not create one.
async fn open_existing(
    state: &Path,
    settings: &KeySettings,
) -> anyhow::Result<Option<LocalSecrets>> {
    if !state.join(DB_FILE).exists() {
        return Ok(None);
    }
    open(state, settings, KeyMode::Existing).await.map(Some)
}

async fn set(
    settings: &KeySettings,
    id: &str,
    scope: &ScopeArgs,
    file: Option<&Path>,
    kind: KindArg,
    state: &StateArgs,
) -> anyhow::Result<()> {
    let secret = reference(id, scope)?;
    let kind = match kind {
        KindArg::Text => SecretKind::Text,
        KindArg::File => SecretKind::File,
    };
    let value = match file {
        Some(path) => read_file(path)?,
        None => read_stdin(&secret, kind)?,
    };
    if value.is_empty() {
        bail!("refusing to store an empty value for secret {secret}");
    }
    if too_short_to_mask(&value) {
        eprintln!(
            "rampart: warning: the value of secret {secret} is too short to mask safely, so logs \
             will show it (masking something that short would hide ordinary text); prefer a \
             longer value"
        );
    }
    let state = state_dir(state)?;
    let secrets = open(&state, settings, KeyMode::Create).await?;
    let outcome = secrets.store().set(&secret, kind, &value).await?;
    secrets.store().close().await;
    println!(
        "stored secret {secret}, version {}, as {kind} (use it as <+secrets.getValue(\"{}\")>)",
        outcome.version,
        secret.expression()
    );
    Ok(())
}

async fn list(settings: &KeySettings, scope: &ScopeArgs, state: &StateArgs) -> anyhow::Result<()> {
    let filter = match (&scope.org, &scope.project) {
        (None, _) => None,
        _ => Some(scope_of(scope)?),
    };
    let state = state_dir(state)?;
    let infos = match open_existing(&state, settings).await? {
        Some(secrets) => {
            let infos = secrets.store().list().await?;
            secrets.store().close().await;
            infos
        }
        None => Vec::new(),
    };
    let shown: Vec<&SecretInfo> = infos
        .iter()
        .filter(|info| {
            filter
                .as_ref()
                .is_none_or(|f| within(&info.reference.scope, f))
        })
        .collect();
    if shown.is_empty() {
        eprintln!("no secrets in {}", state.join(DB_FILE).display());
        return Ok(());
    }
    let rows: Vec<[String; 5]> = shown
        .iter()
        .map(|info| {
            [
                info.reference.scope.to_string(),
                info.reference.id.to_string(),
                info.kind.to_string(),
                info.version.to_string(),
                format_utc(info.updated_at_ms),
            ]
        })
        .collect();
    print_table(["SCOPE", "ID", "TYPE", "VERSION", "UPDATED"], &rows);
    Ok(())
}

/// `--org O` lists org O and its projects; `--org O --project P` that project.
fn within(scope: &Scope, filter: &Scope) -> bool {
    match filter {
        Scope::Account => true,
        Scope::Org { org } => scope.org() == Some(org),
        Scope::Project { .. } => scope == filter,
    }
}

fn print_table<const N: usize>(header: [&str; N], rows: &[[String; N]]) {
    let mut widths = header.map(str::len);
    for row in rows {
        for (width, cell) in widths.iter_mut().zip(row) {
            *width = (*width).max(cell.chars().count());
        }
    }
    let line = |cells: [&str; N]| {
        let padded: Vec<String> = cells
            .iter()
            .zip(widths)
            .map(|(cell, width)| format!("{cell:<width$}"))
            .collect();
        println!("{}", padded.join("  ").trim_end());
    };
    line(header);
    for row in rows {
        line(row.each_ref().map(String::as_str));
    }
}

async fn remove(
    settings: &KeySettings,
    id: &str,
    scope: &ScopeArgs,
    state: &StateArgs,
) -> anyhow::Result<()> {
    let secret = reference(id, scope)?;
    let state = state_dir(state)?;
    let Some(secrets) = open_existing(&state, settings).await? else {
        bail!(
            "no secret {secret}: there is no secret store in {}",
            state.display()
        );
    };
    let removed = secrets.store().remove(&secret).await;
    secrets.store().close().await;
    let removed = removed?;
    let versions = if removed == 1 { "version" } else { "versions" };
    println!("removed secret {secret} ({removed} {versions})");
    Ok(())
}

async fn rotate(settings: &KeySettings, state: &StateArgs) -> anyhow::Result<()> {
    let state = state_dir(state)?;
    let Some(mut secrets) = open_existing(&state, settings).await? else {
        bail!(
            "there is no secret store in {} to rotate the key of",
            state.display()
        );
    };
    let rotated = secrets.rotate_key(settings).await;
    secrets.store().close().await;
    let rotated = rotated.context("the master key was not rotated; the old key still works")?;
    let outcome = &rotated.outcome;
    let previous: Vec<&str> = outcome
        .previous_key_ids
        .iter()
        .map(String::as_str)
        .collect();
    println!(
        "re-wrapped {} data keys under master key {} (previously {})",
        outcome.rewrapped,
        outcome.key_id,
        if previous.is_empty() {
            "none".to_string()
        } else {
            previous.join(", ")
        }
    );
    if rotated.switch_env {
        println!(
            "set {MASTER_KEY_ENV} to the value of {NEW_MASTER_KEY_ENV} from now on: \
             the old key no longer opens this store"
        );
    }
    if let Some(retired) = &rotated.retired {
        println!(
            "the previous key is kept at {} for other state directories that share it; \
             delete it once `rampart secret rotate-key` has run in each of them",
            retired.display()
        );
    }
    Ok(())
}

/// `YYYY-MM-DD HH:MM:SSZ` for milliseconds since the Unix epoch: RFC 3339
/// with a space, easier to read in a table.
fn format_utc(ms: i64) -> String {
    rampart_core::time::rfc3339_utc(ms).replacen('T', " ", 1)
}

/// Whether the masker `rampart run` uses would leave this value unmasked.
/// Values that are not text have no text form to register; for them the
/// masker's default minimum length decides.
fn too_short_to_mask(value: &SecretValue) -> bool {
    let config = MaskConfig::default();
    match value.expose_str() {
        Ok(text) => SecretSet::new(config).add(text).too_short,
        Err(_) => value.len() < config.min_len,
    }
}

/// A `--file` value, byte for byte.
fn read_file(path: &Path) -> anyhow::Result<SecretValue> {
    let file = std::fs::File::open(path)
        .with_context(|| format!("cannot open the value file {}", path.display()))?;
    SecretValue::read_from(file, MAX_VALUE_LEN)
        .with_context(|| format!("cannot read the value file {}", path.display()))
}

/// A value from stdin. Text values lose ONE trailing newline (what `echo`
/// or pressing Enter adds); file values are kept byte for byte. From a
/// terminal, one line is read with echo turned off.
fn read_stdin(secret: &SecretRef, kind: SecretKind) -> anyhow::Result<SecretValue> {
    let stdin = std::io::stdin();
    let mut value = if stdin.is_terminal() {
        eprint!("Value for secret {secret} (input hidden, end with Enter): ");
        std::io::stderr().flush().ok();
        let echo_off = stty("-echo");
        let line = SecretValue::read_from(
            LineReader {
                inner: stdin.lock(),
                done: false,
            },
            MAX_VALUE_LEN,
        );
        if echo_off {
            stty("echo");
        }
        eprintln!();
        line
    } else {
        SecretValue::read_from(stdin.lock(), MAX_VALUE_LEN)
    }
    .context("cannot read the value from standard input")?;
    if kind == SecretKind::Text || std::io::stdin().is_terminal() {
        value.strip_one_newline();
    }
    Ok(value)
}

/// Turns terminal echo on or off; false if `stty` could not.
fn stty(setting: &str) -> bool {
    Command::new("stty")
        .arg(setting)
        .stdin(Stdio::inherit())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|status| status.success())
}

/// Reads up to and including the first newline, then reports end of input.
struct LineReader<R> {
    inner: R,
    done: bool,
}

impl<R: BufRead> Read for LineReader<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        if self.done {
            return Ok(0);
        }
        let available = self.inner.fill_buf()?;
        let take = match available.iter().position(|&b| b == b'\n') {
            Some(newline) => newline + 1,
            None => available.len(),
        }
        .min(buf.len());
        buf[..take].copy_from_slice(&available[..take]);
        self.done = available[..take].ends_with(b"\n");
        self.inner.consume(take);
        Ok(take)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn short_values_are_the_ones_the_masker_refuses() {
        let short = |bytes: &[u8]| too_short_to_mask(&SecretValue::from(bytes.to_vec()));
        assert!(short(b"abc"));
        assert!(short(b" ab \n"), "the masker trims before measuring");
        assert!(!short(b"abcd"));
        assert!(short(&[0xff, 0xfe, 0xfd]));
        assert!(!short(&[0xff, 0xfe, 0xfd, 0xfc]));
    }

    #[test]
    fn utc_formatting_matches_known_instants() {
        assert_eq!(format_utc(0), "1970-01-01 00:00:00Z");
        assert_eq!(format_utc(951_782_400_000), "2000-02-29 00:00:00Z");
        assert_eq!(format_utc(1_795_636_149_999), "2026-11-25 19:49:09Z");
        assert_eq!(format_utc(-1_000), "1969-12-31 23:59:59Z");
    }

    #[test]
    fn scope_filters_nest() {
        let account = Scope::Account;
        let org = Scope::new(Some("o"), None).unwrap();
        let project = Scope::new(Some("o"), Some("p")).unwrap();
        let other = Scope::new(Some("o"), Some("q")).unwrap();
        assert!(within(&project, &org) && within(&org, &org) && !within(&account, &org));
        assert!(within(&project, &project) && !within(&other, &project) && !within(&org, &project));
    }

    #[test]
    fn a_terminal_line_ends_at_the_first_newline() {
        let mut reader = LineReader {
            inner: std::io::BufReader::new(&b"first\nsecond\n"[..]),
            done: false,
        };
        let value = SecretValue::read_from(&mut reader, 100).unwrap();
        assert_eq!(value.expose(), b"first\n");
    }
}
