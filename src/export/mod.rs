//! Descriptions of the served probes in other tools' configuration
//! formats, so lab schedulers can find and reserve them. Each exporter
//! renders from the validated [`Config`](crate::config::Config), the same
//! source `serve --config` serves from.

pub mod labgrid;
