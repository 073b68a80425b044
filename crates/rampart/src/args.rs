//! Command-line arguments. Precedence: flags, then `RAMPART_*` variables, then defaults.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};

/// The run succeeded.
pub const EXIT_SUCCESS: u8 = 0;
/// The run failed (a step failed, timed out or was aborted by a failure strategy).
pub const EXIT_FAILED: u8 = 1;
/// The pipeline is invalid, or the command line or environment is wrong.
pub const EXIT_USAGE: u8 = 2;
/// The run was cancelled by Ctrl-C or SIGTERM (128 + SIGINT, as shells report it).
pub const EXIT_CANCELLED: u8 = 130;

#[derive(Debug, Parser)]
#[command(
    name = "rampart",
    version,
    about = "Run Harness CI pipelines, sandboxed and secure by default.",
    after_help = "Exit codes: 0 success, 1 run failed or pipeline invalid (validate), \
                  2 invalid pipeline or usage error (run), 130 cancelled."
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Check pipeline files without running them; problems are printed as file:line:col.
    Validate(ValidateArgs),
    /// Run a pipeline on this machine, streaming each step's output.
    Run(RunArgs),
    /// Manage the local encrypted secret store (values are read from stdin or a file, never argv).
    #[command(subcommand)]
    Secret(SecretCommand),
    /// Mask secrets in a log: filter stdin to stdout with the same masker `rampart run` uses.
    Mask(MaskArgs),
    /// Start the HTTP API server: accounts, users, 2FA, RBAC, API tokens, pipelines, secrets,
    /// runs on an embedded runner with live masked logs, audit.
    Server(ServerArgs),
    /// Inspect the server's audit trail.
    #[command(subcommand)]
    Audit(AuditCommand),
    /// Log in to a server: keeps an API token in a 0600 file for the commands below.
    Login(LoginArgs),
    /// Forget the saved server login.
    Logout(RemoteArgs),
    /// Pipelines on a server: apply a file, list them, run one (and follow its log).
    #[command(subcommand)]
    Pipeline(PipelineCommand),
    /// Runs on a server: list, show, abort, re-run.
    #[command(subcommand)]
    Runs(RunsCommand),
    /// A run's log on a server (masked as stored); --follow streams it live.
    Logs(LogsArgs),
    /// Write the SBOM of a source tree (from its lockfiles and manifests) as CycloneDX 1.6 or
    /// SPDX 2.3 JSON.
    Sbom(SbomArgs),
    /// Signing keys for attestations, kept in the local secret store.
    #[command(subcommand)]
    Keys(KeysCommand),
    /// Verify an artifact against a signed attestation (DSSE): the signature, that the artifact's
    /// sha256 is a subject, and optional Rego policies. Exit 0 verified, 1 not verified.
    Verify(VerifyArgs),
}

#[derive(Debug, Args)]
pub struct SbomArgs {
    /// The source tree to scan (lockfiles in it and below; node_modules, target, .git skipped).
    #[arg(value_name = "DIR")]
    pub dir: PathBuf,
    #[arg(long, value_enum, default_value_t = SbomFormatArg::Cyclonedx)]
    pub format: SbomFormatArg,
    /// Write the document here instead of stdout.
    #[arg(short = 'o', long = "output", value_name = "FILE")]
    pub output: Option<PathBuf>,
    /// The name of what the SBOM describes [default: the directory's name].
    #[arg(long, value_name = "NAME")]
    pub name: Option<String>,
    /// The version of what the SBOM describes.
    #[arg(long = "subject-version", value_name = "VERSION")]
    pub subject_version: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum SbomFormatArg {
    /// CycloneDX 1.6 JSON.
    Cyclonedx,
    /// SPDX 2.3 JSON.
    Spdx,
}

#[derive(Debug, Subcommand)]
pub enum KeysCommand {
    /// Generate a key pair: the private key goes into the secret store (never to disk in
    /// plaintext), the public key (PEM, as cosign writes cosign.pub) to stdout or --public-key.
    Generate {
        /// The secret that will hold the private key, e.g. `signing_key`; pipelines name it as
        /// `<+secrets.getValue("signing_key")>`.
        id: String,
        #[arg(long, value_enum, default_value_t = KeyAlgorithmArg::EcdsaP256)]
        algorithm: KeyAlgorithmArg,
        /// Write the public key here instead of stdout.
        #[arg(long, value_name = "FILE")]
        public_key: Option<PathBuf>,
        #[command(flatten)]
        scope: ScopeArgs,
        #[command(flatten)]
        state: StateArgs,
    },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum KeyAlgorithmArg {
    /// ECDSA over P-256 with SHA-256, cosign's default.
    EcdsaP256,
    Ed25519,
}

#[derive(Debug, Args)]
pub struct VerifyArgs {
    /// The artifact file whose sha256 must be a subject of the attestation.
    #[arg(value_name = "ARTIFACT")]
    pub artifact: PathBuf,
    /// The DSSE envelope (JSON) holding the in-toto statement.
    #[arg(long, value_name = "FILE")]
    pub attestation: PathBuf,
    /// The signer's public key (PEM, SubjectPublicKeyInfo: cosign.pub or `rampart keys generate`).
    #[arg(long, value_name = "PUB")]
    pub key: PathBuf,
    /// Rego policies (a .rego file or a directory of them) the attested SBOM or provenance must pass.
    #[arg(long, value_name = "DIR")]
    pub policy: Option<PathBuf>,
    /// `text` for people, `json` for tools.
    #[arg(long, value_enum, default_value_t = OutputFormat::Text)]
    pub output: OutputFormat,
}

/// Which server, which login file, and how to print.
#[derive(Debug, Args)]
pub struct RemoteArgs {
    /// The server URL [default: the one `rampart login` saved; with RAMPART_TOKEN, RAMPART_SERVER].
    #[arg(long, value_name = "URL")]
    pub server: Option<String>,
    /// The login file [default: $XDG_CONFIG_HOME/rampart/client.json or ~/.config/rampart/client.json].
    #[arg(long, env = "RAMPART_CLIENT_CONFIG", value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// `text` (tables) for people, `json` for tools.
    #[arg(long, value_enum, default_value_t = OutputFormat::Text)]
    pub output: OutputFormat,
}

#[derive(Debug, Args)]
pub struct LoginArgs {
    /// The server, e.g. https://ci.example.com.
    #[arg(long, value_name = "URL")]
    pub server: String,
    /// Read an existing API token from stdin instead of logging in with a password.
    #[arg(long, conflicts_with = "email")]
    pub token_stdin: bool,
    /// Log in as this user; the password is read from stdin (one line). A personal token
    /// (API key `rampart_cli`) is minted and kept; the password is not.
    #[arg(long, value_name = "EMAIL")]
    pub email: Option<String>,
    /// The current TOTP code, for accounts with two-factor authentication.
    #[arg(long, value_name = "CODE", requires = "email")]
    pub otp: Option<String>,
    /// Where to keep the token (created 0600).
    #[arg(long, env = "RAMPART_CLIENT_CONFIG", value_name = "FILE")]
    pub config: Option<PathBuf>,
}

#[derive(Debug, Subcommand)]
pub enum PipelineCommand {
    /// Create or update a pipeline from a Harness v0 YAML file (validated by the server).
    Apply {
        #[arg(short = 'f', long = "file", value_name = "FILE")]
        file: PathBuf,
        #[arg(long, value_name = "ORG")]
        org: String,
        #[arg(long, value_name = "PROJECT")]
        project: String,
        #[command(flatten)]
        remote: RemoteArgs,
    },
    /// List a project's pipelines.
    List {
        #[arg(long, value_name = "ORG")]
        org: String,
        #[arg(long, value_name = "PROJECT")]
        project: String,
        #[command(flatten)]
        remote: RemoteArgs,
    },
    /// Run a pipeline as yourself; --follow streams its log and exits with its status.
    Run {
        /// The pipeline's identifier.
        id: String,
        #[arg(long, value_name = "ORG")]
        org: String,
        #[arg(long, value_name = "PROJECT")]
        project: String,
        /// A runtime input, `KEY=VALUE`; repeatable.
        #[arg(long = "input", value_name = "KEY=VALUE", value_parser = parse_key_value)]
        inputs: Vec<(String, String)>,
        #[arg(long)]
        follow: bool,
        #[command(flatten)]
        remote: RemoteArgs,
    },
}

#[derive(Debug, Subcommand)]
pub enum RunsCommand {
    /// Runs you may view, newest first.
    List {
        #[arg(long, value_name = "ORG")]
        org: Option<String>,
        #[arg(long, value_name = "PROJECT", requires = "org")]
        project: Option<String>,
        #[arg(long, value_name = "PIPELINE", requires = "project")]
        pipeline: Option<String>,
        /// `Queued`, `Running`, `Success`, `Failed`, `Aborted`, ...
        #[arg(long, value_name = "STATUS")]
        status: Option<String>,
        #[arg(long, default_value_t = 50)]
        limit: u32,
        #[command(flatten)]
        remote: RemoteArgs,
    },
    /// A run with its steps, statuses, durations and String outputs.
    Get {
        run: String,
        #[command(flatten)]
        remote: RemoteArgs,
    },
    /// Abort a queued or running run.
    Abort {
        run: String,
        #[command(flatten)]
        remote: RemoteArgs,
    },
    /// Run the same pipeline version with the same inputs again, as yourself.
    Rerun {
        run: String,
        #[command(flatten)]
        remote: RemoteArgs,
    },
}

#[derive(Debug, Args)]
pub struct LogsArgs {
    pub run: String,
    /// Only this step: `STAGE.STEP`.
    #[arg(long, value_name = "STAGE.STEP")]
    pub step: Option<String>,
    #[arg(long)]
    pub follow: bool,
    #[command(flatten)]
    pub remote: RemoteArgs,
}

/// `--server` on the secret commands: the server's store instead of the local one.
#[derive(Debug, Args)]
pub struct SecretServer {
    /// Use the server's secret store (the logged-in server, or this URL) instead of the local one.
    #[arg(long, value_name = "URL", num_args = 0..=1, default_missing_value = "")]
    pub server: Option<String>,
    /// The login file, with --server.
    #[arg(long, env = "RAMPART_CLIENT_CONFIG", value_name = "FILE")]
    pub config: Option<PathBuf>,
}

impl SecretServer {
    /// The remote target, when --server was given.
    pub fn remote(&self) -> Option<RemoteArgs> {
        self.server.as_ref().map(|server| RemoteArgs {
            server: Some(server.clone()).filter(|s| !s.is_empty()),
            config: self.config.clone(),
            output: OutputFormat::Text,
        })
    }
}

#[derive(Debug, Subcommand)]
pub enum AuditCommand {
    /// Recompute every account's audit hash chain; exit 1 if any record was modified,
    /// deleted, inserted or reordered, or the tail was cut off.
    Verify(DatabaseArgs),
}

/// Which server database to read.
#[derive(Debug, Args)]
pub struct DatabaseArgs {
    /// The server's data directory (its SQLite database when no --database-url is given).
    #[arg(
        long,
        env = "RAMPART_DATA_DIR",
        value_name = "DIR",
        default_value = "./rampart-data"
    )]
    pub data_dir: PathBuf,
    /// Database URL, `sqlite://PATH` or `postgres://USER:PASSWORD@HOST/DB`.
    #[arg(long, env = "RAMPART_DATABASE_URL", value_name = "URL")]
    pub database_url: Option<String>,
}

/// Where the local state (run records, the secret database) lives.
#[derive(Debug, Args)]
pub struct StateArgs {
    /// The state directory [default: the nearest `.rampart/` at or above the current directory,
    /// up to the git checkout's root, else `./.rampart/`].
    #[arg(long, env = "RAMPART_STATE_DIR", value_name = "DIR")]
    pub state_dir: Option<PathBuf>,
}

/// A secret's scope, as Harness has them: no flag for the account, `--org` for an org,
/// `--org` and `--project` for a project (what a pipeline's `<+secrets.getValue("x")>` reads).
#[derive(Debug, Args)]
pub struct ScopeArgs {
    /// Organization of an org- or project-scoped secret.
    #[arg(long, value_name = "ORG")]
    pub org: Option<String>,
    /// Project of a project-scoped secret (needs --org).
    #[arg(long, value_name = "PROJECT", requires = "org")]
    pub project: Option<String>,
}

#[derive(Debug, Subcommand)]
pub enum SecretCommand {
    /// Store a new version of a secret; the value comes from stdin or --file, never the command line.
    ///
    /// From stdin, ONE trailing newline is stripped from text values (what `echo` or Enter adds);
    /// file-type values and --file contents are stored byte for byte. Empty values are refused.
    /// The first `set` creates the master key ($XDG_CONFIG_HOME/rampart/master.key, else
    /// ~/.config/rampart/master.key, mode 0600) unless RAMPART_MASTER_KEY (base64 of 32 bytes) is set.
    Set {
        /// The secret's identifier (Harness rules: letters, digits, `_`; starts with a letter or `_`).
        id: String,
        #[command(flatten)]
        scope: ScopeArgs,
        /// Read the value from this file instead of stdin.
        #[arg(long, value_name = "PATH")]
        file: Option<PathBuf>,
        /// Refused with an explanation: a value on the command line leaks through the
        /// process list and shell history.
        #[arg(hide = true, value_name = "VALUE")]
        value_in_argv: Option<String>,
        /// `text`, or `file` for a secret delivered to steps as a file.
        #[arg(long = "type", value_enum, default_value_t = SecretKind::Text)]
        kind: SecretKind,
        #[command(flatten)]
        state: StateArgs,
        #[command(flatten)]
        server: SecretServer,
    },
    /// List secrets (metadata only, never values); --org narrows to an org and its projects.
    List {
        #[command(flatten)]
        scope: ScopeArgs,
        #[command(flatten)]
        state: StateArgs,
        #[command(flatten)]
        server: SecretServer,
    },
    /// Delete a secret and all its versions.
    Rm {
        id: String,
        #[command(flatten)]
        scope: ScopeArgs,
        #[command(flatten)]
        state: StateArgs,
        #[command(flatten)]
        server: SecretServer,
    },
    /// Re-wrap every data key under a new master key, atomically (values are not decrypted).
    ///
    /// With a key file, a new key is generated (or taken from RAMPART_NEW_MASTER_KEY), the re-wrap
    /// commits, then it replaces master.key and the old key is kept as master.key.old.ID for other
    /// state directories that share it. With RAMPART_MASTER_KEY, RAMPART_NEW_MASTER_KEY must hold
    /// the new key; switch RAMPART_MASTER_KEY to it afterwards.
    RotateKey {
        #[command(flatten)]
        state: StateArgs,
    },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum SecretKind {
    Text,
    File,
}

#[derive(Debug, Args)]
pub struct MaskArgs {
    /// Secrets to mask: one per line, or a JSON array of strings.
    #[arg(long, value_name = "FILE")]
    pub secrets_file: PathBuf,
    /// What each secret is replaced with.
    #[arg(long, value_name = "TEXT", default_value = "**************")]
    pub mask: String,
    /// Shortest secret form that is masked; shorter ones are reported, not masked.
    #[arg(long, value_name = "BYTES", default_value_t = 4)]
    pub min_length: usize,
}

/// `rampart server`: flags win over `RAMPART_*` variables, which win over the defaults.
#[derive(Debug, Args)]
pub struct ServerArgs {
    /// Address to listen on; port 0 picks a free port. The bound address is printed on
    /// stdout as `listening on http(s)://ADDR`.
    #[arg(
        long,
        env = "RAMPART_LISTEN",
        value_name = "ADDR",
        default_value = "127.0.0.1:8080"
    )]
    pub listen: std::net::SocketAddr,
    /// Data directory (created 0700), and database: the SQLite file `rampart.db` in the data
    /// directory unless --database-url names another (`postgres://...` to share one database
    /// between replicas). The data directory also holds the keys (token-pepper.key, master.key)
    /// unless RAMPART_TOKEN_PEPPER and RAMPART_MASTER_KEY are set; replicas must share both.
    #[command(flatten)]
    pub database: DatabaseArgs,
    /// E-mail address (login name) of the administrator created at first start.
    #[arg(
        long,
        env = "RAMPART_ADMIN_EMAIL",
        value_name = "EMAIL",
        default_value = "admin@localhost"
    )]
    pub admin_email: String,
    /// A reverse proxy (address or CIDR) whose X-Forwarded-For header is believed; repeatable.
    /// Without it the TCP peer is the client, whatever the header says.
    #[arg(
        long = "trusted-proxy",
        env = "RAMPART_TRUSTED_PROXIES",
        value_name = "CIDR",
        value_delimiter = ','
    )]
    pub trusted_proxies: Vec<String>,
    /// PEM certificate chain: with --tls-key, serve HTTPS only.
    #[arg(
        long,
        env = "RAMPART_TLS_CERT",
        value_name = "PEM",
        requires = "tls_key"
    )]
    pub tls_cert: Option<PathBuf>,
    /// PEM private key of --tls-cert.
    #[arg(
        long,
        env = "RAMPART_TLS_KEY",
        value_name = "PEM",
        requires = "tls_cert"
    )]
    pub tls_key: Option<PathBuf>,
    /// Runs the embedded runner executes at once; 0 turns it off (runs stay queued).
    #[arg(
        long,
        env = "RAMPART_RUNNER_SLOTS",
        value_name = "N",
        default_value_t = 4
    )]
    pub runner_slots: usize,
    /// Network for run steps that do not set their own: `host`, or `none` (loopback only).
    #[arg(long, value_enum, env = "RAMPART_NETWORK", default_value_t = NetworkArg::Host)]
    pub network: NetworkArg,
    /// PID and mount namespaces for run steps: `auto` (where the kernel allows), `required`, `off`.
    #[arg(long, value_enum, env = "RAMPART_SANDBOX", default_value_t = SandboxArg::Auto)]
    pub sandbox: SandboxArg,
    /// Run steps that name a container `image` on the host (there is no container runtime yet).
    #[arg(long, env = "RAMPART_ALLOW_HOST")]
    pub allow_host: bool,
}

#[derive(Debug, Args)]
pub struct ValidateArgs {
    /// Harness v0 pipeline YAML files.
    #[arg(required = true, value_name = "FILE")]
    pub files: Vec<PathBuf>,
}

#[derive(Debug, Args)]
pub struct RunArgs {
    /// The Harness v0 pipeline YAML file.
    #[arg(value_name = "FILE")]
    pub file: PathBuf,

    /// Value for a runtime input (`<+input>`): a pipeline variable name, `STAGE.VARIABLE`,
    /// or a field's full path. Repeatable; wins over --inputs-file.
    #[arg(long = "input", value_name = "KEY=VALUE", value_parser = parse_key_value)]
    pub inputs: Vec<(String, String)>,

    /// Runtime inputs from a file: a flat `key: value` map or a Harness input set.
    #[arg(long, value_name = "FILE")]
    pub inputs_file: Option<PathBuf>,

    /// Which pipeline to run when FILE holds several YAML documents.
    #[arg(long, value_name = "IDENTIFIER")]
    pub pipeline: Option<String>,

    /// `text` for people, `json` for one JSON event per line.
    #[arg(long, value_enum, default_value_t = OutputFormat::Text)]
    pub output: OutputFormat,

    /// Where runs are recorded [default: the nearest `.rampart/` at or above the pipeline's
    /// directory, up to the git checkout's root, else a new `.rampart/` next to the pipeline file].
    #[arg(long, env = "RAMPART_STATE_DIR", value_name = "DIR")]
    pub state_dir: Option<PathBuf>,

    /// Run steps in this directory instead of a fresh per-run workspace.
    #[arg(long, value_name = "DIR")]
    pub workspace: Option<PathBuf>,

    /// Network for steps that do not set `spec.network`: `host`, or `none` (loopback only).
    #[arg(long, value_enum, env = "RAMPART_NETWORK", default_value_t = NetworkArg::Host)]
    pub network: NetworkArg,

    /// PID and mount namespaces for steps: `auto` (where the kernel allows, with a warning
    /// otherwise), `required` (fail without them), `off`.
    #[arg(long, value_enum, env = "RAMPART_SANDBOX", default_value_t = SandboxArg::Auto)]
    pub sandbox: SandboxArg,

    /// Run steps that name a container `image` directly on this machine.
    #[arg(long)]
    pub allow_host: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum OutputFormat {
    Text,
    Json,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum NetworkArg {
    Host,
    None,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum SandboxArg {
    Auto,
    Required,
    Off,
}

impl From<NetworkArg> for rampart_exec::Network {
    fn from(arg: NetworkArg) -> Self {
        match arg {
            NetworkArg::Host => rampart_exec::Network::Host,
            NetworkArg::None => rampart_exec::Network::None,
        }
    }
}

impl From<SandboxArg> for rampart_exec::Namespaces {
    fn from(arg: SandboxArg) -> Self {
        match arg {
            SandboxArg::Auto => rampart_exec::Namespaces::Auto,
            SandboxArg::Required => rampart_exec::Namespaces::Required,
            SandboxArg::Off => rampart_exec::Namespaces::Off,
        }
    }
}

fn parse_key_value(s: &str) -> Result<(String, String), String> {
    match s.split_once('=') {
        Some((key, value)) if !key.is_empty() => Ok((key.to_string(), value.to_string())),
        _ => Err(format!("expected KEY=VALUE, got {s:?}")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn key_value_splits_at_first_equals() {
        assert_eq!(parse_key_value("a=b=c"), Ok(("a".into(), "b=c".into())));
        assert_eq!(parse_key_value("a="), Ok(("a".into(), String::new())));
        assert!(parse_key_value("=b").is_err());
        assert!(parse_key_value("ab").is_err());
    }

    #[test]
    fn cli_definition_is_consistent() {
        use clap::CommandFactory;
        Cli::command().debug_assert();
    }
}
