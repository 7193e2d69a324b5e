//! A DAP client over the connection limit: CMSIS-DAP has no packet that
//! says why, so it is closed without a byte (a stray byte would be read as
//! the start of a reply header), and the clients admitted go on working.

use std::io::Read;
use std::time::Duration;

use probeshare::server::Limits;

use crate::dap::*;
use crate::support::*;

#[test]
fn a_dap_client_over_the_connection_limit_is_closed_without_a_byte() {
    let server = DapServer::start_with(Limits {
        max_connections: 1,
        register_window: Duration::from_secs(60),
        ..Limits::default()
    });
    let mut admitted = RawDap::session(server.dap_addr());
    let mut refused = RawDap::connect(server.dap_addr());
    let mut received = Vec::new();
    refused
        .stream
        .read_to_end(&mut received)
        .expect("closed within the deadline");
    assert_eq!(received, [0u8; 0], "nothing before the close");
    let reply = admitted.call(&transfer(&[(dp_read(DP_IDR), None)]));
    assert_eq!(reply[..3], [DAP_TRANSFER, 1, ACK_OK]);
}
