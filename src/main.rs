//! The `probeshare` command line: `serve` a probe, `list` the probes,
//! `bench` the server, `config check` a configuration file, `export`
//! the configured probes for lab schedulers.
//!
//! Its own modules, not the library's: `bench` (the load generator and
//! floor server of `bench`), `listing` (what `list` prints) and
//! `session_cli` (`session`: sessions through the management interface).

mod bench;
mod listing;
mod session_cli;

use std::net::{IpAddr, SocketAddr, TcpListener};
use std::path::PathBuf;
use std::time::Duration;

use anyhow::{bail, Context, Result};
use clap::{Args, Parser, Subcommand};
use signal_hook::consts::{SIGHUP, SIGINT, SIGTERM};
use signal_hook::iterator::Signals;

use listing::ListedProbe;
use probeshare::cmsis_dap::usb;
use probeshare::farm::{self, Farm, ProbeSource};
use probeshare::management::{Access, ManagementServer, ProbeBoard};
use probeshare::probe::DebugProbe;
use probeshare::server::{self, Limits, ServerConfig};
use probeshare::service::Notifier;
use probeshare::sim::{
    self,
    dap_firmware::{FirmwareConfig, UsbModel},
    VirtualProbe,
};

#[derive(Parser)]
#[command(
    version,
    about = "Share debug probes over TCP with pyOCD's remote probe protocol"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Serve a probe to any number of pyOCD clients.
    Serve(ServeArgs),
    /// List the probes `serve --probe` can take: the virtual target and
    /// every CMSIS-DAP probe on USB.
    List(ListArgs),
    /// Measure the server against a trivial floor server.
    Bench(BenchArgs),
    /// Work with a configuration file (docs/configuration.md).
    #[command(subcommand)]
    Config(ConfigCommand),
    /// Describe the configured probes for other tools.
    #[command(subcommand)]
    Export(ExportCommand),
    /// Reserve a probe of a running server: a session with ports of its
    /// own that only its clients may use (docs/sessions.md).
    #[command(subcommand)]
    Session(session_cli::SessionCommand),
}

#[derive(Subcommand)]
enum ExportCommand {
    /// Print a labgrid exporter configuration with one resource group per
    /// configured probe, each a `ProbeshareProbe` for the Python module
    /// `probeshare.labgrid` (docs/farm-integration.md).
    Labgrid {
        /// The configuration file `serve --config` uses.
        #[arg(long, value_name = "FILE")]
        config: std::path::PathBuf,
        /// The host name or IPv4 address clients reach the probes at;
        /// default: `listen` if it is one reachable IPv4 address, else this
        /// machine's host name.
        #[arg(long, value_name = "NAME")]
        host: Option<String>,
    },
}

#[derive(Subcommand)]
enum ConfigCommand {
    /// Validate a configuration file and print it as TOML with every
    /// default filled in; exit 1 naming the file, key and value if it is
    /// not valid.
    Check {
        /// The configuration file.
        file: std::path::PathBuf,
    },
}

#[derive(Args)]
struct ListArgs {
    /// Print a JSON array of flat objects instead of text.
    #[arg(long)]
    json: bool,
}

/// Where `serve` looks for its configuration when neither `--probe` nor
/// `--config` is given (the systemd unit's case), unless
/// [`DEFAULT_CONFIG_ENV`] names another file.
const DEFAULT_CONFIG_FILE: &str = "/etc/probeshare/probeshare.toml";
/// Names the file read instead of [`DEFAULT_CONFIG_FILE`], so that the
/// tests (and a packager) need not depend on what the machine has in /etc.
const DEFAULT_CONFIG_ENV: &str = "PROBESHARE_DEFAULT_CONFIG";

#[derive(Args)]
#[command(group(clap::ArgGroup::new("source").args(["probe", "config"])))]
struct ServeArgs {
    /// The probe to serve: `sim` for the virtual Cortex-M target, or (part
    /// of) a CMSIS-DAP probe's serial number as `probeshare list` shows it.
    #[arg(long)]
    probe: Option<String>,
    /// Serve every probe of this configuration file (docs/configuration.md)
    /// on its own port, with the file's address, allow-list and
    /// limits. Without --probe or --config: /etc/probeshare/probeshare.toml
    /// (or the file the environment variable PROBESHARE_DEFAULT_CONFIG names).
    #[arg(
        long,
        value_name = "FILE",
        conflicts_with_all = [
            "probe", "sim_usb", "port", "dap_port", "bind", "allow_remote",
            "max_line_bytes", "max_block_elements", "max_connections",
            "max_connections_per_peer",
            "max_unsent_bytes", "max_pending_requests", "idle_timeout_secs",
            "register_window_ms", "target_poll_ms",
        ]
    )]
    config: Option<std::path::PathBuf>,
    /// With --config: do not start the management interface, whatever
    /// the file's `[management] enabled` says.
    #[arg(long, requires = "config")]
    no_management: bool,
    /// The USB timing the virtual target's emulated CMSIS-DAP firmware
    /// models: none, fs-hid (64-byte reports, one per 1 ms frame) or
    /// hs-bulk (512-byte packets, 125 µs microframes).
    #[arg(long, value_enum, default_value_t = SimUsb::None)]
    sim_usb: SimUsb,
    /// TCP port; 0 picks a free one (the log line names it).
    #[arg(long, default_value_t = 5555)]
    port: u16,
    /// Also serve CMSIS-DAP over TCP for OpenOCD (`cmsis-dap backend tcp`)
    /// on this port, sharing the probe with the pyOCD port's clients; 0
    /// picks a free one (its log line names it). See docs/openocd.md.
    #[arg(long)]
    dap_port: Option<u16>,
    /// Address to listen on.
    #[arg(long, default_value = "127.0.0.1")]
    bind: IpAddr,
    /// Allow listening on an address other machines can reach.
    #[arg(long)]
    allow_remote: bool,
    /// Give clients memory handles for MEM-APs: a memory block takes one
    /// request instead of several per KiB (far faster over a slow
    /// network). pyOCD 0.46's client then cannot write `bytes` data:
    /// commander `load`, `loadmem` and `fill` fail on its side.
    #[arg(long)]
    memory_handles: bool,
    #[command(flatten)]
    limits: LimitArgs,
}

#[derive(Args)]
struct LimitArgs {
    /// Longest request line in bytes.
    #[arg(long, default_value_t = Limits::default().max_line_bytes)]
    max_line_bytes: usize,
    /// Largest element count of a block request.
    #[arg(long, default_value_t = Limits::default().max_block_elements)]
    max_block_elements: usize,
    /// Most client connections held at once.
    #[arg(long, default_value_t = Limits::default().max_connections)]
    max_connections: usize,
    /// Most connections held at once from one IP address (both ports
    /// together), so one host cannot take all of --max-connections.
    #[arg(long, default_value_t = Limits::default().max_connections_per_peer)]
    max_connections_per_peer: usize,
    /// Bytes held for a client before its reading pauses (unsent responses
    /// and what its pending requests may still produce).
    #[arg(long, default_value_t = Limits::default().max_unsent_bytes)]
    max_unsent_bytes: usize,
    /// Requests of a client awaiting responses before its reading pauses.
    #[arg(long, default_value_t = Limits::default().max_pending_requests)]
    max_pending_requests: usize,
    /// Close a connection silent for this many seconds (0: never).
    #[arg(long, default_value_t = 0)]
    idle_timeout_secs: u64,
    /// Milliseconds one client's core register transfer (DCRSR/DCRDR) may
    /// keep every other client waiting before it is given up.
    #[arg(long, default_value_t = 1000, value_parser = clap::value_parser!(u64).range(1..))]
    register_window_ms: u64,
    /// While someone listens for target events and no client has read
    /// DHCSR for this many milliseconds, the server reads it itself, at
    /// most this often (at least 100: 10 Hz).
    #[arg(
        long,
        default_value_t = 200,
        value_parser = clap::value_parser!(u64).range(MIN_TARGET_POLL_MS..)
    )]
    target_poll_ms: u64,
}

/// `--target-poll-ms`'s least value.
const MIN_TARGET_POLL_MS: u64 = probeshare::limits::MIN_TARGET_POLL.as_millis() as u64;

impl LimitArgs {
    fn limits(&self) -> Limits {
        Limits {
            max_line_bytes: self.max_line_bytes,
            max_block_elements: self.max_block_elements,
            max_connections: self.max_connections,
            max_connections_per_peer: self.max_connections_per_peer.max(1),
            max_unsent_bytes: self.max_unsent_bytes.max(1),
            max_pending_requests: self.max_pending_requests.max(1),
            idle_timeout: (self.idle_timeout_secs > 0)
                .then(|| Duration::from_secs(self.idle_timeout_secs)),
            register_window: Duration::from_millis(self.register_window_ms),
            target_poll: Duration::from_millis(self.target_poll_ms),
        }
    }
}

#[derive(Args)]
struct BenchArgs {
    /// Seconds each server is driven per scenario and round.
    #[arg(long, default_value_t = 1.0)]
    seconds: f64,
    /// Rounds per scenario; medians are reported.
    #[arg(long, default_value_t = 5)]
    rounds: usize,
    /// Run only these scenarios, each CLIENTSxDEPTH (depth 1 = ping-pong)
    /// or `csw-switch` (two clients alternating on one AP with different
    /// CSW sizes), e.g. `--scenario 16x1 --scenario csw-switch`.
    #[arg(long = "scenario", value_parser = parse_scenario)]
    scenarios: Vec<bench::Scenario>,
    /// Instead: memory throughput over the emulated USB links (fs-hid,
    /// hs-bulk) against the ceiling each allows, through the pyOCD port
    /// and through the DAP port (OpenOCD-style DAP_TransferBlock packets).
    #[arg(long)]
    usb: bool,
}

fn parse_scenario(text: &str) -> Result<bench::Scenario, String> {
    text.parse()
}

fn main() {
    env_logger::Builder::from_env(env_logger::Env::default().default_filter_or("info")).init();
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Serve(args) => serve(args),
        Command::List(args) => list(args),
        Command::Bench(args) => bench(args),
        Command::Config(ConfigCommand::Check { file }) => config_check(&file),
        Command::Export(ExportCommand::Labgrid { config, host }) => export_labgrid(&config, host),
        Command::Session(command) => match session_cli::run(command) {
            Ok(code) => std::process::exit(code),
            Err(e) => Err(e),
        },
    };
    if let Err(e) = result {
        eprintln!("probeshare: {e:#}");
        std::process::exit(1);
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
enum SimUsb {
    None,
    FsHid,
    HsBulk,
}

impl From<SimUsb> for UsbModel {
    fn from(model: SimUsb) -> UsbModel {
        match model {
            SimUsb::None => UsbModel::None,
            SimUsb::FsHid => UsbModel::FsHid,
            SimUsb::HsBulk => UsbModel::HsBulk,
        }
    }
}

fn open_probe(name: &str, sim_usb: SimUsb) -> Result<Box<dyn DebugProbe>> {
    let discovery;
    let source = if name == "sim" {
        ProbeSource::Virtual {
            unique_id: "sim",
            usb: sim_usb.into(),
        }
    } else {
        discovery = usb::discover();
        let found = usb::select_probe(&discovery.probes, name).map_err(|e| {
            let mut message = e.to_string();
            for problem in &discovery.problems {
                message.push_str(&format!("\n  {problem}"));
            }
            anyhow::anyhow!(message)
        })?;
        ProbeSource::Usb(found)
    };
    let (probe, _plug) = farm::open_probe(source, None)?;
    Ok(probe)
}

fn serve(args: ServeArgs) -> Result<()> {
    let probe_name = match (&args.config, &args.probe) {
        (Some(file), _) => return serve_farm(file, args.memory_handles, !args.no_management),
        (None, Some(name)) => name.clone(),
        (None, None) => {
            let file = std::env::var_os(DEFAULT_CONFIG_ENV)
                .map_or_else(|| PathBuf::from(DEFAULT_CONFIG_FILE), PathBuf::from);
            return serve_farm(&file, args.memory_handles, !args.no_management);
        }
    };
    if !args.bind.is_loopback() && !args.allow_remote {
        bail!(
            "refusing to listen on {}: it is reachable from other machines; \
             pass --allow-remote to allow that",
            args.bind
        );
    }
    let probe = open_probe(&probe_name, args.sim_usb)?;
    let addr = SocketAddr::new(args.bind, args.port);
    let listener = TcpListener::bind(addr).with_context(|| format!("cannot listen on {addr}"))?;
    let dap_listener = match args.dap_port {
        Some(port) => {
            let addr = SocketAddr::new(args.bind, port);
            Some(TcpListener::bind(addr).with_context(|| format!("cannot listen on {addr}"))?)
        }
        None => None,
    };
    let config = ServerConfig {
        limits: args.limits.limits(),
        memory_handles: args.memory_handles,
        allow: None,
        events: Default::default(),
    };
    let signals = Signals::new([SIGINT, SIGTERM, SIGHUP]).context("cannot handle signals")?;
    let mut handle = server::spawn_with_dap(listener, dap_listener, probe, config)
        .context("cannot start the server")?;
    let notifier = Notifier::from_env();
    notifier.ready(&format!(
        "Serving debug probe {probe_name} on {}",
        handle.local_addr()
    ));
    let stopper = handle.stopper();
    std::thread::spawn(move || stop_on_signal(signals, notifier, move || stopper.stop()));
    handle.join();
    // With one probe, the process is its worker: a dead worker's server has
    // told its clients and retired; exiting non-zero lets a service
    // manager start it afresh (ARCHITECTURE.md, "Worker death").
    if handle.worker_died() {
        bail!("the worker thread of probe {probe_name} died; its clients were told, exiting");
    }
    Ok(())
}

fn serve_farm(file: &std::path::Path, memory_handles: bool, management: bool) -> Result<()> {
    let config = probeshare::config::load(file)?;
    let mut signals = Signals::new([SIGINT, SIGTERM, SIGHUP]).context("cannot handle signals")?;
    let options = farm::FarmOptions { memory_handles };
    let farm = Farm::start_with(&config, &options)?;
    let board = ProbeBoard::new();
    board.publish(&farm, &config);
    // Shared with the management interface, which disables and enables.
    let farm = std::sync::Arc::new(parking_lot::Mutex::new(farm));
    {
        let board = board.clone();
        Farm::watch_usb(&farm, move |farm| board.publish(farm, farm.config()))
            .context("cannot start the USB rescan")?;
    }
    // A reload does not move it: a changed address needs a restart.
    let management = if management && config.management.enabled {
        let listen = config.management.listen;
        let server = ManagementServer::start_with_access(
            listen,
            farm::client_filter(&config),
            Access::from_config(&config.management),
            board.clone(),
            Some(farm.clone()),
        )
        .with_context(|| format!("cannot start the management interface on {listen}"))?;
        Some(server)
    } else {
        None
    };
    let notifier = Notifier::from_env();
    notifier.ready(&serving_status(&farm.lock(), &config));
    // Signals are handled here rather than on a thread of their own: a
    // reload changes the farm, which this thread owns.
    for signal in signals.forever() {
        if signal != SIGHUP {
            log::info!("signal {signal}: shutting down");
            notifier.stopping();
            break;
        }
        match probeshare::config::load(file) {
            // The file names the file, key and value at fault.
            Err(e) => log::error!("not reloading, still serving as before: {e}"),
            Ok(new) => {
                log::info!("reloading {}", file.display());
                let mut farm = farm.lock();
                let report = farm.reload(&new);
                board.publish(&farm, &new);
                log::info!("reloaded: {report}");
                notifier.ready(&serving_status(&farm, &new));
            }
        }
    }
    if let Some(management) = management {
        management.shutdown();
    }
    // The management thread has ended, so this is the last handle; were
    // it not, dropping it would still stop every server.
    if let Ok(farm) = std::sync::Arc::try_unwrap(farm) {
        farm.into_inner().shutdown();
    }
    Ok(())
}

fn serving_status(farm: &Farm, config: &probeshare::config::Config) -> String {
    format!(
        "Serving {} of {} configured probes",
        farm.addresses().len(),
        config.probes.len()
    )
}

/// Waits for SIGINT or SIGTERM, then tells systemd and stops serving.
fn stop_on_signal(mut signals: Signals, notifier: Notifier, stop: impl FnOnce()) {
    for signal in signals.forever() {
        if signal == SIGHUP {
            // A single probe has no configuration file to reload; keep
            // serving rather than die of the default action.
            log::warn!("signal {signal}: nothing to reload with --probe; still serving");
            continue;
        }
        log::info!("signal {signal}: shutting down");
        notifier.stopping();
        stop();
        break;
    }
}

fn config_check(file: &std::path::Path) -> Result<()> {
    let config = probeshare::config::load(file)?;
    print!("{}", config.to_toml());
    Ok(())
}

fn export_labgrid(file: &std::path::Path, host: Option<String>) -> Result<()> {
    use probeshare::export::labgrid;
    let config = probeshare::config::load(file)?;
    let host = match host {
        Some(host) => host,
        None => labgrid::default_host(config.listen, labgrid::machine_hostname().as_deref())
            .with_context(|| {
                format!(
                    "cannot read this machine's host name from {}; give --host",
                    labgrid::HOSTNAME_FILE
                )
            })?,
    };
    labgrid::validate_host(&host)?;
    if config.listen.is_loopback() {
        eprintln!(
            "probeshare: warning: {} listens on {}, which other machines cannot reach",
            file.display(),
            config.listen
        );
    }
    if config.management.enabled && labgrid::management_address(&config, &host).is_none() {
        eprintln!(
            "probeshare: warning: the management interface listens on {}, which {host} \
             does not reach: the resources name no management address, so labgrid \
             places will not open probeshare sessions",
            config.management.listen
        );
    }
    print!(
        "{}",
        labgrid::render(&config, &host, &file.display().to_string())
    );
    Ok(())
}

fn list(args: ListArgs) -> Result<()> {
    let discovery = usb::discover();
    let mut probes = vec![ListedProbe::virtual_target()];
    probes.extend(discovery.probes.iter().map(ListedProbe::query));
    if args.json {
        println!("{}", serde_json::to_string_pretty(&probes)?);
        for problem in &discovery.problems {
            eprintln!("probeshare: {problem}");
        }
    } else {
        print!("{}", listing::render_text(&probes, &discovery.problems));
    }
    Ok(())
}

fn bench(args: BenchArgs) -> Result<()> {
    if args.usb {
        return bench_usb(args.rounds);
    }
    let listener = TcpListener::bind("127.0.0.1:0")?;
    let sim = VirtualProbe::new(
        "sim",
        sim::VIRTUAL_DESCRIPTION,
        FirmwareConfig::for_model(UsbModel::None),
    )?;
    // Every bench client comes from 127.0.0.1: a scenario of more clients
    // than the per-peer limit must not be refused.
    let limits = Limits {
        max_connections_per_peer: Limits::default().max_connections,
        ..Limits::default()
    };
    let server_config = ServerConfig {
        limits,
        ..ServerConfig::default()
    };
    let handle = server::spawn(listener, sim.probe, server_config)?;
    let mut config = bench::BenchConfig {
        duration_per_round: Duration::from_secs_f64(args.seconds),
        rounds: args.rounds.max(1),
        firmware: Some(sim.stats),
        ..Default::default()
    };
    if !args.scenarios.is_empty() {
        config.scenarios = args.scenarios;
    }
    bench::run(&config, handle.local_addr())?;
    handle.shutdown();
    Ok(())
}

fn bench_usb(rounds: usize) -> Result<()> {
    use bench::{dap_port, throughput};
    const BYTES: usize = 64 * 1024;
    let mut rows = Vec::new();
    for model in [UsbModel::FsHid, UsbModel::HsBulk] {
        for path in [
            throughput::ReadPath::ApRegisters,
            throughput::ReadPath::MemoryHandle,
        ] {
            rows.push(throughput::measure(model, path, BYTES, rounds)?);
        }
    }
    throughput::print(&rows, BYTES, &mut std::io::stdout())?;
    let mut dap_rows = Vec::new();
    for model in [UsbModel::FsHid, UsbModel::HsBulk] {
        for style in [dap_port::Style::TransferBlock, dap_port::Style::Transfer] {
            for direction in [dap_port::Direction::Read, dap_port::Direction::Write] {
                dap_rows.push(dap_port::measure(model, style, direction, BYTES, rounds)?);
            }
        }
    }
    println!();
    dap_port::print(&dap_rows, BYTES, &mut std::io::stdout())?;
    Ok(())
}
