//! The emulated CMSIS-DAP firmware's unit tests, one file per topic, over
//! the helpers in `support`.

mod commands;
mod support;
mod transfer;
mod transport;
