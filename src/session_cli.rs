//! `probeshare session`: open, list and close sessions through a running
//! server's management interface, and `session run`, which holds a
//! session for as long as a command runs (docs/sessions.md).
//!
//! `run` opens the session, starts the command with the session's ports
//! in its environment, renews the session every third of its time to live
//! while the command runs, forwards SIGINT, SIGTERM and SIGHUP to it, and
//! closes the session however the command ends. Its exit status is the
//! command's, or 128 + the signal that killed it (as a shell reports it);
//! 127 when the command cannot be started. If `probeshare` itself is
//! killed with SIGKILL, the session ends at its expiry instead.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::os::unix::process::ExitStatusExt;
use std::path::PathBuf;
use std::process::{Command, ExitStatus};
use std::sync::mpsc;
use std::time::Duration;

use anyhow::{anyhow, bail, Context, Result};
use clap::{Args, Subcommand};
use serde_json::{json, Value};
use signal_hook::consts::{SIGHUP, SIGINT, SIGTERM};
use signal_hook::iterator::Signals;

use probeshare::config::BearerToken;

/// Where the configuration is looked for when neither `--management` nor
/// `--config` is given.
const DEFAULT_CONFIG_FILE: &str = "/etc/probeshare/probeshare.toml";
/// The environment variable that may hold the management interface's
/// bearer token.
const TOKEN_VARIABLE: &str = "PROBESHARE_TOKEN";
/// How long one call to the management interface may take.
const HTTP_TIMEOUT: Duration = Duration::from_secs(10);
/// The exit status when the command cannot be started (as a shell's).
const CANNOT_START: i32 = 127;

#[derive(Subcommand)]
pub enum SessionCommand {
    /// Open a session and print it as JSON (its id, ports and expiry).
    Open {
        #[command(flatten)]
        server: ManagementArgs,
        #[command(flatten)]
        session: SessionArgs,
        /// Seconds until the session expires unless renewed.
        #[arg(long, default_value_t = 600, value_parser = clap::value_parser!(u64).range(1..))]
        ttl: u64,
    },
    /// Close a session.
    Close {
        #[command(flatten)]
        server: ManagementArgs,
        /// The probe, by its `id` in the management interface's `/probes`.
        #[arg(long)]
        probe: String,
        /// The session's id, as `open` printed it.
        session: u64,
    },
    /// List the open sessions as JSON (of one probe with --probe).
    List {
        #[command(flatten)]
        server: ManagementArgs,
        #[arg(long)]
        probe: Option<String>,
    },
    /// Open a session, run COMMAND with its ports in PROBESHARE_PORT,
    /// PROBESHARE_DAP_PORT (unset when the probe has no DAP port),
    /// PROBESHARE_HOST, PROBESHARE_SESSION and PROBESHARE_URL, renew it
    /// while COMMAND runs, and close it however COMMAND ends. Exits with
    /// COMMAND's status, or 128 + the signal that killed it.
    Run {
        #[command(flatten)]
        server: ManagementArgs,
        #[command(flatten)]
        session: SessionArgs,
        /// Seconds until the session expires unless renewed: it is renewed
        /// every third of that while COMMAND runs, so this is how long the
        /// probe stays reserved after this process is killed outright.
        #[arg(long, default_value_t = 60, value_parser = clap::value_parser!(u64).range(1..))]
        ttl: u64,
        /// The command and its arguments.
        #[arg(required = true, last = true, value_name = "COMMAND")]
        command: Vec<String>,
    },
}

/// Which server to ask.
#[derive(Args)]
pub struct ManagementArgs {
    /// The management interface, HOST:PORT.
    #[arg(long, value_name = "HOST:PORT", conflicts_with = "config")]
    management: Option<String>,
    /// The configuration file whose `[management] listen` to use
    /// (default: /etc/probeshare/probeshare.toml), and whose `token` or
    /// `token_file` to present.
    #[arg(long, value_name = "FILE")]
    config: Option<PathBuf>,
    /// A file holding the management interface's bearer token (else the
    /// environment's PROBESHARE_TOKEN, else the configuration file's).
    #[arg(long, value_name = "FILE")]
    token_file: Option<PathBuf>,
}

/// What a new session is asked for with.
#[derive(Args)]
pub struct SessionArgs {
    /// The probe, by its `id` in the management interface's `/probes`
    /// (`sim:NAME`, or the serial it is configured with).
    #[arg(long)]
    probe: String,
    /// Who holds the session, as others are told (default: USER@HOST).
    #[arg(long)]
    holder: Option<String>,
    /// Release the clients using the probe instead of failing.
    #[arg(long)]
    preempt: bool,
}

/// Runs a `session` command; returns the exit status.
pub fn run(command: SessionCommand) -> Result<i32> {
    match command {
        SessionCommand::Open {
            server,
            session,
            ttl,
        } => {
            let api = Api::new(&server)?;
            let opened = api.open(&session, ttl)?;
            println!("{}", serde_json::to_string_pretty(&opened)?);
            Ok(0)
        }
        SessionCommand::Close {
            server,
            probe,
            session,
        } => {
            let api = Api::new(&server)?;
            let closed = api.call("DELETE", &session_path(&probe, session), None)?;
            println!("{}", serde_json::to_string_pretty(&closed)?);
            Ok(0)
        }
        SessionCommand::List { server, probe } => {
            let api = Api::new(&server)?;
            let path = match probe {
                Some(probe) => format!("/probes/{probe}/sessions"),
                None => "/sessions".to_string(),
            };
            let list = api.call("GET", &path, None)?;
            println!("{}", serde_json::to_string_pretty(&list)?);
            Ok(0)
        }
        SessionCommand::Run {
            server,
            session,
            ttl,
            command,
        } => run_command(&Api::new(&server)?, &session, ttl, &command),
    }
}

/// `session run`.
fn run_command(api: &Api, session: &SessionArgs, ttl: u64, command: &[String]) -> Result<i32> {
    let (program, arguments) = command.split_first().context("no command given")?;
    // Registered before the session opens, so a signal from now on is
    // forwarded (or, before the command starts, just ends the wait).
    let mut signals = Signals::new([SIGINT, SIGTERM, SIGHUP]).context("cannot handle signals")?;
    let opened = api.open(session, ttl)?;
    if let Some(signal) = signals.pending().next() {
        // Asked to stop while the session was being opened.
        close_quietly(
            api,
            &session_path(&session.probe, opened["session"].as_u64().unwrap_or(0)),
        );
        return Ok(128 + signal);
    }
    let id = opened["session"]
        .as_u64()
        .context("the server's answer names no session")?;
    let path = session_path(&session.probe, id);
    let mut child = Command::new(program);
    child
        .args(arguments)
        .env("PROBESHARE_HOST", api.host())
        .env("PROBESHARE_PORT", opened["port"].to_string())
        .env("PROBESHARE_SESSION", id.to_string())
        .env("PROBESHARE_URL", format!("{}{path}", api.base));
    match opened["dap_port"].as_u64() {
        Some(port) => child.env("PROBESHARE_DAP_PORT", port.to_string()),
        None => child.env_remove("PROBESHARE_DAP_PORT"),
    };
    let mut child = match child.spawn() {
        Ok(child) => child,
        Err(e) => {
            eprintln!("probeshare: cannot start {program}: {e}");
            close_quietly(api, &path);
            return Ok(CANNOT_START);
        }
    };
    let pid = child.id() as libc::pid_t;
    let forwarder = signals.handle();
    std::thread::spawn(move || {
        for signal in signals.forever() {
            // SAFETY: kill(2) takes any pid and signal number and only
            // returns an error for bad ones. The pid is the command's; a
            // signal racing with its exit may find it reaped (ESRCH), as
            // with a shell's `kill`.
            unsafe { libc::kill(pid, signal) };
        }
    });
    let (stop_renewing, renewals_stopped) = mpsc::channel::<()>();
    let renewer = {
        let api = api.clone();
        let path = format!("{path}/renew");
        let every = Duration::from_secs(ttl) / 3;
        std::thread::spawn(move || {
            while let Err(mpsc::RecvTimeoutError::Timeout) = renewals_stopped.recv_timeout(every) {
                if let Err(e) = api.call("POST", &path, Some(json!({}))) {
                    eprintln!("probeshare: cannot renew the session: {e:#}");
                }
            }
        })
    };
    let status = child.wait();
    forwarder.close();
    let _ = stop_renewing.send(());
    let _ = renewer.join();
    close_quietly(api, &path);
    Ok(exit_code(status.context("cannot wait for the command")?))
}

/// Closes a session, saying so on stderr if that fails (it then ends at
/// its expiry).
fn close_quietly(api: &Api, path: &str) {
    match api.call("DELETE", path, None) {
        Ok(_) => {}
        Err(e) if e.to_string().contains("no such session") => {}
        Err(e) => eprintln!("probeshare: cannot close the session (it expires by itself): {e:#}"),
    }
}

/// A command's exit status as a shell reports it.
fn exit_code(status: ExitStatus) -> i32 {
    match (status.code(), status.signal()) {
        (Some(code), _) => code,
        (None, Some(signal)) => 128 + signal,
        (None, None) => 1,
    }
}

fn session_path(probe: &str, session: u64) -> String {
    format!("/probes/{probe}/sessions/{session}")
}

fn default_holder() -> String {
    let user = std::env::var("USER").unwrap_or_else(|_| "someone".into());
    match probeshare::export::labgrid::machine_hostname() {
        Some(host) => format!("{user}@{host}"),
        None => user,
    }
}

/// The management interface of one server.
#[derive(Clone)]
struct Api {
    /// `http://HOST:PORT`.
    base: String,
    agent: ureq::Agent,
    /// `Bearer TOKEN`, sent with every request when a token is known.
    authorization: Option<String>,
}

impl Api {
    fn new(args: &ManagementArgs) -> Result<Api> {
        let (address, configured_token) = match (&args.management, &args.config) {
            (Some(address), _) => (address.clone(), None),
            (None, file) => {
                let file = file
                    .clone()
                    .unwrap_or_else(|| PathBuf::from(DEFAULT_CONFIG_FILE));
                let config = probeshare::config::load(&file)?;
                let listen = reachable(config.management.listen).to_string();
                (listen, config.management.token)
            }
        };
        let token = match (&args.token_file, std::env::var(TOKEN_VARIABLE)) {
            (Some(path), _) => Some(
                BearerToken::read(path)
                    .map_err(|why| anyhow!("token file {}: {why}", path.display()))?,
            ),
            (None, Ok(text)) if !text.is_empty() => Some(
                BearerToken::parse(text.trim_end())
                    .map_err(|why| anyhow!("{TOKEN_VARIABLE} {why}"))?,
            ),
            _ => configured_token,
        };
        let agent = ureq::Agent::config_builder()
            .http_status_as_error(false)
            .timeout_global(Some(HTTP_TIMEOUT))
            .build()
            .into();
        Ok(Api {
            base: format!("http://{address}"),
            agent,
            authorization: token.as_ref().map(BearerToken::authorization),
        })
    }

    /// The host the management interface was reached at.
    fn host(&self) -> &str {
        let address = self.base.trim_start_matches("http://");
        match address.rsplit_once(':') {
            Some((host, _)) => host.trim_start_matches('[').trim_end_matches(']'),
            None => address,
        }
    }

    fn open(&self, session: &SessionArgs, ttl: u64) -> Result<Value> {
        let body = json!({
            "holder": session.holder.clone().unwrap_or_else(default_holder),
            "ttl_secs": ttl,
            "preempt": session.preempt,
        });
        let path = format!("/probes/{}/sessions", session.probe);
        self.call("POST", &path, Some(body))
    }

    /// One request; the answer's JSON, or an error with the server's
    /// message (and who uses the probe, for a refusal naming them).
    fn call(&self, method: &str, path: &str, body: Option<Value>) -> Result<Value> {
        let url = format!("{}{path}", self.base);
        let authorization = self.authorization.as_deref().unwrap_or_default();
        let response = match (method, body) {
            ("GET", _) => self.agent.get(&url).call(),
            ("DELETE", _) => self
                .agent
                .delete(&url)
                .header("Authorization", authorization)
                .call(),
            (_, Some(body)) => self
                .agent
                .post(&url)
                .header("Authorization", authorization)
                .header("Content-Type", "application/json")
                .send(body.to_string()),
            (_, None) => self
                .agent
                .post(&url)
                .header("Authorization", authorization)
                .send_empty(),
        };
        let mut response = response.with_context(|| format!("cannot reach {url}"))?;
        let status = response.status().as_u16();
        let text = response
            .body_mut()
            .read_to_string()
            .with_context(|| format!("cannot read the answer of {url}"))?;
        let answer: Value = serde_json::from_str(&text)
            .map_err(|_| anyhow!("{method} {url}: {status}: {}", text.trim()))?;
        if (200..300).contains(&status) {
            return Ok(answer);
        }
        let mut message = answer["error"].as_str().unwrap_or(text.trim()).to_string();
        if let Some(clients) = answer["clients"].as_array() {
            for client in clients {
                message.push_str(&format!("\n  {client}"));
            }
        }
        bail!("{message}")
    }
}

/// Where a client reaches a server listening on `listen`: loopback for an
/// unspecified address.
fn reachable(listen: SocketAddr) -> SocketAddr {
    let ip = match listen.ip() {
        IpAddr::V4(ip) if ip.is_unspecified() => IpAddr::V4(Ipv4Addr::LOCALHOST),
        IpAddr::V6(ip) if ip.is_unspecified() => IpAddr::V6(Ipv6Addr::LOCALHOST),
        ip => ip,
    };
    SocketAddr::new(ip, listen.port())
}
