//! The bench's report: one line per scenario, floor and probeshare side by
//! side, then the ratio and whether it met the project's target; under the
//! table, probeshare's switch counts for `csw-switch`.

use super::{BenchConfig, Figures, Row, SwitchSummary};
use std::io::{self, Write};
use std::time::Duration;

/// Writes the results table for `rows`, headed by what was measured and how.
pub fn print_table(config: &BenchConfig, rows: &[Row], out: &mut dyn Write) -> io::Result<()> {
    writeln!(
        out,
        "request {} (csw-switch: write_ap TAR, read_ap DRW); {} round(s) of {:.2} s per server, \
         order alternating; medians of rounds",
        config.request.trim_end(),
        config.rounds,
        config.duration_per_round.as_secs_f64()
    )?;
    writeln!(out, "{:<28} | {:^32} | {:^32} |", "", "floor", "probeshare")?;
    let columns = format!("{:>10} {:>10} {:>10}", "ops/s", "p50", "p99");
    writeln!(
        out,
        "{:<28} | {columns} | {columns} | ratio | target",
        "scenario"
    )?;
    for row in rows {
        writeln!(
            out,
            "{:<28} | {} | {} | {:>5.2} | {}",
            row.scenario,
            figures_cells(&row.floor),
            figures_cells(&row.probeshare),
            row.ratio,
            target_cell(row)
        )?;
    }
    for row in rows {
        if let Some(switching) = &row.switching {
            writeln!(out, "{}: {}", row.scenario, switching_cells(switching))?;
        }
    }
    Ok(())
}

/// probeshare's counts of a `csw-switch` row.
fn switching_cells(switching: &SwitchSummary) -> String {
    let extra = switching
        .extra_transfers_per_switch
        .map_or_else(|| "-".to_string(), |extra| format!("{extra:.2}"));
    format!(
        "extra DAP transfers per switch {extra} (median of rounds; {} switches); \
         wrong read-back values {} of {} reads; failed requests {}",
        switching.switches, switching.wrong_values, switching.reads, switching.failed
    )
}

fn figures_cells(figures: &Figures) -> String {
    format!(
        "{:>10.0} {:>10} {:>10}",
        figures.ops_per_sec,
        micros(figures.p50),
        micros(figures.p99)
    )
}

fn micros(latency: Duration) -> String {
    format!("{:.1} µs", latency.as_secs_f64() * 1e6)
}

fn target_cell(row: &Row) -> String {
    match (row.target, row.target_met()) {
        (Some(target), Some(true)) => format!(">= {target:.2} met"),
        (Some(target), _) => format!(">= {target:.2} MISSED"),
        (None, _) => "-".to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::super::Scenario;
    use super::*;

    fn row(clients: usize, ratio: f64) -> Row {
        let figures = Figures {
            ops_per_sec: 20_000.0,
            p50: Duration::from_micros(48),
            p99: Duration::from_micros(120),
        };
        let scenario = Scenario::load(clients, 1);
        Row {
            scenario,
            floor: figures,
            probeshare: figures,
            ratio,
            target: scenario.target_ratio(),
            switching: None,
        }
    }

    fn printed(rows: &[Row]) -> String {
        let mut out = Vec::new();
        print_table(&BenchConfig::default(), rows, &mut out).unwrap();
        String::from_utf8(out).unwrap()
    }

    #[test]
    fn each_row_says_whether_its_target_was_met() {
        let text = printed(&[row(1, 0.9), row(16, 0.5), row(4, 0.5)]);
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines.len(), 6);
        assert!(lines[3].starts_with("1 client ping-pong"));
        assert!(lines[3].ends_with(" 0.90 | >= 0.85 met"), "{}", lines[3]);
        assert!(lines[4].ends_with(" 0.50 | >= 0.75 MISSED"), "{}", lines[4]);
        assert!(lines[5].ends_with("| -"), "{}", lines[5]);
    }

    #[test]
    fn csw_switch_counts_follow_the_table() {
        let mut switching = row(2, 1.0);
        switching.scenario = Scenario::CswSwitch;
        switching.switching = Some(SwitchSummary {
            switches: 999,
            reads: 1000,
            wrong_values: 500,
            failed: 0,
            extra_transfers_per_switch: Some(0.0),
        });
        let text = printed(&[row(1, 0.9), switching]);
        let last = text.lines().last().unwrap();
        assert_eq!(
            last,
            "2 clients csw-switch: extra DAP transfers per switch 0.00 (median of rounds; \
             999 switches); wrong read-back values 500 of 1000 reads; failed requests 0"
        );
    }

    #[test]
    fn figures_show_throughput_and_latencies_in_microseconds() {
        let text = printed(&[row(1, 1.0)]);
        assert!(text.contains("20000    48.0 µs   120.0 µs"), "{text}");
    }
}
