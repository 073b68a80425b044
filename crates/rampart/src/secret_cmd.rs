//! `rampart secret`: set, list, rm and rotate-key on the local encrypted store.

use std::process::ExitCode;

use crate::args::SecretCommand;

pub fn secret(_command: SecretCommand) -> anyhow::Result<ExitCode> {
    anyhow::bail!("the secret store is not available yet")
}
