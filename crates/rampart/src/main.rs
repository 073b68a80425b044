//! The `rampart` command.
//!
//! Wires the library crates into a CLI: argument parsing, the terminal and
//! JSON renderings of run events, the local run record under the state
//! directory, and Ctrl-C handling. Pipeline semantics live in
//! `rampart-pipeline` and `rampart-engine`; process isolation in `rampart-exec`.

#![forbid(unsafe_code)]

mod args;
mod audit_cmd;
mod codebase;
mod mask_cmd;
mod record;
mod remote;
mod remote_cmd;
mod render;
mod run;
mod run_secrets;
mod secret_cmd;
mod server_cmd;
mod state;
mod supply_cmd;
mod validate;

use std::process::ExitCode;

use clap::Parser;

use crate::args::{Cli, Command};

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Validate(args) => validate::validate(&args),
        Command::Run(args) => run::run(args),
        Command::Secret(command) => secret_cmd::secret(command),
        Command::Mask(args) => mask_cmd::mask(&args),
        Command::Server(args) => server_cmd::server(args),
        Command::Audit(command) => audit_cmd::audit(command),
        Command::Login(args) => remote_cmd::login(args),
        Command::Logout(args) => remote_cmd::logout(args),
        Command::Pipeline(command) => remote_cmd::pipeline(command),
        Command::Runs(command) => remote_cmd::runs(command),
        Command::Logs(args) => remote_cmd::logs(args),
        Command::Sbom(args) => supply_cmd::sbom(&args),
        Command::Keys(command) => supply_cmd::keys(command),
        Command::Verify(args) => supply_cmd::verify(&args),
    };
    match result {
        Ok(code) => code,
        Err(error) => {
            eprintln!("rampart: error: {}", describe(&error));
            ExitCode::from(args::EXIT_USAGE)
        }
    }
}

/// The error and its causes, each once, for the terminal: many of our
/// errors already quote their cause in their own message, so a cause the
/// text holds is skipped.
pub(crate) fn describe(error: &anyhow::Error) -> String {
    let mut text = String::new();
    for cause in error.chain() {
        let message = cause.to_string();
        if !text.contains(&message) {
            if !text.is_empty() {
                text.push_str(": ");
            }
            text.push_str(&message);
        }
    }
    text
}
