//! Tests of the CMSIS-DAP driver.

mod commands_setup;
mod commands_transfer;
mod mock;
mod pipeline;
mod pipeline_edges;
mod probe_registers;
mod probe_sequences;
mod probe_setup;
mod queue_batching;
mod queue_errors;
mod with_firmware;
