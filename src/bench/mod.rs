//! `probeshare bench`: how close probeshare comes to the fastest possible
//! line server on this machine, under the same load.
//!
//! For each [`Scenario`] the bench drives two servers with the same client
//! code ([`drive`]): the floor ([`spawn_floor_server`], which answers every
//! line with a fixed response and parses nothing) and probeshare. The machine
//! is small and shared, so one measurement proves little: the two servers
//! take turns for several rounds, the order swapping every round so neither
//! always runs on a warmer or quieter machine, and the table reports the
//! median of the per-round figures. The ratio is probeshare's median ops/s
//! over the floor's.

pub mod csw_switch;
pub mod dap_port;
mod floor;
mod load;
mod table;
pub mod throughput;

pub use csw_switch::{SwitchCounts, SwitchSummary};
pub use floor::spawn_floor_server;
pub use load::drive;
pub use table::print_table;

use std::fmt;
use std::io;
use std::net::SocketAddr;
use std::str::FromStr;
use std::time::Duration;

use probeshare::sim::dap_firmware::StatsHandle;

/// One load shape: how many clients, each keeping `depth` requests
/// outstanding (1 is ping-pong).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Load {
    pub clients: usize,
    pub depth: usize,
}

impl Load {
    /// The lowest acceptable probeshare/floor ops ratio for this load,
    /// when the project has set one.
    pub fn target_ratio(&self) -> Option<f64> {
        match (self.clients, self.depth) {
            (1, 1) => Some(0.85),
            (16, 1) => Some(0.75),
            (1, 16) => Some(0.8),
            _ => None,
        }
    }
}

impl fmt::Display for Load {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let plural = if self.clients == 1 { "" } else { "s" };
        let text = if self.depth == 1 {
            format!("{} client{plural} ping-pong", self.clients)
        } else {
            format!(
                "{} client{plural} pipelined {} deep",
                self.clients, self.depth
            )
        };
        // `pad` so table columns can set a width.
        f.pad(&text)
    }
}

/// What one row of the bench measures.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scenario {
    /// The bench's request (`read_dp` of DPIDR) under a [`Load`].
    Load(Load),
    /// Two clients taking turns on one AP with different CSW sizes, each
    /// written once ([`csw_switch`]); `--scenario csw-switch`.
    CswSwitch,
}

impl Scenario {
    /// `clients` clients keeping `depth` requests outstanding each.
    pub const fn load(clients: usize, depth: usize) -> Scenario {
        Scenario::Load(Load { clients, depth })
    }

    /// The lowest acceptable probeshare/floor ops ratio for this scenario,
    /// when the project has set one.
    pub fn target_ratio(&self) -> Option<f64> {
        match self {
            Scenario::Load(load) => load.target_ratio(),
            Scenario::CswSwitch => None,
        }
    }
}

impl fmt::Display for Scenario {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Scenario::Load(load) => load.fmt(f),
            Scenario::CswSwitch => f.pad("2 clients csw-switch"),
        }
    }
}

impl FromStr for Scenario {
    type Err = String;

    /// `csw-switch`, or CLIENTSxDEPTH (depth 1 = ping-pong), e.g. `16x1`.
    fn from_str(text: &str) -> Result<Scenario, String> {
        if text == csw_switch::NAME {
            return Ok(Scenario::CswSwitch);
        }
        let (clients, depth) = text.split_once('x').ok_or_else(|| {
            format!(
                "expected CLIENTSxDEPTH or {}, got '{text}'",
                csw_switch::NAME
            )
        })?;
        let number = |s: &str| {
            s.parse::<usize>()
                .ok()
                .filter(|&n| n > 0)
                .ok_or_else(|| format!("'{s}' is not a positive whole number"))
        };
        Ok(Scenario::load(number(clients)?, number(depth)?))
    }
}

pub struct BenchConfig {
    pub scenarios: Vec<Scenario>,
    /// How long each server is driven in each round of each scenario.
    pub duration_per_round: Duration,
    pub rounds: usize,
    /// Sent by every client on connecting, each answered before the next.
    pub setup: Vec<String>,
    /// The measured request of the [`Load`] scenarios, one JSON object
    /// (the LF is added if missing).
    pub request: String,
    /// The counters of the emulated firmware behind the probeshare server,
    /// when it serves the virtual target: `csw-switch` counts the DAP
    /// transfers the server runs with them. Without, that figure is not
    /// reported.
    pub firmware: Option<StatsHandle>,
}

impl Default for BenchConfig {
    /// The project's targets: `read_dp` of DPIDR after hello, open and an
    /// SWD connect, then `csw-switch`; five rounds of one second per server.
    fn default() -> Self {
        BenchConfig {
            scenarios: vec![
                Scenario::load(1, 1),
                Scenario::load(16, 1),
                Scenario::load(1, 16),
                Scenario::CswSwitch,
            ],
            duration_per_round: Duration::from_secs(1),
            rounds: 5,
            setup: vec![
                r#"{"id":0,"request":"hello","arguments":[1]}"#.to_string(),
                r#"{"id":1,"request":"open"}"#.to_string(),
                r#"{"id":2,"request":"connect","arguments":["SWD"]}"#.to_string(),
            ],
            request: r#"{"id":3,"request":"read_dp","arguments":[0]}"#.to_string(),
            firmware: None,
        }
    }
}

/// What one run of [`drive`] measured.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Figures {
    pub ops_per_sec: f64,
    pub p50: Duration,
    pub p99: Duration,
}

/// One scenario's result: medians over the rounds for each server.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Row {
    pub scenario: Scenario,
    pub floor: Figures,
    pub probeshare: Figures,
    /// probeshare's median ops/s over the floor's.
    pub ratio: f64,
    pub target: Option<f64>,
    /// For `csw-switch`: probeshare's switch counts over its rounds.
    pub switching: Option<SwitchSummary>,
}

impl Row {
    /// Whether the ratio reached the target; `None` when there is none.
    pub fn target_met(&self) -> Option<bool> {
        self.target.map(|target| self.ratio >= target)
    }
}

/// Runs every scenario against a fresh floor server and the probeshare
/// server already listening at `probeshare_addr`, prints the table to
/// stdout, and returns its rows.
pub fn run(config: &BenchConfig, probeshare_addr: SocketAddr) -> io::Result<Vec<Row>> {
    if config.rounds == 0 {
        return Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            "the bench needs at least one round",
        ));
    }
    let floor = spawn_floor_server()?;
    let mut rows = Vec::with_capacity(config.scenarios.len());
    for scenario in &config.scenarios {
        let mut floor_rounds = Vec::with_capacity(config.rounds);
        let mut probeshare_rounds = Vec::with_capacity(config.rounds);
        let mut switch_rounds = Vec::new();
        for round in 0..config.rounds {
            // The floor's switch counts mean nothing: it touches no probe
            // and answers every read with the same value.
            let mut measure_floor = || -> io::Result<()> {
                floor_rounds.push(measure(config, scenario, floor.addr(), None)?.0);
                Ok(())
            };
            let mut measure_probeshare = || -> io::Result<()> {
                let (figures, switching) =
                    measure(config, scenario, probeshare_addr, config.firmware.as_ref())?;
                probeshare_rounds.push(figures);
                switch_rounds.extend(switching);
                Ok(())
            };
            if round.is_multiple_of(2) {
                measure_floor()?;
                measure_probeshare()?;
            } else {
                measure_probeshare()?;
                measure_floor()?;
            }
            log::debug!(
                "{scenario} round {round}: floor {:?}, probeshare {:?} {:?}",
                floor_rounds.last(),
                probeshare_rounds.last(),
                switch_rounds.last()
            );
        }
        let mut row = row(*scenario, &floor_rounds, &probeshare_rounds);
        if !switch_rounds.is_empty() {
            row.switching = Some(SwitchSummary::of_rounds(&switch_rounds));
        }
        rows.push(row);
    }
    print_table(config, &rows, &mut io::stdout().lock())?;
    Ok(rows)
}

/// One round of `scenario` against the server at `addr`.
fn measure(
    config: &BenchConfig,
    scenario: &Scenario,
    addr: SocketAddr,
    firmware: Option<&StatsHandle>,
) -> io::Result<(Figures, Option<SwitchCounts>)> {
    match scenario {
        Scenario::Load(load) => {
            let figures = drive(
                addr,
                load,
                &config.setup,
                &config.request,
                config.duration_per_round,
            )?;
            Ok((figures, None))
        }
        Scenario::CswSwitch => {
            let run = csw_switch::drive(addr, config.duration_per_round, firmware)?;
            Ok((run.figures, Some(run.counts)))
        }
    }
}

fn row(scenario: Scenario, floor_rounds: &[Figures], probeshare_rounds: &[Figures]) -> Row {
    let floor = median_figures(floor_rounds);
    let probeshare = median_figures(probeshare_rounds);
    Row {
        scenario,
        floor,
        probeshare,
        ratio: probeshare.ops_per_sec / floor.ops_per_sec,
        target: scenario.target_ratio(),
        switching: None,
    }
}

/// Each figure's own median across the rounds (so the p99 shown need not
/// come from the same round as the ops/s).
fn median_figures(rounds: &[Figures]) -> Figures {
    let ops = median(rounds.iter().map(|r| r.ops_per_sec).collect());
    let p50 = median(rounds.iter().map(|r| r.p50.as_secs_f64()).collect());
    let p99 = median(rounds.iter().map(|r| r.p99.as_secs_f64()).collect());
    Figures {
        ops_per_sec: ops,
        p50: Duration::from_secs_f64(p50),
        p99: Duration::from_secs_f64(p99),
    }
}

/// The middle value, or the mean of the middle two; 0 for no values.
pub(crate) fn median(mut values: Vec<f64>) -> f64 {
    values.sort_by(f64::total_cmp);
    let middle = values.len() / 2;
    match (values.get(middle.wrapping_sub(1)), values.get(middle)) {
        (Some(low), Some(high)) if values.len().is_multiple_of(2) => (low + high) / 2.0,
        (_, Some(middle)) => *middle,
        _ => 0.0,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn figures(ops_per_sec: f64, p50_us: u64, p99_us: u64) -> Figures {
        Figures {
            ops_per_sec,
            p50: Duration::from_micros(p50_us),
            p99: Duration::from_micros(p99_us),
        }
    }

    #[test]
    fn an_outlier_round_does_not_move_the_median() {
        let rounds = [
            figures(100.0, 10, 20),
            figures(5.0, 900, 9000),
            figures(110.0, 12, 22),
            figures(90.0, 11, 21),
            figures(105.0, 9, 19),
        ];
        assert_eq!(median_figures(&rounds), figures(100.0, 11, 21));
    }

    #[test]
    fn an_even_number_of_rounds_takes_the_mean_of_the_middle_two() {
        assert_eq!(median(vec![4.0, 1.0, 3.0, 2.0]), 2.5);
        assert_eq!(median(vec![7.0]), 7.0);
    }

    #[test]
    fn the_ratio_compares_median_throughputs_against_the_target() {
        let floor = [
            figures(100.0, 10, 20),
            figures(200.0, 10, 20),
            figures(150.0, 10, 20),
        ];
        let probeshare = [
            figures(120.0, 12, 30),
            figures(10.0, 12, 30),
            figures(125.0, 12, 30),
        ];
        let scenario = Scenario::load(1, 1);
        let result = row(scenario, &floor, &probeshare);
        assert!((result.ratio - 120.0 / 150.0).abs() < 1e-9);
        assert_eq!(result.target, Some(0.85));
        assert_eq!(result.target_met(), Some(false));
    }

    #[test]
    fn scenarios_read_as_the_issue_names_them() {
        let pipelined = Scenario::load(1, 16);
        let many = Scenario::load(16, 1);
        assert_eq!(pipelined.to_string(), "1 client pipelined 16 deep");
        assert_eq!(many.to_string(), "16 clients ping-pong");
        assert_eq!(Scenario::CswSwitch.to_string(), "2 clients csw-switch");
    }

    #[test]
    fn scenarios_parse_from_their_command_line_names() {
        assert_eq!("16x1".parse(), Ok(Scenario::load(16, 1)));
        assert_eq!("csw-switch".parse(), Ok(Scenario::CswSwitch));
        assert!("0x1".parse::<Scenario>().is_err());
        assert!("csw"
            .parse::<Scenario>()
            .unwrap_err()
            .contains("csw-switch"));
    }

    #[test]
    fn run_against_the_floor_itself_reports_every_scenario() {
        let stand_in = spawn_floor_server().unwrap();
        let config = BenchConfig {
            duration_per_round: Duration::from_millis(50),
            rounds: 2,
            ..BenchConfig::default()
        };
        let rows = run(&config, stand_in.addr()).unwrap();
        let scenarios: Vec<Scenario> = rows.iter().map(|r| r.scenario).collect();
        assert_eq!(scenarios, config.scenarios);
        assert!(rows.iter().all(|r| r.ratio > 0.0));
        let switching: Vec<bool> = rows.iter().map(|r| r.switching.is_some()).collect();
        assert_eq!(switching, [false, false, false, true]);
    }
}
