//! Listening, TLS, per-connection serving and graceful shutdown.

use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use axum::Router;
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use hyper_util::server::conn::auto;
use hyper_util::server::graceful::GracefulShutdown;
use hyper_util::service::TowerToHyperService;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use tokio::net::{TcpListener, TcpStream};
use tokio_rustls::TlsAcceptor;

use crate::authn::PeerAddr;
use crate::backend::Backend;
use crate::config::{ServerConfig, TlsFiles};
use crate::error::ServerError;
use crate::http::{AppState, app};

/// How long a client may take to send request headers or finish the TLS handshake.
const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);

/// A bound, not yet serving, server.
pub struct Server {
    listener: TcpListener,
    tls: Option<TlsAcceptor>,
    app: Router,
    backend: Backend,
    pub(crate) ready: Arc<AtomicBool>,
    grace: Duration,
}

impl Server {
    /// Loads the TLS files (if any) and binds the listening socket; readiness stays 503 until [`Server::run`].
    pub async fn bind(config: ServerConfig, backend: Backend) -> Result<Self, ServerError> {
        Self::bind_with(config, backend, Router::new()).await
    }

    pub(crate) async fn bind_with(
        config: ServerConfig,
        backend: Backend,
        extra: Router<AppState>,
    ) -> Result<Self, ServerError> {
        let tls = config.tls.as_ref().map(tls_acceptor).transpose()?;
        let listener =
            TcpListener::bind(config.listen)
                .await
                .map_err(|source| ServerError::Bind {
                    addr: config.listen,
                    source,
                })?;
        let ready = Arc::new(AtomicBool::new(false));
        Ok(Self {
            listener,
            tls,
            app: app(&config, ready.clone(), &backend, extra),
            backend,
            ready,
            grace: config.shutdown_grace,
        })
    }

    /// The address actually bound (the port when the config asked for port 0).
    pub fn local_addr(&self) -> Result<SocketAddr, ServerError> {
        self.listener.local_addr().map_err(ServerError::LocalAddr)
    }

    /// `http://ADDR` or `https://ADDR`.
    pub fn url(&self) -> Result<String, ServerError> {
        let scheme = if self.tls.is_some() { "https" } else { "http" };
        Ok(format!("{scheme}://{}", self.local_addr()?))
    }

    /// Serves until `shutdown` completes, then: readiness turns 503, the listener closes
    /// (new connections are refused), and in-flight requests get the grace period to finish.
    /// Meanwhile the access cache follows changes and records token use.
    pub async fn run(self, shutdown: impl Future<Output = ()>) {
        let Self {
            listener,
            tls,
            app,
            backend,
            ready,
            grace,
        } = self;
        let maintenance = tokio::spawn(backend.core.access.clone().maintain());
        let sweeper = tokio::spawn(backend.clone().sweep_sessions());
        let runner = tokio::spawn(crate::runner::run_pool(backend.core.clone()));
        let graceful = GracefulShutdown::new();
        let mut builder = auto::Builder::new(TokioExecutor::new());
        builder
            .http1()
            .timer(TokioTimer::new())
            .header_read_timeout(HANDSHAKE_TIMEOUT);
        // Every connection's task, so the ones still running after the grace period can be dropped.
        let mut connections = tokio::task::JoinSet::new();
        ready.store(true, Ordering::SeqCst);
        tokio::pin!(shutdown);
        loop {
            tokio::select! {
                accepted = listener.accept() => match accepted {
                    Ok((stream, peer)) => {
                        let watcher = graceful.watcher();
                        let builder = builder.clone();
                        let service = TowerToHyperService::new(
                            app.clone().layer(axum::Extension(PeerAddr(peer))),
                        );
                        let tls = tls.clone();
                        connections.spawn(async move {
                            serve_connection(stream, peer, tls, builder, service, watcher).await;
                        });
                    }
                    Err(error) => {
                        // Usually EMFILE: back off instead of spinning.
                        tracing::warn!(%error, "cannot accept a connection");
                        tokio::time::sleep(Duration::from_millis(100)).await;
                    }
                },
                Some(_) = connections.join_next(), if !connections.is_empty() => {}
                () = &mut shutdown => break,
            }
        }
        ready.store(false, Ordering::SeqCst);
        drop(listener);
        // Live log streams end and running runs stop (they end "server stopped during run").
        backend.core.runs.shutdown.cancel();
        tracing::info!(
            grace_secs = grace.as_secs_f64(),
            "shutting down: finishing in-flight requests"
        );
        if tokio::time::timeout(grace, graceful.shutdown())
            .await
            .is_err()
        {
            tracing::warn!(
                connections = connections.len(),
                "grace period over: dropping the requests still running"
            );
        }
        connections.shutdown().await;
        if let Err(error) = runner.await {
            tracing::error!(%error, "the embedded runner failed");
        }
        maintenance.abort();
        sweeper.abort();
        backend.core.access.flush_last_used().await;
    }
}

async fn serve_connection(
    stream: TcpStream,
    peer: SocketAddr,
    tls: Option<TlsAcceptor>,
    builder: auto::Builder<TokioExecutor>,
    service: TowerToHyperService<Router>,
    watcher: hyper_util::server::graceful::Watcher,
) {
    let result = match tls {
        None => {
            let conn = builder.serve_connection_with_upgrades(TokioIo::new(stream), service);
            watcher.watch(conn.into_owned()).await
        }
        Some(acceptor) => {
            match tokio::time::timeout(HANDSHAKE_TIMEOUT, acceptor.accept(stream)).await {
                Ok(Ok(stream)) => {
                    let conn =
                        builder.serve_connection_with_upgrades(TokioIo::new(stream), service);
                    watcher.watch(conn.into_owned()).await
                }
                Ok(Err(error)) => {
                    tracing::debug!(%peer, %error, "TLS handshake failed");
                    return;
                }
                Err(_) => {
                    tracing::debug!(%peer, "TLS handshake timed out");
                    return;
                }
            }
        }
    };
    if let Err(error) = result {
        tracing::debug!(%peer, %error, "connection ended with an error");
    }
}

fn tls_acceptor(files: &TlsFiles) -> Result<TlsAcceptor, ServerError> {
    let certs = CertificateDer::pem_file_iter(&files.cert)
        .and_then(|iter| iter.collect::<Result<Vec<_>, _>>())
        .map_err(|error| ServerError::TlsCert {
            path: files.cert.clone(),
            reason: error.to_string(),
        })?;
    if certs.is_empty() {
        return Err(ServerError::TlsNoCert {
            path: files.cert.clone(),
        });
    }
    let key = PrivateKeyDer::from_pem_file(&files.key).map_err(|error| ServerError::TlsKey {
        path: files.key.clone(),
        reason: error.to_string(),
    })?;
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mismatch = |source| ServerError::TlsMismatch {
        cert: files.cert.clone(),
        key: files.key.clone(),
        source,
    };
    let mut config = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(mismatch)?
        .with_no_client_auth()
        .with_single_cert(certs, key)
        .map_err(mismatch)?;
    config.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
    Ok(TlsAcceptor::from(Arc::new(config)))
}

/// SIGTERM or Ctrl-C, installed up front so a signal during start-up is not lost.
pub struct ShutdownSignal {
    term: tokio::signal::unix::Signal,
    int: tokio::signal::unix::Signal,
}

impl ShutdownSignal {
    /// Installs the handlers; needs a Tokio runtime.
    pub fn install() -> Result<Self, ServerError> {
        use tokio::signal::unix::{SignalKind, signal};
        Ok(Self {
            term: signal(SignalKind::terminate()).map_err(ServerError::Signals)?,
            int: signal(SignalKind::interrupt()).map_err(ServerError::Signals)?,
        })
    }

    /// Waits for the first of them; returns its name.
    pub async fn recv(mut self) -> &'static str {
        tokio::select! {
            _ = self.term.recv() => "SIGTERM",
            _ = self.int.recv() => "SIGINT",
        }
    }
}
