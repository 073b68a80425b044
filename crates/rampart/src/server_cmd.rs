//! `rampart server`: the HTTP API server, until SIGTERM or Ctrl-C.

use std::io::Write;
use std::process::ExitCode;

use anyhow::Context;
use rampart_server::{
    Backend, BackendConfig, DatabaseUrl, RunnerSettings, Server, ServerConfig, ShutdownSignal,
    TlsFiles,
};

use crate::args::{EXIT_SUCCESS, ServerArgs};

pub fn server(args: ServerArgs) -> anyhow::Result<ExitCode> {
    // Logs go to stderr (RAMPART_LOG filters them, default `info`); stdout carries the address
    // and, at first start, the administrator's one-time password.
    tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_env("RAMPART_LOG")
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info")),
        )
        .init();
    let database = args
        .database
        .database_url
        .as_deref()
        .map(DatabaseUrl::parse)
        .transpose()?;
    let trusted_proxies = args
        .trusted_proxies
        .iter()
        .map(|cidr| cidr.parse::<rampart_server::Cidr>())
        .collect::<Result<Vec<_>, _>>()
        .context("--trusted-proxy")?;
    let tls = match (args.tls_cert, args.tls_key) {
        (Some(cert), Some(key)) => Some(TlsFiles { cert, key }),
        _ => None,
    };
    let config = ServerConfig {
        listen: args.listen,
        tls,
        ..ServerConfig::default()
    };
    let runner = RunnerSettings {
        slots: args.runner_slots,
        network: args.network.into(),
        namespaces: args.sandbox.into(),
        allow_host: args.allow_host,
    };
    let backend_config = BackendConfig {
        database,
        runner,
        admin_email: args.admin_email.clone(),
        trusted_proxies: rampart_server::TrustedProxies::new(trusted_proxies),
        ..BackendConfig::new(&args.database.data_dir)
    };
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("cannot start the async runtime")?;
    runtime.block_on(async {
        let signal = ShutdownSignal::install()?;
        let backend = Backend::open(backend_config).await?;
        let initial = backend.bootstrap(&args.admin_email).await?;
        let server = Server::bind(config, backend).await?;
        let mut stdout = std::io::stdout().lock();
        writeln!(stdout, "listening on {}", server.url()?)
            .and_then(|()| stdout.flush())
            .context("cannot write to stdout")?;
        if let Some(admin) = initial {
            // Printed once, here only (never to the log); also in the 0600 file until changed.
            writeln!(
                stdout,
                "created account `default` and its administrator {}; one-time password: {}\n\
                 (also in {}; log in and choose your own password, which removes the file)",
                admin.email,
                admin.password.as_str(),
                admin.file.display()
            )
            .and_then(|()| stdout.flush())
            .context("cannot write to stdout")?;
        }
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
