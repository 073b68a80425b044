//! A Server-Sent Events reader for the live-log endpoints: events as they
//! arrive (so a test can act mid-stream, or kill the server under it), or
//! the whole stream until the server closes it.

use serde_json::Value;

use crate::{Client, Cred};

/// One event: its type (`message` when unnamed), id and JSON data.
#[derive(Debug, Clone)]
pub struct Event {
    pub event: String,
    pub id: String,
    pub data: Value,
}

/// An open event stream.
pub struct Events {
    response: reqwest::Response,
    buffer: String,
}

impl Events {
    /// The next event; `None` once the stream ends or the connection breaks.
    pub async fn next(&mut self) -> Option<Event> {
        loop {
            if let Some(end) = self.buffer.find("\n\n") {
                let block: String = self.buffer.drain(..end + 2).collect();
                if let Some(event) = parse(&block) {
                    return Some(event);
                }
                continue;
            }
            let chunk = self.response.chunk().await.ok()??;
            self.buffer.push_str(&String::from_utf8_lossy(&chunk));
        }
    }

    /// Every remaining event, until the server closes the stream.
    pub async fn all(mut self) -> Vec<Event> {
        let mut events = Vec::new();
        while let Some(event) = self.next().await {
            events.push(event);
        }
        events
    }
}

/// One block of `field: value` lines; `None` for comments and keep-alives.
fn parse(block: &str) -> Option<Event> {
    let mut event = Event {
        event: "message".into(),
        id: String::new(),
        data: Value::Null,
    };
    let mut data = String::new();
    for line in block.lines() {
        let (field, value) = line.split_once(':').unwrap_or((line, ""));
        let value = value.strip_prefix(' ').unwrap_or(value);
        match field {
            "event" => event.event = value.to_owned(),
            "id" => event.id = value.to_owned(),
            "data" => {
                if !data.is_empty() {
                    data.push('\n');
                }
                data.push_str(value);
            }
            _ => {}
        }
    }
    if data.is_empty() {
        return None;
    }
    event.data = serde_json::from_str(&data).expect("SSE data is JSON");
    Some(event)
}

impl Client {
    /// Opens the event stream at `path`, resuming after `last_event_id`;
    /// asserts it answered 200 with `text/event-stream`.
    pub async fn events(&self, path: &str, cred: &Cred, last_event_id: Option<&str>) -> Events {
        let mut request =
            self.authorized(self.http.get(format!("{}{path}", self.url)), cred, false);
        if let Some(id) = last_event_id {
            request = request.header("last-event-id", id);
        }
        let response = request.send().await.expect("the server answers");
        let status = response.status();
        let kind = response
            .headers()
            .get("content-type")
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_owned();
        if status != 200 || kind != "text/event-stream" {
            let text = response.text().await.unwrap_or_default();
            panic!("GET {path}: {status} {kind}: {text}");
        }
        Events {
            response,
            buffer: String::new(),
        }
    }
}
