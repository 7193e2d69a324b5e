//! Tests of the CMSIS-DAP driver.

mod commands_setup;
mod commands_transfer;
mod mock;
mod queue_batching;
mod queue_errors;
