//! One `pyocd commander` session running a command file (`-x`), with the
//! output of every command told apart so each can be checked on its own.
//!
//! Before each command the file has a Python expression command
//! (`$ '@@step N'`), which commander evaluates and prints as `'@@step N'` on
//! the same stdout as the command output, so the markers stay in order.

use std::path::Path;

use super::process::{run, Finished};
use super::scratch::ScratchDir;
use super::venv::Venv;

/// The commands of one session, in order.
#[derive(Default)]
pub struct CommanderScript {
    commands: Vec<String>,
}

/// A step of a script: the key to its output in the [`Transcript`].
#[derive(Clone, Copy)]
pub struct Step(usize);

impl CommanderScript {
    pub fn new() -> CommanderScript {
        CommanderScript::default()
    }

    /// Appends `command`.
    pub fn step(&mut self, command: &str) -> Step {
        self.commands.push(command.to_string());
        Step(self.commands.len() - 1)
    }

    /// Appends a step that prints the time on CLOCK_MONOTONIC, the clock of
    /// `rounds.rs`, for [`Transcript::clock`].
    pub fn clock(&mut self) -> Step {
        self.step("$ 'clock %d' % __import__('time').monotonic_ns()")
    }

    /// Runs the whole script in one commander session on `uid`.
    pub fn run(&self, name: &str, venv: &Venv, scratch: &ScratchDir, uid: &str) -> Transcript {
        let mut file = String::new();
        for (index, command) in self.commands.iter().enumerate() {
            file.push_str(&format!("$ {}\n{command}\n", quoted_marker(index)));
        }
        let script = scratch.file(&format!("{name}.pyocd"));
        std::fs::write(&script, file).expect("write commander script");
        let finished = run(
            name,
            commander(venv, scratch.path(), uid).arg("-x").arg(&script),
        );
        finished.assert_success();
        Transcript::split(&self.commands, finished)
    }
}

/// `pyocd commander` on the generic Cortex-M target behind `uid`.
fn commander(venv: &Venv, cwd: &Path, uid: &str) -> std::process::Command {
    let mut command = venv.pyocd(cwd);
    command.args(["commander", "-u", uid, "-t", "cortex_m"]);
    command
}

fn quoted_marker(index: usize) -> String {
    format!("'@@step {index}'")
}

/// What a commander session printed, step by step.
pub struct Transcript {
    commands: Vec<String>,
    outputs: Vec<String>,
    finished: Finished,
}

impl Transcript {
    fn split(commands: &[String], finished: Finished) -> Transcript {
        let mut outputs = vec![String::new(); commands.len()];
        let mut current: Option<usize> = None;
        for line in finished.stdout.lines() {
            if let Some(index) = (0..commands.len()).find(|&i| line.trim() == quoted_marker(i)) {
                current = Some(index);
            } else if let Some(output) = current.and_then(|i| outputs.get_mut(i)) {
                output.push_str(line);
                output.push('\n');
            }
        }
        let last_marker = quoted_marker(commands.len().saturating_sub(1));
        assert!(
            finished.stdout.contains(&last_marker),
            "commander stopped before the last command: {}",
            finished.report()
        );
        Transcript {
            commands: commands.to_vec(),
            outputs,
            finished,
        }
    }

    /// What `step` printed.
    pub fn of(&self, step: Step) -> &str {
        &self.outputs[step.0]
    }

    /// Fails the test unless `step` printed `needle`.
    pub fn assert_printed(&self, step: Step, needle: &str) {
        assert!(
            self.of(step).contains(needle),
            "`{}` printed {:?}, expected it to contain {needle:?}\nwhole session: {}",
            self.commands[step.0],
            self.of(step),
            self.finished.report()
        );
    }

    /// The time a [`CommanderScript::clock`] step printed, in nanoseconds.
    pub fn clock(&self, step: Step) -> u64 {
        let output = self.of(step);
        output
            .trim()
            .strip_prefix("'clock ")
            .and_then(|rest| rest.strip_suffix('\''))
            .and_then(|ns| ns.parse().ok())
            .unwrap_or_else(|| panic!("a clock step printed {output:?}"))
    }

    /// Word `index` of the first line of a `read32` hex dump printed by
    /// `step` (`ADDRESS:  WORD WORD ...`).
    pub fn dumped_word(&self, step: Step, index: usize) -> u32 {
        let output = self.of(step);
        output
            .split_whitespace()
            .nth(1 + index)
            .and_then(|word| u32::from_str_radix(word, 16).ok())
            .unwrap_or_else(|| {
                panic!(
                    "`{}` printed {output:?}, without word {index}",
                    self.commands[step.0]
                )
            })
    }
}
