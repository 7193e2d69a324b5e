//! The seam between the loop and a wire format.

/// How much is read from a socket per `read` call.
pub const READ_CHUNK: usize = 64 * 1024;
