//! labgrid end to end, with real labgrid processes (the pinned release in
//! the e2e venv) on loopback: a farm of two virtual probes served by
//! `probeshare serve --config`, its `probeshare export labgrid` file read by
//! `labgrid-exporter`, a `labgrid-coordinator`, places made, matched and
//! acquired with `labgrid-client`, and a pytest with labgrid's plugin
//! (`--lg-env`, tests/labgrid_e2e/) driving both probes through
//! `probeshare.labgrid`'s `ProbeshareDriver`: memory, reset, images into RAM,
//! the probeshare session opened for the place's holder, and a second
//! acquisition refused while the place is held.
//!
//! Every process runs on ports that were free a moment before; each is a
//! `Spawned`, killed by its PID when the test ends, failed or not.

mod common;
mod e2e;

use std::net::{SocketAddr, TcpStream};
use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use common::farm::http;
use common::free_port;
use e2e::process::{run, Finished, Spawned};
use e2e::scratch::ScratchDir;
use e2e::venv::venv;

/// Long-running children (server, coordinator, exporter) outlive every wait.
const SERVICE_LIFETIME: Duration = Duration::from_secs(900);
/// pytest with pyOCD sessions to two probes, on a loaded machine.
const PYTEST_TIMEOUT: Duration = Duration::from_secs(300);
/// Where the pytest and its environment file live.
const LABGRID_FILES: &str = "tests/labgrid_e2e";
/// How long labgrid's Python services may take to come up on a loaded
/// machine (each `labgrid-client` run alone starts Python and gRPC).
const STARTUP_DEADLINE: Duration = Duration::from_secs(60);
/// The labgrid user that holds the places (another user is refused).
const CI_USER: &str = "ci-job";

/// A probeshare farm of two virtual targets and the labgrid services that
/// export it. Fields drop in order: exporter, coordinator, server.
struct Lab {
    exporter: Spawned,
    coordinator: Spawned,
    server: Spawned,
    coordinator_addr: String,
    management: SocketAddr,
    dir: ScratchDir,
}

impl Lab {
    fn start(test: &str) -> Lab {
        let dir = ScratchDir::new(test);
        let management: SocketAddr = format!("127.0.0.1:{}", free_port()).parse().unwrap();
        let farm = format!(
            "[management]\nlisten = \"{management}\"\n\
             [[probe]]\nserial = \"sim:a\"\nname = \"a\"\nport = {}\n\
             [[probe]]\nserial = \"sim:b\"\nname = \"b\"\nport = {}\n",
            free_port(),
            free_port()
        );
        std::fs::write(dir.file("farm.toml"), farm).unwrap();

        let mut server = Spawned::start(
            "probeshare serve",
            Command::new(env!("CARGO_BIN_EXE_probeshare"))
                .args(["serve", "--config"])
                .arg(dir.file("farm.toml")),
        )
        .within(SERVICE_LIFETIME);
        server.wait_for("Management interface on");

        let exported = run(
            "probeshare export labgrid",
            Command::new(env!("CARGO_BIN_EXE_probeshare"))
                .args(["export", "labgrid", "--host", "127.0.0.1", "--config"])
                .arg(dir.file("farm.toml")),
        );
        exported.assert_success();
        assert_eq!(
            exported.stdout.matches("  ProbeshareProbe:\n").count(),
            2,
            "{}",
            exported.stdout
        );
        std::fs::write(dir.file("exporter.yaml"), &exported.stdout).unwrap();

        let coordinator_addr = format!("127.0.0.1:{}", free_port());
        // The coordinator keeps its places in its working directory.
        let state = dir.file("coordinator");
        std::fs::create_dir_all(&state).unwrap();
        let mut coordinator = Spawned::start(
            "labgrid-coordinator",
            venv()
                .tool("labgrid-coordinator", &state)
                .args(["--listen", &coordinator_addr]),
        )
        .within(SERVICE_LIFETIME);
        wait_for_port(&mut coordinator, &coordinator_addr);

        let exporter = Spawned::start(
            "labgrid-exporter",
            venv()
                .tool("labgrid-exporter", dir.path())
                .args([
                    "--coordinator",
                    &coordinator_addr,
                    "--name",
                    "probeshare-e2e",
                ])
                .arg(dir.file("exporter.yaml")),
        )
        .within(SERVICE_LIFETIME);

        let lab = Lab {
            exporter,
            coordinator,
            server,
            coordinator_addr,
            management,
            dir,
        };
        lab.wait_for_resources(&["probeshare-a", "probeshare-b"]);
        lab
    }

    /// `labgrid-client` against this coordinator, as `user`.
    fn client(&self, user: &str, args: &[&str]) -> Finished {
        run(
            &format!("labgrid-client {}", args.join(" ")),
            venv()
                .tool("labgrid-client", self.dir.path())
                .args(args)
                .env("LG_COORDINATOR", &self.coordinator_addr)
                .env("LG_USERNAME", user),
        )
    }

    /// Waits until the coordinator lists the exporter's groups.
    fn wait_for_resources(&self, groups: &[&str]) {
        let started = Instant::now();
        loop {
            let listed = self.client(CI_USER, &["resources"]);
            if listed.status.success() && groups.iter().all(|g| listed.stdout.contains(g)) {
                return;
            }
            assert!(
                started.elapsed() < STARTUP_DEADLINE,
                "the coordinator never listed {groups:?}: {}\n{}",
                listed.report(),
                self.services_report()
            );
            std::thread::sleep(Duration::from_millis(200));
        }
    }

    /// What the server, coordinator and exporter printed, for failures.
    fn services_report(&self) -> String {
        [
            ("probeshare serve", &self.server),
            ("labgrid-coordinator", &self.coordinator),
            ("labgrid-exporter", &self.exporter),
        ]
        .iter()
        .map(|(name, process)| {
            let (out, err) = process.output();
            format!("=== {name} ===\n{out}{err}")
        })
        .collect::<Vec<_>>()
        .join("\n")
    }

    /// The management interface's answer to `GET path`.
    fn management_get(&self, path: &str) -> String {
        let (status, body) = http(self.management, "GET", path);
        assert_eq!(status, 200, "GET {path}: {body}");
        body
    }
}

/// Waits until `addr` accepts connections, failing if `process` exits.
fn wait_for_port(process: &mut Spawned, addr: &str) {
    let addr: SocketAddr = addr.parse().unwrap();
    let started = Instant::now();
    process.wait_until(&format!("listening on {addr}"), |_, _| {
        assert!(
            started.elapsed() < STARTUP_DEADLINE,
            "nothing listens on {addr}"
        );
        TcpStream::connect_timeout(&addr, Duration::from_millis(200)).is_ok()
    });
}

#[test]
fn a_labgrid_pytest_drives_farm_probes_through_the_coordinator() {
    let lab = Lab::start("labgrid_place");
    for (place, group) in [("board-a", "probeshare-a"), ("board-b", "probeshare-b")] {
        lab.client(CI_USER, &["-p", place, "create"])
            .assert_success();
        lab.client(
            CI_USER,
            &["-p", place, "add-match", &format!("*/{group}/*")],
        )
        .assert_success();
        lab.client(CI_USER, &["-p", place, "acquire"])
            .assert_success();
    }
    let shown = lab.client(CI_USER, &["-p", "board-a", "show"]);
    shown.assert_success();
    assert!(
        shown.stdout.contains("'cls': 'ProbeshareProbe'")
            && shown.stdout.contains("'serial': 'sim:a'"),
        "{}",
        shown.stdout
    );

    let files = Path::new(env!("CARGO_MANIFEST_DIR")).join(LABGRID_FILES);
    for file in ["env.yaml", "test_board.py"] {
        std::fs::copy(files.join(file), lab.dir.file(file)).unwrap();
    }
    let pytest = Spawned::start(
        "pytest --lg-env",
        venv()
            .python(lab.dir.path())
            .args(["-m", "pytest", "-v", "-p", "no:cacheprovider"])
            .args(["--lg-env", "env.yaml", "test_board.py"])
            .env("LG_COORDINATOR", &lab.coordinator_addr)
            .env("LG_USERNAME", CI_USER)
            .env("PYTHONDONTWRITEBYTECODE", "1"),
    )
    .within(PYTEST_TIMEOUT)
    .finish();
    eprintln!("{}", pytest.stdout);
    assert!(
        pytest.status.success() && pytest.stdout.contains(" 7 passed"),
        "{}\n{}",
        pytest.report(),
        lab.services_report()
    );

    // The driver closed its sessions when labgrid deactivated it.
    assert_eq!(lab.management_get("/sessions").trim(), "[]");

    for place in ["board-a", "board-b"] {
        lab.client(CI_USER, &["-p", place, "release"])
            .assert_success();
    }
    let freed = lab.client("other-job", &["-p", "board-a", "acquire"]);
    freed.assert_success();
}
