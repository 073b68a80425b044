//! The client side of the server API: the login file (server URL and API
//! token, 0600), authenticated requests with the server's errors turned
//! into messages, and following a run's live log over Server-Sent Events
//! (reconnecting with `Last-Event-ID`, so no line is lost or repeated).

use std::io::Write;
use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::{Context, bail};
use reqwest::{Method, StatusCode};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use zeroize::Zeroizing;

/// Where `rampart login` keeps the server and token.
pub fn config_path(given: Option<&Path>) -> PathBuf {
    if let Some(path) = given {
        return path.to_path_buf();
    }
    let base = std::env::var_os("XDG_CONFIG_HOME")
        .map(PathBuf::from)
        .filter(|p| p.is_absolute())
        .or_else(|| std::env::var_os("HOME").map(|home| PathBuf::from(home).join(".config")))
        .unwrap_or_else(|| PathBuf::from("."));
    base.join("rampart").join("client.json")
}

/// The login file's content; the token is wiped from memory on drop.
#[derive(Serialize, Deserialize)]
pub struct Login {
    pub server: String,
    pub token: String,
}

impl Drop for Login {
    fn drop(&mut self) {
        zeroize::Zeroize::zeroize(&mut self.token);
    }
}

impl Login {
    /// Writes the file with mode 0600 (through a temporary file and a rename).
    pub fn save(&self, path: &Path) -> anyhow::Result<()> {
        let dir = path.parent().unwrap_or(Path::new("."));
        std::fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
        let temp = path.with_extension("json.tmp");
        let text = Zeroizing::new(serde_json::to_string_pretty(self)?);
        let mut file = std::fs::OpenOptions::new()
            .write(true)
            .create(true)
            .truncate(true)
            .mode(0o600)
            .open(&temp)
            .with_context(|| format!("cannot write {}", temp.display()))?;
        file.write_all(text.as_bytes())
            .and_then(|()| file.sync_all())
            .with_context(|| format!("cannot write {}", temp.display()))?;
        std::fs::rename(&temp, path).with_context(|| format!("cannot write {}", path.display()))
    }

    /// Reads the file, refusing one that others could read.
    pub fn load(path: &Path) -> anyhow::Result<Login> {
        let metadata = std::fs::metadata(path).with_context(|| {
            format!(
                "not logged in ({} is missing): run `rampart login --server URL`",
                path.display()
            )
        })?;
        if metadata.permissions().mode() & 0o077 != 0 {
            bail!(
                "{} is readable by other users; it holds an API token: `chmod 600` it, or log in again",
                path.display()
            );
        }
        let text = Zeroizing::new(
            std::fs::read_to_string(path)
                .with_context(|| format!("cannot read {}", path.display()))?,
        );
        serde_json::from_str(&text)
            .with_context(|| format!("{} is not a Rampart login file", path.display()))
    }
}

/// Which server to talk to and as whom: `RAMPART_SERVER` + `RAMPART_TOKEN`
/// (for CI jobs) win over the login file.
pub fn resolve(config: Option<&Path>, server: Option<&str>) -> anyhow::Result<Remote> {
    let token = std::env::var("RAMPART_TOKEN")
        .ok()
        .filter(|t| !t.is_empty());
    let login = match token {
        Some(token) => Login {
            server: match server
                .map(str::to_owned)
                .or_else(|| std::env::var("RAMPART_SERVER").ok())
            {
                Some(server) => server,
                None => {
                    bail!("RAMPART_TOKEN is set: name its server with --server or RAMPART_SERVER")
                }
            },
            token,
        },
        None => {
            let mut login = Login::load(&config_path(config))?;
            if let Some(server) = server {
                login.server = server.to_owned();
            }
            login
        }
    };
    Remote::new(&login.server, Some(Zeroizing::new(login.token.clone())))
}

/// An HTTP client of one server.
pub struct Remote {
    base: String,
    token: Option<Zeroizing<String>>,
    http: reqwest::Client,
    runtime: tokio::runtime::Runtime,
}

/// What a request answered.
pub struct Answer {
    pub status: StatusCode,
    pub body: Value,
}

impl Remote {
    pub fn new(server: &str, token: Option<Zeroizing<String>>) -> anyhow::Result<Remote> {
        let base = server.trim_end_matches('/').to_owned();
        if !(base.starts_with("http://") || base.starts_with("https://")) {
            bail!("--server must be an http:// or https:// URL, not `{base}`");
        }
        Ok(Remote {
            base,
            token,
            http: reqwest::Client::builder()
                .connect_timeout(Duration::from_secs(10))
                .build()
                .context("cannot set up the HTTP client")?,
            runtime: tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .context("cannot start the async runtime")?,
        })
    }

    pub fn server(&self) -> &str {
        &self.base
    }

    fn request(&self, method: Method, path: &str) -> reqwest::RequestBuilder {
        let request = self.http.request(method, format!("{}{path}", self.base));
        match &self.token {
            Some(token) => request.bearer_auth(token.as_str()),
            None => request,
        }
    }

    /// Sends a JSON request; a non-2xx answer is an error with the server's message.
    pub fn call(&self, method: Method, path: &str, body: Option<&Value>) -> anyhow::Result<Answer> {
        let answer = self.call_raw(method, path, body, &[])?;
        if answer.status.is_success() {
            Ok(answer)
        } else {
            Err(failure(&answer).into())
        }
    }

    /// Sends a request with extra headers; any status is returned.
    pub fn call_raw(
        &self,
        method: Method,
        path: &str,
        body: Option<&Value>,
        headers: &[(&str, &str)],
    ) -> anyhow::Result<Answer> {
        let mut request = self.request(method, path);
        for (name, value) in headers {
            request = request.header(*name, *value);
        }
        if let Some(body) = body {
            request = request.json(body);
        }
        self.runtime.block_on(async {
            let response = request.send().await.map_err(|e| self.unreachable(e))?;
            let status = response.status();
            let text = response.text().await.map_err(|e| self.unreachable(e))?;
            let body = serde_json::from_str(&text).unwrap_or(Value::String(text));
            Ok(Answer { status, body })
        })
    }

    fn unreachable(&self, error: reqwest::Error) -> anyhow::Error {
        anyhow::anyhow!(
            "cannot reach the server {}: {error}; check the URL, or log in again with `rampart login --server URL`",
            self.base
        )
    }

    /// Logs in with a password (and a TOTP code when the account has 2FA),
    /// mints a personal API token under the key `rampart_cli`, and logs
    /// the session out; the token is what the CLI keeps.
    pub fn password_login(
        &self,
        email: &str,
        password: &str,
        otp: Option<&str>,
        token_name: &str,
    ) -> anyhow::Result<Zeroizing<String>> {
        self.runtime.block_on(async {
            let url = |path: &str| format!("{}{path}", self.base);
            let send = |request: reqwest::RequestBuilder| async move {
                let response = request.send().await.map_err(|e| self.unreachable(e))?;
                let status = response.status();
                let cookie = response
                    .headers()
                    .get_all(reqwest::header::SET_COOKIE)
                    .iter()
                    .filter_map(|v| v.to_str().ok())
                    .find_map(|v| {
                        v.split(';')
                            .next()
                            .filter(|c| c.starts_with("rampart_session="))
                    })
                    .map(|c| Zeroizing::new(c.to_owned()));
                let text = Zeroizing::new(response.text().await.map_err(|e| self.unreachable(e))?);
                let body: Value = serde_json::from_str(&text).unwrap_or(Value::Null);
                let answer = Answer { status, body };
                if !status.is_success() {
                    return Err(anyhow::Error::from(failure(&answer)));
                }
                Ok((answer.body, cookie))
            };
            let (body, cookie) = send(
                self.http
                    .post(url("/api/auth/login"))
                    .json(&serde_json::json!({"email": email, "password": password})),
            )
            .await?;
            let cookie = cookie.context("the server set no session cookie")?;
            let csrf = Zeroizing::new(body["csrf_token"].as_str().unwrap_or_default().to_owned());
            let with_session = |request: reqwest::RequestBuilder| {
                request
                    .header(reqwest::header::COOKIE, cookie.as_str())
                    .header("x-csrf-token", csrf.as_str())
            };
            let mut stage = body["stage"].as_str().unwrap_or_default().to_owned();
            if stage == "second_factor" {
                let Some(code) = otp else {
                    bail!("this account has two-factor authentication: pass the code with --otp");
                };
                let (body, _) = send(with_session(
                    self.http
                        .post(url("/api/auth/mfa"))
                        .json(&serde_json::json!({"code": code})),
                ))
                .await?;
                stage = body["stage"].as_str().unwrap_or_default().to_owned();
            }
            match stage.as_str() {
                "active" => {}
                "password_change" => {
                    bail!("change your one-time password first (log in to the server once with it)")
                }
                "two_factor_enrolment" => {
                    bail!("this account requires 2FA: enrol an authenticator first")
                }
                other => bail!("the login stopped at an unexpected stage `{other}`"),
            }
            let key = with_session(self.http.post(url("/api/me/api-keys")))
                .json(&serde_json::json!({"identifier": "rampart_cli", "name": "rampart CLI"}))
                .send()
                .await
                .map_err(|e| self.unreachable(e))?;
            if !(key.status().is_success() || key.status() == StatusCode::CONFLICT) {
                let status = key.status();
                let body = key.json().await.unwrap_or(Value::Null);
                return Err(failure(&Answer { status, body }).into());
            }
            let (body, _) = send(with_session(
                self.http
                    .post(url("/api/me/api-keys/rampart_cli/tokens"))
                    .json(&serde_json::json!({"name": token_name})),
            ))
            .await?;
            let token = Zeroizing::new(
                body["token"]
                    .as_str()
                    .context("the server returned no token")?
                    .to_owned(),
            );
            // Best effort: the session is not needed any more.
            let _ = with_session(self.http.post(url("/api/auth/logout")))
                .send()
                .await;
            Ok(token)
        })
    }

    /// Streams a text body to `out`.
    pub fn download(&self, path: &str, out: &mut dyn Write) -> anyhow::Result<()> {
        self.runtime.block_on(async {
            let mut response = self
                .request(Method::GET, path)
                .send()
                .await
                .map_err(|e| self.unreachable(e))?;
            if !response.status().is_success() {
                let status = response.status();
                let text = response.text().await.unwrap_or_default();
                let body = serde_json::from_str(&text).unwrap_or(Value::String(text));
                return Err(failure(&Answer { status, body }).into());
            }
            while let Some(bytes) = response.chunk().await.map_err(|e| self.unreachable(e))? {
                out.write_all(&bytes)?;
            }
            out.flush()?;
            Ok(())
        })
    }

    /// Follows an SSE stream to its `end` event, calling `on_event` for each
    /// event; reconnects (with `Last-Event-ID`) when the connection drops.
    /// Returns the `end` event's data.
    pub fn follow(&self, path: &str, mut on_event: impl FnMut(&SseEvent)) -> anyhow::Result<Value> {
        let mut last_id: Option<String> = None;
        let mut failures = 0u32;
        loop {
            let mut request = self.request(Method::GET, path);
            if let Some(id) = &last_id {
                request = request.header("last-event-id", id.as_str());
            }
            let outcome: anyhow::Result<Option<Value>> = self.runtime.block_on(async {
                let mut response = request.send().await.map_err(|e| self.unreachable(e))?;
                if !response.status().is_success() {
                    let status = response.status();
                    let text = response.text().await.unwrap_or_default();
                    let body = serde_json::from_str(&text).unwrap_or(Value::String(text));
                    return Err(Fatal(failure(&Answer { status, body })).into());
                }
                let mut parser = SseParser::default();
                while let Some(bytes) = response.chunk().await.map_err(|e| self.unreachable(e))? {
                    for event in parser.push(&bytes) {
                        if let Some(id) = &event.id {
                            last_id = Some(id.clone());
                        }
                        if event.event == "end" {
                            return Ok(Some(
                                serde_json::from_str(&event.data).unwrap_or(Value::Null),
                            ));
                        }
                        on_event(&event);
                    }
                }
                Ok(None)
            });
            match outcome {
                Ok(Some(end)) => return Ok(end),
                Err(error) if error.is::<Fatal>() => return Err(error),
                Ok(None) | Err(_) if failures < 5 => {
                    failures += 1;
                    std::thread::sleep(Duration::from_millis(200 * u64::from(failures)));
                }
                Ok(None) => bail!("the server closed the log stream before the run ended"),
                Err(error) => return Err(error),
            }
        }
    }
}

/// A failure that retrying will not fix.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
struct Fatal(ServerFailure);

/// The server refused a request.
#[derive(Debug, thiserror::Error)]
#[error("{message} (HTTP {status}{hint})")]
pub struct ServerFailure {
    pub status: StatusCode,
    pub message: String,
    hint: String,
}

/// The server's `{code, message}` as an error.
pub fn failure(answer: &Answer) -> ServerFailure {
    let message = answer.body["message"]
        .as_str()
        .map(str::to_owned)
        .unwrap_or_else(|| answer.body.to_string());
    let code = answer.body["code"].as_str().unwrap_or("");
    ServerFailure {
        status: answer.status,
        message,
        hint: match answer.status {
            StatusCode::UNAUTHORIZED => format!(" {code}; log in again with `rampart login`"),
            _ if code.is_empty() => String::new(),
            _ => format!(" {code}"),
        },
    }
}

/// One Server-Sent Event.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct SseEvent {
    pub event: String,
    pub id: Option<String>,
    pub data: String,
}

/// Parses an event stream from chunks cut anywhere (the WHATWG rules:
/// `\n`, `\r\n` or `\r` line ends, `:` comments, multi-line `data`).
#[derive(Default)]
pub struct SseParser {
    pending: Vec<u8>,
    current: SseEvent,
    has_data: bool,
    last_was_cr: bool,
}

impl SseParser {
    pub fn push(&mut self, bytes: &[u8]) -> Vec<SseEvent> {
        let mut events = Vec::new();
        for &byte in bytes {
            if self.last_was_cr && byte == b'\n' {
                self.last_was_cr = false;
                continue;
            }
            self.last_was_cr = byte == b'\r';
            if byte == b'\n' || byte == b'\r' {
                let line = String::from_utf8_lossy(&std::mem::take(&mut self.pending)).into_owned();
                if let Some(event) = self.line(&line) {
                    events.push(event);
                }
            } else {
                self.pending.push(byte);
            }
        }
        events
    }

    fn line(&mut self, line: &str) -> Option<SseEvent> {
        if line.is_empty() {
            let mut event = std::mem::take(&mut self.current);
            let dispatch = std::mem::take(&mut self.has_data);
            if event.event.is_empty() {
                event.event = "message".into();
            }
            return dispatch.then_some(event);
        }
        if line.starts_with(':') {
            return None;
        }
        let (field, value) = line.split_once(':').unwrap_or((line, ""));
        let value = value.strip_prefix(' ').unwrap_or(value);
        match field {
            "event" => self.current.event = value.to_owned(),
            "id" => self.current.id = Some(value.to_owned()),
            "data" => {
                if self.has_data {
                    self.current.data.push('\n');
                }
                self.current.data.push_str(value);
                self.has_data = true;
            }
            _ => {}
        }
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn events_survive_any_chunking() {
        let stream = b": keep-alive\r\nevent: log\r\nid: 1.0\r\ndata: {\"a\":1}\r\n\r\nevent: end\ndata: x\ndata: y\n\n";
        let whole = SseParser::default().push(stream);
        assert_eq!(
            whole,
            [
                SseEvent {
                    event: "log".into(),
                    id: Some("1.0".into()),
                    data: "{\"a\":1}".into()
                },
                SseEvent {
                    event: "end".into(),
                    id: None,
                    data: "x\ny".into()
                },
            ]
        );
        for cut in 1..stream.len() {
            let mut parser = SseParser::default();
            let mut events = parser.push(&stream[..cut]);
            events.extend(parser.push(&stream[cut..]));
            assert_eq!(events, whole, "cut at {cut}");
        }
    }

    #[test]
    fn the_login_file_is_private_and_refused_when_not() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("rampart").join("client.json");
        Login {
            server: "http://127.0.0.1:1".into(),
            token: "tok".into(),
        }
        .save(&path)
        .unwrap();
        assert_eq!(
            std::fs::metadata(&path).unwrap().permissions().mode() & 0o777,
            0o600
        );
        assert_eq!(Login::load(&path).unwrap().token, "tok");
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644)).unwrap();
        let error = Login::load(&path).err().unwrap().to_string();
        assert!(error.contains("readable by other users"), "{error}");
    }
}
