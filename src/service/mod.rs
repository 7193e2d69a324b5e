//! Running as a system service: telling systemd when the server is ready
//! and when it is stopping (`Type=notify` in `systemd/probeshare.service`).

pub mod notify;

pub use notify::Notifier;
