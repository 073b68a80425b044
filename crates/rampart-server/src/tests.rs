//! The server over real HTTP(S) on 127.0.0.1 with ephemeral ports.

use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::routing::get;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::sync::{Notify, oneshot};

use crate::http::AppState;
use crate::*;

struct Running {
    _data: tempfile::TempDir,
    url: String,
    addr: std::net::SocketAddr,
    stop: oneshot::Sender<()>,
    ready: Arc<std::sync::atomic::AtomicBool>,
    done: tokio::task::JoinHandle<()>,
}

/// A backend on a fresh SQLite data directory, with cheap password hashing.
async fn backend() -> (tempfile::TempDir, Backend) {
    let dir = tempfile::tempdir().unwrap();
    let config = BackendConfig {
        hash_params: rampart_auth::password::HashParams {
            m_cost_kib: 64,
            t_cost: 1,
            p_cost: 1,
        },
        ..BackendConfig::new(dir.path().join("data"))
    };
    let backend = Backend::open(config).await.unwrap();
    (dir, backend)
}

async fn start(config: ServerConfig, extra: Router<AppState>) -> Running {
    let (data, backend) = backend().await;
    let server = Server::bind_with(config, backend, extra).await.unwrap();
    let url = server.url().unwrap();
    let addr = server.local_addr().unwrap();
    let ready = server.ready.clone();
    let (stop, stopped) = oneshot::channel::<()>();
    let done = tokio::spawn(server.run(async {
        let _ = stopped.await;
    }));
    Running {
        _data: data,
        url,
        addr,
        stop,
        ready,
        done,
    }
}

fn local() -> ServerConfig {
    ServerConfig {
        listen: "127.0.0.1:0".parse().unwrap(),
        ..ServerConfig::default()
    }
}

async fn error_of(response: reqwest::Response) -> ErrorBody {
    let header = response.headers()["x-request-id"]
        .to_str()
        .unwrap()
        .to_string();
    assert_eq!(response.headers()["content-type"], "application/json");
    let body: ErrorBody = response.json().await.unwrap();
    assert_eq!(body.request_id, header);
    body
}

#[tokio::test]
async fn health_readiness_and_request_ids() {
    let server = start(local(), Router::new()).await;
    let client = reqwest::Client::new();
    let health = client
        .get(format!("{}/healthz", server.url))
        .send()
        .await
        .unwrap();
    assert_eq!(health.status(), 200);
    let id = health.headers()["x-request-id"]
        .to_str()
        .unwrap()
        .to_string();
    assert_eq!(id.len(), 32, "a generated id is 128 bits of hex: {id}");
    assert_eq!(
        health.json::<serde_json::Value>().await.unwrap(),
        serde_json::json!({"status": "ok"})
    );

    let ready = client
        .get(format!("{}/readyz", server.url))
        .send()
        .await
        .unwrap();
    assert_eq!(ready.status(), 200);

    let given = client
        .get(format!("{}/healthz", server.url))
        .header("x-request-id", "trace-abc.123")
        .send()
        .await
        .unwrap();
    assert_eq!(given.headers()["x-request-id"], "trace-abc.123");
    let bad = client
        .get(format!("{}/healthz", server.url))
        .header("x-request-id", "not ok!")
        .send()
        .await
        .unwrap();
    assert_ne!(bad.headers()["x-request-id"], "not ok!");
    assert_eq!(bad.headers()["x-request-id"].len(), 32);
    server.stop.send(()).unwrap();
    server.done.await.unwrap();
}

async fn panicking() -> &'static str {
    panic!("boom")
}

#[tokio::test]
async fn errors_have_one_shape() {
    let panics = Router::new().route("/test/panic", get(panicking));
    let server = start(
        ServerConfig {
            body_limit: 1024,
            ..local()
        },
        panics.route(
            "/test/echo",
            axum::routing::post(|body: String| async move { body }),
        ),
    )
    .await;
    let client = reqwest::Client::new();

    let missing = client
        .get(format!("{}/nope?token=x", server.url))
        .header("x-request-id", "req-404")
        .send()
        .await
        .unwrap();
    assert_eq!(missing.status(), 404);
    let body = error_of(missing).await;
    assert_eq!(
        (body.code.as_str(), body.request_id.as_str()),
        ("not_found", "req-404")
    );
    assert!(body.message.contains("/nope"), "{}", body.message);
    assert!(!body.message.contains("token"), "{}", body.message);

    let wrong_method = client
        .delete(format!("{}/healthz", server.url))
        .send()
        .await
        .unwrap();
    assert_eq!(wrong_method.status(), 405);
    assert!(wrong_method.headers().contains_key("allow"));
    assert_eq!(error_of(wrong_method).await.code, "method_not_allowed");

    let panicked = client
        .get(format!("{}/test/panic", server.url))
        .send()
        .await
        .unwrap();
    assert_eq!(panicked.status(), 500);
    let body = error_of(panicked).await;
    assert_eq!(body.code, "internal");
    assert!(!body.message.contains("boom"));

    let small = client
        .post(format!("{}/test/echo", server.url))
        .body("hi")
        .send()
        .await
        .unwrap();
    assert_eq!(small.text().await.unwrap(), "hi");
    let big = client
        .post(format!("{}/test/echo", server.url))
        .body(vec![b'x'; 4096])
        .send()
        .await
        .unwrap();
    assert_eq!(big.status(), 413);
    assert_eq!(error_of(big).await.code, "payload_too_large");
    server.stop.send(()).unwrap();
    server.done.await.unwrap();
}

#[tokio::test]
async fn chunked_bodies_are_limited_too() {
    let echo = Router::new().route(
        "/test/echo",
        axum::routing::post(|body: String| async move { body }),
    );
    let server = start(
        ServerConfig {
            body_limit: 1024,
            ..local()
        },
        echo,
    )
    .await;
    let mut tcp = tokio::net::TcpStream::connect(server.addr).await.unwrap();
    let mut request = b"POST /test/echo HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n1000\r\n".to_vec();
    request.extend(vec![b'x'; 4096]);
    request.extend(b"\r\n0\r\n\r\n");
    tcp.write_all(&request).await.unwrap();
    let mut reply = String::new();
    tcp.read_to_string(&mut reply).await.unwrap();
    assert!(reply.starts_with("HTTP/1.1 413"), "{reply}");
    assert!(reply.contains(r#""code":"payload_too_large""#), "{reply}");
    server.stop.send(()).unwrap();
    server.done.await.unwrap();
}

#[tokio::test]
async fn slow_requests_time_out() {
    let never = Router::new().route("/test/never", get(std::future::pending::<()>));
    let server = start(
        ServerConfig {
            request_timeout: Duration::from_millis(200),
            ..local()
        },
        never,
    )
    .await;
    let response = reqwest::get(format!("{}/test/never", server.url))
        .await
        .unwrap();
    assert_eq!(response.status(), 408);
    assert_eq!(error_of(response).await.code, "request_timeout");
    server.stop.send(()).unwrap();
    server.done.await.unwrap();
}

#[tokio::test]
async fn openapi_document_lists_every_route() {
    let server = start(local(), Router::new()).await;
    let response = reqwest::get(format!("{}/api/openapi.json", server.url))
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    let text = response.text().await.unwrap();
    let doc: serde_json::Value = serde_json::from_str(&text).unwrap();
    assert_eq!(doc["openapi"], "3.1.0", "utoipa writes OpenAPI 3.1");
    let paths = doc["paths"].as_object().unwrap();
    for expected in [
        "/api/openapi.json",
        "/healthz",
        "/readyz",
        "/api/auth/login",
        "/api/audit",
    ] {
        assert!(paths.contains_key(expected), "{expected} missing");
    }
    let schemas = doc["components"]["schemas"].as_object().unwrap();
    for field in ["code", "message", "request_id"] {
        assert!(schemas["ErrorBody"]["properties"].get(field).is_some());
    }
    // Every operation has its own id, documents a success, the shared error
    // responses and the credentials it takes; every reference resolves.
    let mut ids = std::collections::BTreeSet::new();
    for (path, item) in paths {
        for (method, operation) in item.as_object().unwrap() {
            let id = operation["operationId"].as_str().unwrap();
            assert!(ids.insert(id), "operationId {id} is used twice");
            let schemes: Vec<&str> = operation["security"]
                .as_array()
                .unwrap()
                .iter()
                .flat_map(|requirement| requirement.as_object().unwrap().keys())
                .map(String::as_str)
                .collect();
            let public = [
                "/healthz",
                "/readyz",
                "/api/openapi.json",
                "/api/auth/login",
            ];
            if public.contains(&path.as_str()) {
                assert!(schemes.is_empty(), "{method} {path} is public: {schemes:?}");
            } else {
                assert_eq!(schemes, ["api_key", "bearer", "session"], "{method} {path}");
            }
            let responses = operation["responses"].as_object().unwrap();
            assert!(
                responses.keys().any(|s| s.starts_with('2')),
                "{method} {path}"
            );
            for status in ["400", "401", "403", "404", "500"] {
                assert!(
                    responses.contains_key(status),
                    "{method} {path} lacks {status}"
                );
            }
        }
    }
    fn refs<'a>(value: &'a serde_json::Value, out: &mut Vec<&'a str>) {
        match value {
            serde_json::Value::Object(map) => {
                for (key, inner) in map {
                    match (key.as_str(), inner.as_str()) {
                        ("$ref", Some(target)) => out.push(target),
                        _ => refs(inner, out),
                    }
                }
            }
            serde_json::Value::Array(items) => items.iter().for_each(|i| refs(i, out)),
            _ => {}
        }
    }
    let mut found = Vec::new();
    refs(&doc, &mut found);
    assert!(found.len() > 50, "{}", found.len());
    for target in found {
        let name = target.strip_prefix("#/components/schemas/").unwrap();
        assert!(schemas.contains_key(name), "dangling reference {target}");
    }
    assert_eq!(serde_json::to_string(&openapi()).unwrap(), text);
    server.stop.send(()).unwrap();
    server.done.await.unwrap();
}

#[tokio::test]
async fn not_ready_is_503_in_the_error_shape() {
    use tower::ServiceExt;
    let ready = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let (_data, backend) = backend().await;
    let app = crate::http::app(&local(), ready, &backend, Router::new()).layer(axum::Extension(
        crate::authn::PeerAddr("127.0.0.1:9".parse().unwrap()),
    ));
    let request = axum::http::Request::get("/readyz")
        .body(axum::body::Body::empty())
        .unwrap();
    let response = app.oneshot(request).await.unwrap();
    assert_eq!(response.status(), 503);
    let bytes = axum::body::to_bytes(response.into_body(), 4096)
        .await
        .unwrap();
    let body: ErrorBody = serde_json::from_slice(&bytes).unwrap();
    assert_eq!(body.code, "not_ready");
}

#[tokio::test]
async fn graceful_shutdown_finishes_in_flight_requests() {
    let started = Arc::new(Notify::new());
    let release = Arc::new(Notify::new());
    let (s, r) = (started.clone(), release.clone());
    let slow = Router::new().route(
        "/test/slow",
        get(move || {
            let (s, r) = (s.clone(), r.clone());
            async move {
                s.notify_one();
                r.notified().await;
                "done"
            }
        }),
    );
    let server = start(local(), slow).await;
    let url = format!("{}/test/slow", server.url);
    let in_flight =
        tokio::spawn(async move { reqwest::get(url).await.unwrap().text().await.unwrap() });
    started.notified().await;
    server.stop.send(()).unwrap();

    // New connections are refused once shutdown starts (bounded wait, not a sleep).
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    while tokio::net::TcpStream::connect(server.addr).await.is_ok() {
        assert!(
            tokio::time::Instant::now() < deadline,
            "still accepting after shutdown"
        );
        tokio::task::yield_now().await;
    }
    assert!(
        !server.ready.load(std::sync::atomic::Ordering::SeqCst),
        "readiness turned 503 before the listener closed"
    );
    assert!(
        !server.done.is_finished(),
        "the server waits for the in-flight request"
    );
    release.notify_one();
    assert_eq!(in_flight.await.unwrap(), "done");
    tokio::time::timeout(Duration::from_secs(10), server.done)
        .await
        .unwrap()
        .unwrap();
}

#[tokio::test]
async fn shutdown_grace_is_bounded() {
    let entered = Arc::new(Notify::new());
    let e = entered.clone();
    let stuck = Router::new().route(
        "/test/stuck",
        get(move || {
            let e = e.clone();
            async move {
                e.notify_one();
                std::future::pending::<()>().await
            }
        }),
    );
    let server = start(
        ServerConfig {
            shutdown_grace: Duration::from_millis(100),
            ..local()
        },
        stuck,
    )
    .await;
    let url = format!("{}/test/stuck", server.url);
    let in_flight = tokio::spawn(async move { reqwest::get(url).await });
    entered.notified().await;
    server.stop.send(()).unwrap();
    tokio::time::timeout(Duration::from_secs(10), server.done)
        .await
        .expect("shutdown waits no longer than the grace period")
        .unwrap();
    assert!(
        in_flight.await.unwrap().is_err(),
        "the stuck request was dropped"
    );
}

fn write_cert(dir: &std::path::Path, name: &str) -> TlsFiles {
    let cert = rcgen::generate_simple_self_signed(vec!["localhost".to_string()]).unwrap();
    let files = TlsFiles {
        cert: dir.join(format!("{name}.crt")),
        key: dir.join(format!("{name}.key")),
    };
    std::fs::write(&files.cert, cert.cert.pem()).unwrap();
    std::fs::write(&files.key, cert.signing_key.serialize_pem()).unwrap();
    files
}

#[tokio::test]
async fn serves_https_only_with_the_given_certificate() {
    let dir = tempfile::tempdir().unwrap();
    let files = write_cert(dir.path(), "server");
    let server = start(
        ServerConfig {
            tls: Some(files.clone()),
            ..local()
        },
        Router::new(),
    )
    .await;
    assert!(server.url.starts_with("https://"));

    let mut roots = rustls::RootCertStore::empty();
    let pem = std::fs::read(&files.cert).unwrap();
    use rustls::pki_types::pem::PemObject;
    for cert in rustls::pki_types::CertificateDer::pem_slice_iter(&pem) {
        roots.add(cert.unwrap()).unwrap();
    }
    let config = rustls::ClientConfig::builder_with_provider(Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .unwrap()
    .with_root_certificates(roots)
    .with_no_client_auth();
    let connector = tokio_rustls::TlsConnector::from(Arc::new(config));
    let tcp = tokio::net::TcpStream::connect(server.addr).await.unwrap();
    let name = rustls::pki_types::ServerName::try_from("localhost").unwrap();
    let mut tls = connector.connect(name, tcp).await.unwrap();
    tls.write_all(b"GET /healthz HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n")
        .await
        .unwrap();
    let mut reply = String::new();
    tls.read_to_string(&mut reply).await.unwrap();
    assert!(reply.starts_with("HTTP/1.1 200"), "{reply}");
    assert!(reply.ends_with(r#"{"status":"ok"}"#), "{reply}");

    let plain = reqwest::get(format!("http://{}/healthz", server.addr)).await;
    assert!(plain.is_err(), "plain HTTP must not be served: {plain:?}");
    server.stop.send(()).unwrap();
    server.done.await.unwrap();
}

#[tokio::test]
async fn bad_tls_files_are_clear_errors() {
    let dir = tempfile::tempdir().unwrap();
    let a = write_cert(dir.path(), "a");
    let b = write_cert(dir.path(), "b");
    let (_data, backend) = backend().await;
    let bind = |tls| {
        Server::bind(
            ServerConfig {
                tls: Some(tls),
                ..local()
            },
            backend.clone(),
        )
    };

    let mismatched = TlsFiles {
        cert: a.cert.clone(),
        key: b.key.clone(),
    };
    let error = bind(mismatched).await.err().unwrap().to_string();
    assert!(error.contains("do not fit together"), "{error}");

    let missing = TlsFiles {
        cert: dir.path().join("nope.crt"),
        key: a.key.clone(),
    };
    let error = bind(missing).await.err().unwrap().to_string();
    assert!(
        error.contains("nope.crt") && error.contains("--tls-cert"),
        "{error}"
    );

    let not_a_key = TlsFiles {
        cert: a.cert.clone(),
        key: a.cert.clone(),
    };
    let error = bind(not_a_key).await.err().unwrap().to_string();
    assert!(
        error.contains("private key") && error.contains("--tls-key"),
        "{error}"
    );

    let empty = dir.path().join("empty.crt");
    std::fs::write(&empty, "").unwrap();
    let error = bind(TlsFiles {
        cert: empty,
        key: a.key,
    })
    .await
    .err()
    .unwrap()
    .to_string();
    assert!(error.contains("no PEM certificate"), "{error}");
}
