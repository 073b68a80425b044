//! The commands that talk to a server: `rampart login`, `logout`,
//! `pipeline apply|run|list`, `runs list|get|abort|rerun`, `logs`, and
//! `secret set|list|rm --server`. Tables for people, `--output json` for tools.

use std::io::{BufRead, Read, Write};
use std::process::ExitCode;

use anyhow::{Context, bail};
use reqwest::Method;
use serde_json::{Value, json};
use zeroize::Zeroizing;

use crate::args::{
    EXIT_FAILED, EXIT_SUCCESS, EXIT_USAGE, LoginArgs, LogsArgs, OutputFormat, PipelineCommand,
    RemoteArgs, RunsCommand,
};
use crate::remote::{self, Login, Remote, SseEvent};

pub fn login(args: LoginArgs) -> anyhow::Result<ExitCode> {
    let path = remote::config_path(args.config.as_deref());
    let token = if args.token_stdin {
        let mut line = Zeroizing::new(String::new());
        std::io::stdin()
            .lock()
            .read_line(&mut line)
            .context("cannot read the token from stdin")?;
        Zeroizing::new(line.trim().to_owned())
    } else {
        let Some(email) = &args.email else {
            bail!("give --email (the password is read from stdin) or --token-stdin");
        };
        password_login(&args.server, email, args.otp.as_deref())?
    };
    let remote = Remote::new(&args.server, Some(token.clone()))?;
    let me = remote.call(Method::GET, "/api/me", None)?;
    Login {
        server: remote.server().to_owned(),
        token: token.to_string(),
    }
    .save(&path)?;
    eprintln!(
        "logged in to {} as {}; token kept in {}",
        remote.server(),
        me.body["email"]
            .as_str()
            .or(me.body["id"].as_str())
            .unwrap_or("?"),
        path.display()
    );
    Ok(ExitCode::from(EXIT_SUCCESS))
}

/// Logs in with a password read from stdin and mints a personal token.
fn password_login(
    server: &str,
    email: &str,
    otp: Option<&str>,
) -> anyhow::Result<Zeroizing<String>> {
    let mut password = Zeroizing::new(String::new());
    std::io::stdin()
        .lock()
        .read_line(&mut password)
        .context("cannot read the password from stdin")?;
    let password = Zeroizing::new(password.trim_end_matches(['\r', '\n']).to_owned());
    let host = std::fs::read_to_string("/etc/hostname").unwrap_or_default();
    let name = format!("rampart CLI on {}", host.trim());
    Remote::new(server, None)?.password_login(email, &password, otp, &name)
}

pub fn logout(args: RemoteArgs) -> anyhow::Result<ExitCode> {
    let path = remote::config_path(args.config.as_deref());
    match std::fs::remove_file(&path) {
        Ok(()) => eprintln!("logged out: removed {}", path.display()),
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => eprintln!("not logged in"),
        Err(error) => {
            return Err(error).with_context(|| format!("cannot remove {}", path.display()));
        }
    }
    Ok(ExitCode::from(EXIT_SUCCESS))
}

fn connect(args: &RemoteArgs) -> anyhow::Result<Remote> {
    remote::resolve(args.config.as_deref(), args.server.as_deref())
}

fn print_json(value: &Value) -> anyhow::Result<()> {
    println!("{}", serde_json::to_string_pretty(value)?);
    Ok(())
}

/// Aligned columns, the header first.
fn table(header: &[&str], rows: &[Vec<String>]) -> String {
    let mut widths: Vec<usize> = header.iter().map(|h| h.len()).collect();
    for row in rows {
        for (width, cell) in widths.iter_mut().zip(row) {
            *width = (*width).max(cell.chars().count());
        }
    }
    let mut out = String::new();
    let lines = std::iter::once(header.iter().map(|h| h.to_string()).collect::<Vec<_>>())
        .chain(rows.iter().cloned());
    for row in lines {
        let cells: Vec<String> = row
            .iter()
            .zip(&widths)
            .map(|(cell, width)| format!("{cell:<width$}"))
            .collect();
        out.push_str(cells.join("  ").trim_end());
        out.push('\n');
    }
    out
}

fn text(value: &Value) -> String {
    match value {
        Value::Null => "-".into(),
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

fn project_query(org: &str, project: &str) -> String {
    format!("org={org}&project={project}")
}

pub fn pipeline(command: PipelineCommand) -> anyhow::Result<ExitCode> {
    match command {
        PipelineCommand::Apply {
            file,
            org,
            project,
            remote,
        } => {
            let yaml = std::fs::read_to_string(&file)
                .with_context(|| format!("cannot read {}", file.display()))?;
            let identifier = identifier_of(&file.display().to_string(), &yaml)?;
            let server = connect(&remote)?;
            let path = format!(
                "/api/pipelines/{identifier}?{}",
                project_query(&org, &project)
            );
            let answer = server.call_raw(Method::PUT, &path, Some(&json!({"yaml": yaml})), &[])?;
            if answer.body["code"] == "invalid_pipeline" {
                for problem in answer.body["problems"].as_array().into_iter().flatten() {
                    eprintln!(
                        "{}:{}:{}: error: {}",
                        file.display(),
                        problem["line"],
                        problem["col"],
                        text(&problem["message"])
                    );
                    if let Some(help) = problem["help"].as_str() {
                        eprintln!("  help: {help}");
                    }
                }
                return Ok(ExitCode::from(EXIT_USAGE));
            }
            if !answer.status.is_success() {
                return Err(remote::failure(&answer).into());
            }
            if remote.output == OutputFormat::Json {
                print_json(&answer.body)?;
            } else {
                let verb = if answer.status == reqwest::StatusCode::CREATED {
                    "created"
                } else {
                    "updated"
                };
                println!(
                    "pipeline {identifier} {verb}: version {}",
                    answer.body["version"]
                );
            }
            Ok(ExitCode::from(EXIT_SUCCESS))
        }
        PipelineCommand::List {
            org,
            project,
            remote,
        } => {
            let server = connect(&remote)?;
            let answer = server.call(
                Method::GET,
                &format!("/api/pipelines?{}", project_query(&org, &project)),
                None,
            )?;
            if remote.output == OutputFormat::Json {
                print_json(&answer.body)?;
            } else {
                let rows: Vec<Vec<String>> = answer
                    .body
                    .as_array()
                    .into_iter()
                    .flatten()
                    .map(|p| {
                        vec![
                            text(&p["identifier"]),
                            text(&p["name"]),
                            text(&p["version"]),
                        ]
                    })
                    .collect();
                print!("{}", table(&["PIPELINE", "NAME", "VERSION"], &rows));
            }
            Ok(ExitCode::from(EXIT_SUCCESS))
        }
        PipelineCommand::Run {
            id,
            org,
            project,
            inputs,
            follow,
            remote,
        } => {
            let server = connect(&remote)?;
            let inputs: serde_json::Map<String, Value> = inputs
                .into_iter()
                .map(|(k, v)| (k, Value::String(v)))
                .collect();
            let path = format!("/api/pipelines/{id}/runs?{}", project_query(&org, &project));
            let run = server.call(Method::POST, &path, Some(&json!({"inputs": inputs})))?;
            let run_id = text(&run.body["id"]);
            if !follow {
                if remote.output == OutputFormat::Json {
                    print_json(&run.body)?;
                } else {
                    println!("run {run_id} queued (#{} of {id})", run.body["sequence_id"]);
                }
                return Ok(ExitCode::from(EXIT_SUCCESS));
            }
            eprintln!("run {run_id} queued (#{} of {id})", run.body["sequence_id"]);
            follow_log(&server, &run_id, None, remote.output)
        }
    }
}

/// The `pipeline.identifier` of a pipeline file, as the local loader reads it.
fn identifier_of(file: &str, yaml: &str) -> anyhow::Result<String> {
    match rampart_pipeline::load(file, yaml, None) {
        Ok(pipelines) if pipelines.len() == 1 => Ok(pipelines[0].identifier.clone()),
        Ok(pipelines) => bail!(
            "{file} holds {} pipelines; apply one per file",
            pipelines.len()
        ),
        Err(diagnostics) => bail!("{file} is not a valid pipeline:\n{diagnostics}"),
    }
}

/// Prints a run's live log to its end; the exit code follows the run's status.
fn follow_log(
    server: &Remote,
    run_id: &str,
    step: Option<&str>,
    output: OutputFormat,
) -> anyhow::Result<ExitCode> {
    let path = match step {
        Some(step) => format!("/api/runs/{run_id}/logs/stream?step={step}"),
        None => format!("/api/runs/{run_id}/logs/stream"),
    };
    let mut stdout = std::io::stdout().lock();
    let end = server.follow(&path, |event: &SseEvent| {
        let data: Value = serde_json::from_str(&event.data).unwrap_or(Value::Null);
        if output == OutputFormat::Json {
            let _ = writeln!(
                stdout,
                "{}",
                json!({"event": event.event, "id": event.id, "data": data})
            );
            return;
        }
        match event.event.as_str() {
            "log" => {
                let _ = writeln!(
                    stdout,
                    "[{}/{}] {}",
                    text(&data["stage"]),
                    text(&data["step"]),
                    text(&data["line"])
                );
            }
            "status" => {
                let what = match data["step"].as_str() {
                    Some(step) => format!("step {}/{step}", text(&data["stage"])),
                    None => format!("stage {}", text(&data["stage"])),
                };
                match data["message"].as_str() {
                    Some(message) => {
                        eprintln!("rampart: {what}: {} ({message})", text(&data["status"]))
                    }
                    None => eprintln!("rampart: {what}: {}", text(&data["status"])),
                }
            }
            _ => {}
        }
    })?;
    drop(stdout);
    let status = text(&end["status"]);
    if output == OutputFormat::Json {
        println!("{}", json!({"event": "end", "data": end}));
    } else {
        match end["message"].as_str() {
            Some(message) => eprintln!("rampart: run {run_id} {status}: {message}"),
            None => eprintln!("rampart: run {run_id} {status}"),
        }
    }
    Ok(ExitCode::from(match status.as_str() {
        "Success" | "IgnoreFailed" => EXIT_SUCCESS,
        _ => EXIT_FAILED,
    }))
}

pub fn runs(command: RunsCommand) -> anyhow::Result<ExitCode> {
    match command {
        RunsCommand::List {
            org,
            project,
            pipeline,
            status,
            limit,
            remote,
        } => {
            let server = connect(&remote)?;
            let mut query = vec![format!("limit={limit}")];
            for (name, value) in [
                ("org", org),
                ("project", project),
                ("pipeline", pipeline),
                ("status", status),
            ] {
                if let Some(value) = value {
                    query.push(format!("{name}={value}"));
                }
            }
            let answer =
                server.call(Method::GET, &format!("/api/runs?{}", query.join("&")), None)?;
            if remote.output == OutputFormat::Json {
                return print_json(&answer.body).map(|()| ExitCode::from(EXIT_SUCCESS));
            }
            let rows: Vec<Vec<String>> = answer
                .body
                .as_array()
                .into_iter()
                .flatten()
                .map(|r| {
                    vec![
                        text(&r["id"]),
                        format!(
                            "{}/{}/{}",
                            text(&r["org"]),
                            text(&r["project"]),
                            text(&r["pipeline"])
                        ),
                        text(&r["sequence_id"]),
                        text(&r["status"]),
                        r["duration_ms"]
                            .as_i64()
                            .map_or("-".into(), |ms| format!("{:.1}s", ms as f64 / 1000.0)),
                        text(&r["executor"]["id"]),
                    ]
                })
                .collect();
            print!(
                "{}",
                table(
                    &["RUN", "PIPELINE", "#", "STATUS", "DURATION", "EXECUTOR"],
                    &rows
                )
            );
            Ok(ExitCode::from(EXIT_SUCCESS))
        }
        RunsCommand::Get { run, remote } => {
            let server = connect(&remote)?;
            let answer = server.call(Method::GET, &format!("/api/runs/{run}"), None)?;
            if remote.output == OutputFormat::Json {
                return print_json(&answer.body).map(|()| ExitCode::from(EXIT_SUCCESS));
            }
            let body = &answer.body;
            println!(
                "run {} of {}: {} ({})",
                text(&body["id"]),
                text(&body["pipeline"]),
                text(&body["status"]),
                text(&body["message"])
            );
            let mut rows = Vec::new();
            for stage in body["stages"].as_array().into_iter().flatten() {
                for step in stage["steps"].as_array().into_iter().flatten() {
                    let outputs: Vec<String> = step["outputs"]
                        .as_object()
                        .into_iter()
                        .flatten()
                        .map(|(k, v)| format!("{k}={}", text(v)))
                        .collect();
                    rows.push(vec![
                        format!("{}/{}", text(&stage["stage"]), text(&step["step"])),
                        text(&step["status"]),
                        step["duration_ms"]
                            .as_i64()
                            .map_or("-".into(), |ms| format!("{ms} ms")),
                        if outputs.is_empty() {
                            "-".into()
                        } else {
                            outputs.join(" ")
                        },
                    ]);
                }
            }
            print!(
                "{}",
                table(&["STEP", "STATUS", "DURATION", "OUTPUTS"], &rows)
            );
            Ok(ExitCode::from(EXIT_SUCCESS))
        }
        RunsCommand::Abort { run, remote } => act(
            &remote,
            &format!("/api/runs/{run}/abort"),
            "abort requested",
        ),
        RunsCommand::Rerun { run, remote } => {
            act(&remote, &format!("/api/runs/{run}/rerun"), "queued")
        }
    }
}

fn act(remote: &RemoteArgs, path: &str, done: &str) -> anyhow::Result<ExitCode> {
    let server = connect(remote)?;
    let answer = server.call(Method::POST, path, Some(&json!({})))?;
    if remote.output == OutputFormat::Json {
        print_json(&answer.body)?;
    } else {
        println!(
            "run {}: {done} ({})",
            text(&answer.body["id"]),
            text(&answer.body["status"])
        );
    }
    Ok(ExitCode::from(EXIT_SUCCESS))
}

pub fn logs(args: LogsArgs) -> anyhow::Result<ExitCode> {
    let server = connect(&args.remote)?;
    if args.follow {
        return follow_log(&server, &args.run, args.step.as_deref(), args.remote.output);
    }
    let path = match &args.step {
        Some(step) => format!("/api/runs/{}/logs?step={step}", args.run),
        None => format!("/api/runs/{}/logs", args.run),
    };
    server.download(&path, &mut std::io::stdout().lock())?;
    Ok(ExitCode::from(EXIT_SUCCESS))
}

/// `?org=&project=` for a secret's scope.
fn scope_query(org: Option<&str>, project: Option<&str>) -> String {
    match (org, project) {
        (Some(org), Some(project)) => format!("?org={org}&project={project}"),
        (Some(org), None) => format!("?org={org}"),
        _ => String::new(),
    }
}

/// `rampart secret set ID --server`: the value (from stdin) goes to the server's store.
pub fn secret_set(
    remote: &RemoteArgs,
    id: &str,
    org: Option<&str>,
    project: Option<&str>,
    file_kind: bool,
) -> anyhow::Result<ExitCode> {
    use base64::Engine as _;
    let mut bytes = Zeroizing::new(Vec::new());
    std::io::stdin()
        .lock()
        .take(rampart_secrets::MAX_VALUE_LEN as u64 + 1)
        .read_to_end(&mut bytes)
        .context("cannot read the value from stdin")?;
    let body = if file_kind {
        let encoded =
            Zeroizing::new(base64::engine::general_purpose::STANDARD.encode(bytes.as_slice()));
        json!({"value": encoded.as_str(), "kind": "file", "encoding": "base64"})
    } else {
        let text =
            std::str::from_utf8(&bytes).context("a text secret must be UTF-8; use --type file")?;
        let text = text.strip_suffix('\n').unwrap_or(text);
        let text = text.strip_suffix('\r').unwrap_or(text);
        json!({"value": text})
    };
    let server = connect(remote)?;
    let path = format!("/api/secrets/{id}{}", scope_query(org, project));
    let answer = server.call(Method::PUT, &path, Some(&body))?;
    if remote.output == OutputFormat::Json {
        print_json(&answer.body)?;
    } else {
        println!(
            "secret {id} stored on {}: version {}",
            server.server(),
            answer.body["version"]
        );
    }
    Ok(ExitCode::from(EXIT_SUCCESS))
}

pub fn secret_list(
    remote: &RemoteArgs,
    org: Option<&str>,
    project: Option<&str>,
) -> anyhow::Result<ExitCode> {
    let server = connect(remote)?;
    let answer = server.call(
        Method::GET,
        &format!("/api/secrets{}", scope_query(org, project)),
        None,
    )?;
    if remote.output == OutputFormat::Json {
        print_json(&answer.body)?;
    } else {
        let rows: Vec<Vec<String>> = answer
            .body
            .as_array()
            .into_iter()
            .flatten()
            .map(|s| {
                vec![
                    text(&s["identifier"]),
                    text(&s["kind"]),
                    text(&s["version"]),
                ]
            })
            .collect();
        print!("{}", table(&["SECRET", "TYPE", "VERSION"], &rows));
    }
    Ok(ExitCode::from(EXIT_SUCCESS))
}

pub fn secret_rm(
    remote: &RemoteArgs,
    id: &str,
    org: Option<&str>,
    project: Option<&str>,
) -> anyhow::Result<ExitCode> {
    let server = connect(remote)?;
    server.call(
        Method::DELETE,
        &format!("/api/secrets/{id}{}", scope_query(org, project)),
        None,
    )?;
    println!("secret {id} deleted on {}", server.server());
    Ok(ExitCode::from(EXIT_SUCCESS))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tables_align_columns() {
        let rows = vec![
            vec!["r_1".to_string(), "Success".to_string()],
            vec!["r_22".into(), "-".into()],
        ];
        assert_eq!(
            table(&["RUN", "STATUS"], &rows),
            "RUN   STATUS\nr_1   Success\nr_22  -\n"
        );
    }
}
