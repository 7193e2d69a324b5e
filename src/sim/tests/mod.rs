//! The virtual target's unit tests, one file per part: the memory bus, the
//! SW-DP, the AHB-AP, and the whole behind the CMSIS-DAP driver.

mod bus;
mod ctrl_ap;
mod dp;
mod line;
mod mem_ap;
mod virtual_probe;
