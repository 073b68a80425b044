//! `rampart audit verify`: recompute every account's audit hash chain.

use std::io::Write;
use std::process::ExitCode;

use anyhow::Context;
use rampart_server::DatabaseUrl;

use crate::args::{AuditCommand, EXIT_FAILED, EXIT_SUCCESS};

pub fn audit(command: AuditCommand) -> anyhow::Result<ExitCode> {
    let AuditCommand::Verify(args) = command;
    let database = args
        .database_url
        .as_deref()
        .map(DatabaseUrl::parse)
        .transpose()?;
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .context("cannot start the async runtime")?;
    let reports = runtime.block_on(rampart_server::verify_audit(
        &args.data_dir,
        database.as_ref(),
    ))?;
    let mut out = std::io::stdout().lock();
    let mut intact = true;
    if reports.is_empty() {
        writeln!(out, "no audit records yet")?;
    }
    for report in &reports {
        match &report.problem {
            None => writeln!(
                out,
                "ok       {}: {} records, chain intact",
                report.account, report.records
            )?,
            Some(problem) => {
                intact = false;
                writeln!(
                    out,
                    "TAMPERED {}: {problem} (the first {} records verified)",
                    report.account, report.records
                )?;
            }
        }
    }
    Ok(ExitCode::from(if intact {
        EXIT_SUCCESS
    } else {
        EXIT_FAILED
    }))
}
