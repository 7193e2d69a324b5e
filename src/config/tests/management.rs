//! `[management]`'s token, token_file and allow_unauthenticated, and the
//! per-peer connection limit of `[limits]`.

use super::{assert_names, error, ok};

const TOKEN: &str = "0123456789abcdef0123456789abcdef";

#[test]
fn a_reachable_management_address_needs_a_token_or_allow_unauthenticated() {
    let reachable = "allow_remote = true\n[management]\nlisten = \"0.0.0.0:5580\"\n";
    assert_names(
        &error(reachable),
        "management.listen",
        "'0.0.0.0:5580' is reachable from other machines and [management] has no token",
    );
    let with_token = ok(&format!("{reachable}token = \"{TOKEN}\"\n"));
    assert!(with_token.management.token.is_some());
    assert!(!with_token.management.allow_unauthenticated);
    let allowed = ok(&format!("{reachable}allow_unauthenticated = true\n"));
    assert!(allowed.management.token.is_none());
    assert!(allowed.management.allow_unauthenticated);
    // Loopback needs neither; a disabled interface listens nowhere.
    assert!(ok("").management.token.is_none());
    ok("allow_remote = true\n[management]\nenabled = false\nlisten = \"0.0.0.0:5580\"\n");
}

#[test]
fn a_token_is_checked_and_never_echoed() {
    let short = error("[management]\ntoken = \"abc\"\n");
    assert_names(&short, "management.token", "at least 16");
    let spaced = "has spaces 0123456789abcdef";
    let message = error(&format!("[management]\ntoken = \"{spaced}\"\n"));
    assert_names(&message, "management.token", "not a bearer token");
    assert!(!message.contains(spaced), "{message}");
    let token = ok(&format!("[management]\ntoken = \"{TOKEN}\"\n"))
        .management
        .token
        .expect("a token");
    assert!(token.matches(TOKEN.as_bytes()));
}

#[test]
fn token_and_token_file_exclude_each_other_and_a_missing_file_is_named() {
    let both = format!("[management]\ntoken = \"{TOKEN}\"\ntoken_file = \"/x\"\n");
    assert_names(&error(&both), "management.token_file", "not both");
    let missing = "/nonexistent/probeshare-token";
    assert_names(
        &error(&format!("[management]\ntoken_file = \"{missing}\"\n")),
        "management.token_file",
        &format!("'{missing}' cannot be read"),
    );
}

#[test]
fn config_check_hides_a_written_token_and_shows_a_token_file() {
    let written = ok(&format!("[management]\ntoken = \"{TOKEN}\"\n")).to_toml();
    assert!(!written.contains(TOKEN), "{written}");
    assert!(written.contains("# token is set (not shown)"), "{written}");

    let path = std::env::temp_dir().join(format!("probeshare-token-{}", std::process::id()));
    std::fs::write(&path, TOKEN).unwrap();
    let from_file = ok(&format!(
        "[management]\ntoken_file = \"{}\"\n",
        path.display()
    ));
    let text = from_file.to_toml();
    std::fs::remove_file(&path).unwrap();
    assert!(!text.contains(TOKEN), "{text}");
    assert!(
        text.contains(&format!("token_file = \"{}\"", path.display())),
        "{text}"
    );
}

#[test]
fn the_per_peer_limit_has_a_default_and_an_override() {
    let config = ok("[limits]\nmax_connections_per_peer = 8\n");
    assert_eq!(config.limits.max_connections_per_peer, 8);
    assert_eq!(ok("").limits.max_connections_per_peer, 64);
    assert_names(
        &error("[limits]\nmax_connections_per_peer = 0\n"),
        "limits.max_connections_per_peer",
        "0 is not a whole number of at least 1",
    );
}
