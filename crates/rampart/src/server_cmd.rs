//! `rampart server`: the HTTP API server, until SIGTERM or Ctrl-C.

use std::io::Write;
use std::process::ExitCode;

use anyhow::Context;
use rampart_server::{DatabaseUrl, Server, ServerConfig, ShutdownSignal, TlsFiles};

use crate::args::{EXIT_SUCCESS, ServerArgs};

pub fn server(args: ServerArgs) -> anyhow::Result<ExitCode> {
    // Logs go to stderr (RAMPART_LOG filters them, default `info`); stdout carries the address.
    tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_env("RAMPART_LOG")
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info")),
        )
        .init();
    let database = args
        .database_url
        .as_deref()
        .map(DatabaseUrl::parse)
        .transpose()?;
    rampart_server::prepare_data_dir(&args.data_dir)?;
    let tls = match (args.tls_cert, args.tls_key) {
        (Some(cert), Some(key)) => Some(TlsFiles { cert, key }),
        _ => None,
    };
    let config = ServerConfig {
        listen: args.listen,
        tls,
        ..ServerConfig::default()
    };
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("cannot start the async runtime")?;
    runtime.block_on(async {
        let signal = ShutdownSignal::install()?;
        let server = Server::bind(config).await?;
        tracing::info!(
            data_dir = %args.data_dir.display(),
            database = %database.as_ref().map_or_else(|| "none".to_string(), ToString::to_string),
            "no persistence yet: the database URL is checked but not used"
        );
        let mut stdout = std::io::stdout().lock();
        writeln!(stdout, "listening on {}", server.url()?)
            .and_then(|()| stdout.flush())
            .context("cannot write to stdout")?;
        drop(stdout);
        server
            .run(async {
                let name = signal.recv().await;
                tracing::info!(signal = name, "shutting down");
            })
            .await;
        anyhow::Ok(())
    })?;
    Ok(ExitCode::from(EXIT_SUCCESS))
}
